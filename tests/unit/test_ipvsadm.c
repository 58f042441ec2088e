// SPDX-License-Identifier: GPL-2.0
/*
 * ipvsadm's language (lb/ipvsadm.c): every option of the command line,
 * every class of error, the rules-file parser, and the save-line printer
 * (print -> parse gives back the same configuration).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ipvsadm.h"
#include "ctl.h"
#include "xlb-t.h"

#define ERRLEN 512

static char err[ERRLEN];

/* Parse a command line written as one string (words split on spaces). */
static int parse(const char *line, struct xlb_req *req)
{
	static char buf[1024];
	char *argv[64];
	int argc = 0;
	char *w, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = (char *)"xlbctl";
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	memset(err, 0, sizeof(err));
	return xlb_ipvsadm_parse(argc, argv, req, err, sizeof(err));
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* The parse fails with -EINVAL and a message containing want. */
static void refused(const char *line, const char *want)
{
	struct xlb_req req;
	int rc = parse(line, &req);

	cr_assert_eq(rc, -EINVAL, "'%s' should be refused, got %d", line, rc);
	cr_assert(strstr(err, want),
		  "'%s': message '%s' should contain '%s'", line, err, want);
}

static void accepted(const char *line, struct xlb_req *req)
{
	int rc = parse(line, req);

	cr_assert_eq(rc, 0, "'%s' should parse, got %d: %s", line, rc, err);
}

/* ---- services ---------------------------------------------------------- */

Test(ipvsadm, add_service_gets_ring_and_defaults)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80", &r);
	cr_assert_eq(r.op, XLB_REQ_ADD_SVC);
	cr_assert(r.has_svc);
	cr_assert_eq(r.svc.key.proto, IPPROTO_TCP);
	cr_assert_eq(r.svc.key.addr.ip, ip("10.0.0.1"));
	cr_assert_eq(r.svc.key.port, htons(80));
	cr_assert_str_eq(r.svc.sched, "ring");
	cr_assert_eq(r.svc.vnodes, XLB_VNODES_DEFAULT);
	cr_assert_eq(r.svc.netmask, 0xffffffff);
	cr_assert_eq(r.svc.flags, 0);
	cr_assert_eq(r.svc_set, 0, "nothing named, nothing set");
}

Test(ipvsadm, udp_service_is_udp)
{
	struct xlb_req r;

	accepted("-A -u 10.0.0.1:53", &r);
	cr_assert_eq(r.svc.key.proto, IPPROTO_UDP);
	cr_assert_eq(r.svc.key.port, htons(53));
}

Test(ipvsadm, long_options_mean_the_same_as_short_ones)
{
	struct xlb_req a, b;

	accepted("--add-service --tcp-service 10.0.0.1:80 --scheduler ring "
		 "--persistent 60 --netmask 255.255.255.0 --vnodes 40", &a);
	accepted("-A -t 10.0.0.1:80 -s ring -p 60 -M 255.255.255.0 --vnodes 40",
		 &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	accepted("--add-service --tcp-service=10.0.0.1:80 --persistent=60 "
		 "--scheduler=ring --netmask=255.255.255.0 --vnodes=40", &a);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}

Test(ipvsadm, option_value_may_be_attached_to_short_option)
{
	struct xlb_req r;

	accepted("-At10.0.0.1:80 -p60", &r);
	cr_assert_eq(r.op, XLB_REQ_ADD_SVC);
	cr_assert_eq(r.svc.key.port, htons(80));
	cr_assert_eq(r.svc.timeout, 60);
}

Test(ipvsadm, persistent_without_value_is_300_seconds)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 -p", &r);
	cr_assert_eq(r.svc.flags, XLB_SVC_F_PERSISTENT);
	cr_assert_eq(r.svc.timeout, 300);
	cr_assert_eq(r.svc_set, XLB_SVC_SET_PERSIST);
}

Test(ipvsadm, persistent_takes_the_next_word_as_its_timeout)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 -p 60", &r);
	cr_assert_eq(r.svc.flags, XLB_SVC_F_PERSISTENT);
	cr_assert_eq(r.svc.timeout, 60);
}

Test(ipvsadm, persistent_before_another_option_keeps_the_default)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 -p -M 255.255.0.0", &r);
	cr_assert_eq(r.svc.timeout, 300);
	cr_assert_eq(r.svc.netmask, ip("255.255.0.0"));
	cr_assert_eq(r.svc_set, XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK);
}

Test(ipvsadm, persistent_timeout_out_of_range_is_refused)
{
	refused("-A -t 10.0.0.1:80 -p 2678401", "invalid persistence timeout");
	refused("-A -t 10.0.0.1:80 -p abc", "invalid persistence timeout");
	refused("-A -t 10.0.0.1:80 -p 0", "invalid persistence timeout");
}

Test(ipvsadm, edit_with_persistent_zero_turns_persistence_off)
{
	struct xlb_req r;

	accepted("-E -t 10.0.0.1:80 -p 0", &r);
	cr_assert_eq(r.op, XLB_REQ_EDIT_SVC);
	cr_assert_eq(r.svc.flags, 0);
	cr_assert_eq(r.svc.timeout, 0);
	cr_assert_eq(r.svc_set, XLB_SVC_SET_PERSIST);
}

Test(ipvsadm, netmask_without_persistent_is_accepted_as_ipvsadm_does)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 -M 255.255.255.0", &r);
	cr_assert_eq(r.svc.netmask, ip("255.255.255.0"));
	cr_assert_eq(r.svc.flags, 0);
}

Test(ipvsadm, netmask_must_be_dotted_and_contiguous)
{
	refused("-A -t 10.0.0.1:80 -p -M 255.0.255.0", "bad persistence netmask");
	refused("-A -t 10.0.0.1:80 -p -M 24", "bad persistence netmask");
}

Test(ipvsadm, vnodes_sets_ring_points_per_weight)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 --vnodes 1", &r);
	cr_assert_eq(r.svc.vnodes, 1);
	cr_assert_eq(r.svc_set, XLB_SVC_SET_VNODES);
	accepted("-E -t 10.0.0.1:80 --vnodes 4096", &r);
	cr_assert_eq(r.svc.vnodes, 4096);
}

Test(ipvsadm, vnodes_out_of_range_is_refused)
{
	refused("-A -t 10.0.0.1:80 --vnodes 0", "vnodes '0' out of range 1..4096");
	refused("-A -t 10.0.0.1:80 --vnodes 4097", "out of range");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 --vnodes 4", "illegal 'vnodes'");
}

Test(ipvsadm, ring_scheduler_is_accepted)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 -s ring", &r);
	cr_assert_str_eq(r.svc.sched, "ring");
	cr_assert_eq(r.svc_set, XLB_SVC_SET_SCHED);
}

Test(ipvsadm, unknown_scheduler_is_refused_with_the_known_ones)
{
	refused("-A -t 10.0.0.1:80 -s fancy",
		"unknown scheduler 'fancy' (known schedulers: " XLB_SCHED_LIST ")");
}

Test(ipvsadm, edit_service_sets_only_the_named_fields)
{
	struct xlb_req r;

	accepted("-E -t 10.0.0.1:80 -p 120", &r);
	cr_assert_eq(r.op, XLB_REQ_EDIT_SVC);
	cr_assert_eq(r.svc_set, XLB_SVC_SET_PERSIST);
	accepted("-E -t 10.0.0.1:80", &r);
	cr_assert_eq(r.svc_set, 0);
}

Test(ipvsadm, delete_service_needs_only_the_service)
{
	struct xlb_req r;

	accepted("-D -t 10.0.0.1:80", &r);
	cr_assert_eq(r.op, XLB_REQ_DEL_SVC);
	cr_assert(r.has_svc);
	refused("-D -t 10.0.0.1:80 -s ring", "illegal 'scheduler' option with the 'delete-service' command");
	refused("-D", "needs the 'service-address' option");
}

Test(ipvsadm, clear_takes_no_options)
{
	struct xlb_req r;

	accepted("-C", &r);
	cr_assert_eq(r.op, XLB_REQ_CLEAR);
	accepted("--clear", &r);
	cr_assert_eq(r.op, XLB_REQ_CLEAR);
	refused("-C -t 10.0.0.1:80", "illegal 'service-address' option with the 'clear' command");
}

Test(ipvsadm, add_service_without_service_address_is_refused)
{
	refused("-A -s ring", "the 'add-service' command needs the 'service-address' option (-t or -u)");
}

Test(ipvsadm, zero_port_is_refused_for_a_non_persistent_service)
{
	refused("-A -t 10.0.0.1", "zero port specified for non-persistent service");
	refused("-A -t 10.0.0.1:0", "zero port");
}

Test(ipvsadm, zero_port_is_allowed_for_a_persistent_service)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1 -p", &r);
	cr_assert_eq(r.svc.key.port, 0);
}

/* ---- addresses and ports ---------------------------------------------- */

Test(ipvsadm, bad_service_address_is_refused)
{
	refused("-A -t 10.0.0.300:80", "bad service address '10.0.0.300'");
	refused("-A -t 1.2.3:80", "bad service address '1.2.3'");
	refused("-A -t :80", "bad service address ''");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.256", "bad real server address '10.0.1.256'");
}

Test(ipvsadm, bad_port_is_refused)
{
	refused("-A -t 10.0.0.1:70000", "bad service port '70000'");
	refused("-A -t 10.0.0.1:-1", "bad service port '-1'");
	refused("-A -t 10.0.0.1:8x", "bad service port '8x'");
	refused("-A -t 10.0.0.1:", "bad service port ''");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1:99999 -m", "bad real server port '99999'");
}

Test(ipvsadm, port_may_be_a_service_name)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:http", &r);
	cr_assert_eq(r.svc.key.port, htons(80));
}

/* ---- IPv6 (issue 14), as ipvsadm 1.31's parse_service ------------------ */

static union xlb_inaddr ip6(const char *s)
{
	union xlb_inaddr a = { .ip6 = { 0 } };

	cr_assert_eq(inet_pton(AF_INET6, s, &a.in6), 1, "%s", s);
	return a;
}

Test(ipvsadm, ipv6_service_in_brackets_with_a_port)
{
	struct xlb_req r;
	union xlb_inaddr vip = ip6("2001:db8::1");

	accepted("-A -t [2001:db8::1]:80", &r);
	cr_assert_eq(r.svc.key.af, AF_INET6);
	cr_assert(xlb_inaddr_eq(&r.svc.key.addr, &vip));
	cr_assert_eq(r.svc.key.port, htons(80));
	cr_assert_eq(r.svc.netmask, 128, "IPVS's default IPv6 prefix length");
	accepted("-A -u [::1]:53", &r);
	cr_assert_eq(r.svc.key.af, AF_INET6);
	cr_assert_eq(r.svc.key.proto, IPPROTO_UDP);
	cr_assert_eq(r.svc.key.port, htons(53));
}

Test(ipvsadm, ipv6_address_without_brackets_has_no_port)
{
	struct xlb_req r;
	union xlb_inaddr vip = ip6("2001:db8::80");

	/* ipvsadm: inet_pton(AF_INET6) of the whole word: the last group is
	 * part of the address, not a port. */
	accepted("-D -t 2001:db8::80", &r);
	cr_assert_eq(r.svc.key.af, AF_INET6);
	cr_assert(xlb_inaddr_eq(&r.svc.key.addr, &vip));
	cr_assert_eq(r.svc.key.port, 0);
}

Test(ipvsadm, ipv6_real_server_in_brackets)
{
	struct xlb_req r;
	union xlb_inaddr rip = ip6("2001:db8::11");

	accepted("-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 3", &r);
	cr_assert_eq(r.dest.af, AF_INET6);
	cr_assert(xlb_inaddr_eq(&r.dest.addr, &rip));
	cr_assert_eq(r.dest.port, htons(8080));
	cr_assert_eq(r.dest.fwd, XLB_FWD_NAT);
	cr_assert_eq(r.dest.weight, 3);
	accepted("-a -t [2001:db8::1]:80 -r 2001:db8::11 -g", &r);
	cr_assert_eq(r.dest.port, htons(80), "no port: the service's");
	refused("-a -t [2001:db8::1]:80 -r [2001:db8::11]:81 -g",
		"give [2001:db8::11]:80");
}

Test(ipvsadm, ipv6_netmask_is_a_prefix_length)
{
	struct xlb_req r;

	accepted("-A -t [2001:db8::1]:80 -p 300 -M 64", &r);
	cr_assert_eq(r.svc.netmask, 64);
	cr_assert(r.svc_set & XLB_SVC_SET_NETMASK);
	accepted("-A -t [2001:db8::1]:80 -M 128 -p", &r);
	cr_assert_eq(r.svc.netmask, 128);
	refused("-A -t [2001:db8::1]:80 -p -M 129", "prefix length 1..128");
	refused("-A -t [2001:db8::1]:80 -p -M 0", "prefix length 1..128");
	refused("-A -t [2001:db8::1]:80 -p -M 255.255.255.0", "prefix length 1..128");
	refused("-A -t 10.0.0.1:80 -p -M 24", "dotted mask");
}

Test(ipvsadm, bad_ipv6_forms_are_refused_clearly)
{
	refused("-A -t [2001:db8::1]80", "expected [IPv6 address]:port");
	refused("-A -t [2001:db8::1]", "expected [IPv6 address]:port");
	refused("-A -t [2001:db8::1]:", "expected [IPv6 address]:port");
	refused("-A -t [10.0.0.1]:80", "IPv6 address in brackets");
	refused("-A -t 2001:db8::zz:80", "goes in brackets");
	refused("-A -t [2001:db8::1]:http-nope", "bad service port");
	refused("-A -t 10.0.0.1:80 -6", "-6 is for IPv6 firewall-mark services");
}

Test(ipvsadm, ipv6_sorry_server_has_the_services_family)
{
	struct xlb_req r;
	union xlb_inaddr s = ip6("2001:db8::99");

	accepted("-A -t [2001:db8::1]:80 --sorry-server [2001:db8::99]:8080", &r);
	cr_assert(xlb_inaddr_eq(&r.svc.sorry_addr, &s));
	cr_assert_eq(r.svc.sorry_port, htons(8080));
	refused("-A -t [2001:db8::1]:80 --sorry-server 10.0.0.9", "address family");
}

/* ---- real servers ----------------------------------------------------- */

Test(ipvsadm, add_server_defaults_to_direct_routing_weight_1_service_port)
{
	struct xlb_req r;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1", &r);
	cr_assert_eq(r.op, XLB_REQ_ADD_DEST);
	cr_assert_eq(r.dest.addr.ip, ip("10.0.1.1"));
	cr_assert_eq(r.dest.port, htons(80));
	cr_assert_eq(r.dest.fwd, XLB_FWD_DR);
	cr_assert_eq(r.dest.weight, 1);
	cr_assert_eq(r.dest_set, 0);
}

Test(ipvsadm, real_server_before_service_still_inherits_the_port)
{
	struct xlb_req r;

	accepted("-a -r 10.0.1.1 -t 10.0.0.1:443", &r);
	cr_assert_eq(r.dest.port, htons(443));
}

Test(ipvsadm, forwarding_methods_map_to_ipvs_values)
{
	struct xlb_req r;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 -g", &r);
	cr_assert_eq(r.dest.fwd, XLB_FWD_DR);
	cr_assert_eq(r.dest_set, XLB_DEST_SET_FWD);
	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 -m", &r);
	cr_assert_eq(r.dest.fwd, XLB_FWD_NAT);
	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 -i", &r);
	cr_assert_eq(r.dest.fwd, XLB_FWD_TUN);
	accepted("--add-server -t 10.0.0.1:80 --real-server 10.0.1.1 --masquerading", &r);
	cr_assert_eq(r.dest.fwd, XLB_FWD_NAT);
	accepted("--add-server -t 10.0.0.1:80 --real-server 10.0.1.1 --ipip", &r);
	cr_assert_eq(r.dest.fwd, XLB_FWD_TUN);
	accepted("--add-server -t 10.0.0.1:80 --real-server 10.0.1.1 --gatewaying", &r);
	cr_assert_eq(r.dest.fwd, XLB_FWD_DR);
}

Test(ipvsadm, two_forwarding_methods_are_refused)
{
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -g -m", "multiple 'forwarding-method' options");
}

Test(ipvsadm, weight_bounds_are_0_and_65535)
{
	struct xlb_req r;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 0", &r);
	cr_assert_eq(r.dest.weight, 0);
	cr_assert_eq(r.dest_set, XLB_DEST_SET_WEIGHT);
	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 --weight 65535", &r);
	cr_assert_eq(r.dest.weight, 65535);
}

Test(ipvsadm, weight_out_of_range_is_refused)
{
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 70000", "weight 70000 out of range 0..65535");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 65536", "weight 65536 out of range");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -w -1", "weight -1 out of range");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -w=3", "weight =3 out of range");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -w x", "weight x out of range");
}

Test(ipvsadm, direct_routing_refuses_a_different_port)
{
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1:8080",
		"real server port 8080 differs from the service port 80: direct routing (-g)");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -g", "direct routing");
}

Test(ipvsadm, tunnelling_refuses_a_different_port)
{
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -i", "tunnelling (-i)");
}

Test(ipvsadm, direct_routing_accepts_the_same_port_given_explicitly)
{
	struct xlb_req r;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g", &r);
	cr_assert_eq(r.dest.port, htons(80));
	cr_assert_eq(r.dest_set, XLB_DEST_SET_PORT | XLB_DEST_SET_FWD);
}

Test(ipvsadm, masquerading_allows_a_different_port)
{
	struct xlb_req r;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3", &r);
	cr_assert_eq(r.dest.port, htons(8080));
	cr_assert_eq(r.dest.fwd, XLB_FWD_NAT);
	cr_assert_eq(r.dest.weight, 3);
}

Test(ipvsadm, edit_server_without_method_leaves_the_port_check_to_the_daemon)
{
	struct xlb_req r;

	accepted("-e -t 10.0.0.1:80 -r 10.0.1.1:8080 -w 5", &r);
	cr_assert_eq(r.op, XLB_REQ_EDIT_DEST);
	cr_assert_eq(r.dest.port, htons(8080));
	cr_assert_eq(r.dest_set, XLB_DEST_SET_PORT | XLB_DEST_SET_WEIGHT);
	refused("-e -t 10.0.0.1:80 -r 10.0.1.1:8080 -g", "direct routing");
}

Test(ipvsadm, thresholds_are_accepted_and_stored)
{
	struct xlb_req r;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 -x 100 -y 10", &r);
	cr_assert_eq(r.dest.u_thresh, 100);
	cr_assert_eq(r.dest.l_thresh, 10);
	cr_assert_eq(r.dest_set, XLB_DEST_SET_UTHRESH | XLB_DEST_SET_LTHRESH);
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -x -5", "upper threshold -5 out of range");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -y 3000000000", "lower threshold 3000000000 out of range");
}

Test(ipvsadm, add_server_needs_the_real_server)
{
	refused("-a -t 10.0.0.1:80", "the 'add-server' command needs the 'real-server' option (-r)");
	refused("-a -r 10.0.1.1", "needs the 'service-address' option");
}

Test(ipvsadm, delete_server_takes_no_weight_or_method)
{
	struct xlb_req r;

	accepted("-d -t 10.0.0.1:80 -r 10.0.1.1:8080", &r);
	cr_assert_eq(r.op, XLB_REQ_DEL_DEST);
	cr_assert_eq(r.dest.port, htons(8080));
	refused("-d -t 10.0.0.1:80 -r 10.0.1.1 -w 2", "illegal 'weight' option with the 'delete-server' command");
	refused("-d -t 10.0.0.1:80 -r 10.0.1.1 -m", "illegal 'forwarding-method'");
}

Test(ipvsadm, server_options_are_illegal_on_a_service_command)
{
	refused("-A -t 10.0.0.1:80 -w 2", "illegal 'weight' option with the 'add-service' command");
	refused("-A -t 10.0.0.1:80 -r 10.0.1.1", "illegal 'real-server'");
}

/* ---- command-line structure ------------------------------------------ */

Test(ipvsadm, two_commands_are_refused)
{
	refused("-A -a -t 10.0.0.1:80", "multiple commands specified ('add-service' and 'add-server')");
	refused("-L -S", "multiple commands");
}

Test(ipvsadm, repeated_option_is_refused)
{
	refused("-A -t 10.0.0.1:80 -t 10.0.0.2:80", "multiple 'service-address' options");
	refused("-A -t 10.0.0.1:80 -u 10.0.0.2:80", "multiple 'service-address' options");
}

Test(ipvsadm, unknown_options_are_refused)
{
	refused("-A -t 10.0.0.1:80 --bogus", "unknown option '--bogus'");
	refused("-A -t 10.0.0.1:80 -Q", "unknown option '-Q'");
	refused("-L --numeric=yes", "takes no value");
}

Test(ipvsadm, option_without_its_value_is_refused)
{
	refused("-A -t", "option '-t' needs a value");
	refused("-A --tcp-service", "option '--tcp-service' needs a value");
}

Test(ipvsadm, stray_word_is_refused)
{
	refused("-C foo", "unexpected argument 'foo'");
}

Test(ipvsadm, options_without_a_command_are_refused)
{
	refused("-n", "no command given");
}

Test(ipvsadm, no_arguments_lists_like_ipvsadm)
{
	struct xlb_req r;

	accepted("", &r);
	cr_assert_eq(r.op, XLB_REQ_LIST);
	cr_assert_eq(r.list_flags, 0);
}

Test(ipvsadm, parser_keeps_no_state_between_calls)
{
	struct xlb_req a, b;

	accepted("-A -t 10.0.0.1:80 -p 60", &a);
	refused("-A -t 10.0.0.1:80 -s nope", "unknown scheduler");
	accepted("-A -t 10.0.0.1:80 -p 60", &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}

/* ---- timeouts --------------------------------------------------------- */

Test(ipvsadm, set_takes_three_timeouts)
{
	struct xlb_req r;

	accepted("--set 900 120 300", &r);
	cr_assert_eq(r.op, XLB_REQ_SET_TIMEOUT);
	cr_assert_eq(r.timeouts.tcp, 900);
	cr_assert_eq(r.timeouts.tcp_fin, 120);
	cr_assert_eq(r.timeouts.udp, 300);
	accepted("--set 0 0 10", &r);
	cr_assert_eq(r.timeouts.udp, 10);
}

Test(ipvsadm, set_needs_exactly_three_numbers)
{
	refused("--set 1 2", "--set needs 3 timeout values (tcp tcpfin udp), got 2");
	refused("--set", "got 0");
	refused("--set 1 2 3 4", "got 4");
	refused("--set 1 x 3", "invalid timeout value 'x'");
	refused("--set 1 2 2678401", "invalid timeout value '2678401'");
}

/* ---- list, save, restore, zero, help ------------------------------------ */

Test(ipvsadm, list_flags_follow_the_options)
{
	struct xlb_req r;

	accepted("-L -n", &r);
	cr_assert_eq(r.op, XLB_REQ_LIST);
	cr_assert_eq(r.list_flags, XLB_LIST_NUMERIC);
	accepted("-Ln", &r);
	cr_assert_eq(r.list_flags, XLB_LIST_NUMERIC);
	accepted("-l --numeric --connection", &r);
	cr_assert_eq(r.list_flags, XLB_LIST_NUMERIC | XLB_LIST_CONN);
	accepted("--list -n --stats --exact", &r);
	cr_assert_eq(r.list_flags, XLB_LIST_NUMERIC | XLB_LIST_STATS | XLB_LIST_EXACT);
	accepted("-L -n --rate -X", &r);
	cr_assert_eq(r.list_flags, XLB_LIST_NUMERIC | XLB_LIST_RATE | XLB_LIST_EXACT);
	accepted("-L --timeout", &r);
	cr_assert_eq(r.list_flags, XLB_LIST_TIMEOUT);
}

Test(ipvsadm, list_of_one_service)
{
	struct xlb_req r;

	accepted("-L -n -t 10.0.0.1:80", &r);
	cr_assert(r.has_svc);
	cr_assert_eq(r.svc.key.port, htons(80));
}

Test(ipvsadm, list_options_that_conflict_are_refused)
{
	refused("-L -c -t 10.0.0.1:80", "the option 'service-address' conflicts with the 'connection' option in the 'list' command");
	refused("-L -c --timeout", "conflicts");
	refused("-L -c --stats", "options conflict in the list command");
	refused("-L --stats --rate", "choose one of --stats and --rate");
	refused("-L -s ring", "illegal 'scheduler' option with the 'list' command");
}

Test(ipvsadm, save_restore_and_zero)
{
	struct xlb_req r;

	accepted("-S -n", &r);
	cr_assert_eq(r.op, XLB_REQ_SAVE);
	cr_assert_eq(r.list_flags, XLB_LIST_NUMERIC);
	accepted("--save", &r);
	cr_assert_eq(r.op, XLB_REQ_SAVE);
	refused("-S -t 10.0.0.1:80", "illegal 'service-address' option with the 'save' command");
	accepted("-R", &r);
	cr_assert_eq(r.op, XLB_REQ_RESTORE);
	accepted("--restore", &r);
	cr_assert_eq(r.op, XLB_REQ_RESTORE);
	accepted("-Z", &r);
	cr_assert_eq(r.op, XLB_REQ_ZERO);
	cr_assert_not(r.has_svc);
	accepted("--zero -u 10.0.0.1:53", &r);
	cr_assert(r.has_svc);
	cr_assert_eq(r.svc.key.proto, IPPROTO_UDP);
}

Test(ipvsadm, help_and_version)
{
	struct xlb_req r;

	accepted("-h", &r);
	cr_assert_eq(r.op, XLB_REQ_HELP);
	accepted("--help", &r);
	cr_assert_eq(r.op, XLB_REQ_HELP);
	accepted("-v", &r);
	cr_assert_eq(r.op, XLB_REQ_VERSION);
	accepted("--version", &r);
	cr_assert_eq(r.op, XLB_REQ_VERSION);
}

/* ---- rules files ------------------------------------------------------ */

static int rules(const char *text, struct xlb_req **reqs, size_t *n)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	cr_assert(f);
	memset(err, 0, sizeof(err));
	rc = xlb_rules_parse(f, reqs, n, err, sizeof(err));
	fclose(f);
	return rc;
}

Test(ipvsadm, rules_file_with_comments_and_blank_lines)
{
	const char *text =
		"# xlb rules\n"
		"\n"
		"-A -t 10.0.0.1:80 -s ring -p 300 -M 255.255.255.0\n"
		"   # indented comment\n"
		"-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1   # trailing comment\n"
		"ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 0\n"
		"/sbin/ipvsadm -A -u 10.0.0.1:53 -s ring\n"
		"xlbctl -a -u 10.0.0.1:53 -r \"10.0.1.3\" -i -w 2\r\n"
		"--set 900 120 300";	/* no final newline */
	struct xlb_req *r = NULL;
	size_t n = 0;

	cr_assert_eq(rules(text, &r, &n), 0, "%s", err);
	cr_assert_eq(n, 6);
	cr_assert_eq(r[0].op, XLB_REQ_ADD_SVC);
	cr_assert_eq(r[0].svc.timeout, 300);
	cr_assert_eq(r[0].svc.netmask, ip("255.255.255.0"));
	cr_assert_eq(r[1].op, XLB_REQ_ADD_DEST);
	cr_assert_eq(r[1].dest.fwd, XLB_FWD_DR);
	cr_assert_eq(r[2].dest.port, htons(8080));
	cr_assert_eq(r[2].dest.fwd, XLB_FWD_NAT);
	cr_assert_eq(r[2].dest.weight, 0);
	cr_assert_eq(r[3].svc.key.proto, IPPROTO_UDP);
	cr_assert_eq(r[4].dest.addr.ip, ip("10.0.1.3"));
	cr_assert_eq(r[4].dest.fwd, XLB_FWD_TUN);
	cr_assert_eq(r[5].op, XLB_REQ_SET_TIMEOUT);
	cr_assert_eq(r[5].timeouts.udp, 300);
	free(r);
}

Test(ipvsadm, rules_bad_line_is_reported_by_number_and_nothing_is_returned)
{
	const char *text =
		"-A -t 10.0.0.1:80 -s ring\n"
		"# comment\n"
		"-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 70000\n"
		"-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1\n";
	struct xlb_req *r = (void *)1;
	size_t n = 99;

	cr_assert_eq(rules(text, &r, &n), -EINVAL);
	cr_assert_str_eq(err, "line 3: weight 70000 out of range 0..65535");
	cr_assert_null(r);
	cr_assert_eq(n, 0);
}

Test(ipvsadm, rules_report_line_numbers_of_each_request)
{
	const char *text = "\n# x\n-A -t 10.0.0.1:80\n\n-a -t 10.0.0.1:80 -r 10.0.1.1\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct xlb_req *r = NULL;
	size_t *lines = NULL, n = 0;

	cr_assert_eq(xlb_rules_parse_lines(f, &r, &lines, &n, err, sizeof(err)), 0);
	fclose(f);
	cr_assert_eq(n, 2);
	cr_assert_eq(lines[0], 3);
	cr_assert_eq(lines[1], 5);
	free(r);
	free(lines);
}

static int nwarnings;
static char last_warning[256];

static void count_warning(const char *msg, void *ctx)
{
	(void)ctx;
	nwarnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

Test(ipvsadm, rules_from_ipvsadm_save_keep_their_scheduler_names_without_warning)
{
	/* What "ipvsadm-save -n" prints for a default IPVS setup. */
	const char *text =
		"-A -t 207.175.44.110:80 -s wlc -p 300 -M 255.255.255.0\n"
		"-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1\n"
		"-a -t 207.175.44.110:80 -r 192.168.10.2:80 -g -w 0\n"
		"-A -t 207.175.44.111:443 -s wlc\n"
		"-A -u 207.175.44.111:53 -s rr\n";
	struct xlb_req *r = NULL;
	size_t n = 0;

	nwarnings = 0;
	xlb_ipvsadm_set_warn(count_warning, NULL);
	cr_assert_eq(rules(text, &r, &n), 0, "%s", err);
	xlb_ipvsadm_set_warn(NULL, NULL);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(r[0].svc.sched, "wlc");
	cr_assert_str_eq(r[3].svc.sched, "wlc");
	cr_assert_str_eq(r[4].svc.sched, "rr");
	cr_assert_eq(nwarnings, 0, "every IPVS scheduler exists: nothing to warn about");
	free(r);
}

Test(ipvsadm, rules_refuse_an_unknown_scheduler)
{
	struct xlb_req *r = NULL;
	size_t n = 0;

	cr_assert_eq(rules("-A -t 10.0.0.1:80 -s fancy\n", &r, &n), -EINVAL);
	cr_assert(strstr(err, "line 1: unknown scheduler 'fancy'"), "%s", err);
}

Test(ipvsadm, rules_refuse_commands_that_are_not_changes)
{
	struct xlb_req *r = NULL;
	size_t n = 0;

	cr_assert_eq(rules("-C\n-L -n\n", &r, &n), -EINVAL);
	cr_assert_str_eq(err, "line 2: the 'list' command is not allowed in a rules file");
	cr_assert_eq(rules("-R\n", &r, &n), -EINVAL);
	cr_assert_eq(rules("ipvsadm\n", &r, &n), -EINVAL);
	cr_assert(strstr(err, "line 1: no command given"), "%s", err);
	cr_assert_eq(rules("-A -t \"10.0.0.1:80\n", &r, &n), -EINVAL);
	cr_assert(strstr(err, "line 1: unbalanced quote"), "%s", err);
}

Test(ipvsadm, empty_rules_file_gives_no_requests)
{
	struct xlb_req *r = (void *)1;
	size_t n = 7;

	cr_assert_eq(rules("# nothing\n\n", &r, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(r);
}

/* ---- save lines ------------------------------------------------------- */

static char *printed(const struct xlb_svc_cfg *svc, const struct xlb_dest_cfg *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	if (d)
		xlb_rules_print_dest(f, svc, d);
	else
		xlb_rules_print_svc(f, svc);
	fclose(f);
	return buf;
}

static struct xlb_svc_cfg svc_cfg(uint8_t proto, const char *addr, uint16_t port)
{
	struct xlb_svc_cfg s = {
		.key = { .addr.ip = ip(addr), .port = htons(port), .proto = proto },
		.sched = "ring",
		.netmask = 0xffffffff,
		.vnodes = XLB_VNODES_DEFAULT,
	};
	return s;
}

static struct xlb_dest_cfg dest_cfg(const char *addr, uint16_t port,
				    uint8_t fwd, uint32_t weight)
{
	struct xlb_dest_cfg d = {
		.addr.ip = ip(addr), .port = htons(port), .fwd = fwd, .weight = weight,
	};
	return d;
}

Test(ipvsadm, save_line_of_a_plain_service)
{
	struct xlb_svc_cfg s = svc_cfg(IPPROTO_TCP, "10.0.0.1", 80);
	char *out = printed(&s, NULL);

	cr_assert_str_eq(out, "-A -t 10.0.0.1:80 -s ring\n");
	free(out);
}

Test(ipvsadm, save_line_of_a_persistent_service_with_mask)
{
	struct xlb_svc_cfg s = svc_cfg(IPPROTO_UDP, "10.0.0.1", 53);
	char *out;

	s.flags = XLB_SVC_F_PERSISTENT;
	s.timeout = 300;
	out = printed(&s, NULL);
	cr_assert_str_eq(out, "-A -u 10.0.0.1:53 -s ring -p 300\n");
	free(out);
	s.netmask = ip("255.255.255.0");
	out = printed(&s, NULL);
	cr_assert_str_eq(out, "-A -u 10.0.0.1:53 -s ring -p 300 -M 255.255.255.0\n");
	free(out);
}

Test(ipvsadm, save_line_names_vnodes_only_when_not_default)
{
	struct xlb_svc_cfg s = svc_cfg(IPPROTO_TCP, "10.0.0.1", 80);
	char *out;

	s.vnodes = 40;
	out = printed(&s, NULL);
	cr_assert_str_eq(out, "-A -t 10.0.0.1:80 -s ring --vnodes 40\n");
	free(out);
}

Test(ipvsadm, save_lines_of_servers_of_every_method)
{
	struct xlb_svc_cfg s = svc_cfg(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg dr = dest_cfg("10.0.1.1", 80, XLB_FWD_DR, 1);
	struct xlb_dest_cfg nat = dest_cfg("10.0.1.2", 8080, XLB_FWD_NAT, 0);
	struct xlb_dest_cfg tun = dest_cfg("10.0.1.3", 80, XLB_FWD_TUN, 65535);
	char *out;

	out = printed(&s, &dr);
	cr_assert_str_eq(out, "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	free(out);
	out = printed(&s, &nat);
	cr_assert_str_eq(out, "-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 0\n");
	free(out);
	out = printed(&s, &tun);
	cr_assert_str_eq(out, "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 65535 --tun-type ipip\n");
	free(out);
	tun.u_thresh = 100;
	tun.l_thresh = 10;
	out = printed(&s, &tun);
	cr_assert_str_eq(out, "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 65535 --tun-type ipip -x 100 -y 10\n");
	free(out);
}

static void assert_svc_cfg_eq(const struct xlb_svc_cfg *a, const struct xlb_svc_cfg *b)
{
	cr_assert_eq(a->key.addr.ip, b->key.addr.ip);
	cr_assert_eq(a->key.port, b->key.port);
	cr_assert_eq(a->key.proto, b->key.proto);
	cr_assert_str_eq(a->sched, b->sched);
	cr_assert_eq(a->flags, b->flags);
	cr_assert_eq(a->timeout, b->timeout);
	cr_assert_eq(a->netmask, b->netmask);
	cr_assert_eq(a->vnodes, b->vnodes);
}

Test(ipvsadm, save_lines_parse_back_to_the_same_configuration)
{
	struct xlb_svc_cfg svcs[3] = {
		svc_cfg(IPPROTO_TCP, "10.0.0.1", 80),
		svc_cfg(IPPROTO_UDP, "10.0.0.2", 53),
		svc_cfg(IPPROTO_TCP, "192.168.1.1", 0),
	};
	struct xlb_dest_cfg dests[3] = {
		dest_cfg("10.0.1.1", 80, XLB_FWD_DR, 1),
		dest_cfg("10.0.1.2", 5353, XLB_FWD_NAT, 0),
		dest_cfg("10.0.1.3", 0, XLB_FWD_TUN, 7),
	};
	char *buf = NULL;
	size_t len = 0, n = 0, i;
	struct xlb_req *r = NULL;
	FILE *f;

	svcs[1].flags = XLB_SVC_F_PERSISTENT;
	svcs[1].timeout = 60;
	svcs[1].netmask = ip("255.255.0.0");
	svcs[1].vnodes = 1000;
	svcs[2].flags = XLB_SVC_F_PERSISTENT;	/* all-ports service */
	svcs[2].timeout = 300;
	dests[2].u_thresh = 5;

	f = open_memstream(&buf, &len);
	for (i = 0; i < 3; i++) {
		xlb_rules_print_svc(f, &svcs[i]);
		xlb_rules_print_dest(f, &svcs[i], &dests[i]);
	}
	fclose(f);
	cr_assert_eq(rules(buf, &r, &n), 0, "%s\n%s", err, buf);
	cr_assert_eq(n, 6);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(r[2 * i].op, XLB_REQ_ADD_SVC);
		assert_svc_cfg_eq(&r[2 * i].svc, &svcs[i]);
		cr_assert_eq(r[2 * i + 1].op, XLB_REQ_ADD_DEST);
		cr_assert_eq(r[2 * i + 1].dest.addr.ip, dests[i].addr.ip);
		cr_assert_eq(r[2 * i + 1].dest.port, dests[i].port);
		cr_assert_eq(r[2 * i + 1].dest.fwd, dests[i].fwd);
		cr_assert_eq(r[2 * i + 1].dest.weight, dests[i].weight);
		cr_assert_eq(r[2 * i + 1].dest.u_thresh, dests[i].u_thresh);
		cr_assert_eq(r[2 * i + 1].dest.l_thresh, dests[i].l_thresh);
	}
	free(r);
	free(buf);
}

Test(ipvsadm, addrport_is_numeric_with_n)
{
	char buf[64];

	cr_assert_str_eq(xlb_ipvsadm_addrport(buf, sizeof(buf), AF_INET, &(union xlb_inaddr){ .ip = ip("10.0.0.1") },
					      htons(80), IPPROTO_TCP, true),
			 "10.0.0.1:80");
	cr_assert_str_eq(xlb_ipvsadm_fwd_name(XLB_FWD_DR), "Route");
	cr_assert_str_eq(xlb_ipvsadm_fwd_name(XLB_FWD_NAT), "Masq");
	cr_assert_str_eq(xlb_ipvsadm_fwd_name(XLB_FWD_TUN), "Tunnel");
}

/* ---- schedulers, -b, thresholds (issue 12) ------------------------------ */

Test(ipvsadm, every_ipvs_scheduler_is_accepted_and_kept)
{
	static const char *const names[] = { "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
					     "sh", "sed", "nq", "fo", "ovf", "mh", "twos", "ring" };
	char line[96];
	struct xlb_req r;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "-A -t 10.0.0.1:80 -s %s", names[i]);
		accepted(line, &r);
		cr_expect_str_eq(r.svc.sched, names[i]);
		cr_expect(r.svc_set & XLB_SVC_SET_SCHED);
	}
}

Test(ipvsadm, sched_flags_parse_as_ipvsadm)
{
	struct xlb_req r;

	accepted("-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port -p 60", &r);
	cr_expect_eq(r.svc.flags, XLB_SVC_F_PERSISTENT | XLB_SVC_F_SH_FALLBACK | XLB_SVC_F_SH_PORT);
	cr_expect(r.svc_set & XLB_SVC_SET_SCHED_FLAGS);
	accepted("-A -t 10.0.0.1:80 -s mh --sched-flags mh-port", &r);
	cr_expect_eq(r.svc.flags, XLB_SVC_F_MH_PORT);
	accepted("-E -t 10.0.0.1:80 -b mh-fallback", &r);
	cr_expect_eq(r.svc_set, XLB_SVC_SET_SCHED_FLAGS, "-E -b changes the flags only");
	refused("-A -t 10.0.0.1:80 -s rr -b sh-port",
		"incompatible scheduler flag 'sh-port' (it is for -s sh, not -s rr)");
	refused("-A -t 10.0.0.1:80 -b mh-port", "not -s ring");
	refused("-A -t 10.0.0.1:80 -s sh -b sh-bogus", "invalid scheduler flag 'sh-bogus'");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -b sh-port", "illegal 'sched-flags' option");
}

Test(ipvsadm, save_prints_sched_flags_after_the_scheduler)
{
	struct xlb_svc_cfg s = svc_cfg(IPPROTO_TCP, "10.0.0.1", 80);
	char *out;

	snprintf(s.sched, sizeof(s.sched), "sh");
	s.flags = XLB_SVC_F_SH_FALLBACK | XLB_SVC_F_SH_PORT | XLB_SVC_F_PERSISTENT;
	s.timeout = 60;
	out = printed(&s, NULL);
	cr_expect_str_eq(out, "-A -t 10.0.0.1:80 -s sh -p 60 -b sh-fallback,sh-port\n",
			 "ipvsadm's order: -b last");
	free(out);
}

Test(ipvsadm, thresholds_parse_and_save)
{
	struct xlb_svc_cfg s = svc_cfg(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_req r;
	char *out;

	accepted("-a -t 10.0.0.1:80 -r 10.0.1.1 -x 100 -y 75", &r);
	cr_expect_eq(r.dest.u_thresh, 100);
	cr_expect_eq(r.dest.l_thresh, 75);
	out = printed(&s, &r.dest);
	cr_expect_str_eq(out, "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1 -x 100 -y 75\n");
	free(out);
	accepted("-L -n --thresholds", &r);
	cr_expect(r.list_flags & XLB_LIST_THRESHOLDS);
	refused("-L --thresholds --stats", "--thresholds cannot be combined");
}

/* ---- IPv6 save lines (ipvsadm 1.31's print_service_entry, FMT_RULE) ---- */

Test(ipvsadm, save_lines_of_an_ipv6_service_and_server)
{
	struct xlb_svc_cfg s = {
		.key = { .addr = ip6("2001:db8::1"), .port = htons(80), .proto = IPPROTO_TCP,
			 .af = AF_INET6 },
		.sched = "wlc", .netmask = 128, .vnodes = XLB_VNODES_DEFAULT,
	};
	struct xlb_dest_cfg d = { .af = AF_INET6, .addr = ip6("2001:db8::11"),
				  .port = htons(8080), .fwd = XLB_FWD_NAT, .weight = 2 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	char *one;

	s.flags = XLB_SVC_F_PERSISTENT;
	s.timeout = 300;
	one = printed(&s, NULL);
	cr_assert_str_eq(one, "-A -t [2001:db8::1]:80 -s wlc -p 300\n",
			 "a /128 mask is not printed, as ipvsadm");
	free(one);
	s.netmask = 64;
	f = open_memstream(&buf, &len);
	xlb_rules_print_svc(f, &s);
	xlb_rules_print_dest(f, &s, &d);
	fclose(f);
	cr_assert_str_eq(buf,
			 "-A -t [2001:db8::1]:80 -s wlc -p 300 -M 64\n"
			 "-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 2\n");
	free(buf);
}

/* An ipvsadm-save -n of a dual-stack director (written as ipvsadm 1.31
 * prints it: "[addr]:port", -M as a prefix length) restores through the
 * rules parser and saves again byte for byte. */
Test(ipvsadm, ipv6_save_file_restores_and_saves_byte_for_byte)
{
	const char *text =
		"-A -t 10.0.0.1:80 -s wrr\n"
		"-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"
		"-A -t [2001:db8::1]:80 -s wrr -p 300 -M 64\n"
		"-a -t [2001:db8::1]:80 -r [2001:db8::11]:80 -g -w 1\n"
		"-a -t [2001:db8::1]:80 -r [2001:db8::12]:80 -g -w 2\n"
		"-A -u [2001:db8:0:1::53]:53 -s sh -b sh-port\n"
		"-a -u [2001:db8:0:1::53]:53 -r [fd00::1:53]:5353 -m -w 1\n"
		"-A -t [2001:db8::2]:443 -s ring\n"
		"-a -t [2001:db8::2]:443 -r [2001:db8::21]:443 -i -w 1 --tun-type ipip\n";
	struct xlb_req *r = NULL;
	struct xlb_svc_cfg last = { 0 };
	char *buf = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	cr_assert_eq(rules(text, &r, &n), 0, "%s", err);
	cr_assert_eq(n, 9);
	f = open_memstream(&buf, &len);
	for (size_t i = 0; i < n; i++) {
		if (r[i].op == XLB_REQ_ADD_SVC) {
			last = r[i].svc;
			xlb_rules_print_svc(f, &r[i].svc);
		} else {
			cr_assert_eq(r[i].op, XLB_REQ_ADD_DEST);
			last.key = r[i].svc.key;
			xlb_rules_print_dest(f, &last, &r[i].dest);
		}
	}
	fclose(f);
	cr_assert_str_eq(buf, text);
	cr_assert_eq(r[2].svc.key.af, AF_INET6);
	cr_assert_eq(r[2].svc.netmask, 64);
	cr_assert_eq(r[6].dest.af, AF_INET6);
	free(buf);
	free(r);
}

Test(ipvsadm, ipv6_addrport_is_bracketed_as_ipvsadm)
{
	char buf[80];
	union xlb_inaddr a = ip6("2001:db8::1");

	cr_assert_str_eq(xlb_ipvsadm_addrport(buf, sizeof(buf), AF_INET6, &a, htons(80),
					      IPPROTO_TCP, true), "[2001:db8::1]:80");
	a = ip6("::ffff:10.0.0.1");
	cr_assert_str_eq(xlb_ipvsadm_addrport(buf, sizeof(buf), AF_INET6, &a, htons(8080),
					      IPPROTO_TCP, true), "[::ffff:10.0.0.1]:8080");
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The control protocol: requests and replies round-trip through the
 * builders and the parser without a socket; each class of malformed
 * message is refused with its errno; and the real control server, run
 * in-process on a socket in a temporary directory, answers the client API,
 * splits dumps, survives garbage with its tables unchanged and enforces
 * permissions; batches are applied as one snapshot or not at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include <criterion/criterion.h>

#include <criterion/redirect.h>

#include "ctl.h"
#include "ctl_server.h"
#include "../../cli/xlbctl.h"
#include "log.h"
#include "tables.h"

static char buf[XLB_CTL_MSG_MAX];
static char err[512];

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct xlb_req svc_req(enum xlb_req_op op, uint8_t proto, const char *addr,
			      uint16_t port)
{
	struct xlb_req r = { .op = op, .has_svc = true };

	r.svc.key.proto = proto;
	r.svc.key.af = AF_INET;	/* what the decoder gives back */
	r.svc.key.addr.ip = ip(addr);
	r.svc.key.port = htons(port);
	return r;
}

/* Build then parse: the message the daemon would see. */
static void round_trip(const struct xlb_req *r, struct xlb_ctl_msg *m)
{
	int len = xlb_ctl_build_req(buf, sizeof(buf), r, 7);

	cr_assert_gt(len, 0, "build: %d", len);
	cr_assert_eq(xlb_ctl_msg_check(buf, len, err, sizeof(err)), len, "%s", err);
	cr_assert_eq(xlb_ctl_parse((struct nlmsghdr *)buf, m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(xlb_ctl_check_request(m, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(m->seq, 7);
	cr_expect_eq(m->type, XLB_GENL_ID);
}

/* ---- round trips ---- */

Test(ctl, add_service_request_round_trips_every_field)
{
	struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_ctl_msg m;

	strcpy(r.svc.sched, "ring");
	r.svc.flags = XLB_SVC_F_PERSISTENT;
	r.svc.timeout = 600;
	r.svc.netmask = htonl(0xffffff00);
	r.svc.vnodes = 100;
	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_NEW_SERVICE);
	cr_expect_eq(m.has, XLB_CTL_HAS_SVC);
	cr_expect_eq(memcmp(&m.svc.cfg, &r.svc, sizeof(r.svc)), 0, "same struct after the trip");
	cr_expect_eq(m.svc_set, XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK |
		     XLB_SVC_SET_VNODES | XLB_CTL_SVC_SET_FLAGS);
}

Test(ctl, edit_service_request_carries_only_the_named_fields)
{
	struct xlb_req r = svc_req(XLB_REQ_EDIT_SVC, IPPROTO_UDP, "10.0.0.2", 53);
	struct xlb_ctl_msg m;

	r.svc.vnodes = 40;
	r.svc.timeout = 999;		/* not named: must not travel */
	r.svc_set = XLB_SVC_SET_VNODES;
	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_SET_SERVICE);
	cr_expect_eq(m.svc_set, XLB_SVC_SET_VNODES);
	cr_expect_eq(m.svc.cfg.vnodes, 40);
	cr_expect_eq(m.svc.cfg.timeout, 0);
	cr_expect_eq(m.svc.cfg.key.proto, IPPROTO_UDP);
	cr_expect_eq(m.svc.cfg.key.port, htons(53));
}

Test(ctl, delete_service_request_round_trips_the_key)
{
	struct xlb_req r = svc_req(XLB_REQ_DEL_SVC, IPPROTO_TCP, "192.168.1.1", 443);
	struct xlb_ctl_msg m;

	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_DEL_SERVICE);
	cr_expect_eq(m.svc_set, 0);
	cr_expect_eq(memcmp(&m.svc.cfg.key, &r.svc.key, sizeof(r.svc.key)), 0);
}

Test(ctl, clear_is_flush_without_attributes)
{
	struct xlb_req r = { .op = XLB_REQ_CLEAR };
	struct xlb_ctl_msg m;

	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_FLUSH);
	cr_expect_eq(m.has, 0);
}

Test(ctl, zero_all_and_zero_one_service)
{
	struct xlb_req all = { .op = XLB_REQ_ZERO };
	struct xlb_req one = svc_req(XLB_REQ_ZERO, IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_ctl_msg m;

	round_trip(&all, &m);
	cr_expect_eq(m.cmd, XLB_CMD_ZERO);
	cr_expect_eq(m.has, 0);
	round_trip(&one, &m);
	cr_expect_eq(m.has, XLB_CTL_HAS_SVC);
	cr_expect_eq(m.svc.cfg.key.addr.ip, ip("10.0.0.1"));
}

Test(ctl, add_dest_request_round_trips_every_field)
{
	struct xlb_req r = svc_req(XLB_REQ_ADD_DEST, IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_ctl_msg m;

	r.dest = (struct xlb_dest_cfg){ .addr.ip = ip("10.0.1.1"), .af = AF_INET, .port = htons(8080),
		.fwd = XLB_FWD_NAT, .weight = 65535, .u_thresh = 10, .l_thresh = 5 };
	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_NEW_DEST);
	cr_expect_eq(m.has, XLB_CTL_HAS_SVC | XLB_CTL_HAS_DEST);
	cr_expect_eq(memcmp(&m.dest.cfg, &r.dest, sizeof(r.dest)), 0);
	cr_expect_eq(memcmp(&m.svc.cfg.key, &r.svc.key, sizeof(r.svc.key)), 0);
}

Test(ctl, edit_dest_request_carries_only_the_named_fields)
{
	struct xlb_req r = svc_req(XLB_REQ_EDIT_DEST, IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_ctl_msg m;

	r.dest = (struct xlb_dest_cfg){ .addr.ip = ip("10.0.1.1"), .port = htons(80),
		.fwd = XLB_FWD_TUN, .weight = 0 };
	r.dest_set = XLB_DEST_SET_WEIGHT;
	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_SET_DEST);
	cr_expect_eq(m.dest_set, XLB_DEST_SET_WEIGHT | XLB_DEST_SET_PORT,
		     "weight, and the port that names the server");
	cr_expect_eq(m.dest.cfg.weight, 0);
	cr_expect_eq(m.dest.cfg.fwd, 0, "forwarding method not sent");
}

Test(ctl, delete_dest_request_round_trips_address_and_port)
{
	struct xlb_req r = svc_req(XLB_REQ_DEL_DEST, IPPROTO_UDP, "10.0.0.1", 53);
	struct xlb_ctl_msg m;

	r.dest.addr.ip = ip("10.0.1.9");
	r.dest.port = htons(53);
	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_DEL_DEST);
	cr_expect_eq(m.dest.cfg.addr.ip, ip("10.0.1.9"));
	cr_expect_eq(m.dest.cfg.port, htons(53));
}

Test(ctl, set_timeout_sends_only_non_zero_timeouts)
{
	struct xlb_req r = { .op = XLB_REQ_SET_TIMEOUT, .timeouts = { 1000, 0, 60 } };
	struct xlb_ctl_msg m;

	round_trip(&r, &m);
	cr_expect_eq(m.cmd, XLB_CMD_SET_CONFIG);
	cr_expect_eq(m.has, XLB_CTL_HAS_TCP | XLB_CTL_HAS_UDP);
	cr_expect_eq(m.timeouts.tcp, 1000);
	cr_expect_eq(m.timeouts.udp, 60);
}

Test(ctl, listing_is_not_a_change_request)
{
	struct xlb_req r = { .op = XLB_REQ_LIST };

	cr_expect_eq(xlb_ctl_build_req(buf, sizeof(buf), &r, 1), -EINVAL);
}

static struct nlmsghdr *parse_back(struct xlb_ctl_msg *m)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

	cr_assert_eq(xlb_ctl_msg_check(buf, nlh->nlmsg_len, err, sizeof(err)),
		     (int)nlh->nlmsg_len);
	cr_assert_eq(xlb_ctl_parse(nlh, m, err, sizeof(err)), 0, "%s", err);
	return nlh;
}

Test(ctl, service_reply_round_trips_config_stats_and_rates)
{
	struct xlb_svc_cfg c = { .key = { { .ip = ip("10.0.0.1") }, htons(80), IPPROTO_TCP, AF_INET },
				 .sched = "ring", .netmask = 0xffffffff, .vnodes = 160 };
	struct xlb_stats st = { 1, 2, 3, 4, UINT64_MAX };
	struct xlb_rates rt = { 5, 6, 7, 8, 1ull << 40 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_SERVICE,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_svc(nlh, sizeof(buf), &c, XLB_SVC_SET_SCHED |
		     XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK | XLB_SVC_SET_VNODES, &st, &rt), 0);
	parse_back(&m);
	cr_expect_eq(m.has, XLB_CTL_HAS_SVC | XLB_CTL_HAS_SVC_STATS);
	cr_expect_eq(memcmp(&m.svc.cfg, &c, sizeof(c)), 0);
	cr_expect_eq(memcmp(&m.svc.stats, &st, sizeof(st)), 0, "64-bit stats");
	cr_expect_eq(memcmp(&m.svc.rates, &rt, sizeof(rt)), 0);
}

Test(ctl, dest_reply_round_trips_config_connections_and_stats)
{
	struct xlb_dest_info in = {
		.cfg = { .addr.ip = ip("10.0.1.1"), .af = AF_INET, .port = htons(80), .fwd = XLB_FWD_DR,
			 .weight = 3, .u_thresh = 1, .l_thresh = 2 },
		.activeconns = 10, .inactconns = 20, .persistconns = 30,
		.stats = { 100, 200, 300, 400, 500 }, .rates = { 1, 2, 3, 4, 5 },
	};
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_DEST,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_dest(nlh, sizeof(buf), &in.cfg, 0xff, &in), 0);
	parse_back(&m);
	cr_expect_eq(m.has, XLB_CTL_HAS_DEST | XLB_CTL_HAS_DEST_CONNS | XLB_CTL_HAS_DEST_STATS);
	cr_expect_eq(memcmp(&m.dest, &in, sizeof(in)), 0);
}

Test(ctl, connection_entry_round_trips)
{
	struct xlb_conn_info c = { .proto = IPPROTO_TCP, .caddr.ip = ip("1.2.3.4"),
		.cport = htons(40000), .vaddr.ip = ip("10.0.0.1"), .vport = htons(80),
		.daddr.ip = ip("10.0.1.1"), .dport = htons(80), .state = "ESTABLISHED",
		.expires = 899 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_CONN,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_conn(nlh, sizeof(buf), &c), 0);
	parse_back(&m);
	cr_expect_eq(m.has, XLB_CTL_HAS_CONN);
	cr_expect_eq(m.conn.proto, c.proto);
	cr_expect_eq(m.conn.caddr.ip, c.caddr.ip);
	cr_expect_eq(m.conn.cport, c.cport);
	cr_expect_eq(m.conn.vaddr.ip, c.vaddr.ip);
	cr_expect_eq(m.conn.vport, c.vport);
	cr_expect_eq(m.conn.daddr.ip, c.daddr.ip);
	cr_expect_eq(m.conn.dport, c.dport);
	cr_expect_str_eq(m.conn.state, "ESTABLISHED");
	cr_expect_eq(m.conn.expires, 899);
}

/* A template is marked (XLB_CONN_ATTR_FLAGS, for -c --json); an entry
 * without the attribute (an xlbd from before it, or a connection) reads
 * as no flags. */
Test(ctl, connection_template_flag_round_trips_and_defaults_to_none)
{
	struct xlb_conn_info c = { .proto = IPPROTO_UDP, .caddr.ip = ip("1.2.3.0"),
		.vaddr.ip = ip("10.0.0.1"), .vport = htons(53), .daddr.ip = ip("10.0.1.1"),
		.dport = htons(53), .state = "UDP", .expires = 300,
		.flags = XLB_CONN_INFO_F_TEMPLATE };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_CONN,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_conn(nlh, sizeof(buf), &c), 0);
	parse_back(&m);
	cr_expect_eq(m.conn.flags, XLB_CONN_INFO_F_TEMPLATE);

	c.flags = 0;
	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_CONN, NLM_F_MULTI, 3);
	cr_assert_eq(xlb_ctl_put_conn(nlh, sizeof(buf), &c), 0);
	memset(&m, 0xff, sizeof(m));
	parse_back(&m);
	cr_expect_eq(m.conn.flags, 0);
}

Test(ctl, info_and_config_replies_round_trip)
{
	struct xlb_info info = { XLB_CTL_PROTO_VERSION, 65536 };
	struct xlb_timeouts to = { 900, 120, 300 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_SET_INFO, 0, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_info(nlh, sizeof(buf), &info), 0);
	parse_back(&m);
	cr_expect_eq(m.has, XLB_CTL_HAS_INFO);
	cr_expect_eq(m.info.version, XLB_CTL_PROTO_VERSION);
	cr_expect_eq(m.info.conn_tab_size, 65536);

	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_SET_CONFIG, 0, 3);
	cr_assert_eq(xlb_ctl_put_timeouts(nlh, sizeof(buf), &to), 0);
	parse_back(&m);
	cr_expect_eq(memcmp(&m.timeouts, &to, sizeof(to)), 0);
}

Test(ctl, ack_carries_errno_and_message_as_extended_ack)
{
	struct nlmsghdr req = { .nlmsg_len = 40, .nlmsg_type = XLB_GENL_ID, .nlmsg_seq = 77 };
	struct nlmsghdr *nlh = xlb_ctl_put_ack(buf, sizeof(buf), &req, -EEXIST,
					       "service 10.0.0.1:80/tcp already exists");
	char msg[128];
	int e = 0;

	cr_assert_not_null(nlh);
	cr_expect_eq(nlh->nlmsg_type, NLMSG_ERROR);
	cr_expect_eq(nlh->nlmsg_seq, 77);
	cr_expect(nlh->nlmsg_flags & NLM_F_ACK_TLVS);
	cr_assert_eq(xlb_ctl_parse_ack(nlh, &e, msg, sizeof(msg)), 0);
	cr_expect_eq(e, -EEXIST);
	cr_expect_str_eq(msg, "service 10.0.0.1:80/tcp already exists");

	nlh = xlb_ctl_put_ack(buf, sizeof(buf), &req, 0, NULL);
	cr_assert_eq(xlb_ctl_parse_ack(nlh, &e, msg, sizeof(msg)), 0);
	cr_expect_eq(e, 0);
	cr_expect_str_eq(msg, "");
	cr_expect_not(nlh->nlmsg_flags & NLM_F_ACK_TLVS);
}

Test(ctl, builders_refuse_to_overflow_and_leave_the_message_intact)
{
	struct xlb_svc_cfg c = { .key = { { .ip = ip("10.0.0.1") }, htons(80), IPPROTO_TCP, 0 },
				 .sched = "ring" };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, 64, XLB_CMD_NEW_SERVICE, 0, 1);
	uint32_t len;

	cr_assert_not_null(nlh);
	len = nlh->nlmsg_len;
	cr_expect_eq(xlb_ctl_put_svc(nlh, 64, &c, XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST,
				     NULL, NULL), -EMSGSIZE);
	cr_expect_eq(nlh->nlmsg_len, len);
	cr_expect_null(xlb_ctl_msg_start(buf, 8, XLB_CMD_FLUSH, 0, 1));
}

/* ---- malformed messages ---- */

static struct nlmsghdr *start(uint8_t cmd)
{
	return xlb_ctl_msg_start(buf, sizeof(buf), cmd, NLM_F_REQUEST | NLM_F_ACK, 1);
}

/* A service nest with the key, then the caller adds more and ends it. */
static struct nlattr *svc_nest(struct nlmsghdr *nlh, uint16_t af, uint16_t proto)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_SERVICE);

	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_AF, af);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PROTOCOL, proto);
	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_ADDR, ip("10.0.0.1"));
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PORT, htons(80));
	return n;
}

static int parse_buf(struct xlb_ctl_msg *m)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int ret = xlb_ctl_msg_check(buf, nlh->nlmsg_len, err, sizeof(err));

	if (ret < 0)
		return ret;
	ret = xlb_ctl_parse(nlh, m, err, sizeof(err));
	return ret ? ret : xlb_ctl_check_request(m, err, sizeof(err));
}

Test(ctl, attribute_with_the_wrong_length_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_SERVICE);
	struct xlb_ctl_msg m;

	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_AF, AF_INET);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_ADDR, ip("10.0.0.1"));
	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_PORT, 80);	/* u32 where u16 is due */
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "port"), "message names the attribute: %s", err);
}

Test(ctl, weight_out_of_range_is_einval_with_its_value)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_DEST);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_DEST);
	mnl_attr_put_u32(nlh, XLB_DEST_ATTR_ADDR, ip("10.0.1.1"));
	mnl_attr_put_u32(nlh, XLB_DEST_ATTR_WEIGHT, 70000);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect_str_eq(err, "weight 70000 out of range 0..65535");
}

Test(ctl, unknown_scheduler_is_einval_listing_the_known_ones)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_put_strz(nlh, XLB_SVC_ATTR_SCHED_NAME, "nosuch");
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect_str_eq(err, "unknown scheduler \"nosuch\" (known: " XLB_SCHED_LIST ")");
}

Test(ctl, scheduler_name_without_terminating_nul_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_put(nlh, XLB_SVC_ATTR_SCHED_NAME, 4, "ring");
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, protocol_other_than_tcp_or_udp_is_eprotonosupport)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_ICMP);
	struct xlb_ctl_msg m;

	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EPROTONOSUPPORT);
}

Test(ctl, address_family_other_than_inet_or_inet6_is_eafnosupport)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_APPLETALK, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EAFNOSUPPORT);
}

Test(ctl, service_without_a_port_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_DEL_SERVICE);
	struct nlattr *n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_SERVICE);
	struct xlb_ctl_msg m;

	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_AF, AF_INET);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_ADDR, ip("10.0.0.1"));
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, new_dest_without_a_destination_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_DEST);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect_str_eq(err, "command 5 needs a destination");
}

Test(ctl, non_contiguous_netmask_and_zero_vnodes_are_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_SET_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_NETMASK, htonl(0xff00ff00));
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect_str_eq(err, "netmask 255.0.255.0 is not contiguous");

	nlh = start(XLB_CMD_SET_SERVICE);
	n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_VNODES, 0);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, truncated_netlink_header_is_einval)
{
	memset(buf, 0, 16);
	cr_expect_eq(xlb_ctl_msg_check(buf, 10, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "truncated message: 10 bytes, a netlink header needs 16");
}

Test(ctl, nlmsg_len_larger_than_the_datagram_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_FLUSH);

	cr_expect_eq(xlb_ctl_msg_check(buf, nlh->nlmsg_len - 1, err, sizeof(err)), -EINVAL);
	nlh->nlmsg_len = 8;
	cr_expect_eq(xlb_ctl_msg_check(buf, 100, err, sizeof(err)), -EINVAL);
}

Test(ctl, nested_attribute_overrunning_its_parent_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct nlattr *last;
	struct xlb_ctl_msg m;

	last = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u32(nlh, XLB_SVC_ATTR_TIMEOUT, 10);
	mnl_attr_nest_end(nlh, n);
	/* A top-level attribute after the nest, so that the overrun stays
	 * inside the message and only the nest's bound catches it. */
	mnl_attr_put_u32(nlh, XLB_CMD_ATTR_TIMEOUT_TCP, 10);
	last->nla_len += 8;
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "has length"), "%s", err);
}

Test(ctl, top_level_attribute_overrunning_the_message_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_SET_CONFIG);
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);
	struct xlb_ctl_msg m;

	mnl_attr_put_u32(nlh, XLB_CMD_ATTR_TIMEOUT_TCP, 10);
	a->nla_len = 200;
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, wrong_family_id_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_FLUSH);
	struct xlb_ctl_msg m;

	nlh->nlmsg_type = 0x10;	/* GENL_ID_CTRL */
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect_str_eq(err, "message type 0x10 is not xlb's family 0x20");
}

Test(ctl, message_without_genl_header_is_einval)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct xlb_ctl_msg m;

	nlh->nlmsg_type = XLB_GENL_ID;
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, unknown_command_is_eopnotsupp)
{
	struct xlb_ctl_msg m;

	start(99);
	cr_expect_eq(parse_buf(&m), -EOPNOTSUPP);
	cr_expect_str_eq(err, "unknown command 99");
}

Test(ctl, unknown_attributes_are_skipped_for_forward_compatibility)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_put_u64(nlh, 200, 1);			/* unknown in the nest */
	mnl_attr_put_strz(nlh, XLB_SVC_ATTR_PE_NAME, "sip");	/* known, unused */
	mnl_attr_nest_end(nlh, n);
	mnl_attr_put_u8(nlh, 1000, 1);			/* unknown at the top */
	cr_expect_eq(parse_buf(&m), 0, "%s", err);
	cr_expect_eq(m.svc.cfg.key.port, htons(80));
}

Test(ctl, ipvs_sixteen_byte_addresses_are_accepted)
{
	struct nlmsghdr *nlh = start(XLB_CMD_DEL_SERVICE);
	struct nlattr *n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_SERVICE);
	uint32_t a16[4] = { ip("10.0.0.7") };
	struct xlb_ctl_msg m;

	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_AF, AF_INET);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	mnl_attr_put(nlh, XLB_SVC_ATTR_ADDR, sizeof(a16), a16);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PORT, htons(80));
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), 0, "%s", err);
	cr_expect_eq(m.svc.cfg.key.addr.ip, ip("10.0.0.7"));
}

/* ---- the real server, in-process ---- */

struct srv {
	char dir[64];
	char path[128];
	struct xlb_tables *t;
	struct xlb_ctl_server *s;
	int stop;
	pthread_t th;
	bool running;
};

static struct srv S;

static void quiet_log(enum xlb_log_level l, const char *line, void *ctx)
{
	(void)l; (void)line; (void)ctx;
}

static void *serve(void *arg)
{
	struct srv *s = arg;

	xlb_ctl_server_run(s->s, s->stop);
	return NULL;
}

/* Batch limits of the next srv_start() (0: the defaults). */
static unsigned int srv_batch_max, srv_batch_total;
static bool srv_ipv6;	/* params.ipv6: xlbd's XLB_CTL_IPV6 is false */
static unsigned int srv_stall_ms;	/* 0: the default */

static void srv_start(const char *group)
{
	struct xlb_ctl_server_params p = { .group = group, .batch_max_reqs = srv_batch_max,
					   .batch_total_reqs = srv_batch_total,
					   .stall_ms = srv_stall_ms, .ipv6 = srv_ipv6 };

	xlb_log_set_hook(quiet_log, NULL);
	strcpy(S.dir, "/tmp/xlb-ctl-test-XXXXXX");
	cr_assert_not_null(mkdtemp(S.dir));
	snprintf(S.path, sizeof(S.path), "%s/run/xlb.sock", S.dir);
	cr_assert_eq(xlb_tables_new(&S.t), 0);
	p.path = S.path;
	p.tables = S.t;
	cr_assert_eq(xlb_ctl_server_new(&S.s, &p, err, sizeof(err)), 0, "%s", err);
	S.stop = eventfd(0, EFD_CLOEXEC);
	cr_assert_eq(pthread_create(&S.th, NULL, serve, &S), 0);
	S.running = true;
}

static void srv_stop(void)
{
	uint64_t one = 1;
	char cmd[160];

	if (!S.running)
		return;
	cr_assert_eq(write(S.stop, &one, sizeof(one)), sizeof(one));
	pthread_join(S.th, NULL);
	xlb_ctl_server_free(S.s);
	xlb_tables_free(S.t);
	close(S.stop);
	S.running = false;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", S.dir);
	cr_expect_eq(system(cmd), 0);
	xlb_log_set_hook(NULL, NULL);
}

/*
 * The test process is the client. As root it may change the tables; run
 * unprivileged, the server is started with the process's own group as
 * --group, so the tests still change tables (through the group rule)
 * instead of failing with EPERM.
 */
static void srv_setup(void)
{
	struct group *gr = geteuid() == 0 ? NULL : getgrgid(getgid());

	srv_start(gr ? gr->gr_name : NULL);
}

static void srv_setup_no_group(void)
{
	srv_start(NULL);
}

static int apply(int fd, const struct xlb_req *r)
{
	err[0] = '\0';
	return xlb_ctl_apply(fd, r, err, sizeof(err));
}

static struct xlb_req dest_req(enum xlb_req_op op, const char *vip, uint16_t vport,
			       const char *rip, uint16_t rport, uint8_t fwd, uint32_t w)
{
	struct xlb_req r = svc_req(op, IPPROTO_TCP, vip, vport);

	r.dest = (struct xlb_dest_cfg){ .addr.ip = ip(rip), .port = htons(rport), .fwd = fwd,
					.weight = w };
	r.dest_set = XLB_DEST_SET_WEIGHT;
	return r;
}

static void add_sample(int fd)
{
	struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);

	r.svc.flags = XLB_SVC_F_PERSISTENT;
	r.svc.timeout = 600;
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.2", 80, XLB_FWD_DR, 0);
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.1", 8080, XLB_FWD_NAT, 5);
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
}

Test(ctl, socket_file_is_0600_without_a_group_and_dir_is_created, .init = srv_setup_no_group,
     .fini = srv_stop)
{
	struct stat st;

	cr_assert_eq(stat(S.path, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0600);
}

Test(ctl, client_api_adds_lists_and_gets_back_what_it_set, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_svc_info *svcs, one;
	struct xlb_dest_info *dests;
	size_t n;

	cr_assert_geq(fd, 0, "%s", err);
	add_sample(fd);
	cr_assert_eq(xlb_ctl_get_services(fd, &svcs, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 1);
	cr_expect_eq(svcs[0].cfg.key.addr.ip, ip("10.0.0.1"));
	cr_expect_str_eq(svcs[0].cfg.sched, "ring");
	cr_expect_eq(svcs[0].cfg.flags, XLB_SVC_F_PERSISTENT);
	cr_expect_eq(svcs[0].cfg.timeout, 600);
	cr_expect_eq(svcs[0].cfg.vnodes, XLB_VNODES_DEFAULT);
	free(svcs);

	cr_assert_eq(xlb_ctl_get_dests(fd, &(struct xlb_svc_key){ { .ip = ip("10.0.0.1") }, htons(80),
				       IPPROTO_TCP, 0 }, &dests, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_expect_eq(dests[0].cfg.addr.ip, ip("10.0.1.1"), "sorted by address");
	cr_expect_eq(dests[0].cfg.port, htons(8080));
	cr_expect_eq(dests[0].cfg.fwd, XLB_FWD_NAT);
	cr_expect_eq(dests[0].cfg.weight, 5);
	cr_expect_eq(dests[1].cfg.weight, 0);
	cr_expect_eq(dests[1].cfg.fwd, XLB_FWD_DR);
	free(dests);

	cr_assert_eq(xlb_ctl_get_service(fd, &(struct xlb_svc_key){ { .ip = ip("10.0.0.1") }, htons(80),
					 IPPROTO_TCP, 0 }, &one, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(one.cfg.timeout, 600);
	xlb_ctl_close(fd);
}

Test(ctl, errors_come_back_with_errno_and_the_daemons_sentence, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r;
	struct xlb_svc_info one;

	cr_assert_geq(fd, 0, "%s", err);
	add_sample(fd);
	r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	cr_expect_eq(apply(fd, &r), -EEXIST);
	cr_expect_str_eq(err, "service 10.0.0.1:80/tcp already exists");
	r = svc_req(XLB_REQ_DEL_SVC, IPPROTO_UDP, "10.0.0.1", 80);
	cr_expect_eq(apply(fd, &r), -ESRCH);
	cr_expect_str_eq(err, "no such service 10.0.0.1:80/udp");
	r = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.1", 8080, XLB_FWD_NAT, 1);
	cr_expect_eq(apply(fd, &r), -EEXIST);
	r = dest_req(XLB_REQ_DEL_DEST, "10.0.0.1", 80, "10.0.1.9", 80, XLB_FWD_DR, 1);
	cr_expect_eq(apply(fd, &r), -ENOENT);
	cr_expect_str_eq(err, "no such real server 10.0.1.9:80 in service 10.0.0.1:80/tcp");
	r = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.3", 81, XLB_FWD_DR, 1);
	cr_expect_eq(apply(fd, &r), -EINVAL);
	cr_expect(strstr(err, "DR requires the real-server port to equal the service port"),
		  "%s", err);
	cr_expect_eq(xlb_ctl_get_service(fd, &(struct xlb_svc_key){ { .ip = ip("10.0.0.9") }, htons(80),
					 IPPROTO_TCP, 0 }, &one, err, sizeof(err)), -ESRCH);
	xlb_ctl_close(fd);
}

Test(ctl, edits_change_only_what_was_named, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r;
	struct xlb_dest_info *d;
	struct xlb_svc_info one;
	struct xlb_svc_key k = { { .ip = ip("10.0.0.1") }, htons(80), IPPROTO_TCP, 0 };
	size_t n;

	cr_assert_geq(fd, 0, "%s", err);
	add_sample(fd);
	r = svc_req(XLB_REQ_EDIT_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	r.svc.vnodes = 33;
	r.svc_set = XLB_SVC_SET_VNODES;
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_service(fd, &k, &one, err, sizeof(err)), 0);
	cr_expect_eq(one.cfg.vnodes, 33);
	cr_expect_eq(one.cfg.flags, XLB_SVC_F_PERSISTENT, "persistence kept");
	cr_expect_eq(one.cfg.timeout, 600);

	r = dest_req(XLB_REQ_EDIT_DEST, "10.0.0.1", 80, "10.0.1.1", 8080, XLB_FWD_DR, 9);
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_dests(fd, &k, &d, &n, err, sizeof(err)), 0);
	cr_expect_eq(d[0].cfg.weight, 9);
	cr_expect_eq(d[0].cfg.fwd, XLB_FWD_NAT, "method not named: kept");
	free(d);

	r = svc_req(XLB_REQ_EDIT_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	r.svc_set = XLB_SVC_SET_PERSIST;	/* flags 0: persistence off */
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_service(fd, &k, &one, err, sizeof(err)), 0);
	cr_expect_eq(one.cfg.flags, 0);
	xlb_ctl_close(fd);
}

Test(ctl, timeouts_info_zero_flush_and_empty_connection_dump, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r = { .op = XLB_REQ_SET_TIMEOUT, .timeouts = { 1000, 0, 60 } };
	struct xlb_timeouts to;
	struct xlb_info info;
	struct xlb_conn_info *c;
	struct xlb_svc_info *s;
	size_t n = 99;

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_timeouts(fd, &to, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(to.tcp, 1000);
	cr_expect_eq(to.tcp_fin, 120, "0 means unchanged");
	cr_expect_eq(to.udp, 60);
	cr_assert_eq(xlb_ctl_get_info(fd, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(info.version, XLB_CTL_PROTO_VERSION);
	cr_assert_eq(xlb_ctl_get_conns(fd, &c, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 0, "no datapath, no connections");
	free(c);
	add_sample(fd);
	r = (struct xlb_req){ .op = XLB_REQ_ZERO };
	cr_expect_eq(apply(fd, &r), 0, "%s", err);
	r = svc_req(XLB_REQ_ZERO, IPPROTO_UDP, "10.0.0.1", 80);
	cr_expect_eq(apply(fd, &r), -ESRCH);
	r = (struct xlb_req){ .op = XLB_REQ_CLEAR };
	cr_expect_eq(apply(fd, &r), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_services(fd, &s, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 0);
	free(s);
	xlb_ctl_close(fd);
}

static int raw_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	strcpy(sun.sun_path, S.path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

Test(ctl, large_dump_is_split_into_bounded_multipart_datagrams_ending_in_done, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err)), raw = raw_connect();
	struct xlb_svc_info *svcs;
	size_t n, total = 0, datagrams = 0;
	struct nlmsghdr *nlh;
	bool done = false;

	cr_assert_geq(fd, 0, "%s", err);
	for (int i = 0; i < 600; i++) {
		char a[32];
		struct xlb_req r;

		snprintf(a, sizeof(a), "10.1.%d.%d", i / 250, i % 250 + 1);
		r = svc_req(XLB_REQ_ADD_SVC, i % 2 ? IPPROTO_UDP : IPPROTO_TCP, a, 80);
		cr_assert_eq(apply(fd, &r), 0, "%s", err);
	}
	cr_assert_eq(xlb_ctl_get_services(fd, &svcs, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 600);
	for (size_t i = 1; i < n; i++) {
		const struct xlb_svc_key *a = &svcs[i - 1].cfg.key, *b = &svcs[i].cfg.key;

		cr_expect(a->proto < b->proto ||
			  (a->proto == b->proto && ntohl(a->addr.ip) < ntohl(b->addr.ip)),
			  "sorted by (protocol, address, port) at %zu", i);
	}
	free(svcs);

	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_GET_SERVICE,
				NLM_F_REQUEST | NLM_F_DUMP, 42);
	cr_assert_eq(send(raw, buf, nlh->nlmsg_len, 0), (ssize_t)nlh->nlmsg_len);
	while (!done) {
		ssize_t r = recv(raw, buf, sizeof(buf), MSG_TRUNC);

		cr_assert_gt(r, 0);
		cr_assert_leq(r, XLB_CTL_MSG_MAX);
		datagrams++;
		int left = (int)r;

		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			cr_expect_eq(nlh->nlmsg_seq, 42);
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = true;
				continue;
			}
			cr_expect_eq(nlh->nlmsg_type, XLB_GENL_ID);
			cr_expect(nlh->nlmsg_flags & NLM_F_MULTI);
			total++;
		}
	}
	cr_expect_eq(total, 600);
	cr_expect_gt(datagrams, 1, "600 services do not fit in one datagram");
	close(raw);
	xlb_ctl_close(fd);
}

/* Send a datagram, expect exactly one NLMSG_ERROR with a negative errno. */
static int garbage(int raw, const void *data, size_t len)
{
	static char rb[XLB_CTL_MSG_MAX];
	ssize_t r;
	int e = 1;
	char msg[256];

	cr_assert_eq(send(raw, data, len, 0), (ssize_t)len);
	r = recv(raw, rb, sizeof(rb), 0);
	cr_assert_geq(r, (ssize_t)sizeof(struct nlmsghdr), "the daemon answers garbage");
	cr_assert_eq(xlb_ctl_parse_ack((struct nlmsghdr *)rb, &e, msg, sizeof(msg)), 0);
	return e;
}

Test(ctl, garbage_gets_error_replies_and_changes_nothing, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err)), raw = raw_connect();
	static char big[XLB_CTL_MSG_MAX + 4096];
	struct xlb_svc_info *before, *after;
	struct xlb_dest_info *d;
	size_t nb, na;
	struct nlmsghdr *nlh;
	struct nlattr *n;
	unsigned int seed = 1;

	cr_assert_geq(fd, 0, "%s", err);
	add_sample(fd);
	cr_assert_eq(xlb_ctl_get_services(fd, &before, &nb, err, sizeof(err)), 0);

	cr_expect_eq(garbage(raw, "short", 5), -EINVAL, "truncated header");
	nlh = start(XLB_CMD_FLUSH);
	nlh->nlmsg_len = 1000;
	cr_expect_eq(garbage(raw, buf, 20), -EINVAL, "nlmsg_len beyond the datagram");
	memset(big, 0, sizeof(big));
	nlh = xlb_ctl_msg_start(big, sizeof(big), XLB_CMD_FLUSH, NLM_F_REQUEST, 1);
	nlh->nlmsg_len = sizeof(big);
	cr_expect_eq(garbage(raw, big, sizeof(big)), -EMSGSIZE, "oversized");
	nlh = start(XLB_CMD_FLUSH);
	nlh->nlmsg_type = 0x30;
	cr_expect_eq(garbage(raw, buf, nlh->nlmsg_len), -EINVAL, "wrong family");
	nlh = start(XLB_CMD_DEL_SERVICE);
	n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	mnl_attr_nest_end(nlh, n);
	n->nla_len += 64;	/* overruns the message */
	cr_expect_eq(garbage(raw, buf, nlh->nlmsg_len), -EINVAL, "overrunning nest");
	nlh = start(XLB_CMD_NEW_DEST);
	n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_DEST);
	mnl_attr_put_u32(nlh, XLB_DEST_ATTR_ADDR, ip("10.0.1.7"));
	mnl_attr_put_u16(nlh, XLB_DEST_ATTR_WEIGHT, 7);	/* mistyped */
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(garbage(raw, buf, nlh->nlmsg_len), -EINVAL, "mistyped weight");
	for (int i = 0; i < 200; i++) {
		size_t len = 16 + rand_r(&seed) % 300;

		for (size_t j = 0; j < len; j++)
			buf[j] = (char)rand_r(&seed);
		nlh = (struct nlmsghdr *)buf;
		/* Half of them framed right, so that the parser sees them. */
		if (i % 2) {
			nlh->nlmsg_len = len;
			nlh->nlmsg_type = XLB_GENL_ID;
			buf[16] = (char)(i % 18);	/* a real command */
		}
		cr_assert_eq(send(raw, buf, len, 0), (ssize_t)len);
		while (recv(raw, big, sizeof(big), MSG_DONTWAIT) > 0)
			;
	}

	cr_assert_eq(xlb_ctl_get_services(fd, &after, &na, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(na, nb);
	cr_expect_eq(memcmp(before, after, nb * sizeof(*before)), 0, "tables unchanged");
	cr_assert_eq(xlb_ctl_get_dests(fd, &before[0].cfg.key, &d, &na, err, sizeof(err)), 0);
	cr_expect_eq(na, 2);
	free(d);
	free(before);
	free(after);
	close(raw);
	xlb_ctl_close(fd);
}

Test(ctl, several_clients_at_once, .init = srv_setup, .fini = srv_stop)
{
	int fds[8];
	struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);

	for (int i = 0; i < 8; i++)
		cr_assert_geq(fds[i] = xlb_ctl_open(S.path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(apply(fds[3], &r), 0);
	cr_expect_eq(apply(fds[5], &r), -EEXIST, "one table for everybody");
	for (int i = 0; i < 8; i++)
		xlb_ctl_close(fds[i]);
}

Test(ctl, a_second_daemon_on_the_same_socket_is_refused, .init = srv_setup, .fini = srv_stop)
{
	struct xlb_ctl_server_params p = { .path = S.path, .tables = S.t };
	struct xlb_ctl_server *s2 = NULL;

	cr_expect_eq(xlb_ctl_server_new(&s2, &p, err, sizeof(err)), -EADDRINUSE);
	cr_expect(strstr(err, "another xlbd is answering"), "%s", err);
	cr_expect_null(s2);
	cr_expect_eq(access(S.path, F_OK), 0, "the live socket is left alone");
}

Test(ctl, changes_from_an_unprivileged_uid_are_eperm_but_reads_work, .init = srv_setup, .fini = srv_stop)
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		srv_stop();	/* a skipped test's .fini does not run */
		cr_skip_test("SKIPPED: needs root to switch uid");
	}
	cr_assert_eq(chmod(S.dir, 0755), 0, "let uid 65534 reach the socket");
	cr_assert_eq(chmod(S.path, 0666), 0, "and connect");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
		struct xlb_timeouts to;
		int fd, code = 0;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = xlb_ctl_open(S.path, err, sizeof(err));
		if (fd < 0)
			_exit(11);
		if (xlb_ctl_apply(fd, &r, err, sizeof(err)) != -EPERM)
			code |= 1;
		if (!strstr(err, "permission denied"))
			code |= 2;
		if (xlb_ctl_get_timeouts(fd, &to, err, sizeof(err)) != 0 || to.tcp != 900)
			code |= 4;
		_exit(code);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), 0, "child result bits %d", WEXITSTATUS(status));
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 0, "nothing was added");
}

/* ---- permissions rule, and the socket's mode with a group ---- */

Test(ctl, root_may_change_anyone_else_only_through_the_group)
{
	cr_expect(xlb_ctl_peer_may_change(0, 0, 0, false, 0));
	cr_expect_not(xlb_ctl_peer_may_change(65534, 65534, 0, false, 0));
	cr_expect(xlb_ctl_peer_may_change(1000, 4242, 0, true, 4242), "primary group");
	cr_expect_not(xlb_ctl_peer_may_change(1000, 1000, getpid(), true, 4242),
		      "this process has no group 4242");
}

Test(ctl, supplementary_group_of_the_peer_process_counts)
{
	int p[2];
	pid_t pid;
	char c;

	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root to set groups");
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		gid_t g = 4242;

		if (setgroups(1, &g))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_expect(xlb_ctl_peer_may_change(1000, 1000, pid, true, 4242));
	cr_expect_not(xlb_ctl_peer_may_change(1000, 1000, pid, true, 4243));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
}

Test(ctl, with_a_group_the_socket_is_0660_and_owned_by_it)
{
	struct group *gr = getgrgid(getgid());
	struct stat st;

	cr_assert_not_null(gr);
	srv_start(gr->gr_name);
	cr_assert_eq(stat(S.path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0660);
	cr_expect_eq(st.st_gid, getgid());
	srv_stop();
}

Test(ctl, unknown_group_is_refused)
{
	struct xlb_tables *t;
	struct xlb_ctl_server *s = NULL;
	struct xlb_ctl_server_params p = { .path = "/tmp/xlb-ctl-test-nogroup.sock",
					   .group = "no-such-group-xlb" };

	cr_assert_eq(xlb_tables_new(&t), 0);
	p.tables = t;
	cr_expect_eq(xlb_ctl_server_new(&s, &p, err, sizeof(err)), -ENOENT);
	cr_expect_str_eq(err, "unknown group \"no-such-group-xlb\"");
	xlb_tables_free(t);
}

Test(ctl, stale_socket_is_replaced_and_a_regular_file_is_not)
{
	char dir[] = "/tmp/xlb-ctl-stale-XXXXXX", path[128];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct xlb_ctl_server_params p = { 0 };
	struct xlb_ctl_server *s = NULL;
	struct xlb_tables *t;
	int fd;
	FILE *f;

	xlb_log_set_hook(quiet_log, NULL);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.sock", dir);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);	/* a socket file nobody answers on */
	cr_assert_eq(xlb_tables_new(&t), 0);
	p.path = path;
	p.tables = t;
	cr_expect_eq(xlb_ctl_server_new(&s, &p, err, sizeof(err)), 0, "%s", err);
	xlb_ctl_server_free(s);
	cr_expect_neq(access(path, F_OK), 0, "socket removed on exit");

	f = fopen(path, "w");
	fclose(f);
	s = NULL;
	cr_expect_eq(xlb_ctl_server_new(&s, &p, err, sizeof(err)), -EEXIST);
	cr_expect_eq(access(path, F_OK), 0, "a regular file is never removed");
	unlink(path);
	rmdir(dir);
	xlb_tables_free(t);
	xlb_log_set_hook(NULL, NULL);
}

Test(ctl, client_says_which_socket_has_no_daemon)
{
	cr_expect_eq(xlb_ctl_open("/tmp/xlb-no-such-dir/xlb.sock", err, sizeof(err)), -ENOENT);
	cr_expect_str_eq(err, "cannot connect to xlbd at /tmp/xlb-no-such-dir/xlb.sock: "
			 "No such file or directory (is xlbd running?)");
}

/* ---- batches (BATCH_BEGIN ... BATCH_END) ---- */

Test(ctl, batch_end_reply_round_trips_count_index_and_seq)
{
	struct xlb_ctl_batch_info in = { .count = 7, .failed = true, .index = 4, .seq = 99 };
	struct xlb_ctl_msg m;
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_BATCH_END, 0, 3);

	cr_assert_eq(xlb_ctl_put_batch(nlh, sizeof(buf), &in), 0);
	parse_back(&m);
	cr_expect_eq(m.cmd, XLB_CMD_BATCH_END);
	cr_expect_eq(m.has, XLB_CTL_HAS_BATCH);
	cr_expect_eq(m.batch.count, 7);
	cr_expect(m.batch.failed);
	cr_expect_eq(m.batch.index, 4);
	cr_expect_eq(m.batch.seq, 99);

	in = (struct xlb_ctl_batch_info){ .count = 12 };
	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_BATCH_END, 0, 3);
	cr_assert_eq(xlb_ctl_put_batch(nlh, sizeof(buf), &in), 0);
	parse_back(&m);
	cr_expect_eq(m.batch.count, 12);
	cr_expect_not(m.batch.failed, "success carries no index");
}

Test(ctl, batch_index_without_its_seq_is_einval)
{
	struct xlb_ctl_msg m;
	struct nlmsghdr *nlh = start(XLB_CMD_BATCH_END);

	mnl_attr_put_u32(nlh, XLB_CMD_ATTR_BATCH_COUNT, 3);
	mnl_attr_put_u32(nlh, XLB_CMD_ATTR_BATCH_INDEX, 1);
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, batch_begin_and_end_are_changes_without_attributes)
{
	struct xlb_ctl_msg m;

	start(XLB_CMD_BATCH_BEGIN);
	cr_expect_eq(parse_buf(&m), 0, "%s", err);
	cr_expect_eq(m.cmd, XLB_CMD_BATCH_BEGIN);
	start(XLB_CMD_BATCH_END);
	cr_expect_eq(parse_buf(&m), 0, "%s", err);
	cr_expect(xlb_ctl_cmd_changes(XLB_CMD_BATCH_BEGIN), "needs permission");
	cr_expect(xlb_ctl_cmd_changes(XLB_CMD_BATCH_END), "needs permission");
}

static uint64_t gen_now(void)
{
	return xlb_tables_current(S.t)->gen;
}

/* n services 10.2.x.y:80/tcp with k NAT servers each, as a rules file. */
static struct xlb_req *farm(size_t nsvc, size_t k, size_t *n)
{
	struct xlb_req *r = calloc(nsvc * (k + 1), sizeof(*r));
	size_t j = 0;

	cr_assert_not_null(r);
	for (size_t i = 0; i < nsvc; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.2.%zu.%zu", i / 250, i % 250 + 1);
		r[j++] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, a, 80);
		for (size_t d = 0; d < k; d++) {
			char b[32];

			snprintf(b, sizeof(b), "10.3.0.%zu", d + 1);
			r[j++] = dest_req(XLB_REQ_ADD_DEST, a, 80, b, 8080, XLB_FWD_NAT, d + 1);
			r[j - 1].dest_set |= XLB_DEST_SET_FWD | XLB_DEST_SET_PORT;
		}
	}
	*n = j;
	return r;
}

Test(ctl, batch_is_applied_as_one_snapshot, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r[4];
	struct xlb_dest_info *d;
	struct xlb_svc_key k = { { .ip = ip("10.0.0.1") }, htons(80), IPPROTO_TCP, 0 };
	size_t failed = 42, n;
	uint64_t gen;

	cr_assert_geq(fd, 0, "%s", err);
	gen = gen_now();
	r[0] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	r[1] = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.1", 80, XLB_FWD_DR, 3);
	r[2] = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.2", 80, XLB_FWD_DR, 0);
	r[3] = (struct xlb_req){ .op = XLB_REQ_SET_TIMEOUT, .timeouts = { 1000, 0, 0 } };
	cr_assert_eq(xlb_ctl_apply_batch(fd, r, 4, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(failed, SIZE_MAX);
	cr_expect_eq(gen_now(), gen + 1, "four requests, one publication");
	cr_assert_eq(xlb_ctl_get_dests(fd, &k, &d, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 2);
	cr_expect_eq(d[0].cfg.weight, 3);
	cr_expect_eq(d[1].cfg.weight, 0);
	free(d);
	cr_expect_eq(xlb_tables_current(S.t)->timeouts.tcp, 1000);
	xlb_ctl_close(fd);
}

Test(ctl, refused_batch_leaves_the_snapshot_and_names_the_request, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	const struct xlb_snap *before;
	struct xlb_req r[6];
	size_t failed = 42;
	uint64_t gen;

	cr_assert_geq(fd, 0, "%s", err);
	add_sample(fd);
	before = xlb_tables_current(S.t);
	gen = before->gen;
	r[0] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.7", 80);
	r[1] = dest_req(XLB_REQ_ADD_DEST, "10.0.0.7", 80, "10.0.1.1", 80, XLB_FWD_DR, 1);
	r[2] = (struct xlb_req){ .op = XLB_REQ_CLEAR };
	r[3] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.8", 80);
	r[4] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.8", 80);	/* duplicate */
	r[5] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.9", 80);
	cr_expect_eq(xlb_ctl_apply_batch(fd, r, 6, &failed, err, sizeof(err)), -EEXIST);
	cr_expect_eq(failed, 4, "index of the refused request");
	cr_expect_str_eq(err, "service 10.0.0.8:80/tcp already exists");
	cr_expect_eq(xlb_tables_current(S.t), before, "the same snapshot is published");
	cr_expect_eq(gen_now(), gen);
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 1, "the clear in the batch did not happen");
	xlb_ctl_close(fd);
}

Test(ctl, batch_spanning_many_datagrams_is_applied_whole, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	size_t n, failed, bytes = 0;
	struct xlb_req *r = farm(2000, 3, &n);
	const struct xlb_snap *snap;
	uint64_t gen = gen_now();

	cr_assert_geq(fd, 0, "%s", err);
	for (size_t i = 0; i < n; i++)
		bytes += xlb_ctl_build_req(buf, sizeof(buf), &r[i], 1);
	cr_assert_gt(bytes, 4 * XLB_CTL_MSG_MAX, "the batch needs several datagrams");
	cr_assert_eq(xlb_ctl_apply_batch(fd, r, n, &failed, err, sizeof(err)), 0, "%s", err);
	snap = xlb_tables_current(S.t);
	cr_expect_eq(snap->gen, gen + 1);
	cr_expect_eq(snap->nsvcs, 2000);
	for (uint32_t i = 0; i < snap->nsvcs; i++)
		cr_expect_eq(snap->svcs[i].ndests, 3, "service %u", i);
	free(r);
	xlb_ctl_close(fd);
}

/* Raw conversation: send one message, collect its ack (and BATCH_END's reply). */
static int xchg(int raw, const struct nlmsghdr *nlh, struct xlb_ctl_batch_info *info)
{
	static char rb[XLB_CTL_MSG_MAX];
	char msg[256];

	cr_assert_eq(send(raw, nlh, nlh->nlmsg_len, 0), (ssize_t)nlh->nlmsg_len);
	for (;;) {
		ssize_t r = recv(raw, rb, sizeof(rb), 0);
		int left = (int)r;

		cr_assert_gt(r, 0, "xlbd answers");
		for (struct nlmsghdr *h = (void *)rb; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			struct xlb_ctl_msg m;
			int e;

			cr_assert_eq(h->nlmsg_seq, nlh->nlmsg_seq);
			if (h->nlmsg_type == NLMSG_ERROR) {
				cr_assert_eq(xlb_ctl_parse_ack(h, &e, msg, sizeof(msg)), 0);
				snprintf(err, sizeof(err), "%s", msg);
				return e;
			}
			cr_assert_eq(xlb_ctl_parse(h, &m, err, sizeof(err)), 0, "%s", err);
			if (info && m.cmd == XLB_CMD_BATCH_END)
				*info = m.batch;
		}
	}
}

static int raw_cmd(int raw, uint8_t cmd, uint32_t seq, struct xlb_ctl_batch_info *info)
{
	char mb[64] = { 0 };

	return xchg(raw, xlb_ctl_msg_start(mb, sizeof(mb), cmd, NLM_F_REQUEST | NLM_F_ACK, seq),
		    info);
}

static int raw_req(int raw, const struct xlb_req *r, uint32_t seq)
{
	static char mb[1024];

	memset(mb, 0, sizeof(mb));
	cr_assert_gt(xlb_ctl_build_req(mb, sizeof(mb), r, seq), 0);
	return xchg(raw, (struct nlmsghdr *)mb, NULL);
}

static int raw_add_svc(int raw, const char *vip, uint32_t seq)
{
	struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, vip, 80);

	return raw_req(raw, &r, seq);
}

static void srv_setup_total_10(void)
{
	srv_batch_total = 10;
	srv_setup();
}

Test(ctl, closing_the_connection_mid_batch_discards_the_batch, .init = srv_setup_total_10, .fini = srv_stop)
{
	int raw = raw_connect(), fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_info info;
	struct xlb_req r[8];
	size_t failed;
	uint64_t gen = gen_now();

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 1, NULL), 0, "%s", err);
	for (int i = 0; i < 8; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.5.%d", i + 1);
		cr_assert_eq(raw_add_svc(raw, a, 2 + i), 0, "queued: %s", err);
	}
	close(raw);
	/* One round trip: xlbd has seen the hang-up before it reads this. */
	cr_assert_eq(xlb_ctl_get_info(fd, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(gen_now(), gen, "nothing of the closed batch applied");
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 0);
	/* Its 8 queued requests were released: 8 more fit under the 10. */
	for (int i = 0; i < 8; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.6.%d", i + 1);
		r[i] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, a, 80);
	}
	cr_expect_eq(xlb_ctl_apply_batch(fd, r, 8, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 8);
	xlb_ctl_close(fd);
}

static void srv_setup_max_4(void)
{
	srv_batch_max = 4;
	srv_setup();
}

Test(ctl, batch_over_the_request_limit_is_e2big_and_discarded, .init = srv_setup_max_4, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r[5];
	size_t failed;
	uint64_t gen = gen_now();

	cr_assert_geq(fd, 0, "%s", err);
	for (int i = 0; i < 5; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.7.%d", i + 1);
		r[i] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, a, 80);
	}
	cr_expect_eq(xlb_ctl_apply_batch(fd, r, 5, &failed, err, sizeof(err)), -E2BIG);
	cr_expect_eq(failed, 4, "the fifth request is one too many");
	cr_expect(strstr(err, "more than 4 requests"), "%s", err);
	cr_expect_eq(gen_now(), gen);
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 0);
	cr_expect_eq(xlb_ctl_apply_batch(fd, r, 4, &failed, err, sizeof(err)), 0,
		     "four fit: %s", err);
	xlb_ctl_close(fd);
}

static void srv_setup_total_6(void)
{
	srv_batch_total = 6;
	srv_setup();
}

Test(ctl, requests_queued_over_all_connections_are_bounded_enospc, .init = srv_setup_total_6, .fini = srv_stop)
{
	int raw = raw_connect(), fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_ctl_batch_info info = { 0 };
	struct xlb_req r[3];
	size_t failed;

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 1, NULL), 0, "%s", err);
	for (int i = 0; i < 4; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.8.%d", i + 1);
		cr_assert_eq(raw_add_svc(raw, a, 2 + i), 0, "%s", err);
	}
	for (int i = 0; i < 3; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.9.%d", i + 1);
		r[i] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, a, 80);
	}
	cr_expect_eq(xlb_ctl_apply_batch(fd, r, 3, &failed, err, sizeof(err)), -ENOSPC);
	cr_expect_eq(failed, 2, "4 + 2 fill the 6");
	cr_expect(strstr(err, "holds 6 requests"), "%s", err);
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 6, &info), 0, "the other batch is intact: %s", err);
	cr_expect_eq(info.count, 4);
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 4);
	close(raw);
	xlb_ctl_close(fd);
}

Test(ctl, a_second_begin_is_ebusy_and_aborts_the_open_batch, .init = srv_setup, .fini = srv_stop)
{
	int raw = raw_connect();
	struct xlb_ctl_batch_info info = { 0 };
	uint64_t gen = gen_now();

	cr_assert_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 1, NULL), 0, "%s", err);
	cr_assert_eq(raw_add_svc(raw, "10.0.0.1", 2), 0, "%s", err);
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 3, NULL), -EBUSY);
	cr_expect(strstr(err, "already open"), "%s", err);
	cr_expect_eq(raw_add_svc(raw, "10.0.0.2", 4), -ECANCELED, "the batch is aborted");
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 5, &info), -EBUSY, "END tells why");
	cr_expect(info.failed);
	cr_expect_eq(info.index, 1, "the second BEGIN came second");
	cr_expect_eq(info.seq, 3);
	cr_expect_eq(info.count, 3);
	cr_expect_eq(gen_now(), gen, "nothing applied");
	/* END closed it: a new batch starts clean. */
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 6, NULL), 0, "%s", err);
	cr_expect_eq(raw_add_svc(raw, "10.0.0.3", 7), 0, "%s", err);
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 8, &info), 0, "%s", err);
	cr_expect_eq(gen_now(), gen + 1);
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 1);
	close(raw);
}

Test(ctl, end_without_begin_is_einval, .init = srv_setup, .fini = srv_stop)
{
	int raw = raw_connect();
	struct xlb_ctl_batch_info info = { .count = 77 };
	uint64_t gen = gen_now();

	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 1, &info), -EINVAL);
	cr_expect(strstr(err, "no batch is open"), "%s", err);
	cr_expect_eq(info.count, 77, "no reply message, only the ack");
	cr_expect_eq(gen_now(), gen);
	close(raw);
}

Test(ctl, request_refused_in_a_batch_aborts_it_and_end_names_it, .init = srv_setup, .fini = srv_stop)
{
	int raw = raw_connect();
	struct xlb_ctl_batch_info info = { 0 };
	struct xlb_req zero = { .op = XLB_REQ_ZERO };
	uint64_t gen = gen_now();

	cr_assert_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 10, NULL), 0, "%s", err);
	cr_assert_eq(raw_add_svc(raw, "10.0.0.1", 11), 0, "%s", err);
	cr_expect_eq(raw_req(raw, &zero, 12), -EOPNOTSUPP, "counters are not in batches");
	cr_expect_eq(raw_add_svc(raw, "10.0.0.2", 13), -ECANCELED);
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 14, &info), -EOPNOTSUPP);
	cr_expect(strstr(err, "zeroing counters cannot be part of a batch"), "%s", err);
	cr_expect_eq(info.index, 1);
	cr_expect_eq(info.seq, 12);
	cr_expect_eq(gen_now(), gen, "the request queued before it is not applied either");
	close(raw);
}

Test(ctl, garbage_inside_a_batch_aborts_it, .init = srv_setup, .fini = srv_stop)
{
	int raw = raw_connect();
	struct xlb_ctl_batch_info info = { 0 };
	uint64_t gen = gen_now();
	struct nlmsghdr *nlh;
	struct nlattr *n;

	cr_assert_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 1, NULL), 0, "%s", err);
	cr_assert_eq(raw_add_svc(raw, "10.0.0.1", 2), 0, "%s", err);
	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_DEST, NLM_F_REQUEST | NLM_F_ACK, 3);
	n = svc_nest(nlh, AF_INET, IPPROTO_TCP);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_DEST);
	mnl_attr_put_u32(nlh, XLB_DEST_ATTR_ADDR, ip("10.0.1.7"));
	mnl_attr_put_u32(nlh, XLB_DEST_ATTR_WEIGHT, 70000);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(xchg(raw, nlh, NULL), -EINVAL, "weight out of range");
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 4, &info), -EINVAL);
	cr_expect(strstr(err, "weight 70000"), "%s", err);
	cr_expect_eq(info.index, 1);
	cr_expect_eq(gen_now(), gen);
	close(raw);
}

Test(ctl, reads_inside_a_batch_see_the_published_tables, .init = srv_setup, .fini = srv_stop)
{
	int raw = raw_connect(), fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_ctl_batch_info info = { 0 };
	struct xlb_svc_key k = { { .ip = ip("10.0.0.1") }, htons(80), IPPROTO_TCP, 0 };
	struct xlb_svc_info one;
	struct xlb_req get = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	char mb[256] = { 0 };
	struct nlmsghdr *nlh;

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(raw_cmd(raw, XLB_CMD_BATCH_BEGIN, 1, NULL), 0, "%s", err);
	cr_assert_eq(raw_add_svc(raw, "10.0.0.1", 2), 0, "%s", err);
	nlh = xlb_ctl_msg_start(mb, sizeof(mb), XLB_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_ACK, 3);
	xlb_ctl_put_svc(nlh, sizeof(mb), &get.svc, 0, NULL, NULL);
	cr_expect_eq(xchg(raw, nlh, NULL), -ESRCH, "queued, not published");
	cr_expect_eq(raw_cmd(raw, XLB_CMD_BATCH_END, 4, &info), 0, "a refused read does not abort: %s",
		     err);
	cr_expect_eq(info.count, 1, "reads are not counted");
	cr_expect_eq(xlb_ctl_get_service(fd, &k, &one, err, sizeof(err)), 0, "%s", err);
	close(raw);
	xlb_ctl_close(fd);
}

Test(ctl, edits_in_a_batch_change_only_what_they_name, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_svc_key k = { { .ip = ip("10.0.0.1") }, htons(80), IPPROTO_TCP, 0 };
	struct xlb_svc_key k2 = { { .ip = ip("10.0.0.2") }, htons(80), IPPROTO_TCP, 0 };
	struct xlb_svc_info one;
	struct xlb_dest_info *d;
	struct xlb_req r[5];
	size_t n, failed;

	cr_assert_geq(fd, 0, "%s", err);
	add_sample(fd);
	r[0] = svc_req(XLB_REQ_EDIT_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	r[0].svc.vnodes = 33;
	r[0].svc_set = XLB_SVC_SET_VNODES;
	r[1] = dest_req(XLB_REQ_EDIT_DEST, "10.0.0.1", 80, "10.0.1.1", 8080, XLB_FWD_DR, 9);
	/* A service that exists only in the batch, edited in it. */
	r[2] = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.2", 80);
	r[3] = svc_req(XLB_REQ_EDIT_SVC, IPPROTO_TCP, "10.0.0.2", 80);
	r[3].svc.flags = XLB_SVC_F_PERSISTENT;
	r[3].svc.timeout = 120;
	r[3].svc_set = XLB_SVC_SET_PERSIST;
	r[4] = dest_req(XLB_REQ_ADD_DEST, "10.0.0.2", 80, "10.0.1.5", 80, XLB_FWD_DR, 1);
	r[4].dest_set = 0;	/* defaults: DR, weight 1 */
	r[4].dest.weight = 0;
	cr_assert_eq(xlb_ctl_apply_batch(fd, r, 5, &failed, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_service(fd, &k, &one, err, sizeof(err)), 0);
	cr_expect_eq(one.cfg.vnodes, 33);
	cr_expect_eq(one.cfg.flags, XLB_SVC_F_PERSISTENT, "persistence kept");
	cr_expect_eq(one.cfg.timeout, 600);
	cr_assert_eq(xlb_ctl_get_dests(fd, &k, &d, &n, err, sizeof(err)), 0);
	cr_expect_eq(d[0].cfg.weight, 9);
	cr_expect_eq(d[0].cfg.fwd, XLB_FWD_NAT, "method not named: kept");
	free(d);
	cr_assert_eq(xlb_ctl_get_service(fd, &k2, &one, err, sizeof(err)), 0);
	cr_expect_eq(one.cfg.flags, XLB_SVC_F_PERSISTENT);
	cr_expect_eq(one.cfg.timeout, 120);
	cr_assert_eq(xlb_ctl_get_dests(fd, &k2, &d, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 1);
	cr_expect_eq(d[0].cfg.fwd, XLB_FWD_DR);
	free(d);
	xlb_ctl_close(fd);
}

Test(ctl, unprivileged_begin_is_eperm, .init = srv_setup, .fini = srv_stop)
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		srv_stop();	/* a skipped test's .fini does not run */
		cr_skip_test("SKIPPED: needs root to switch uid");
	}
	cr_assert_eq(chmod(S.dir, 0755), 0);
	cr_assert_eq(chmod(S.path, 0666), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
		size_t failed = 0;
		int fd, code = 0;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = xlb_ctl_open(S.path, err, sizeof(err));
		if (fd < 0)
			_exit(11);
		if (xlb_ctl_apply_batch(fd, &r, 1, &failed, err, sizeof(err)) != -EPERM)
			code |= 1;
		if (!strstr(err, "permission denied"))
			code |= 2;
		if (failed != SIZE_MAX)
			code |= 4;	/* BEGIN, not a request, was refused */
		_exit(code);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), 0, "child result bits %d", WEXITSTATUS(status));
	cr_expect_eq(xlb_tables_current(S.t)->nsvcs, 0, "nothing was added");
}

/* xlb_ctl_server_handle() (the fuzzer's entry): no connection outlives a
 * call, so neither does a batch. */
Test(ctl, a_batch_given_to_server_handle_lives_within_the_call)
{
	struct xlb_ctl_server_params p = { 0 };
	struct xlb_ctl_server *s;
	struct xlb_tables *t;
	struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	char dir[] = "/tmp/xlb-ctl-handle-XXXXXX", path[128], rb[4096];
	int sv[2], len = 0, e, left;
	uint64_t gen;

	xlb_log_set_hook(quiet_log, NULL);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.sock", dir);
	cr_assert_eq(xlb_tables_new(&t), 0);
	p.path = path;
	p.tables = t;
	cr_assert_eq(xlb_ctl_server_new(&s, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	gen = xlb_tables_current(t)->gen;

	memset(buf, 0, sizeof(buf));
	len = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_BATCH_BEGIN, NLM_F_REQUEST, 1)->nlmsg_len;
	len += xlb_ctl_build_req(buf + len, sizeof(buf) - len, &r, 2);
	cr_assert_eq(xlb_ctl_server_handle(s, sv[0], buf, len, true), 0);
	cr_assert_gt(left = recv(sv[1], rb, sizeof(rb), 0), 0);
	for (struct nlmsghdr *h = (void *)rb; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
		cr_assert_eq(xlb_ctl_parse_ack(h, &e, NULL, 0), 0);
		cr_expect_eq(e, 0, "BEGIN and the request acked");
	}
	len = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_BATCH_END, NLM_F_REQUEST, 3)->nlmsg_len;
	cr_assert_eq(xlb_ctl_server_handle(s, sv[0], buf, len, true), 0);
	cr_assert_gt(recv(sv[1], rb, sizeof(rb), 0), 0);
	cr_assert_eq(xlb_ctl_parse_ack((struct nlmsghdr *)rb, &e, NULL, 0), 0);
	cr_expect_eq(e, -EINVAL, "the batch ended with the call that began it");
	cr_expect_eq(xlb_tables_current(t)->gen, gen);

	/* Begun and ended in one datagram: applied. */
	len = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_BATCH_BEGIN, NLM_F_REQUEST, 4)->nlmsg_len;
	len += xlb_ctl_build_req(buf + len, sizeof(buf) - len, &r, 5);
	len += xlb_ctl_msg_start(buf + len, sizeof(buf) - len, XLB_CMD_BATCH_END, NLM_F_REQUEST,
				 6)->nlmsg_len;
	cr_assert_eq(xlb_ctl_server_handle(s, sv[0], buf, len, true), 0);
	cr_expect_eq(xlb_tables_current(t)->gen, gen + 1);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 1);

	xlb_ctl_server_free(s);
	xlb_tables_free(t);
	close(sv[0]);
	close(sv[1]);
	rmdir(dir);
	xlb_log_set_hook(NULL, NULL);
}

/* ---- counters (xlbctl --counters) ---- */

static struct xlb_counter_info counter(const char *group, const char *name, uint64_t v)
{
	struct xlb_counter_info c = { .value = v };

	snprintf(c.group, sizeof(c.group), "%s", group);
	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

Test(ctl, counter_reply_round_trips_group_name_and_full_64_bit_value)
{
	struct xlb_counter_info c = counter("datapath", "drop_no_real_server", UINT64_MAX - 1);
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_counter(nlh, sizeof(buf), &c), 0);
	parse_back(&m);
	cr_expect_eq(m.cmd, XLB_CMD_NEW_COUNTER);
	cr_expect_eq(m.has, XLB_CTL_HAS_COUNTER);
	cr_expect_str_eq(m.counter.group, "datapath");
	cr_expect_str_eq(m.counter.name, "drop_no_real_server");
	cr_expect_eq(m.counter.value, UINT64_MAX - 1);
}

Test(ctl, counter_of_the_longest_name_round_trips)
{
	char name[XLB_COUNTER_NAME_MAX];
	struct xlb_counter_info c;
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	c = counter("malformed", name, 0);
	cr_assert_eq(xlb_ctl_put_counter(nlh, sizeof(buf), &c), 0);
	parse_back(&m);
	cr_expect_str_eq(m.counter.name, name, "31 characters fit");
	cr_expect_eq(m.counter.value, 0, "zeros are counters too");
}

Test(ctl, counter_builder_refuses_names_a_line_parser_would_misread)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER,
						 NLM_F_MULTI, 3);
	struct xlb_counter_info c = counter("conn", "has space", 1);
	uint32_t len = nlh->nlmsg_len;

	cr_expect_eq(xlb_ctl_put_counter(nlh, sizeof(buf), &c), -EINVAL, "a blank");
	c = counter("", "created", 1);
	cr_expect_eq(xlb_ctl_put_counter(nlh, sizeof(buf), &c), -EINVAL, "an empty group");
	c = counter("conn", "new\nline", 1);
	cr_expect_eq(xlb_ctl_put_counter(nlh, sizeof(buf), &c), -EINVAL, "a newline");
	c = counter("conn", "created", 1);
	memset(c.name, 'x', sizeof(c.name));	/* no room for the NUL */
	cr_expect_eq(xlb_ctl_put_counter(nlh, sizeof(buf), &c), -EINVAL, "unterminated");
	cr_expect_eq(nlh->nlmsg_len, len, "the message is left as it was");
}

Test(ctl, counter_builder_refuses_to_overflow_and_leaves_the_message_intact)
{
	struct xlb_counter_info c = counter("xdp", "redirected", 5);
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, 48, XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	uint32_t len = nlh->nlmsg_len;

	cr_expect_eq(xlb_ctl_put_counter(nlh, 48, &c), -EMSGSIZE);
	cr_expect_eq(nlh->nlmsg_len, len);
}

/* A counter nest whose parts the caller writes. */
static struct nlattr *counter_nest(struct nlmsghdr *nlh)
{
	return mnl_attr_nest_start(nlh, XLB_CMD_ATTR_COUNTER);
}

Test(ctl, counter_without_a_value_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct nlattr *n = counter_nest(nlh);
	struct xlb_ctl_msg m;

	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_GROUP, "xdp");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "passed");
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "counter needs a group, a name and a value"), "%s", err);
}

Test(ctl, counter_value_that_is_not_a_u64_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct nlattr *n = counter_nest(nlh);
	struct xlb_ctl_msg m;

	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_GROUP, "xdp");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "passed");
	mnl_attr_put_u32(nlh, XLB_COUNTER_ATTR_VALUE, 7);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "value"), "message names the attribute: %s", err);
}

Test(ctl, counter_name_of_32_characters_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct nlattr *n = counter_nest(nlh);
	struct xlb_ctl_msg m;

	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_GROUP, "xdp");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "abcdefghijklmnopqrstuvwxyz012345");
	mnl_attr_put_u64(nlh, XLB_COUNTER_ATTR_VALUE, 7);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "longer than 31 bytes"), "%s", err);
}

Test(ctl, counter_group_without_terminating_nul_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct nlattr *n = counter_nest(nlh);
	struct xlb_ctl_msg m;

	mnl_attr_put(nlh, XLB_COUNTER_ATTR_GROUP, 3, "xdp");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "passed");
	mnl_attr_put_u64(nlh, XLB_COUNTER_ATTR_VALUE, 7);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "group"), "%s", err);
}

Test(ctl, counter_name_with_a_blank_or_empty_group_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct nlattr *n = counter_nest(nlh);
	struct xlb_ctl_msg m;

	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_GROUP, "xdp");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "two words");
	mnl_attr_put_u64(nlh, XLB_COUNTER_ATTR_VALUE, 7);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "without spaces"), "%s", err);

	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	n = counter_nest(nlh);
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_GROUP, "");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "passed");
	mnl_attr_put_u64(nlh, XLB_COUNTER_ATTR_VALUE, 7);
	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, counter_nest_overrunning_its_parent_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct nlattr *n = counter_nest(nlh), *last;
	struct xlb_ctl_msg m;

	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_GROUP, "xdp");
	mnl_attr_put_strz(nlh, XLB_COUNTER_ATTR_NAME, "passed");
	last = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put_u64(nlh, XLB_COUNTER_ATTR_VALUE, 7);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_put_u32(nlh, XLB_CMD_ATTR_TIMEOUT_TCP, 10);	/* keeps the overrun inside the message */
	last->nla_len += 8;
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "has length"), "%s", err);
}

Test(ctl, counter_nest_that_is_not_nested_is_einval)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 1);
	struct xlb_ctl_msg m;

	mnl_attr_put(nlh, XLB_CMD_ATTR_COUNTER, 2, "xx");	/* shorter than an attribute */
	cr_expect_eq(parse_buf(&m), -EINVAL);
}

Test(ctl, get_counters_is_a_read_needing_no_attribute)
{
	struct xlb_ctl_msg m;

	xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_GET_COUNTERS, NLM_F_REQUEST | NLM_F_DUMP, 1);
	cr_expect_eq(parse_buf(&m), 0, "%s", err);
	cr_expect_not(xlb_ctl_cmd_changes(XLB_CMD_GET_COUNTERS));
}

/* A fake datapath: nfake counters, groups in turn, values from the index. */
static size_t nfake;
static const char *fake_bad_name;	/* emitted as counter 2 when set */
static const char *const fake_groups[] = { "xdp", "datapath", "malformed", "conn" };

static uint64_t fake_value(size_t i)
{
	return i % 7 ? (uint64_t)i * 0x9e3779b97f4a7c15ull : 0;	/* zeros too */
}

static int fake_dump_counters(xlb_counter_emit_fn emit, void *emit_arg, void *arg)
{
	char name[32];
	int rc;

	if (arg != &nfake)
		return -EFAULT;	/* not its own argument: the client sees the dump fail */
	for (size_t i = 0; i < nfake; i++) {
		snprintf(name, sizeof(name), "c%05zu", i);
		rc = emit(fake_groups[i % 4], i == 2 && fake_bad_name ? fake_bad_name : name,
			  fake_value(i), emit_arg);
		if (rc)
			return rc;
	}
	return 0;
}

static void srv_setup_counters(void)
{
	struct xlb_tables_provider p = { .dump_counters = fake_dump_counters, .arg = &nfake };

	srv_start(NULL);
	/* Before any request: the server reads the provider only to answer. */
	xlb_tables_set_provider(S.t, &p);
}

Test(ctl, counters_dump_of_5000_comes_whole_and_in_the_daemons_order, .init = srv_setup_counters, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_counter_info *c;
	size_t n = 0;
	char name[32];

	cr_assert_geq(fd, 0, "%s", err);
	nfake = 5000;
	fake_bad_name = NULL;
	cr_assert_eq(xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 5000);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%05zu", i);
		cr_assert_str_eq(c[i].group, fake_groups[i % 4], "at %zu", i);
		cr_assert_str_eq(c[i].name, name, "at %zu", i);
		cr_assert_eq(c[i].value, fake_value(i), "at %zu", i);
	}
	free(c);
	xlb_ctl_close(fd);
}

Test(ctl, counters_dump_is_split_into_bounded_multipart_datagrams_ending_in_done, .init = srv_setup_counters, .fini = srv_stop)
{
	int raw = raw_connect();
	size_t total = 0, datagrams = 0;
	struct nlmsghdr *nlh;
	bool done = false;

	nfake = 5000;
	fake_bad_name = NULL;
	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_GET_COUNTERS,
				NLM_F_REQUEST | NLM_F_DUMP, 43);
	cr_assert_eq(send(raw, buf, nlh->nlmsg_len, 0), (ssize_t)nlh->nlmsg_len);
	while (!done) {
		ssize_t r = recv(raw, buf, sizeof(buf), MSG_TRUNC);
		int left = (int)r;

		cr_assert_gt(r, 0);
		cr_assert_leq(r, XLB_CTL_MSG_MAX);
		datagrams++;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			struct xlb_ctl_msg m;

			cr_expect_eq(nlh->nlmsg_seq, 43);
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = true;
				continue;
			}
			cr_assert_eq(nlh->nlmsg_type, XLB_GENL_ID, "no error mid-dump");
			cr_expect(nlh->nlmsg_flags & NLM_F_MULTI);
			cr_assert_eq(xlb_ctl_parse(nlh, &m, err, sizeof(err)), 0, "%s", err);
			cr_expect_eq(m.cmd, XLB_CMD_NEW_COUNTER);
			cr_expect_eq(m.counter.value, fake_value(total), "in order at %zu", total);
			total++;
		}
		cr_expect_eq(left, 0, "no stray bytes in a datagram");
	}
	cr_expect_eq(total, 5000);
	cr_expect_gt(datagrams, 1, "5000 counters do not fit in one datagram");
	close(raw);
}

Test(ctl, counters_dump_without_a_datapath_is_empty, .init = srv_setup, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_counter_info *c;
	size_t n = 99;

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 0);
	free(c);
	xlb_ctl_close(fd);
}

Test(ctl, counters_dump_of_a_provider_without_counters_is_empty, .init = srv_setup, .fini = srv_stop)
{
	struct xlb_tables_provider p = { .arg = &nfake };	/* dump_counters NULL */
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_counter_info *c;
	size_t n = 99;

	xlb_tables_set_provider(S.t, &p);
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 0);
	free(c);
	xlb_ctl_close(fd);
}

Test(ctl, counter_with_an_unsendable_name_fails_the_dump_loudly, .init = srv_setup_counters, .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_counter_info *c = (void *)1;
	size_t n = 99;

	cr_assert_geq(fd, 0, "%s", err);
	nfake = 10;
	fake_bad_name = "a name of well over thirty-one characters";
	cr_expect_eq(xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "dump failed"), "%s", err);
	cr_expect_eq(n, 0, "nothing half-listed");
	cr_expect_null(c);
	fake_bad_name = "with space";
	cr_expect_eq(xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)), -EINVAL);
	/* The connection is still good. */
	fake_bad_name = NULL;
	cr_expect_eq(xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 10);
	free(c);
	xlb_ctl_close(fd);
}

Test(ctl, counters_are_readable_by_a_peer_that_may_not_change_tables, .init = srv_setup_counters, .fini = srv_stop)
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		srv_stop();	/* a skipped test's .fini does not run */
		cr_skip_test("SKIPPED: needs root to switch uid");
	}
	cr_assert_eq(chmod(S.dir, 0755), 0, "let uid 65534 reach the socket");
	cr_assert_eq(chmod(S.path, 0666), 0, "and connect");
	nfake = 40;
	fake_bad_name = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct xlb_counter_info *c;
		size_t n = 0;
		int fd;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = xlb_ctl_open(S.path, err, sizeof(err));
		if (fd < 0)
			_exit(11);
		if (xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err)) != 0)
			_exit(12);
		_exit(n == 40 ? 0 : 13);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), 0, "child status %d", WEXITSTATUS(status));
}

/* ---- dumps that wait on their reader (issue 10, item 2) ---- */

/* A fake connection table of nfakeconns entries, client port = index. */
static unsigned int nfakeconns;
static long fake_conn_calls;

static int fake_copy_conns(uint64_t *cursor, struct xlb_conn_info *b, unsigned int max,
			   void *arg)
{
	unsigned int n = 0;

	(void)arg;
	__atomic_fetch_add(&fake_conn_calls, 1, __ATOMIC_RELAXED);
	for (; *cursor < nfakeconns && n < max; (*cursor)++, n++)
		b[n] = (struct xlb_conn_info){
			.proto = IPPROTO_UDP,
			.caddr.ip = htonl(0x0a000000u + (uint32_t)*cursor),
			.cport = htons((uint16_t)*cursor),
			.vaddr.ip = htonl(0xc0a80001), .vport = htons(53),
			.daddr.ip = htonl(0x0a010101), .dport = htons(53),
			.state = "UDP", .expires = 300 };
	return (int)n;
}

static void srv_setup_conns(void)
{
	struct xlb_tables_provider p = { .copy_conns = fake_copy_conns };

	srv_start(NULL);
	xlb_tables_set_provider(S.t, &p);
	nfakeconns = 50000;	/* far more than a socket buffer holds */
}

static void srv_setup_conns_stall_300(void)
{
	srv_stall_ms = 300;
	srv_setup_conns();
	srv_stall_ms = 0;
}

static long calls(void)
{
	return __atomic_load_n(&fake_conn_calls, __ATOMIC_RELAXED);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Ask for the connection dump on raw (seq), reading nothing. */
static void ask_conns(int raw, uint32_t seq)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_GET_CONN,
						 NLM_F_REQUEST | NLM_F_DUMP, seq);

	cr_assert_eq(send(raw, buf, nlh->nlmsg_len, 0), (ssize_t)nlh->nlmsg_len);
}

/* Read raw until DONE of seq (true) or the end of the connection (false);
 * every NEW_CONN must be seq's, in the table's order from *next on. */
static bool read_conns(int raw, uint32_t seq, unsigned int *next)
{
	for (;;) {
		ssize_t r = recv(raw, buf, sizeof(buf), 0);
		int left = (int)r;
		struct nlmsghdr *nlh;

		if (r <= 0)
			return false;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			struct xlb_ctl_msg m;

			cr_assert_eq(nlh->nlmsg_seq, seq);
			if (nlh->nlmsg_type == NLMSG_DONE) {
				cr_assert_eq(left, (int)MNL_ALIGN(nlh->nlmsg_len), "DONE is last");
				return true;
			}
			cr_assert_eq(nlh->nlmsg_type, XLB_GENL_ID, "no error mid-dump");
			cr_assert(nlh->nlmsg_flags & NLM_F_MULTI);
			cr_assert_eq(xlb_ctl_parse(nlh, &m, err, sizeof(err)), 0, "%s", err);
			cr_assert_eq(m.cmd, XLB_CMD_NEW_CONN);
			cr_assert_eq(ntohs(m.conn.cport), (uint16_t)*next, "in order at %u", *next);
			(*next)++;
		}
	}
}

Test(ctl, a_dump_reader_that_does_not_read_stalls_no_other_client, .init = srv_setup_conns, .fini = srv_stop)
{
	int raw = raw_connect(), fd;
	struct xlb_info info;
	struct xlb_svc_info *svcs;
	unsigned int next = 0;
	uint64_t t0, t1;
	long c1, c2;
	size_t n;

	ask_conns(raw, 7);
	usleep(200 * 1000);	/* its socket is full by now */
	fd = xlb_ctl_open(S.path, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	t0 = ms_now();
	cr_assert_eq(xlb_ctl_get_info(fd, &info, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(xlb_ctl_get_services(fd, &svcs, &n, err, sizeof(err)), 0, "%s", err);
	free(svcs);
	t1 = ms_now();
	cr_expect_lt(t1 - t0, 500, "another client waited %lu ms", (unsigned long)(t1 - t0));
	/* Parked, not polled in a loop: the table is not asked meanwhile. */
	c1 = calls();
	usleep(200 * 1000);
	c2 = calls();
	cr_expect_eq(c1, c2, "the parked dump asked the table %ld times", c2 - c1);
	cr_expect_lt(c1, 50000 / 64, "only what the socket took was copied out");
	xlb_ctl_close(fd);
	/* Reading at last: the whole dump, in order, then DONE. */
	cr_assert(read_conns(raw, 7, &next), "the dump ends with DONE");
	cr_expect_eq(next, 50000);
	close(raw);
}

Test(ctl, requests_after_a_dump_in_its_datagram_are_answered_after_its_done, .init = srv_setup_conns, .fini = srv_stop)
{
	int raw = raw_connect(), left;
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_GET_CONN,
						 NLM_F_REQUEST | NLM_F_DUMP, 10);
	size_t len = MNL_ALIGN(nlh->nlmsg_len);
	unsigned int next = 0;
	bool info = false, ack = false;
	ssize_t r;

	nlh = xlb_ctl_msg_start(buf + len, sizeof(buf) - len, XLB_CMD_GET_INFO,
				NLM_F_REQUEST, 11);
	len += nlh->nlmsg_len;
	cr_assert_eq(send(raw, buf, len, 0), (ssize_t)len);
	usleep(200 * 1000);	/* the dump is parked with GET_INFO behind it */
	cr_assert(read_conns(raw, 10, &next));
	cr_expect_eq(next, 50000);
	while (!ack && (r = recv(raw, buf, sizeof(buf), 0)) > 0) {
		left = (int)r;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			cr_assert_eq(nlh->nlmsg_seq, 11);
			if (nlh->nlmsg_type == NLMSG_ERROR)
				ack = true;
			else
				info = true;
		}
	}
	cr_expect(info, "GET_INFO answered");
	cr_expect(ack, "and acknowledged");
	close(raw);
}

Test(ctl, clients_closing_mid_dump_are_dropped_with_their_dumps, .init = srv_setup_conns, .fini = srv_stop)
{
	struct xlb_info info;
	int fd;

	/* More than XLB_CTL_MAX_CLIENTS: were a closed one kept, its slot
	 * would be lost and the last connection refused. */
	for (int i = 0; i < XLB_CTL_MAX_CLIENTS + 36; i++) {
		int raw = raw_connect();

		ask_conns(raw, 1);
		usleep(2000);
		close(raw);
	}
	usleep(300 * 1000);
	fd = xlb_ctl_open(S.path, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(xlb_ctl_get_info(fd, &info, err, sizeof(err)), 0, "%s", err);
	xlb_ctl_close(fd);
}

Test(ctl, a_client_that_takes_nothing_for_stall_ms_is_dropped, .init = srv_setup_conns_stall_300, .fini = srv_stop)
{
	int raw = raw_connect(), fd;
	unsigned int next = 0;
	struct xlb_info info;

	ask_conns(raw, 3);
	usleep(800 * 1000);
	cr_expect_not(read_conns(raw, 3, &next), "dropped: no DONE");
	cr_expect_gt(next, 0u, "what was sent before can still be read");
	cr_expect_lt(next, 50000u);
	close(raw);
	fd = xlb_ctl_open(S.path, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(xlb_ctl_get_info(fd, &info, err, sizeof(err)), 0, "%s", err);
	xlb_ctl_close(fd);
}

#define RESUME_SVCS	1900	/* twice that, less 200, within the 4,096 services */

static struct xlb_req svc_n(enum xlb_req_op op, unsigned int i)
{
	struct xlb_req r = { .op = op, .has_svc = true };

	r.svc.key.proto = IPPROTO_TCP;
	r.svc.key.addr.ip = htonl(0x0a020000u + i);	/* 10.2.x.y, sorted by i */
	r.svc.key.port = htons(80);
	return r;
}

Test(ctl, a_parked_services_dump_resumes_after_the_last_one_sent_whatever_changed, .init = srv_setup, .fini = srv_stop)
{
	static struct xlb_req reqs[RESUME_SVCS];
	static uint8_t seen[2 * RESUME_SVCS + 2];
	int fd = xlb_ctl_open(S.path, err, sizeof(err)), raw = raw_connect();
	struct nlmsghdr *nlh;
	uint32_t last = 0;
	size_t failed, got = 0;
	unsigned int odd = 0;
	bool done = false;

	cr_assert_geq(fd, 0, "%s", err);
	/* Even indexes now; odd ones are added while the dump is parked. */
	for (unsigned int i = 0; i < RESUME_SVCS; i++)
		reqs[i] = svc_n(XLB_REQ_ADD_SVC, 2 * i);
	cr_assert_eq(xlb_ctl_apply_batch(fd, reqs, RESUME_SVCS, &failed, err, sizeof(err)), 0,
		     "%s", err);
	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_GET_SERVICE,
				NLM_F_REQUEST | NLM_F_DUMP, 5);
	cr_assert_eq(send(raw, buf, nlh->nlmsg_len, 0), (ssize_t)nlh->nlmsg_len);
	usleep(200 * 1000);	/* parked: its socket is full */
	/* Meanwhile: the first and last 100 go, odd ones arrive everywhere. */
	for (unsigned int i = 0; i < 100; i++) {
		reqs[2 * i] = svc_n(XLB_REQ_DEL_SVC, 2 * i);
		reqs[2 * i + 1] = svc_n(XLB_REQ_DEL_SVC, 2 * (RESUME_SVCS - 1 - i));
	}
	cr_assert_eq(xlb_ctl_apply_batch(fd, reqs, 200, &failed, err, sizeof(err)), 0, "%s", err);
	for (unsigned int i = 0; i < RESUME_SVCS; i++)
		reqs[i] = svc_n(XLB_REQ_ADD_SVC, 2 * i + 1);
	cr_assert_eq(xlb_ctl_apply_batch(fd, reqs, RESUME_SVCS, &failed, err, sizeof(err)), 0,
		     "%s", err);
	xlb_ctl_close(fd);

	while (!done) {
		ssize_t r = recv(raw, buf, sizeof(buf), 0);
		int left = (int)r;

		cr_assert_gt(r, 0);
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			struct xlb_ctl_msg m;
			uint32_t i;

			cr_assert_eq(nlh->nlmsg_seq, 5);
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = true;
				continue;
			}
			cr_assert_eq(nlh->nlmsg_type, XLB_GENL_ID, "no error mid-dump");
			cr_assert_eq(xlb_ctl_parse(nlh, &m, err, sizeof(err)), 0, "%s", err);
			i = ntohl(m.svc.cfg.key.addr.ip) - 0x0a020000u;
			cr_assert_lt(i, 2 * RESUME_SVCS);
			cr_assert(!got || i > last, "in order, never twice: %u after %u", i, last);
			last = i;
			seen[i]++;
			got++;
		}
	}
	/* Every service that was there all along: listed once. */
	for (unsigned int i = 100; i < RESUME_SVCS - 100; i++)
		cr_assert_eq(seen[2 * i], 1, "service %u listed %u times", 2 * i, seen[2 * i]);
	cr_expect_gt(got, (size_t)RESUME_SVCS - 200);
	for (unsigned int i = 0; i < RESUME_SVCS; i++)
		odd += seen[2 * i + 1];
	cr_expect_gt(odd, 0u, "the dump was parked mid-way: it lists services added meanwhile");
	cr_expect_lt(odd, RESUME_SVCS, "but not those before where it was parked");
	close(raw);
}

/* ---- IPv6 (issue 14): family attribute and 16-byte addresses ---- */

static union xlb_inaddr ip6(const char *s)
{
	union xlb_inaddr a = { .ip6 = { 0 } };

	cr_assert_eq(inet_pton(AF_INET6, s, &a.in6), 1, "%s", s);
	return a;
}

static struct xlb_req svc6_req(enum xlb_req_op op, const char *addr, uint16_t port)
{
	struct xlb_req r = { .op = op, .has_svc = true };

	r.svc.key.proto = IPPROTO_TCP;
	r.svc.key.af = AF_INET6;
	r.svc.key.addr = ip6(addr);
	r.svc.key.port = htons(port);
	return r;
}

/* The attribute of type t in the service (or destination) nest of the
 * message in buf, or NULL. */
static const struct nlattr *nested_attr(uint16_t nest, uint16_t t)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct nlattr *a, *b;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == nest)
			mnl_attr_for_each_nested(b, a)
				if (mnl_attr_get_type(b) == t)
					return b;
	return NULL;
}

Test(ctl, ipv6_service_request_carries_af_inet6_and_16_byte_address)
{
	struct xlb_req r = svc6_req(XLB_REQ_ADD_SVC, "2001:db8::1", 80);
	struct xlb_ctl_msg m;
	const struct nlattr *a;

	r.svc.flags = XLB_SVC_F_PERSISTENT;
	r.svc.timeout = 600;
	r.svc.netmask = 64;
	snprintf(r.svc.sched, sizeof(r.svc.sched), "sh");
	r.svc_set = XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK;
	round_trip(&r, &m);
	a = nested_attr(XLB_CMD_ATTR_SERVICE, XLB_SVC_ATTR_AF);
	cr_assert_not_null(a);
	cr_expect_eq(mnl_attr_get_u16(a), AF_INET6);
	a = nested_attr(XLB_CMD_ATTR_SERVICE, XLB_SVC_ATTR_ADDR);
	cr_assert_not_null(a);
	cr_expect_eq(mnl_attr_get_payload_len(a), 16, "IPVS's nf_inet_addr size");
	cr_expect_eq(m.svc.cfg.key.af, AF_INET6);
	cr_expect(xlb_inaddr_eq(&m.svc.cfg.key.addr, &r.svc.key.addr));
	cr_expect_eq(m.svc.cfg.key.port, htons(80));
	cr_expect_eq(m.svc.cfg.netmask, 64, "a prefix length, as IPVS");
	cr_expect_str_eq(m.svc.cfg.sched, "sh");
}

Test(ctl, ipv4_service_address_stays_a_4_byte_attribute)
{
	struct xlb_req r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_ctl_msg m;
	const struct nlattr *a;

	round_trip(&r, &m);
	a = nested_attr(XLB_CMD_ATTR_SERVICE, XLB_SVC_ATTR_ADDR);
	cr_assert_not_null(a);
	cr_expect_eq(mnl_attr_get_payload_len(a), 4);
	cr_expect_eq(m.svc.cfg.key.af, AF_INET);
}

Test(ctl, ipv6_dest_round_trips_and_a_dest_without_family_takes_the_services)
{
	struct xlb_req r = svc6_req(XLB_REQ_ADD_DEST, "2001:db8::1", 80);
	struct xlb_ctl_msg m;
	struct nlmsghdr *nlh;
	struct nlattr *n;
	union xlb_inaddr rip = ip6("2001:db8::11");

	r.dest = (struct xlb_dest_cfg){ .af = AF_INET6, .addr = rip, .port = htons(8080),
					.fwd = XLB_FWD_NAT, .weight = 2 };
	round_trip(&r, &m);
	cr_expect_eq(m.dest.cfg.af, AF_INET6);
	cr_expect(xlb_inaddr_eq(&m.dest.cfg.addr, &rip));
	cr_expect_eq(m.dest.cfg.port, htons(8080));

	/* As IPVS's older clients: no DEST_ATTR_ADDR_FAMILY. */
	nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_DEST, NLM_F_REQUEST | NLM_F_ACK, 1);
	n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_SERVICE);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_AF, AF_INET6);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	mnl_attr_put(nlh, XLB_SVC_ATTR_ADDR, 16, &r.svc.key.addr);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PORT, htons(80));
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_DEST);
	mnl_attr_put(nlh, XLB_DEST_ATTR_ADDR, 16, &rip);
	mnl_attr_put_u16(nlh, XLB_DEST_ATTR_PORT, htons(80));
	mnl_attr_nest_end(nlh, n);
	cr_assert_eq(parse_buf(&m), 0, "%s", err);
	cr_expect_eq(m.dest.cfg.af, AF_INET6);
	cr_expect(xlb_inaddr_eq(&m.dest.cfg.addr, &rip));
}

Test(ctl, ipv6_service_with_a_4_byte_address_is_einval)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = svc_nest(nlh, AF_INET6, IPPROTO_TCP);
	struct xlb_ctl_msg m;

	mnl_attr_nest_end(nlh, n);
	cr_expect_eq(parse_buf(&m), -EINVAL);
	cr_expect(strstr(err, "IPv6 address needs 16 bytes"), "%s", err);
}

Test(ctl, ipv4_service_given_as_16_bytes_reads_the_first_four_as_ipvs)
{
	struct nlmsghdr *nlh = start(XLB_CMD_NEW_SERVICE);
	struct nlattr *n = mnl_attr_nest_start(nlh, XLB_CMD_ATTR_SERVICE);
	union xlb_inaddr a = xlb_inaddr_v4(ip("10.0.0.1"));
	struct xlb_ctl_msg m;

	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_AF, AF_INET);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	mnl_attr_put(nlh, XLB_SVC_ATTR_ADDR, 16, &a);
	mnl_attr_put_u16(nlh, XLB_SVC_ATTR_PORT, htons(80));
	mnl_attr_nest_end(nlh, n);
	cr_assert_eq(parse_buf(&m), 0, "%s", err);
	cr_expect_eq(m.svc.cfg.key.af, AF_INET);
	cr_expect_eq(m.svc.cfg.key.addr.ip, ip("10.0.0.1"));
}

Test(ctl, ipv6_prefix_length_out_of_range_is_einval)
{
	struct xlb_req r = svc6_req(XLB_REQ_ADD_SVC, "2001:db8::1", 80);
	struct xlb_ctl_msg m;
	int len;

	r.svc.netmask = 129;
	r.svc_set = XLB_SVC_SET_NETMASK;
	len = xlb_ctl_build_req(buf, sizeof(buf), &r, 1);
	cr_assert_gt(len, 0);
	cr_expect_eq(xlb_ctl_parse((struct nlmsghdr *)buf, &m, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "1..128"), "%s", err);
}

Test(ctl, ipv6_connection_round_trips_with_its_family)
{
	struct xlb_conn_info c = { .proto = IPPROTO_TCP, .af = AF_INET6,
				   .caddr = ip6("2001:db8:1::5"), .cport = htons(40000),
				   .vaddr = ip6("2001:db8::1"), .vport = htons(80),
				   .daddr = ip6("2001:db8::11"), .dport = htons(80),
				   .state = "ESTABLISHED", .expires = 899 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), XLB_CMD_NEW_CONN,
						 NLM_F_MULTI, 3);
	struct xlb_ctl_msg m;

	cr_assert_eq(xlb_ctl_put_conn(nlh, sizeof(buf), &c), 0);
	parse_back(&m);
	cr_expect_eq(m.conn.af, AF_INET6);
	cr_expect(xlb_inaddr_eq(&m.conn.caddr, &c.caddr));
	cr_expect(xlb_inaddr_eq(&m.conn.vaddr, &c.vaddr));
	cr_expect(xlb_inaddr_eq(&m.conn.daddr, &c.daddr));
	cr_expect_str_eq(m.conn.state, "ESTABLISHED");
}

Test(ctl, ipv6_service_text_is_bracketed)
{
	struct xlb_svc_key k = { .addr = ip6("2001:db8::1"), .port = htons(80),
				 .proto = IPPROTO_UDP, .af = AF_INET6 };
	char s[XLB_CTL_SVC_STR];

	cr_expect_str_eq(xlb_ctl_svc_str(&k, s, sizeof(s)), "[2001:db8::1]:80/udp");
	k.addr = ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	k.port = htons(65535);
	cr_expect_str_eq(xlb_ctl_svc_str(&k, s, sizeof(s)),
			 "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/udp", "fits the buffer");
}

/* xlbd's edge until the datapath forwards IPv6 (XLB_CTL_IPV6 false): a
 * change naming IPv6 is refused whole, reads are answered. */
Test(ctl, xlbd_refuses_ipv6_changes_until_the_switch_is_flipped, .init = srv_setup,
     .fini = srv_stop)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r = svc6_req(XLB_REQ_ADD_SVC, "2001:db8::1", 80);
	struct xlb_svc_info *svcs = NULL;
	size_t n = 9;

	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(apply(fd, &r), -EAFNOSUPPORT);
	cr_expect(strstr(err, "IPv6 is not supported yet"), "%s", err);
	add_sample(fd);
	r = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.7", 80, XLB_FWD_DR, 1);
	r.dest.af = AF_INET6;
	r.dest.addr = ip6("2001:db8::11");
	cr_expect_eq(apply(fd, &r), -EAFNOSUPPORT, "an IPv6 real server too");
	cr_assert_eq(xlb_ctl_get_services(fd, &svcs, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 1, "only the IPv4 sample");
	free(svcs);
	xlb_ctl_close(fd);
}

static void srv_setup_ipv6(void)
{
	srv_ipv6 = true;
	srv_setup();
}

static void srv_stop_ipv6(void)
{
	srv_stop();
	srv_ipv6 = false;
}

Test(ctl, with_the_switch_on_ipv6_services_and_servers_are_listed_in_order,
     .init = srv_setup_ipv6, .fini = srv_stop_ipv6)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req r = svc6_req(XLB_REQ_ADD_SVC, "2001:db8::1", 80);
	struct xlb_svc_info *svcs = NULL, one;
	struct xlb_dest_info *d = NULL;
	size_t n = 0;

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	add_sample(fd);
	r = svc6_req(XLB_REQ_ADD_DEST, "2001:db8::1", 80);
	r.dest = (struct xlb_dest_cfg){ .af = AF_INET6, .addr = ip6("2001:db8::12"),
					.port = htons(80), .fwd = XLB_FWD_DR, .weight = 1 };
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r.dest.addr = ip6("2001:db8::11");
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	/* An IPv4 server of an IPv6 service: refused, with why. */
	r.dest = (struct xlb_dest_cfg){ .af = AF_INET, .addr.ip = ip("10.0.1.1"),
					.port = htons(80), .fwd = XLB_FWD_NAT, .weight = 1 };
	cr_expect_eq(apply(fd, &r), -EAFNOSUPPORT);
	cr_expect(strstr(err, "an IPv4 real server of an IPv6 service"), "%s", err);
	r.dest.fwd = XLB_FWD_TUN;
	cr_expect_eq(apply(fd, &r), -EAFNOSUPPORT);
	cr_expect(strstr(err, "tunnels across address families are not implemented"), "%s", err);

	cr_assert_eq(xlb_ctl_get_services(fd, &svcs, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_expect_eq(svcs[0].cfg.key.af, AF_INET, "IPv4 first");
	cr_expect_eq(svcs[1].cfg.key.af, AF_INET6);
	cr_expect_eq(svcs[1].cfg.netmask, 128, "IPVS's default prefix length");
	cr_assert_eq(xlb_ctl_get_dests(fd, &svcs[1].cfg.key, &d, &n, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(n, 2);
	union xlb_inaddr a11 = ip6("2001:db8::11");
	cr_expect(xlb_inaddr_eq(&d[0].cfg.addr, &a11), "sorted by address");
	cr_expect_eq(d[0].cfg.af, AF_INET6);
	cr_assert_eq(xlb_ctl_get_service(fd, &svcs[1].cfg.key, &one, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(one.cfg.key.af, AF_INET6);
	r = svc6_req(XLB_REQ_DEL_DEST, "2001:db8::1", 80);
	r.dest.af = AF_INET6;
	r.dest.addr = ip6("2001:db8::99");
	cr_expect_eq(apply(fd, &r), -ENOENT);
	cr_expect_str_eq(err, "no such real server [2001:db8::99]:80 in service [2001:db8::1]:80/tcp");
	free(svcs);
	free(d);
	xlb_ctl_close(fd);
}

/* ---- xlbctl's printers with IPv6 (ipvsadm 1.31's layouts) ---- */

static unsigned int nfake6;

static int fake6_copy_conns(uint64_t *cursor, struct xlb_conn_info *b, unsigned int max,
			    void *arg)
{
	unsigned int n = 0;

	(void)arg;
	for (; *cursor < nfake6 && n < max; (*cursor)++, n++)
		b[n] = (struct xlb_conn_info){
			.proto = IPPROTO_TCP, .af = AF_INET6,
			.caddr = ip6("2001:db8:c::5"), .cport = htons(40000),
			.vaddr = ip6("2001:db8::1"), .vport = htons(80),
			.daddr = ip6("2001:db8::11"), .dport = htons(80),
			.state = "ESTABLISHED", .expires = 899 };
	return (int)n;
}

static void srv_setup_print6(void)
{
	struct xlb_tables_provider p = { .copy_conns = fake6_copy_conns };

	cr_redirect_stdout();
	srv_ipv6 = true;
	srv_start(NULL);
	xlb_tables_set_provider(S.t, &p);
	nfake6 = 1;
}

/* A dual-stack configuration through the protocol, as xlbctl -R would. */
static void add_dual_stack(int fd)
{
	struct xlb_req r = svc6_req(XLB_REQ_ADD_SVC, "2001:db8::1", 80);

	snprintf(r.svc.sched, sizeof(r.svc.sched), "wrr");
	r.svc.flags = XLB_SVC_F_PERSISTENT;
	r.svc.timeout = 300;
	r.svc.netmask = 64;
	r.svc_set = XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK;
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r = svc6_req(XLB_REQ_ADD_DEST, "2001:db8::1", 80);
	r.dest = (struct xlb_dest_cfg){ .af = AF_INET6, .addr = ip6("2001:db8::11"),
					.port = htons(80), .fwd = XLB_FWD_DR, .weight = 1 };
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r.dest.addr = ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:12");
	r.dest.weight = 2;
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r = svc_req(XLB_REQ_ADD_SVC, IPPROTO_TCP, "10.0.0.1", 80);
	snprintf(r.svc.sched, sizeof(r.svc.sched), "rr");
	r.svc_set = XLB_SVC_SET_SCHED;
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
	r = dest_req(XLB_REQ_ADD_DEST, "10.0.0.1", 80, "10.0.1.1", 80, XLB_FWD_DR, 1);
	cr_assert_eq(apply(fd, &r), 0, "%s", err);
}

Test(ctl, list_n_prints_ipv6_as_ipvsadm, .init = srv_setup_print6, .fini = srv_stop_ipv6)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req req = { .op = XLB_REQ_LIST, .list_flags = XLB_LIST_NUMERIC };

	cr_assert_geq(fd, 0, "%s", err);
	add_dual_stack(fd);
	cr_assert_eq(xlbctl_list(fd, &req, err, sizeof(err)), 0, "%s", err);
	fflush(stdout);
	xlb_ctl_close(fd);
	/* ipvsadm 1.31: brackets, an IPv6 name never cut to its column,
	 * "mask 64" for a prefix length. */
	cr_assert_stdout_eq_str(
		"IP Virtual Server version 1.2.1 (size=0)\n"
		"Prot LocalAddress:Port Scheduler Flags\n"
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
		"TCP  10.0.0.1:80 rr\n"
		"  -> 10.0.1.1:80                  Route   1      0          0         \n"
		"TCP  [2001:db8::1]:80 wrr persistent 300 mask 64\n"
		"  -> [2001:db8::11]:80            Route   1      0          0         \n"
		"  -> [2001:db8:ffff:ffff:ffff:ffff:ffff:12]:80 Route   2      0          0         \n");
}

Test(ctl, save_n_prints_ipv6_services_that_restore, .init = srv_setup_print6,
     .fini = srv_stop_ipv6)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));

	cr_assert_geq(fd, 0, "%s", err);
	add_dual_stack(fd);
	cr_assert_eq(xlbctl_save(fd, true, err, sizeof(err)), 0, "%s", err);
	fflush(stdout);
	xlb_ctl_close(fd);
	cr_assert_stdout_eq_str(
		"-A -t 10.0.0.1:80 -s rr\n"
		"-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"
		"-A -t [2001:db8::1]:80 -s wrr -p 300 -M 64\n"
		"-a -t [2001:db8::1]:80 -r [2001:db8::11]:80 -g -w 1\n"
		"-a -t [2001:db8::1]:80 -r [2001:db8:ffff:ffff:ffff:ffff:ffff:12]:80 -g -w 2\n");
}

Test(ctl, list_n_c_prints_ipv6_connections_as_ipvsadm, .init = srv_setup_print6,
     .fini = srv_stop_ipv6)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req req = { .op = XLB_REQ_LIST,
			       .list_flags = XLB_LIST_NUMERIC | XLB_LIST_CONN };

	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(xlbctl_list(fd, &req, err, sizeof(err)), 0, "%s", err);
	fflush(stdout);
	xlb_ctl_close(fd);
	/* print_conn: "%-3s %-6s %-11s %-18s %-18s %s", names overflow. */
	cr_assert_stdout_eq_str(
		"IPVS connection entries\n"
		"pro expire state       source             virtual            destination\n"
		"TCP 14:59  ESTABLISHED [2001:db8:c::5]:40000 [2001:db8::1]:80   [2001:db8::11]:80\n");
}

Test(ctl, json_list_gives_ipv6_addresses_and_a_family, .init = srv_setup_print6,
     .fini = srv_stop_ipv6)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req req = { .op = XLB_REQ_LIST, .list_flags = XLB_LIST_NUMERIC };
	char out[16384];
	size_t n;
	FILE *o;

	cr_assert_geq(fd, 0, "%s", err);
	add_dual_stack(fd);
	cr_assert_eq(xlbctl_list_json(fd, &req, err, sizeof(err)), 0, "%s", err);
	req.list_flags |= XLB_LIST_CONN;
	cr_assert_eq(xlbctl_list_json(fd, &req, err, sizeof(err)), 0, "%s", err);
	fflush(stdout);
	xlb_ctl_close(fd);
	o = cr_get_redirected_stdout();
	n = fread(out, 1, sizeof(out) - 1, o);
	out[n] = '\0';
	/* Each family is said, each address printed as -L -n prints it. */
	cr_expect(strstr(out, "\"family\": \"inet\",\n      \"vip\": \"10.0.0.1\""), "%s", out);
	cr_expect(strstr(out, "\"family\": \"inet6\",\n      \"vip\": \"2001:db8::1\",\n"
			      "      \"port\": 80,\n      \"addrport\": \"[2001:db8::1]:80\""), "%s", out);
	cr_expect(strstr(out, "\"netmask\": \"ffff:ffff:ffff:ffff::\",\n"
			      "        \"prefix_len\": 64"), "%s", out);
	cr_expect(strstr(out, "\"family\": \"inet6\",\n          \"address\": \"2001:db8::11\",\n"
			      "          \"port\": 80,\n          \"addrport\": \"[2001:db8::11]:80\""),
		  "%s", out);
	cr_expect(strstr(out, "\"family\": \"inet6\",\n      \"client\": \"[2001:db8:c::5]:40000\",\n"
			      "      \"virtual\": \"[2001:db8::1]:80\",\n"
			      "      \"destination\": \"[2001:db8::11]:80\""), "%s", out);
	/* And both documents hold to doc/xlbctl-list.schema.json (where
	 * python3's jsonschema is installed, as the lab's test_json needs). */
	if (system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null") == 0) {
		char path[] = "/tmp/xlb-json6-XXXXXX", cmd[1024];
		int tfd = mkstemp(path);

		cr_assert_geq(tfd, 0);
		cr_assert_eq(write(tfd, out, n), (ssize_t)n);
		close(tfd);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c \"import json,jsonschema,sys\n"
			 "t=open('%s').read();d=json.JSONDecoder();i=0;v=jsonschema.Draft202012Validator(json.load(open('doc/xlbctl-list.schema.json')))\n"
			 "while t[i:].strip():\n"
			 " i=len(t)-len(t[i:].lstrip());o,i=d.raw_decode(t,i);v.validate(o)\n\"",
			 path);
		cr_expect_eq(system(cmd), 0, "the IPv6 documents hold to the schema");
		unlink(path);
	}
}

/* --stats and --rate (issue 14, v6aux): the same columns as IPv4, IPv6
 * names bracketed and never cut (ipvsadm's "%-33s" / "  -> %-28s"). */
Test(ctl, list_n_stats_and_rate_print_ipv6_as_ipvsadm, .init = srv_setup_print6,
     .fini = srv_stop_ipv6)
{
	int fd = xlb_ctl_open(S.path, err, sizeof(err));
	struct xlb_req req = { .op = XLB_REQ_LIST,
			       .list_flags = XLB_LIST_NUMERIC | XLB_LIST_STATS };

	cr_assert_geq(fd, 0, "%s", err);
	add_dual_stack(fd);
	cr_assert_eq(xlbctl_list(fd, &req, err, sizeof(err)), 0, "%s", err);
	req.list_flags = XLB_LIST_NUMERIC | XLB_LIST_RATE;
	cr_assert_eq(xlbctl_list(fd, &req, err, sizeof(err)), 0, "%s", err);
	fflush(stdout);
	xlb_ctl_close(fd);
	cr_assert_stdout_eq_str(
		"IP Virtual Server version 1.2.1 (size=0)\n"
		"Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
		"  -> RemoteAddress:Port\n"
		"TCP  10.0.0.1:80                         0        0        0        0        0\n"
		"  -> 10.0.1.1:80                         0        0        0        0        0\n"
		"TCP  [2001:db8::1]:80                    0        0        0        0        0\n"
		"  -> [2001:db8::11]:80                   0        0        0        0        0\n"
		"  -> [2001:db8:ffff:ffff:ffff:ffff:ffff:12]:80        0        0        0        0        0\n"
		"IP Virtual Server version 1.2.1 (size=0)\n"
		"Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
		"  -> RemoteAddress:Port\n"
		"TCP  10.0.0.1:80                         0        0        0        0        0\n"
		"  -> 10.0.1.1:80                         0        0        0        0        0\n"
		"TCP  [2001:db8::1]:80                    0        0        0        0        0\n"
		"  -> [2001:db8::11]:80                   0        0        0        0        0\n"
		"  -> [2001:db8:ffff:ffff:ffff:ffff:ffff:12]:80        0        0        0        0        0\n");
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Seed datagrams for fuzz_ctl, made with lb/ctl.c's own builders so they
 * are exactly what xlbctl and xlbd send: every request, a batch, and the
 * replies (dumps of services, destinations, connections; acks; info).
 *
 *   build/fuzz/gen_ctl_seeds tests/fuzz/corpus/fuzz_ctl   (make fuzz-seeds)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "ctl.h"

#define SEQ	1

static const char *dir;
static char buf[XLB_CTL_MSG_MAX];
static size_t len;

static void save(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	memset(buf, 0, sizeof(buf));
	len = 0;
}

static void need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "gen_ctl_seeds: %s failed\n", what);
		exit(1);
	}
}

/* Append one change request for req to the datagram. */
static void add_req(const struct xlb_req *req)
{
	int n = xlb_ctl_build_req(buf + len, sizeof(buf) - len, req, SEQ);

	need(n > 0, "build_req");
	len += MNL_ALIGN(n);
}

static struct nlmsghdr *start(uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf + len, sizeof(buf) - len, cmd,
						 flags, SEQ);

	need(nlh != NULL, "msg_start");
	return nlh;
}

static void end(struct nlmsghdr *nlh)
{
	len += MNL_ALIGN(nlh->nlmsg_len);
}

static struct xlb_svc_cfg svc(uint8_t proto, const char *vip, uint16_t port)
{
	struct xlb_svc_cfg c = { .key = { .addr.ip = inet_addr(vip), .port = htons(port),
					  .proto = proto } };

	strcpy(c.sched, XLB_SCHED_DEFAULT);
	c.netmask = 0xFFFFFFFF;
	c.vnodes = XLB_VNODES_DEFAULT;
	return c;
}

static struct xlb_dest_cfg dest(const char *rip, uint16_t port, uint8_t fwd, uint32_t w)
{
	return (struct xlb_dest_cfg){ .addr.ip = inet_addr(rip), .port = htons(port),
				      .fwd = fwd, .weight = w };
}

static void requests(void)
{
	struct xlb_req r = { .op = XLB_REQ_ADD_SVC, .has_svc = true };
	struct nlmsghdr *nlh;

	r.svc = svc(IPPROTO_TCP, "192.168.0.1", 80);
	add_req(&r);
	save("req_new_service");

	r.svc.flags = XLB_SVC_F_PERSISTENT;
	r.svc.timeout = 600;
	r.svc.netmask = htonl(0xFFFFFF00);
	r.svc.vnodes = 40;
	add_req(&r);
	save("req_new_service_persistent");

	r.op = XLB_REQ_EDIT_SVC;
	r.svc_set = XLB_SVC_SET_PERSIST | XLB_SVC_SET_VNODES;
	add_req(&r);
	save("req_set_service");

	r.op = XLB_REQ_DEL_SVC;
	add_req(&r);
	save("req_del_service");

	r = (struct xlb_req){ .op = XLB_REQ_ADD_DEST, .has_svc = true };
	r.svc = svc(IPPROTO_UDP, "192.168.0.2", 53);
	r.dest = dest("10.0.1.2", 5353, XLB_FWD_NAT, 3);
	r.dest.u_thresh = 100;
	r.dest.l_thresh = 10;
	add_req(&r);
	save("req_new_dest_nat");

	r.op = XLB_REQ_EDIT_DEST;
	r.dest.weight = 0;
	r.dest_set = XLB_DEST_SET_WEIGHT | XLB_DEST_SET_PORT;
	add_req(&r);
	save("req_set_dest");

	r.op = XLB_REQ_DEL_DEST;
	add_req(&r);
	save("req_del_dest");

	/* IPv6 (issue 14): AF_INET6, 16-byte addresses, a prefix length. */
	r = (struct xlb_req){ .op = XLB_REQ_ADD_SVC, .has_svc = true };
	r.svc = svc(IPPROTO_TCP, "192.168.0.1", 80);
	r.svc.key.af = AF_INET6;
	need(inet_pton(AF_INET6, "2001:db8::1", &r.svc.key.addr.in6) == 1, "inet_pton");
	r.svc.flags = XLB_SVC_F_PERSISTENT;
	r.svc.timeout = 300;
	r.svc.netmask = 64;
	add_req(&r);
	r.op = XLB_REQ_ADD_DEST;
	r.dest = dest("10.0.1.2", 80, XLB_FWD_DR, 1);
	r.dest.af = AF_INET6;
	need(inet_pton(AF_INET6, "2001:db8::11", &r.dest.addr.in6) == 1, "inet_pton");
	add_req(&r);
	save("req_ipv6_service_and_dest");

	r = (struct xlb_req){ .op = XLB_REQ_SET_TIMEOUT,
			      .timeouts = { .tcp = 900, .tcp_fin = 120, .udp = 300 } };
	add_req(&r);
	save("req_set_config");

	r = (struct xlb_req){ .op = XLB_REQ_ZERO };
	add_req(&r);
	save("req_zero_all");

	r = (struct xlb_req){ .op = XLB_REQ_CLEAR };
	add_req(&r);
	save("req_flush");

	/* A batch: service, DR/TUN/NAT servers, then every read. */
	r = (struct xlb_req){ .op = XLB_REQ_ADD_SVC, .has_svc = true };
	r.svc = svc(IPPROTO_TCP, "192.168.0.1", 80);
	add_req(&r);
	r.op = XLB_REQ_ADD_DEST;
	r.dest = dest("10.0.1.2", 80, XLB_FWD_DR, 1);
	add_req(&r);
	r.dest = dest("10.0.1.3", 80, XLB_FWD_TUN, 2);
	add_req(&r);
	r.dest = dest("10.0.1.4", 8080, XLB_FWD_NAT, 5);
	add_req(&r);
	r.op = XLB_REQ_ZERO;
	add_req(&r);
	end(start(XLB_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP));
	nlh = start(XLB_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_ACK);
	need(!xlb_ctl_put_svc(nlh, sizeof(buf) - len, &r.svc, 0, NULL, NULL), "put_svc");
	end(nlh);
	nlh = start(XLB_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP);
	need(!xlb_ctl_put_svc(nlh, sizeof(buf) - len, &r.svc, 0, NULL, NULL), "put_svc");
	end(nlh);
	end(start(XLB_CMD_GET_CONN, NLM_F_REQUEST | NLM_F_DUMP));
	end(start(XLB_CMD_GET_CONFIG, NLM_F_REQUEST | NLM_F_ACK));
	end(start(XLB_CMD_GET_INFO, NLM_F_REQUEST | NLM_F_ACK));
	r = (struct xlb_req){ .op = XLB_REQ_CLEAR };
	add_req(&r);
	save("batch_configure_and_read");

	end(start(XLB_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP));
	save("req_get_services");
	end(start(XLB_CMD_GET_CONN, NLM_F_REQUEST | NLM_F_DUMP));
	save("req_get_conns");
	end(start(XLB_CMD_GET_INFO, NLM_F_REQUEST | NLM_F_ACK));
	save("req_get_info");
	end(start(XLB_CMD_GET_CONFIG, NLM_F_REQUEST | NLM_F_ACK));
	save("req_get_config");
}

static void replies(void)
{
	struct xlb_svc_cfg s1 = svc(IPPROTO_TCP, "192.168.0.1", 80);
	struct xlb_svc_cfg s2 = svc(IPPROTO_UDP, "192.168.0.2", 53);
	struct xlb_stats st = { 10, 200, 180, 30000, 250000 };
	struct xlb_rates rt = { 1, 20, 18, 3000, 25000 };
	struct xlb_dest_info di = { .cfg = dest("10.0.1.2", 80, XLB_FWD_DR, 1),
				    .activeconns = 3, .inactconns = 1, .stats = st,
				    .rates = rt };
	struct xlb_conn_info ci = { .proto = IPPROTO_TCP, .caddr.ip = inet_addr("198.51.100.7"),
				    .cport = htons(40000), .vaddr = s1.key.addr,
				    .vport = s1.key.port, .daddr = di.cfg.addr,
				    .dport = di.cfg.port, .state = "ESTABLISHED",
				    .expires = 899 };
	struct xlb_timeouts to = { 900, 120, 300 };
	struct xlb_info info = { XLB_CTL_PROTO_VERSION, 1 << 20 };
	struct nlmsghdr *nlh;

	s2.flags = XLB_SVC_F_PERSISTENT;
	s2.timeout = 300;
	nlh = start(XLB_CMD_NEW_SERVICE, NLM_F_MULTI);
	need(!xlb_ctl_put_svc(nlh, sizeof(buf) - len, &s1, 0xF, &st, &rt), "put_svc");
	end(nlh);
	nlh = start(XLB_CMD_NEW_SERVICE, NLM_F_MULTI);
	need(!xlb_ctl_put_svc(nlh, sizeof(buf) - len, &s2, 0xF, &st, &rt), "put_svc");
	end(nlh);
	nlh = xlb_ctl_put_done(buf + len, sizeof(buf) - len, SEQ);
	end(nlh);
	save("reply_services_dump");

	nlh = start(XLB_CMD_NEW_DEST, NLM_F_MULTI);
	need(!xlb_ctl_put_dest(nlh, sizeof(buf) - len, &di.cfg, 0x1F, &di), "put_dest");
	end(nlh);
	di.cfg = dest("10.0.1.3", 8080, XLB_FWD_NAT, 0);
	nlh = start(XLB_CMD_NEW_DEST, NLM_F_MULTI);
	need(!xlb_ctl_put_dest(nlh, sizeof(buf) - len, &di.cfg, 0x1F, &di), "put_dest");
	end(nlh);
	end(xlb_ctl_put_done(buf + len, sizeof(buf) - len, SEQ));
	save("reply_dests_dump");

	nlh = start(XLB_CMD_NEW_CONN, NLM_F_MULTI);
	need(!xlb_ctl_put_conn(nlh, sizeof(buf) - len, &ci), "put_conn");
	end(nlh);
	ci.proto = IPPROTO_UDP;
	snprintf(ci.state, sizeof(ci.state), "UDP");
	nlh = start(XLB_CMD_NEW_CONN, NLM_F_MULTI);
	need(!xlb_ctl_put_conn(nlh, sizeof(buf) - len, &ci), "put_conn");
	end(nlh);
	end(xlb_ctl_put_done(buf + len, sizeof(buf) - len, SEQ));
	save("reply_conns_dump");

	nlh = start(XLB_CMD_NEW_SERVICE, 0);
	need(!xlb_ctl_put_svc(nlh, sizeof(buf) - len, &s1, 0xF, &st, &rt), "put_svc");
	end(nlh);
	end(xlb_ctl_put_ack(buf + len, sizeof(buf) - len, nlh, 0, NULL));
	save("reply_service_get");

	nlh = start(XLB_CMD_SET_CONFIG, 0);
	need(!xlb_ctl_put_timeouts(nlh, sizeof(buf) - len, &to), "put_timeouts");
	end(nlh);
	end(xlb_ctl_put_ack(buf + len, sizeof(buf) - len, nlh, 0, NULL));
	save("reply_config");

	nlh = start(XLB_CMD_SET_INFO, 0);
	need(!xlb_ctl_put_info(nlh, sizeof(buf) - len, &info), "put_info");
	end(nlh);
	end(xlb_ctl_put_ack(buf + len, sizeof(buf) - len, nlh, 0, NULL));
	save("reply_info");

	{
		struct xlb_req r = { .op = XLB_REQ_ADD_SVC, .has_svc = true, .svc = s1 };
		char req[512] = { 0 };
		int n = xlb_ctl_build_req(req, sizeof(req), &r, SEQ);

		need(n > 0, "build_req");
		end(xlb_ctl_put_ack(buf, sizeof(buf), (void *)req, -EEXIST,
				    "service 192.168.0.1:80/tcp exists"));
		save("reply_ack_error_msg");
		end(xlb_ctl_put_ack(buf, sizeof(buf), (void *)req, 0, NULL));
		save("reply_ack_ok");
		end(xlb_ctl_put_ack(buf, sizeof(buf), NULL, -EINVAL, "garbage"));
		save("reply_ack_no_request");
	}
}

int main(int argc, char **argv)
{
	char cmd[600];

	dir = argc > 1 ? argv[1] : "tests/fuzz/corpus/fuzz_ctl";
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	if (system(cmd))
		return 1;
	requests();
	replies();
	return 0;
}

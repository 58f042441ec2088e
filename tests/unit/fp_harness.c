// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>

#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fp_harness.h"
#include "pkt.h"
#include "xmit.h"
#include "xlb_steer.skel.h"

static struct xlb_steer *sk;
static int ncpu;

struct xlb_steer *fph_skel(void)
{
	return sk;
}

void fph_open(uint32_t entries, bool enable)
{
	int err;

	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF) to load xlb_steer");
	ncpu = libbpf_num_possible_cpus();
	cr_assert_gt(ncpu, 0);
	sk = xlb_steer__open();
	cr_assert_not_null(sk, "xlb_steer__open: %s", strerror(errno));
	err = bpf_map__set_max_entries(sk->maps.fp_flows, entries);
	cr_assert_eq(err, 0);
	err = xlb_steer__load(sk);
	cr_assert_eq(err, 0, "xlb_steer__load: %s", strerror(-err));
	fph_enable(enable);
}

void fph_close(void)
{
	xlb_steer__destroy(sk);
	sk = NULL;
}

void fph_enable(bool on)
{
	struct xlb_fp_config c = { .flags = on ? XLB_FP_F_ENABLED : 0 };
	uint32_t k = 0;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(sk->maps.fp_config), &k,
					 &c, BPF_ANY), 0);
}

void fph_add_service(uint32_t vip, uint16_t port_be, uint8_t proto)
{
	struct xlb_bpf_svc_key k = { .addr = vip, .port = port_be, .proto = proto };
	struct xlb_svc_val v = { 0 };

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(sk->maps.services), &k,
					 &v, BPF_ANY), 0);
}

void fph_add_nat_rs(uint32_t rip, uint16_t port_be, uint8_t proto)
{
	struct xlb_rs_key k = { .addr = rip, .port = port_be, .proto = proto };
	struct xlb_rs_val v = { 0 };

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(sk->maps.nat_rs), &k,
					 &v, BPF_ANY), 0);
}

int fph_add_dev(uint32_t ifindex)
{
	if (bpf_map_update_elem(bpf_map__fd(sk->maps.fp_devs), &ifindex,
				&ifindex, BPF_ANY))
		return -errno;
	return 0;
}

void fph_install(const struct xlb_fp_key *k, const struct xlb_fp_val *v)
{
	struct xlb_fp_val vals[ncpu];
	int i, err;

	for (i = 0; i < ncpu; i++)
		vals[i] = *v;
	err = bpf_map_update_elem(bpf_map__fd(sk->maps.fp_flows), k, vals,
				  BPF_ANY);
	cr_assert_eq(err, 0, "fp_flows update: %s", strerror(errno));
}

void fph_remove(const struct xlb_fp_key *k)
{
	bpf_map_delete_elem(bpf_map__fd(sk->maps.fp_flows), k);
}

bool fph_lookup(const struct xlb_fp_key *k, struct xlb_fp_val *sum)
{
	struct xlb_fp_val vals[ncpu];
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(sk->maps.fp_flows), k, vals))
		return false;
	*sum = vals[0];
	sum->pkts = sum->bytes = sum->last_ns = 0;
	for (i = 0; i < ncpu; i++) {
		sum->pkts += vals[i].pkts;
		sum->bytes += vals[i].bytes;
		if (vals[i].last_ns > sum->last_ns)
			sum->last_ns = vals[i].last_ns;
	}
	return true;
}

static void counters(uint64_t out[XLB_CNT_MAX])
{
	uint64_t vals[ncpu];
	uint32_t i;
	int c;

	for (i = 0; i < XLB_CNT_MAX; i++) {
		cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(sk->maps.counters),
						 &i, vals), 0);
		out[i] = 0;
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
}

void fph_run(const uint8_t *frame, size_t len, struct fph_run *r)
{
	uint64_t before[XLB_CNT_MAX], after[XLB_CNT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out),
		    .repeat = 1);
	int i, err;

	counters(before);
	err = bpf_prog_test_run_opts(bpf_program__fd(sk->progs.xlb_steer), &o);
	cr_assert_eq(err, 0, "test run: %s", strerror(errno));
	counters(after);
	for (i = 0; i < XLB_CNT_MAX; i++)
		r->d[i] = after[i] - before[i];
	r->act = o.retval;
	r->out_len = o.data_size_out;
	cr_assert_eq(r->d[XLB_CNT_PASSED] + r->d[XLB_CNT_REDIRECTED] +
		     r->d[XLB_CNT_REDIRECT_FAILED] + r->d[XLB_CNT_FP_TX] +
		     r->d[XLB_CNT_FP_REDIRECTED] + r->d[XLB_CNT_FP_DROPPED], 1,
		     "not exactly one outcome counter");
}

struct xlb_fp_key fph_key_of(const uint8_t *frame)
{
	const uint8_t *ip = frame + 14, *l4 = ip + (ip[0] & 15) * 4;
	struct xlb_fp_key k = { .proto = ip[9] };

	memcpy(&k.saddr, ip + 12, 4);
	memcpy(&k.daddr, ip + 16, 4);
	memcpy(&k.sport, l4, 2);
	memcpy(&k.dport, l4 + 2, 2);
	return k;
}

#define FPH_HEADROOM	256

int fph_userspace(const uint8_t *frame, size_t len,
		  const struct xlb_fp_val *v, uint8_t *out, uint32_t *out_len)
{
	uint8_t buf[FPH_HEADROOM + FPH_FRAME_MAX + 64];
	struct xlb_frame f = {
		.data = buf + FPH_HEADROOM, .len = (uint32_t)len,
		.headroom = FPH_HEADROOM,
		.tailroom = (uint32_t)(sizeof(buf) - FPH_HEADROOM - len),
	};
	struct xlb_xmit_bind b = {
		.ifindex = (int)v->ifindex,
		.ttl = v->ttl,
		.mtu = v->mtu,
	};
	struct xlb_pkt p;
	int rc;

	cr_assert_leq(len, FPH_FRAME_MAX);
	memcpy(f.data, frame, len);
	memcpy(b.smac, v->smac, 6);
	memcpy(b.dmac, v->dmac, 6);
	rc = xlb_pkt_parse(f.data, f.len, &p);
	cr_assert_eq(rc, XLB_PKT_OK, "parse: %s", xlb_pkt_strerror(rc));
	switch (v->op) {
	case XLB_FP_DR:
		rc = xlb_xmit_dr(&f, &p, &b);
		break;
	case XLB_FP_NAT_IN:
		b.rip = v->addr;
		b.rport = v->port;
		rc = xlb_xmit_nat_in(&f, &p, &b);
		break;
	case XLB_FP_NAT_OUT:
		b.vip = v->addr;
		b.vport = v->port;
		rc = xlb_xmit_nat_out(&f, &p, &b);
		break;
	case XLB_FP_TUN:
		b.rip = v->addr;
		b.dip = v->tun_saddr;
		rc = xlb_xmit_tun(&f, &p, &b);
		break;
	default:
		cr_assert_fail("op %u", v->op);
	}
	memcpy(out, f.data, f.len);
	*out_len = f.len;
	return rc;
}

uint32_t fph_make_veth(const char *name)
{
	char cmd[160];
	uint32_t ifindex;

	snprintf(cmd, sizeof(cmd),
		 "ip link add %s type veth peer name %sp && ip link set %s up"
		 " && ip link set %sp up", name, name, name, name);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	ifindex = if_nametoindex(name);
	cr_assert_neq(ifindex, 0);
	return ifindex;
}

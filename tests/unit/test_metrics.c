// SPDX-License-Identifier: GPL-2.0
/* The exposition writer (prom.h) and the counter mapping (metrics.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dp.h"
#include "metrics.h"
#include "pkt.h"
#include "prom.h"
#include "../bpf/xlb_shared.h"

extern const char *const xlb_dp_parse_names[XLB_PKT_ERR_COUNT];

static struct xlb_prom P;

static void setup(void)
{
	xlb_prom_init(&P, 0);
}

static void teardown(void)
{
	xlb_prom_free(&P);
}

TestSuite(prom, .init = setup, .fini = teardown);

Test(prom, family_starts_with_help_then_type)
{
	cr_assert_eq(xlb_prom_family(&P, "xlb_x_total", XLB_PROM_COUNTER, "What x counts"), 0);
	cr_assert_eq(xlb_prom_u64(&P, NULL, 0, 7), 0);
	cr_assert_str_eq(P.buf, "# HELP xlb_x_total What x counts\n"
				"# TYPE xlb_x_total counter\n"
				"xlb_x_total 7\n");
}

Test(prom, label_values_are_escaped)
{
	struct xlb_prom_label l[] = { { "a", "back\\slash \"quoted\"\nnewline" }, { "b", "" } };

	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "h"), 0);
	cr_assert_eq(xlb_prom_u64(&P, l, 2, 1), 0);
	cr_assert(strstr(P.buf, "g{a=\"back\\\\slash \\\"quoted\\\"\\nnewline\",b=\"\"} 1\n"),
		  "got: %s", P.buf);
}

Test(prom, help_is_escaped_but_quotes_are_not)
{
	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "a \\ b\nc \"d\""), 0);
	cr_assert(strstr(P.buf, "# HELP g a \\\\ b\\nc \"d\"\n"), "got: %s", P.buf);
}

Test(prom, a_counter_must_end_in_total)
{
	cr_assert_eq(xlb_prom_family(&P, "xlb_packets", XLB_PROM_COUNTER, "h"), -EINVAL);
	cr_assert_eq(P.len, 0, "nothing written");
}

Test(prom, a_gauge_must_not_end_in_total)
{
	cr_assert_eq(xlb_prom_family(&P, "xlb_entries_total", XLB_PROM_GAUGE, "h"), -EINVAL);
}

Test(prom, an_untyped_family_must_not_end_in_total)
{
	cr_assert_eq(xlb_prom_family(&P, "xlb_x_total", XLB_PROM_UNTYPED, "h"), -EINVAL);
}

Test(prom, a_family_is_written_once)
{
	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "h"), 0);
	cr_assert_eq(xlb_prom_family(&P, "h", XLB_PROM_GAUGE, "h"), 0);
	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "h"), -EEXIST);
}

Test(prom, errors_are_sticky)
{
	size_t len;

	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "h"), 0);
	len = P.len;
	cr_assert_eq(xlb_prom_family(&P, "bad-name", XLB_PROM_GAUGE, "h"), -EINVAL);
	cr_assert_eq(xlb_prom_u64(&P, NULL, 0, 1), -EINVAL);
	cr_assert_eq(xlb_prom_family(&P, "ok", XLB_PROM_GAUGE, "h"), -EINVAL);
	cr_assert_eq(xlb_prom_error(&P), -EINVAL);
	cr_assert_eq(P.len, len, "nothing written after the error");
}

Test(prom, a_sample_needs_a_family)
{
	cr_assert_eq(xlb_prom_u64(&P, NULL, 0, 1), -EINVAL);
}

Test(prom, names_follow_the_data_model)
{
	cr_assert(xlb_prom_metric_name_ok("xlb_a:b_1"));
	cr_assert(xlb_prom_metric_name_ok("_x"));
	cr_assert_not(xlb_prom_metric_name_ok("1x"));
	cr_assert_not(xlb_prom_metric_name_ok("a-b"));
	cr_assert_not(xlb_prom_metric_name_ok(""));
	cr_assert(xlb_prom_label_name_ok("reason"));
	cr_assert_not(xlb_prom_label_name_ok("__name__"), "reserved");
	cr_assert_not(xlb_prom_label_name_ok("a:b"), "no colon in label names");
	cr_assert_not(xlb_prom_label_name_ok("9"));
}

Test(prom, a_label_given_twice_is_refused)
{
	struct xlb_prom_label l[] = { { "a", "1" }, { "a", "2" } };

	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "h"), 0);
	cr_assert_eq(xlb_prom_u64(&P, l, 2, 1), -EINVAL);
}

Test(prom, floats_read_back_and_specials_are_spelt)
{
	cr_assert_eq(xlb_prom_family(&P, "g", XLB_PROM_GAUGE, "h"), 0);
	xlb_prom_double(&P, NULL, 0, 0.5);
	xlb_prom_double(&P, NULL, 0, 1e-6);
	xlb_prom_double(&P, NULL, 0, 0.1);
	xlb_prom_double(&P, NULL, 0, NAN);
	xlb_prom_double(&P, NULL, 0, INFINITY);
	xlb_prom_double(&P, NULL, 0, -INFINITY);
	xlb_prom_u64(&P, NULL, 0, UINT64_MAX);
	cr_assert_eq(xlb_prom_error(&P), 0);
	cr_assert(strstr(P.buf, "\ng 0.5\ng 1e-06\ng 0.1\ng NaN\ng +Inf\ng -Inf\n"
			 "g 18446744073709551615\n"), "got: %s", P.buf);
}

Test(prom, output_is_bounded)
{
	struct xlb_prom small;

	xlb_prom_init(&small, 100);
	xlb_prom_family(&small, "g", XLB_PROM_GAUGE, "h");
	for (int i = 0; i < 100; i++)
		xlb_prom_u64(&small, NULL, 0, 123456789);
	cr_assert_eq(xlb_prom_error(&small), -E2BIG);
	cr_assert_leq(small.len, 100);
	xlb_prom_free(&small);
}

/* ---- the counter mapping ---- */

TestSuite(metrics_map, .init = setup, .fini = teardown);

/* The labels point into the struct itself: map into the caller's. */
#define MAP(m, g, n) xlb_metrics_map_counter((g), (n), &(m))

/* By value: for its scalar fields only (labels would dangle). */
static struct xlb_metrics_ctr map(const char *g, const char *n)
{
	struct xlb_metrics_ctr m;

	xlb_metrics_map_counter(g, n, &m);
	return m;
}

Test(metrics_map, xdp_counters_count_packets)
{
	struct xlb_metrics_ctr m;

	MAP(m, "xdp", "passed");

	cr_assert_str_eq(m.family, "xlb_xdp_passed_packets_total");
	cr_assert_eq(m.type, XLB_PROM_COUNTER);
	MAP(m, "xdp", "service_packets");
	cr_assert_str_eq(m.family, "xlb_xdp_service_packets_total", "no _packets_packets");
}

Test(metrics_map, datapath_drops_by_reason)
{
	struct xlb_metrics_ctr m;

	MAP(m, "datapath", "drop_no_service");

	cr_assert_str_eq(m.family, "xlb_datapath_dropped_packets_total");
	cr_assert_eq(m.nlabels, 1);
	cr_assert_str_eq(m.labels[0].name, "reason");
	cr_assert_str_eq(m.labels[0].value, "no_service");
	MAP(m, "datapath", "rx");
	cr_assert_str_eq(m.family, "xlb_datapath_rx_packets_total");
	cr_assert_eq(m.nlabels, 0);
}

Test(metrics_map, malformed_by_class)
{
	struct xlb_metrics_ctr m;

	MAP(m, "malformed", "ip_trunc");

	cr_assert_str_eq(m.family, "xlb_datapath_malformed_packets_total");
	cr_assert_str_eq(m.labels[0].name, "class");
	cr_assert_str_eq(m.labels[0].value, "ip_trunc");
}

Test(metrics_map, gauges_are_decided_per_name)
{
	struct { const char *g, *n, *family; enum xlb_prom_type t; } want[] = {
		{ "conn", "count", "xlb_conn_entries", XLB_PROM_GAUGE },
		{ "conn", "evicted", "xlb_conn_evictions_total", XLB_PROM_COUNTER },
		{ "conn", "active", "xlb_conn_active_entries", XLB_PROM_GAUGE },
		{ "conn", "created", "xlb_conn_created_total", XLB_PROM_COUNTER },
		{ "xsk", "queues_unserved", "xlb_xsk_queues_unserved", XLB_PROM_GAUGE },
		{ "xsk", "rx_dropped", "xlb_xsk_rx_dropped_total", XLB_PROM_COUNTER },
		{ "nexthop", "entries", "xlb_nexthop_entries", XLB_PROM_GAUGE },
		{ "nexthop", "requests_dropped", "xlb_nexthop_requests_dropped_total", XLB_PROM_COUNTER },
		{ "fastpath", "entries", "xlb_fastpath_entries", XLB_PROM_GAUGE },
		{ "fastpath", "hits", "xlb_fastpath_hits_total", XLB_PROM_COUNTER },
		{ "fastpath", "misses", "xlb_fastpath_misses_total", XLB_PROM_COUNTER },
		{ "health", "checks", "xlb_health_checks_total", XLB_PROM_COUNTER },
		{ "health", "servers_checked", "xlb_health_servers_checked", XLB_PROM_GAUGE },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct xlb_metrics_ctr m;

	MAP(m, want[i].g, want[i].n);

		cr_assert_str_eq(m.family, want[i].family, "%s %s", want[i].g, want[i].n);
		cr_assert_eq(m.type, want[i].t, "%s %s", want[i].g, want[i].n);
		cr_assert(m.classified);
	}
}

Test(metrics_map, base_units)
{
	struct xlb_metrics_ctr m;

	MAP(m, "nexthop", "route_memory_kib");

	cr_assert_str_eq(m.family, "xlb_nexthop_route_memory_bytes");
	cr_assert_eq(m.scale, 1024);
	MAP(m, "health", "thread_cpu_ms");
	cr_assert_str_eq(m.family, "xlb_health_thread_cpu_seconds_total");
	cr_assert_eq(m.scale, 1e-3);
	MAP(m, "fastpath", "sync_us_last");
	cr_assert_str_eq(m.family, "xlb_fastpath_last_sync_duration_seconds");
	cr_assert_eq(m.scale, 1e-6);
}

Test(metrics_map, per_queue_counters_get_labels)
{
	struct xlb_metrics_ctr m;

	MAP(m, "xsk_queue", "veth0:rx3");

	cr_assert_str_eq(m.family, "xlb_xsk_queue_packets_total");
	cr_assert_eq(m.nlabels, 3);
	cr_assert_str_eq(m.labels[0].value, "veth0");
	cr_assert_str_eq(m.labels[1].value, "3");
	cr_assert_str_eq(m.labels[2].value, "rx");
	MAP(m, "xsk_queue", "veth0:zz3");
	cr_assert_not(m.classified, "not IF:rxN: kept, untyped");
}

Test(metrics_map, fast_path_copies_of_xdp_counters_are_left_out)
{
	cr_assert(map("fastpath", "fp_tx").skip);
	cr_assert_not(map("fastpath", "hits").skip);
}

Test(metrics_map, an_unknown_counter_is_kept_untyped)
{
	struct xlb_metrics_ctr m;

	MAP(m, "new-group", "some.thing_total");

	cr_assert_not(m.classified);
	cr_assert_eq(m.type, XLB_PROM_UNTYPED);
	cr_assert_str_eq(m.family, "xlb_new_group_some_thing");
	cr_assert(xlb_prom_metric_name_ok(m.family));
}

Test(metrics_map, every_named_datapath_counter_is_classified)
{
	for (int i = 0; i < XLB_CNT_MAX; i++)
		if (xlb_cnt_names[i])
			cr_assert(map("xdp", xlb_cnt_names[i]).classified, "xdp %s", xlb_cnt_names[i]);
	for (int i = 0; i < XLB_DP_CNT_MAX; i++)
		cr_assert(map("datapath", xlb_dp_cnt_names[i]).classified, "datapath %s",
			  xlb_dp_cnt_names[i]);
	for (int i = 1; i < XLB_PKT_ERR_COUNT; i++)
		cr_assert(map("malformed", xlb_dp_parse_names[i]).classified, "malformed %s",
			  xlb_dp_parse_names[i]);
}

static struct xlb_counter_info C(const char *g, const char *n, uint64_t v)
{
	struct xlb_counter_info c = { .value = v };

	snprintf(c.group, sizeof(c.group), "%s", g);
	snprintf(c.name, sizeof(c.name), "%s", n);
	return c;
}

Test(metrics_map, a_family_is_one_group_in_stable_order)
{
	/* The datapath interleaves drop_* with others: the drops must still
	 * be one group, where the first of them was. */
	struct xlb_counter_info c[] = {
		C("datapath", "rx", 1), C("datapath", "drop_a", 2), C("datapath", "tun_fragmented", 3),
		C("datapath", "drop_b", 4), C("fastpath", "fp_tx", 5), C("conn", "count", 6),
	};
	struct xlb_prom q;
	const char *want =
		"# HELP xlb_datapath_rx_packets_total AF_XDP datapath: packets counted as rx (xlbctl --counters: datapath rx)\n"
		"# TYPE xlb_datapath_rx_packets_total counter\n"
		"xlb_datapath_rx_packets_total 1\n"
		"# HELP xlb_datapath_dropped_packets_total Packets the AF_XDP datapath dropped, by reason (xlbctl --counters: datapath drop_REASON)\n"
		"# TYPE xlb_datapath_dropped_packets_total counter\n"
		"xlb_datapath_dropped_packets_total{reason=\"a\"} 2\n"
		"xlb_datapath_dropped_packets_total{reason=\"b\"} 4\n"
		"# HELP xlb_datapath_tun_fragmented_packets_total AF_XDP datapath: packets counted as tun_fragmented (xlbctl --counters: datapath tun_fragmented)\n"
		"# TYPE xlb_datapath_tun_fragmented_packets_total counter\n"
		"xlb_datapath_tun_fragmented_packets_total 3\n"
		"# HELP xlb_conn_entries Connection table: count (xlbctl --counters: conn count)\n"
		"# TYPE xlb_conn_entries gauge\n"
		"xlb_conn_entries 6\n";

	cr_assert_eq(xlb_metrics_write_counters(&P, c, sizeof(c) / sizeof(c[0])), 0);
	cr_assert_str_eq(P.buf, want);
	/* The same counters again: the same bytes. */
	xlb_prom_init(&q, 0);
	cr_assert_eq(xlb_metrics_write_counters(&q, c, sizeof(c) / sizeof(c[0])), 0);
	cr_assert_str_eq(q.buf, P.buf);
	xlb_prom_free(&q);
}

/* ---- HTTP requests and addresses ---- */

static int status(const char *req)
{
	struct xlb_metrics_req r;

	if (!xlb_metrics_http_parse(req, strlen(req), XLB_METRICS_REQ_MAX, &r))
		return 0;
	return r.status;
}

Test(metrics_http, get_and_head_of_metrics)
{
	struct xlb_metrics_req r;
	const char *h = "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

	cr_assert_eq(status("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
	cr_assert_eq(status("GET /metrics?a=b HTTP/1.0\r\n\r\n"), 200);
	cr_assert_eq(xlb_metrics_http_parse(h, strlen(h), XLB_METRICS_REQ_MAX, &r), 1);
	cr_assert_eq(r.status, 200);
	cr_assert(r.head);
}

Test(metrics_http, errors)
{
	cr_assert_eq(status("GET / HTTP/1.1\r\n\r\n"), 404);
	cr_assert_eq(status("GET /metricsx HTTP/1.1\r\n\r\n"), 404);
	cr_assert_eq(status("POST /metrics HTTP/1.1\r\n\r\n"), 405);
	cr_assert_eq(status("GET /metrics HTTP/2.0\r\n\r\n"), 505);
	cr_assert_eq(status("GET /metrics\r\n\r\n"), 400);
	cr_assert_eq(status("GET  /metrics HTTP/1.1\r\n\r\n"), 400);
	cr_assert_eq(status("\x01\x02 / HTTP/1.1\r\n\r\n"), 400);
}

Test(metrics_http, incomplete_until_the_empty_line)
{
	cr_assert_eq(status("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0);
	cr_assert_eq(status("GET /met"), 0);
}

Test(metrics_http, a_head_over_the_bound_is_431)
{
	struct xlb_metrics_req r;
	char buf[64];

	memset(buf, 'a', sizeof(buf));
	cr_assert_eq(xlb_metrics_http_parse(buf, sizeof(buf), sizeof(buf), &r), 1);
	cr_assert_eq(r.status, 431);
	memset(buf, '\n', sizeof(buf));
	cr_assert_eq(xlb_metrics_http_parse(buf, sizeof(buf), sizeof(buf), &r), 1,
		     "empty lines alone cannot hold a client forever");
	cr_assert_eq(r.status, 431);
}

Test(metrics_http, listen_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];

	cr_assert_eq(xlb_metrics_parse_addr("127.0.0.1:9156", &ss, &len, err, sizeof(err)), 0);
	cr_assert_eq(ss.ss_family, AF_INET);
	cr_assert_eq(xlb_metrics_parse_addr("[::1]:9156", &ss, &len, err, sizeof(err)), 0);
	cr_assert_eq(ss.ss_family, AF_INET6);
	cr_assert_eq(xlb_metrics_parse_addr("*:9156", &ss, &len, err, sizeof(err)), 0);
	cr_assert_eq(xlb_metrics_parse_addr(":9156", &ss, &len, err, sizeof(err)), 0);
	const char *bad[] = { "", "9156", "1.2.3.4", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:-1",
			      "1.2.3.400:80", "[::1:80", "::1:80", "host:80", "1.2.3.4:80x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(xlb_metrics_parse_addr(bad[i], &ss, &len, err, sizeof(err)), -EINVAL,
			     "%s", bad[i]);
		cr_assert(strstr(err, "use ADDR:PORT"), "%s: %s", bad[i], err);
	}
}

Test(metrics_map, sync_counters_are_counters_of_their_own)
{
	struct xlb_metrics_ctr m;

	MAP(m, "sync", "auth_failures");
	cr_expect_str_eq(m.family, "xlb_sync_auth_failures_total");
	cr_expect_eq(m.type, XLB_PROM_COUNTER);
	MAP(m, "sync", "inserted");
	cr_expect_str_eq(m.family, "xlb_sync_inserted_total");
}

/* ---- IPv6 services' labels (issue 14) ---- */

#include "ipvsadm.h"
#include "tables.h"

static void apply_line(struct xlb_tables *t, const char *line)
{
	static char buf[512];
	char *argv[32], *w, *save = NULL, err[256] = "";
	struct xlb_req r;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = (char *)"xlbctl";
	for (w = strtok_r(buf, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	cr_assert_eq(xlb_ipvsadm_parse(argc, argv, &r, err, sizeof(err)), 0, "%s: %s", line, err);
	cr_assert_eq(xlb_tables_apply_req(t, &r, err, sizeof(err)), 0, "%s: %s", line, err);
}

Test(metrics_render, ipv6_services_and_servers_are_labelled_as_ipvsadm_prints_them,
     .init = setup, .fini = teardown)
{
	struct xlb_tables *t;
	char *text;
	size_t len;

	cr_assert_eq(xlb_tables_new(&t), 0);
	apply_line(t, "-A -t 10.0.0.1:80");
	apply_line(t, "-a -t 10.0.0.1:80 -r 10.0.1.1:80");
	apply_line(t, "-A -t [2001:db8::1]:80");
	apply_line(t, "-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m");
	apply_line(t, "-A -u [2001:db8::1]:53");
	apply_line(t, "-a -u [2001:db8::1]:53 -r [2001:db8:0:1::12]:53");
	cr_assert_eq(xlb_metrics_render(&P, t, 0, NULL), 0);
	text = xlb_prom_take(&P, &len);
	cr_assert(text);
	cr_expect(strstr(text, "xlb_service_connections_total{proto=\"TCP\",vip=\"10.0.0.1\",port=\"80\"} "),
		  "%s", text);
	cr_expect(strstr(text, "{proto=\"TCP\",vip=\"10.0.0.1\",port=\"80\",server=\"10.0.1.1:80\"}"),
		  "IPv4 unchanged");
	cr_expect(strstr(text, "{proto=\"TCP\",vip=\"2001:db8::1\",port=\"80\"} "),
		  "an IPv6 VIP is bare: the port has its own label");
	cr_expect(strstr(text, "{proto=\"TCP\",vip=\"2001:db8::1\",port=\"80\","
				"server=\"[2001:db8::11]:8080\"}"),
		  "an IPv6 server is bracketed before its port");
	cr_expect(strstr(text, "{proto=\"UDP\",vip=\"2001:db8::1\",port=\"53\","
				"server=\"[2001:db8:0:1::12]:53\"}"));
	free(text);
	xlb_tables_free(t);
}

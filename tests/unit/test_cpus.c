// SPDX-License-Identifier: GPL-2.0
/* CPU lists for xlbd --cpus (lb/cpus.c): what parses, what is refused, and
 * the round-robin placement of workers over an allowed set. */
#include <errno.h>
#include <stdio.h>
#include <criterion/criterion.h>

#include "cpus.h"

static cpu_set_t parsed(const char *s)
{
	cpu_set_t set;

	cr_assert_eq(xlb_cpus_parse(s, &set), 0, "\"%s\" parses", s);
	return set;
}

Test(cpus, a_list_of_numbers_and_ranges_parses_as_taskset_writes_it)
{
	cpu_set_t set = parsed("0-3,8,10-11");
	char buf[64];

	cr_expect_eq(CPU_COUNT(&set), 7);
	for (int c = 0; c < 12; c++)
		cr_expect_eq(CPU_ISSET(c, &set) != 0, c <= 3 || c == 8 || c >= 10,
			     "CPU %d", c);
	cr_expect_str_eq(xlb_cpus_format(&set, buf, sizeof(buf)), "0-3,8,10-11");
	set = parsed("1");
	cr_expect_str_eq(xlb_cpus_format(&set, buf, sizeof(buf)), "1");
	set = parsed("5,3,4,3");
	cr_expect_str_eq(xlb_cpus_format(&set, buf, sizeof(buf)), "3-5",
			 "order and repeats do not matter");
}

Test(cpus, garbage_is_refused_and_leaves_the_output_alone)
{
	static const char *const bad[] = {
		"", "a", "1-", "-1", "1,", ",1", "1,,2", "3-1", "1 2", " 1", "1-2-3",
		"0x1", "1.5", "all",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(7, &set);
		cr_expect_eq(xlb_cpus_parse(bad[i], &set), -EINVAL, "\"%s\" refused", bad[i]);
		cr_expect(CPU_ISSET(7, &set) && CPU_COUNT(&set) == 1,
			  "\"%s\": the output is untouched", bad[i]);
	}
	cr_expect_eq(xlb_cpus_parse(NULL, &(cpu_set_t){ 0 }), -EINVAL);
}

Test(cpus, a_cpu_past_cpu_setsize_is_out_of_range)
{
	cpu_set_t set;
	char s[32];

	snprintf(s, sizeof(s), "%d", CPU_SETSIZE);
	cr_expect_eq(xlb_cpus_parse(s, &set), -ERANGE);
	snprintf(s, sizeof(s), "0-%d", CPU_SETSIZE - 1);
	cr_expect_eq(xlb_cpus_parse(s, &set), 0);
	cr_expect_eq(CPU_COUNT(&set), CPU_SETSIZE);
	cr_expect_eq(xlb_cpus_parse("99999999999999999999", &set), -ERANGE,
		     "no overflow into a small number");
}

Test(cpus, workers_go_round_robin_over_the_allowed_cpus_only)
{
	cpu_set_t set = parsed("1,4-5");
	static const int want[] = { 1, 4, 5, 1, 4, 5, 1 };

	for (int i = 0; i < 7; i++)
		cr_expect_eq(xlb_cpus_nth(&set, i), want[i], "worker %d", i);
	set = parsed("1");
	for (int i = 0; i < 4; i++)
		cr_expect_eq(xlb_cpus_nth(&set, i), 1, "taskset -c 1: every worker on 1");
	CPU_ZERO(&set);
	cr_expect_eq(xlb_cpus_nth(&set, 0), -1, "an empty set places nothing");
}

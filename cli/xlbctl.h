/* SPDX-License-Identifier: GPL-2.0 */
/* xlbctl's pieces: listing in ipvsadm's layouts (list.c). */
#ifndef XLBCTL_H
#define XLBCTL_H

#include <stddef.h>
#include "xlb-t.h"

/* Exit statuses (documented in --help). */
#define XLBCTL_EXIT_USAGE	1	/* bad command line or rules file */
#define XLBCTL_EXIT_REFUSED	2	/* xlbd refused the request */
#define XLBCTL_EXIT_NODAEMON	3	/* cannot reach xlbd */

/* Each returns 0, or -errno with a sentence in err. */
int xlbctl_list(int fd, const struct xlb_req *req, char *err, size_t errlen);
int xlbctl_save(int fd, bool numeric, char *err, size_t errlen);
/* -L --json (list_json.c, doc/json.md): one JSON document on stdout. */
int xlbctl_list_json(int fd, const struct xlb_req *req, char *err, size_t errlen);
/* --counters --json. */
int xlbctl_counters_json(int fd, char *err, size_t errlen);

/* Shared by the text and JSON listings (list.c). */
struct xlb_svc_info;
struct xlb_dest_info;
struct xlb_check;
/* "TCP", "UDP" ("???" otherwise), as ipvsadm. */
const char *xlbctl_proto_name(uint8_t proto);
/* The check a real server runs (*eff), and whether it is checked at all
 * (else it is always up: "(not checked)"). */
bool xlbctl_dest_checked(const struct xlb_svc_info *se, const struct xlb_dest_info *e,
			 struct xlb_check *eff);
/* Unix time as "2026-12-01T12:00:00Z", "-" for 0. Returns buf. */
char *xlbctl_fmt_since(char *buf, size_t len, uint64_t since);
/* The services a list shows: req's -t/-u one, else all (*svcs to free). */
int xlbctl_get_svcs(int fd, const struct xlb_req *req, struct xlb_svc_info **svcs,
		    size_t *n, char *err, size_t errlen);

#endif

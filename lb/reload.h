/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replacing the whole configuration with a rules file's (xlbd's SIGHUP,
 * systemd's ExecReload): what the file says is what is configured after,
 * in one published snapshot, or nothing changes.
 */
#ifndef XLB_RELOAD_H
#define XLB_RELOAD_H

#include <stddef.h>
#include "tables.h"

/*
 * Make t hold exactly what the requests reqs[0..n) build from empty
 * tables: services and real servers not built are deleted, new ones added,
 * kept ones edited in place (so their connections and counters continue),
 * timeouts set (to the defaults when the file sets none). A kept service
 * or server whose health check would lose options is deleted and added
 * again (its connections end). All as one change of t, or none.
 *
 * On error *failed is the index in reqs of the request to blame (refused
 * building the new configuration, or the one that made the service or
 * server the live tables refused), or n when no one request is (memory,
 * the ring budget, the datapath's prepare). *changes (may be NULL) gets
 * the number of table operations applied.
 */
int xlb_tables_replace(struct xlb_tables *t, const struct xlb_req *reqs, size_t n,
		       size_t *failed, size_t *changes, char *err, size_t errlen);

#endif /* XLB_RELOAD_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlb_tables_replace(): the file is first built into scratch tables (its
 * own -A/-a/-E/-D/-C lines, in order, as at start), then the difference
 * between the live snapshot and the scratch one becomes a list of
 * requests applied as one batch. Deleting and re-adding everything would
 * be one batch too, but a re-added server is a new server: its
 * connections would be flushed with the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "reload.h"

struct plan {
	struct xlb_req *r;
	size_t n, cap;
};

static struct xlb_req *plan_add(struct plan *p, enum xlb_req_op op,
				const struct xlb_svc_cfg *svc)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 32;
		struct xlb_req *r = realloc(p->r, cap * sizeof(*r));

		if (!r)
			return NULL;
		p->r = r;
		p->cap = cap;
	}
	memset(&p->r[p->n], 0, sizeof(p->r[0]));
	p->r[p->n].op = op;
	p->r[p->n].has_svc = true;
	p->r[p->n].svc = *svc;
	return &p->r[p->n++];
}

#define SVC_ALL (XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK |	\
		 XLB_SVC_SET_VNODES | XLB_SVC_SET_SCHED_FLAGS | XLB_SVC_SET_OPS |	\
		 XLB_SVC_SET_SORRY | XLB_SVC_SET_QUORUM)
#define DEST_ALL (XLB_DEST_SET_PORT | XLB_DEST_SET_FWD | XLB_DEST_SET_WEIGHT |	\
		  XLB_DEST_SET_UTHRESH | XLB_DEST_SET_LTHRESH)

static bool check_same(const struct xlb_check *a, const struct xlb_check *b)
{
	static const struct xlb_check none;

	return xlb_check_equal(a ? a : &none, b ? b : &none);
}

/* An edit merges the check it is given into the one there: it can reach
 * want only when want names every option have names. */
static bool check_editable(const struct xlb_check *have, const struct xlb_check *want)
{
	uint32_t hs = have ? have->set : 0, ws = want ? want->set : 0;

	return check_same(have, want) || (ws && (hs & ~ws) == 0);
}

static void req_check(struct xlb_req *r, const struct xlb_check *have,
		      const struct xlb_check *want)
{
	if (want && !check_same(have, want))
		r->check = *want;
}

static int dest_find(const struct xlb_snap_svc *svc, const struct xlb_snap_dest *d)
{
	int j = xlb_snap_find_dest_af(svc, d->cfg.af, &d->cfg.addr, d->cfg.port);

	return j >= 0 && !svc->dests[j].sorry ? j : -1;
}

static struct xlb_req *add_dest(struct plan *p, enum xlb_req_op op,
				const struct xlb_snap_svc *svc, const struct xlb_snap_dest *d)
{
	struct xlb_req *r = plan_add(p, op, &svc->cfg);

	if (r) {
		r->dest = d->cfg;
		r->dest_set = op == XLB_REQ_EDIT_DEST ? DEST_ALL & ~XLB_DEST_SET_PORT : DEST_ALL;
		if (op == XLB_REQ_ADD_DEST && d->check)
			r->check = *d->check;
	}
	return r;
}

static struct xlb_req *add_svc(struct plan *p, const struct xlb_snap_svc *svc)
{
	struct xlb_req *r = plan_add(p, XLB_REQ_ADD_SVC, &svc->cfg);

	if (r) {
		r->svc_set = SVC_ALL;
		if (svc->check)
			r->check = *svc->check;
	}
	return r;
}

/* The requests turning the live snapshot into want, in an order the
 * tables accept: deletions first (a server deleted frees its address for a
 * sorry server), then each service's edit or addition with its servers. */
static int plan_make(struct plan *p, const struct xlb_snap *live, const struct xlb_snap *want)
{
	for (uint32_t i = 0; i < live->nsvcs; i++) {
		const struct xlb_snap_svc *ls = &live->svcs[i];
		const struct xlb_snap_svc *ws = xlb_snap_find_key(want, &ls->cfg.key);

		if (!ws || !check_editable(ls->check, ws->check)) {
			if (!plan_add(p, XLB_REQ_DEL_SVC, &ls->cfg))
				return -ENOMEM;
			continue;
		}
		for (uint32_t j = 0; j < ls->ndests; j++) {
			const struct xlb_snap_dest *ld = &ls->dests[j];
			int k;

			if (ld->sorry)
				continue;
			k = dest_find(ws, ld);
			if ((k < 0 || !check_editable(ld->check, ws->dests[k].check)) &&
			    !add_dest(p, XLB_REQ_DEL_DEST, ls, ld))
				return -ENOMEM;
		}
	}
	for (uint32_t i = 0; i < want->nsvcs; i++) {
		const struct xlb_snap_svc *ws = &want->svcs[i];
		const struct xlb_snap_svc *ls = xlb_snap_find_key(live, &ws->cfg.key);
		struct xlb_req *r;

		if (ls && !check_editable(ls->check, ws->check))
			ls = NULL;	/* deleted above */
		if (!ls) {
			if (!add_svc(p, ws))
				return -ENOMEM;
		} else {
			r = plan_add(p, XLB_REQ_EDIT_SVC, &ws->cfg);
			if (!r)
				return -ENOMEM;
			r->svc_set = SVC_ALL;
			req_check(r, ls->check, ws->check);
		}
		for (uint32_t j = 0; j < ws->ndests; j++) {
			const struct xlb_snap_dest *wd = &ws->dests[j];
			int k;

			if (wd->sorry)
				continue;
			k = ls ? dest_find(ls, wd) : -1;
			if (k >= 0 && !check_editable(ls->dests[k].check, wd->check))
				k = -1;
			if (k < 0) {
				if (!add_dest(p, XLB_REQ_ADD_DEST, ws, wd))
					return -ENOMEM;
				continue;
			}
			r = add_dest(p, XLB_REQ_EDIT_DEST, ws, wd);
			if (!r)
				return -ENOMEM;
			req_check(r, ls->dests[k].check, wd->check);
		}
	}
	{
		struct xlb_svc_cfg none = { 0 };
		struct xlb_req *r = plan_add(p, XLB_REQ_SET_TIMEOUT, &none);

		if (!r)
			return -ENOMEM;
		r->has_svc = false;
		r->timeouts = want->timeouts;
	}
	return 0;
}

/* The file's last request about the service (and server) of a refused
 * generated request: the line to show. */
static size_t blame(const struct xlb_req *reqs, size_t n, const struct xlb_req *g)
{
	size_t svc_hit = n;

	for (size_t i = n; i-- > 0;) {
		if (!reqs[i].has_svc || memcmp(&reqs[i].svc.key, &g->svc.key, sizeof(g->svc.key)))
			continue;
		if (g->op == XLB_REQ_ADD_DEST || g->op == XLB_REQ_EDIT_DEST) {
			if ((reqs[i].op == XLB_REQ_ADD_DEST || reqs[i].op == XLB_REQ_EDIT_DEST) &&
			    xlb_inaddr_eq(&reqs[i].dest.addr, &g->dest.addr) &&
			    (!reqs[i].dest.port || reqs[i].dest.port == g->dest.port))
				return i;
		}
		if (svc_hit == n)
			svc_hit = i;
	}
	if (g->op == XLB_REQ_SET_TIMEOUT)
		for (size_t i = n; i-- > 0;)
			if (reqs[i].op == XLB_REQ_SET_TIMEOUT)
				return i;
	return svc_hit;
}

int xlb_tables_replace(struct xlb_tables *t, const struct xlb_req *reqs, size_t n,
		       size_t *failed, size_t *changes, char *err, size_t errlen)
{
	struct xlb_tables *scratch = NULL;
	struct plan p = { 0 };
	size_t bad = n;
	int ret;

	*failed = n;
	ret = xlb_tables_new(&scratch);
	if (!ret)
		ret = xlb_tables_set_workers(scratch, 1);
	if (ret) {
		xlb_seterr(err, errlen, "%s", strerror(-ret));
		goto out;
	}
	/* The file alone, from empty tables: its own errors, by its line. */
	ret = xlb_tables_apply_reqs(scratch, reqs, n, &bad, err, errlen);
	if (ret) {
		*failed = bad;
		goto out;
	}
	ret = plan_make(&p, xlb_tables_current(t), xlb_tables_current(scratch));
	if (ret) {
		xlb_seterr(err, errlen, "out of memory");
		goto out;
	}
	ret = xlb_tables_apply_reqs(t, p.r, p.n, &bad, err, errlen);
	if (ret && bad < p.n)
		*failed = blame(reqs, n, &p.r[bad]);
	if (!ret && changes)
		*changes = p.n;
out:
	free(p.r);
	xlb_tables_free(scratch);
	return ret;
}

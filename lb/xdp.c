// SPDX-License-Identifier: GPL-2.0
/*
 * Loading, attaching and feeding the steering XDP program. See xdp.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <limits.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "inaddr.h"
#include "log.h"
#include "xdp.h"
#include "xlb_steer.skel.h"
#include "../bpf/xlb_fp.h"

#define XLB_BPFFS_PATH	"/sys/fs/bpf"

/* Sorted, distinct 8-byte keys: what a map holds. */
struct xdp_keyset {
	uint64_t *k;
	size_t n;
	bool known;		/* false: read the map at the next sync */
};

enum { XDP_SET_SVC, XDP_SET_RS, XDP_SET_N };

struct xlb_xdp {
	struct xlb_steer *skel;
	struct xdp_program *prog;	/* libxdp's view of skel's program */
	enum xlb_xdp_mode mode;
	int ifindex[XLB_XDP_MAX_IFACES];
	bool fresh[XLB_XDP_MAX_IFACES];	/* nothing of ours was there before */
	size_t n_if;
	/* xlb_xdp_sync: what the services and nat_rs maps hold. */
	struct xdp_keyset applied[XDP_SET_N];
	bool fp_reused;			/* fp_flows came from its pin */
	bool fp6_reused;		/* fp_flows6 too (an xlbd before IPv6's
					 * fast path pinned none) */
};

static __thread char xdp_errbuf[512];

const char *xlb_xdp_errmsg(void)
{
	return xdp_errbuf;
}

__attribute__((format(printf, 2, 3)))
static int xdp_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xdp_errbuf, sizeof(xdp_errbuf), fmt, ap);
	va_end(ap);
	return err;
}

static void (*lib_log_fn)(const char *line);

static void lib_log_line(const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (!lib_log_fn)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n)
		lib_log_fn(line);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	if (level == LIBBPF_WARN)
		lib_log_line(fmt, ap);
	return 0;
}

static int libxdp_log(enum libxdp_print_level level, const char *fmt,
		      va_list ap)
{
	if (level == LIBXDP_WARN)
		lib_log_line(fmt, ap);
	return 0;
}

void xlb_xdp_set_lib_log(void (*fn)(const char *line))
{
	lib_log_fn = fn;
	libbpf_set_print(libbpf_log);
	libxdp_set_print(libxdp_log);
}

static const char *ifname_of(int ifindex, char buf[IF_NAMESIZE])
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

int xlb_xdp_mode_parse(const char *s, enum xlb_xdp_mode *mode)
{
	if (!strcmp(s, "native") || !strcmp(s, "drv"))
		*mode = XLB_XDP_NATIVE;
	else if (!strcmp(s, "skb") || !strcmp(s, "generic"))
		*mode = XLB_XDP_SKB;
	else
		return -EINVAL;
	return 0;
}

const char *xlb_xdp_mode_name(enum xlb_xdp_mode mode)
{
	return mode == XLB_XDP_SKB ? "skb" : "native";
}

static enum xdp_attach_mode libxdp_mode(enum xlb_xdp_mode mode)
{
	return mode == XLB_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

static const char *attach_mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:	return "native";
	case XDP_MODE_SKB:	return "skb";
	case XDP_MODE_HW:	return "hw";
	default:		return "unknown";
	}
}

/*
 * libxdp keeps its dispatcher pins in bpffs. `ip netns exec` gives the
 * process a private mount namespace with a fresh /sys and no bpffs:
 * mount one there (it lives and dies with that namespace). Failure is not
 * fatal: libxdp then attaches the single program without a dispatcher.
 */
static void ensure_bpffs(void)
{
	struct statfs st;

	if (getenv("LIBXDP_BPFFS"))
		return;
	if (statfs(XLB_BPFFS_PATH, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return;
	(void)mount("bpffs", XLB_BPFFS_PATH, "bpf", 0, "mode=0700");
}

/* ---- the fast path's maps: sized, and pinned for the next xlbd ---- */

/* fp_flows6 last: an older xlbd pinned only the first two, whose flows
 * are reused without it (fp_flows6 is then created and pinned anew). */
static const char *const fp_pinned[] = { "fp_flows", "fp_devs", "fp_flows6" };
#define FP_PINNED_N	(sizeof(fp_pinned) / sizeof(fp_pinned[0]))

static struct bpf_map *fp_pinned_map(const struct xlb_xdp *x, size_t i)
{
	return i == 0 ? x->skel->maps.fp_flows :
	       i == 1 ? x->skel->maps.fp_devs : x->skel->maps.fp_flows6;
}

int xlb_xdp_fp_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	int rc = 0;

	if (!pin_dir)
		return 0;
	for (size_t i = 0; i < FP_PINNED_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, fp_pinned[i]);
		if (unlink(path) && errno != ENOENT)
			rc = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY)
		rc = rc ? rc : -errno;
	return rc;
}

/* Whether the map pinned at path has the definition m will be created
 * with: only then may the new program use it (and its entries). */
static int fp_pin_fd(const struct bpf_map *m, const char *path)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.type != bpf_map__type(m) ||
	    info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) ||
	    info.max_entries != bpf_map__max_entries(m)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Before load: fp_flows' size, and the pinned maps of the previous xlbd
 * reused when they match (else they are replaced after load). */
static int fp_before_load(struct xlb_xdp *x, const struct xlb_xdp_fp_opts *fp)
{
	struct bpf_map *flows = x->skel->maps.fp_flows;
	char path[PATH_MAX];
	int fds[FP_PINNED_N] = { -1, -1, -1 };
	size_t i;

	/* Both families' caches have the same size. */
	if (fp->entries &&
	    (bpf_map__set_max_entries(flows, fp->entries) ||
	     bpf_map__set_max_entries(x->skel->maps.fp_flows6, fp->entries)))
		return xdp_fail(-EINVAL, "--fast-path-entries %u: refused by libbpf",
				fp->entries);
	if (!fp->enabled || !fp->pin_dir) {
		/* Off: today's behaviour, and no earlier run's cache left
		 * to be mistaken for this one's later. */
		if (fp->pin_dir)
			(void)xlb_xdp_fp_unpin(fp->pin_dir);
		return 0;
	}
	for (i = 0; i < FP_PINNED_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", fp->pin_dir, fp_pinned[i]);
		fds[i] = fp_pin_fd(fp_pinned_map(x, i), path);
	}
	if (fds[0] < 0 || fds[1] < 0) {
		/* Both or neither: a cache without its devmap is no use. */
		for (i = 0; i < FP_PINNED_N; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (fds[0] == -ESTALE || fds[1] == -ESTALE)
			pr_info("xdp: the pinned fast-path maps in %s do not match "
				"this xlbd's (--fast-path-entries?): replaced, "
				"established flows take the userspace path until "
				"reinstalled", fp->pin_dir);
		(void)xlb_xdp_fp_unpin(fp->pin_dir);
		return 0;
	}
	if (fds[2] < 0) {
		/* The IPv4 cache without an IPv6 one (an older xlbd's), or
		 * one that does not match: the IPv4 flows are kept, the IPv6
		 * cache is created and pinned after load. */
		snprintf(path, sizeof(path), "%s/%s", fp->pin_dir, fp_pinned[2]);
		(void)unlink(path);
	}
	for (i = 0; i < FP_PINNED_N; i++) {
		int err;

		if (fds[i] < 0)
			continue;
		err = bpf_map__reuse_fd(fp_pinned_map(x, i), fds[i]);
		close(fds[i]);	/* reuse_fd dup()ed it */
		if (err) {
			for (size_t j = i + 1; j < FP_PINNED_N; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return xdp_fail(err, "reusing the pinned %s: %s",
					fp_pinned[i], strerror(-err));
		}
	}
	x->fp_reused = true;
	x->fp6_reused = fds[2] >= 0;
	return 0;
}

static int fp_after_load(struct xlb_xdp *x, const struct xlb_xdp_fp_opts *fp)
{
	char path[PATH_MAX];
	struct xlb_fp_config cfg = { .flags = fp->enabled ? XLB_FP_F_ENABLED : 0 };
	__u32 zero = 0;
	int err;

	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.fp_config), &zero,
				&cfg, BPF_ANY))
		return xdp_fail(-errno, "writing fp_config: %s", strerror(errno));
	if (!fp->enabled || !fp->pin_dir || (x->fp_reused && x->fp6_reused))
		return 0;
	if (mkdir(fp->pin_dir, 0700) && errno != EEXIST)
		return xdp_fail(-errno, "creating %s (bpffs) for the fast path's "
				"pinned maps: %s", fp->pin_dir, strerror(errno));
	for (size_t i = x->fp_reused ? 2 : 0; i < FP_PINNED_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", fp->pin_dir, fp_pinned[i]);
		err = bpf_obj_pin(bpf_map__fd(fp_pinned_map(x, i)), path);
		if (err)
			return xdp_fail(-errno, "pinning %s: %s (is %s on a bpffs?)",
					path, strerror(errno), fp->pin_dir);
	}
	return 0;
}

bool xlb_xdp_fp_reused(const struct xlb_xdp *x)
{
	return x->fp_reused;
}

int xlb_xdp_fp_flows_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.fp_flows);
}

int xlb_xdp_fp_flows6_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.fp_flows6);
}

int xlb_xdp_fp_devs_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.fp_devs);
}

int xlb_xdp_fp_config_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.fp_config);
}

const char *xlb_xdp_bpffs(void)
{
	const char *e = getenv("LIBXDP_BPFFS");

	return e && *e ? e : XLB_BPFFS_PATH;
}

int xlb_xdp_open(struct xlb_xdp **out, enum xlb_xdp_mode mode)
{
	struct xlb_xdp_fp_opts off = { .enabled = false };

	return xlb_xdp_open_fp(out, mode, &off);
}

int xlb_xdp_open_fp(struct xlb_xdp **out, enum xlb_xdp_mode mode,
		    const struct xlb_xdp_fp_opts *fp)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts,
			    .prog_name = XLB_STEER_PROG_NAME);
	struct xlb_xdp *x;
	int err;

	*out = NULL;
	xdp_errbuf[0] = '\0';
	if (mode != XLB_XDP_NATIVE && mode != XLB_XDP_SKB)
		return xdp_fail(-EINVAL, "unknown XDP mode %d", (int)mode);

	x = calloc(1, sizeof(*x));
	if (!x)
		return xdp_fail(-ENOMEM, "out of memory");
	x->mode = mode;

	ensure_bpffs();

	x->skel = xlb_steer__open();
	if (!x->skel) {
		err = -errno;
		xdp_fail(err, "cannot open the embedded XDP program: %s",
			 strerror(-err));
		goto err_free;
	}
	err = fp_before_load(x, fp);
	if (err)
		goto err_skel;
	/* Load now, not at attach: the maps must exist before the first
	 * attach so the control plane can fill them and AF_XDP sockets can
	 * be inserted, and the program can be test-run unattached. */
	err = xlb_steer__load(x->skel);
	if (err) {
		xdp_fail(err, "cannot load the XDP program %s (needs root or "
			 "CAP_BPF + CAP_NET_ADMIN): %s", XLB_STEER_PROG_NAME,
			 strerror(-err));
		goto err_skel;
	}
	err = fp_after_load(x, fp);
	if (err)
		goto err_skel;

	opts.obj = x->skel->obj;
	errno = 0;
	x->prog = xdp_program__create(&opts);
	if (!x->prog || libxdp_get_error(x->prog)) {
		err = x->prog ? (int)libxdp_get_error(x->prog) : -errno;
		if (!err)
			err = -EINVAL;
		x->prog = NULL;
		xdp_fail(err, "libxdp cannot use the XDP program %s: %s",
			 XLB_STEER_PROG_NAME, strerror(-err));
		goto err_skel;
	}
	*out = x;
	return 0;

err_skel:
	xlb_steer__destroy(x->skel);
err_free:
	free(x);
	return err;
}

/* What xdp_multiprog says is on an interface, as far as we care. */
enum attached_kind {
	ATT_NONE = 0,		/* no XDP program */
	ATT_OURS_ALONE,		/* xlb_steer attached by itself */
	ATT_OURS_DISPATCHER,	/* xlb_steer inside a libxdp dispatcher */
	ATT_OTHER_DISPATCHER,	/* a dispatcher without xlb_steer */
	ATT_FOREIGN,		/* someone else's program, alone */
};

struct attached {
	enum attached_kind kind;
	enum xdp_attach_mode mode;
	uint32_t id;		/* the program's id (ATT_OURS_ALONE, ATT_FOREIGN) */
	char name[64];		/* ATT_FOREIGN */
};

static void inspect(int ifindex, struct attached *a)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;

	memset(a, 0, sizeof(*a));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		return;		/* nothing attached (or nothing we can see) */
	a->mode = xdp_multiprog__attach_mode(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p) {
			a->id = xdp_program__id(p);
			if (!strcmp(xdp_program__name(p), XLB_STEER_PROG_NAME)) {
				a->kind = ATT_OURS_ALONE;
			} else {
				a->kind = ATT_FOREIGN;
				snprintf(a->name, sizeof(a->name), "%s",
					 xdp_program__name(p));
			}
		}
	} else {
		a->kind = ATT_OTHER_DISPATCHER;
		for (p = xdp_multiprog__next_prog(NULL, mp); p;
		     p = xdp_multiprog__next_prog(p, mp))
			if (!strcmp(xdp_program__name(p), XLB_STEER_PROG_NAME))
				a->kind = ATT_OURS_DISPATCHER;
	}
	xdp_multiprog__close(mp);
}

static int refuse_foreign(int ifindex, const struct attached *a)
{
	char ifn[IF_NAMESIZE];

	return xdp_fail(-EBUSY, "interface %s already has XDP program '%s' "
			"(id %u, %s mode) attached, which is not xlb's: "
			"refusing to replace it; detach it first (ip link set "
			"dev %s xdp off)", ifname_of(ifindex, ifn), a->name,
			a->id, attach_mode_name(a->mode), ifn);
}

/* Every xlb_steer on ifindex goes: alone, or out of a dispatcher (others'
 * programs in it stay). */
static int detach_ours(int ifindex)
{
	char ifn[IF_NAMESIZE];
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	enum xdp_attach_mode m;
	int err = 0;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		return 0;
	m = xdp_multiprog__attach_mode(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), XLB_STEER_PROG_NAME)) {
			err = xdp_multiprog__detach(mp);
			if (err)
				xdp_fail(err, "cannot detach %s (id %u) from "
					 "interface %s: %s", XLB_STEER_PROG_NAME,
					 xdp_program__id(p),
					 ifname_of(ifindex, ifn), strerror(-err));
		}
		goto out;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp)) {
		if (strcmp(xdp_program__name(p), XLB_STEER_PROG_NAME))
			continue;
		err = xdp_program__detach(p, ifindex, m, 0);
		if (err) {
			xdp_fail(err, "cannot detach %s (id %u) from the "
				 "dispatcher on interface %s: %s",
				 XLB_STEER_PROG_NAME, xdp_program__id(p),
				 ifname_of(ifindex, ifn), strerror(-err));
			break;
		}
	}
out:
	xdp_multiprog__close(mp);
	return err;
}

static uint32_t kernel_flags(enum xlb_xdp_mode mode)
{
	return mode == XLB_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/*
 * Swaps the xlb_steer left by the previous xlbd (id old_id) for ours in
 * one step: the kernel checks that old_id is still the attached program
 * and replaces the pointer, so every packet meets either the old program
 * (whose services map still steers the VIPs, to no socket: dropped, the
 * client retransmits) or the new one, never none.
 */
static int replace_atomically(struct xlb_xdp *x, int ifindex, uint32_t old_id)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o);
	int old_fd, err;

	old_fd = bpf_prog_get_fd_by_id(old_id);
	if (old_fd < 0)
		return -errno;
	o.old_prog_fd = old_fd;
	err = bpf_xdp_attach(ifindex, xlb_xdp_prog_fd(x),
			     kernel_flags(x->mode) | XDP_FLAGS_REPLACE, &o);
	close(old_fd);
	return err;
}

static int attach_error(struct xlb_xdp *x, int ifindex, int err)
{
	const char *mode = xlb_xdp_mode_name(x->mode);
	char ifn[IF_NAMESIZE];

	ifname_of(ifindex, ifn);
	if (err == -EOPNOTSUPP)
		return xdp_fail(err, "interface %s does not support XDP "
				"in %s mode%s", ifn, mode,
				x->mode == XLB_XDP_NATIVE ?
				" (its driver has no XDP support): "
				"use --xdp-mode skb" : "");
	if (err == -EEXIST || err == -EBUSY)
		return xdp_fail(err, "cannot attach XDP in %s mode to "
				"interface %s: another XDP program or "
				"mode is in place (%s)", mode, ifn,
				strerror(-err));
	return xdp_fail(err, "cannot attach XDP in %s mode to "
			"interface %s: %s", mode, ifn, strerror(-err));
}

int xlb_xdp_attach(struct xlb_xdp *x, int ifindex)
{
	char ifn[IF_NAMESIZE];
	struct attached a;
	size_t i;
	int err;

	xdp_errbuf[0] = '\0';
	for (i = 0; i < x->n_if; i++)
		if (x->ifindex[i] == ifindex)
			return xdp_fail(-EALREADY, "already attached to "
					"interface %s", ifname_of(ifindex, ifn));
	if (x->n_if == XLB_XDP_MAX_IFACES)
		return xdp_fail(-ENOSPC, "more than %d interfaces",
				XLB_XDP_MAX_IFACES);
	if (!if_indextoname(ifindex, ifn))
		return xdp_fail(-ENODEV, "no interface with index %d", ifindex);

	inspect(ifindex, &a);
	switch (a.kind) {
	case ATT_FOREIGN:
		return refuse_foreign(ifindex, &a);
	case ATT_OURS_ALONE:
		if (a.mode == libxdp_mode(x->mode)) {
			err = replace_atomically(x, ifindex, a.id);
			if (err)
				return xdp_fail(err, "cannot replace %s (id %u) "
						"on interface %s: %s",
						XLB_STEER_PROG_NAME, a.id, ifn,
						strerror(-err));
			pr_info("xdp: replaced %s (id %u) on %s in one step, "
				"left attached by an earlier run",
				XLB_STEER_PROG_NAME, a.id, ifn);
			x->ifindex[x->n_if] = ifindex;
			x->fresh[x->n_if++] = false;
			return 0;
		}
		/* Another mode cannot be swapped in one step. */
		__attribute__((fallthrough));
	case ATT_OURS_DISPATCHER:
		pr_warn("xdp: %s on %s is %s; it is detached and ours "
			"attached after it: packets arriving in between go to "
			"the kernel", XLB_STEER_PROG_NAME, ifn,
			a.kind == ATT_OURS_DISPATCHER ? "in a libxdp dispatcher" :
			"in another XDP mode");
		err = detach_ours(ifindex);
		if (err)
			return err;
		break;
	case ATT_NONE:
	case ATT_OTHER_DISPATCHER:
		break;
	}

	err = xdp_program__attach(x->prog, ifindex, libxdp_mode(x->mode), 0);
	if (err)
		return attach_error(x, ifindex, err);
	x->ifindex[x->n_if] = ifindex;
	x->fresh[x->n_if++] = a.kind == ATT_NONE || a.kind == ATT_OTHER_DISPATCHER;
	return 0;
}

void xlb_xdp_detach_fresh(struct xlb_xdp *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->n_if; i++)
		if (x->fresh[i])
			(void)xdp_program__detach(x->prog, x->ifindex[i],
						  libxdp_mode(x->mode), 0);
}

int xlb_xdp_detach_iface(int ifindex)
{
	char ifn[IF_NAMESIZE];
	struct attached a;

	xdp_errbuf[0] = '\0';
	if (!if_indextoname(ifindex, ifn))
		return xdp_fail(-ENODEV, "no interface with index %d", ifindex);
	ensure_bpffs();		/* a dispatcher's state lives there */
	inspect(ifindex, &a);
	switch (a.kind) {
	case ATT_OURS_ALONE:
	case ATT_OURS_DISPATCHER:
		return detach_ours(ifindex);
	case ATT_FOREIGN:
		return xdp_fail(-EBUSY, "interface %s has XDP program '%s' "
				"(id %u), which is not xlb's: left alone", ifn,
				a.name, a.id);
	case ATT_OTHER_DISPATCHER:
	case ATT_NONE:
		break;
	}
	return xdp_fail(-ENOENT, "interface %s has no %s attached", ifn,
			XLB_STEER_PROG_NAME);
}

bool xlb_xdp_has_ours(int ifindex)
{
	struct attached a;

	inspect(ifindex, &a);
	return a.kind == ATT_OURS_ALONE || a.kind == ATT_OURS_DISPATCHER;
}

void xlb_xdp_close(struct xlb_xdp *x)
{
	if (!x)
		return;
	/* No detach: the attached program holds itself and its maps in the
	 * kernel. Our handles go; the sockets' XSKMAP slots empty as they
	 * close, so VIP packets are dropped (retransmitted by the clients)
	 * until the next xlbd replaces the program. */
	xdp_program__close(x->prog);	/* does not close skel's object */
	xlb_steer__destroy(x->skel);
	for (int i = 0; i < XDP_SET_N; i++)
		free(x->applied[i].k);
	free(x);
}

int xlb_xdp_xsks_map_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.xsks_map);
}

int xlb_xdp_set_xsk_base(struct xlb_xdp *x, int ifindex, uint32_t base)
{
	__u32 key = (__u32)ifindex, val = base;

	if (ifindex <= 0 || base >= XLB_XSKS_MAX)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xsk_base), &key, &val, BPF_ANY))
		return -errno;
	return 0;
}

int xlb_xdp_prog_fd(const struct xlb_xdp *x)
{
	return bpf_program__fd(x->skel->progs.xlb_steer);
}

static int map_set(int fd, const void *key, const void *val, bool present,
		   const char *what)
{
	int err;

	if (present)
		err = bpf_map_update_elem(fd, key, val, BPF_ANY);
	else
		err = bpf_map_delete_elem(fd, key);
	if (err) {
		err = -errno;
		if (!present && err == -ENOENT)
			return 0;
		return xdp_fail(err, "cannot %s %s map entry: %s",
				present ? "add" : "delete", what,
				strerror(-err));
	}
	return 0;
}

int xlb_xdp_svc_set(struct xlb_xdp *x, const struct xlb_bpf_svc_key *k,
		    bool present)
{
	struct xlb_bpf_svc_key key = *k;
	struct xlb_svc_val val = { 0 };

	key.pad = 0;
	return map_set(bpf_map__fd(x->skel->maps.services), &key, &val,
		       present, "services");
}

int xlb_xdp_nat_rs_set(struct xlb_xdp *x, const struct xlb_rs_key *k,
		       bool present)
{
	struct xlb_rs_key key = *k;
	struct xlb_rs_val val = { 0 };

	key.pad = 0;
	return map_set(bpf_map__fd(x->skel->maps.nat_rs), &key, &val,
		       present, "nat_rs");
}

int xlb_xdp_local_set(struct xlb_xdp *x, uint32_t addr, bool present)
{
	struct xlb_local_val val = { 0 };
	__u32 key = addr;

	return map_set(bpf_map__fd(x->skel->maps.local_addrs), &key, &val,
		       present, "local_addrs");
}

/* Both key types are 8 bytes with the pad last: compared as bytes. */
_Static_assert(sizeof(struct xlb_bpf_svc_key) == 8, "svc key size");
_Static_assert(sizeof(struct xlb_rs_key) == 8, "rs key size");

static int key8_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

_Static_assert(sizeof(struct xlb_svc_val) <= sizeof(uint64_t), "svc val");
_Static_assert(sizeof(struct xlb_rs_val) <= sizeof(uint64_t), "rs val");

/* Sorted, distinct copy of n 8-byte keys with their pad byte zeroed. */
static int keyset_from(struct xdp_keyset *ks, const void *src, size_t n)
{
	size_t i, j;

	ks->k = malloc((n ? n : 1) * sizeof(*ks->k));
	if (!ks->k)
		return -ENOMEM;
	if (n)
		memcpy(ks->k, src, n * sizeof(*ks->k));
	for (i = 0; i < n; i++)
		((uint8_t *)&ks->k[i])[7] = 0;	/* pad */
	qsort(ks->k, n, sizeof(*ks->k), key8_cmp);
	for (i = j = 0; i < n; i++)
		if (!j || ks->k[j - 1] != ks->k[i])
			ks->k[j++] = ks->k[i];
	ks->n = j;
	ks->known = true;
	return 0;
}

/* Reads what the map holds (a pinned map may hold an earlier run's keys). */
static int keyset_load(struct xdp_keyset *ks, int fd, const char *what)
{
	uint64_t cur, prev, *k = NULL;
	size_t n = 0, cap = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &prev, &cur) == 0) {
		first = false;
		prev = cur;
		if (n == cap) {
			uint64_t *nk;

			cap = cap ? 2 * cap : 64;
			nk = realloc(k, cap * sizeof(*nk));
			if (!nk) {
				free(k);
				return xdp_fail(-ENOMEM, "out of memory reading the %s map", what);
			}
			k = nk;
		}
		k[n++] = cur;
	}
	if (n)	/* k is NULL then */
		qsort(k, n, sizeof(*k), key8_cmp);
	free(ks->k);
	ks->k = k;
	ks->n = n;
	ks->known = true;
	return 0;
}

/* The keys of a that are not in b (both sorted): into out, a count. */
static size_t keyset_minus(const struct xdp_keyset *a, const struct xdp_keyset *b,
			   uint64_t *out)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n) {
		if (j == b->n || a->k[i] < b->k[j])
			out[n++] = a->k[i++];
		else if (a->k[i] == b->k[j])
			i++, j++;
		else
			j++;
	}
	return n;
}

int xlb_xdp_capacity(const struct xlb_xdp *x, uint32_t *svcs, uint32_t *nat_rs)
{
	if (svcs)
		*svcs = bpf_map__max_entries(x->skel->maps.services);
	if (nat_rs)
		*nat_rs = bpf_map__max_entries(x->skel->maps.nat_rs);
	return 0;
}

int xlb_xdp_services_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.services);
}

int xlb_xdp_nat_rs_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.nat_rs);
}

/* One map operation of a sync, as it was done (for the undo). */
struct xdp_op {
	int fd;
	bool add;
	uint64_t key;
};

static int op_do(const struct xdp_op *op, bool undo)
{
	uint64_t zero_val = 0;
	bool add = op->add != undo;

	if (add)
		return bpf_map_update_elem(op->fd, &op->key, &zero_val, BPF_NOEXIST) ?
			-errno : 0;
	return bpf_map_delete_elem(op->fd, &op->key) ? -errno : 0;
}

/*
 * A transaction on both maps: check that they can hold the wanted keys,
 * delete the stale ones (both maps), add the new ones (both maps); at the
 * first failure undo what was done, in reverse, so that the maps hold what
 * they held before. Deleting first is what lets a change that swaps keys
 * succeed at a map's limit.
 */
int xlb_xdp_sync(struct xlb_xdp *x, const struct xlb_bpf_svc_key *svcs,
		 size_t nsvc, const struct xlb_rs_key *rs, size_t nrs)
{
	static const char *const what[XDP_SET_N] = { "services", "nat_rs" };
	static const char *const unit[XDP_SET_N] = {
		"services", "NAT real servers (distinct RIP:port/protocol)" };
	struct xdp_keyset want[XDP_SET_N] = { 0 };
	uint32_t max[XDP_SET_N];
	int fd[XDP_SET_N] = { xlb_xdp_services_fd(x), xlb_xdp_nat_rs_fd(x) };
	struct xdp_op *ops = NULL;
	uint64_t *tmp = NULL;
	size_t nops = 0, done = 0, cap = 0, i, m;
	int err = 0, uerr = 0;

	xdp_errbuf[0] = '\0';
	xlb_xdp_capacity(x, &max[XDP_SET_SVC], &max[XDP_SET_RS]);
	if (keyset_from(&want[XDP_SET_SVC], svcs, nsvc) ||
	    keyset_from(&want[XDP_SET_RS], rs, nrs)) {
		err = xdp_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (m = 0; m < XDP_SET_N; m++) {
		if (want[m].n > max[m]) {
			err = xdp_fail(-ENOSPC, "the XDP %s map holds at most %u %s; "
				       "this change needs %zu", what[m], max[m], unit[m],
				       want[m].n);
			goto out;
		}
		if (!x->applied[m].known && (err = keyset_load(&x->applied[m], fd[m], what[m])))
			goto out;
		cap += x->applied[m].n + want[m].n;
	}
	ops = malloc((cap ? cap : 1) * sizeof(*ops));
	tmp = malloc((cap ? cap : 1) * sizeof(*tmp));
	if (!ops || !tmp) {
		err = xdp_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (m = 0; m < XDP_SET_N; m++) {
		size_t n = keyset_minus(&x->applied[m], &want[m], tmp);

		for (i = 0; i < n; i++)
			ops[nops++] = (struct xdp_op){ .fd = fd[m], .add = false, .key = tmp[i] };
	}
	for (m = 0; m < XDP_SET_N; m++) {
		size_t n = keyset_minus(&want[m], &x->applied[m], tmp);

		for (i = 0; i < n; i++)
			ops[nops++] = (struct xdp_op){ .fd = fd[m], .add = true, .key = tmp[i] };
	}
	for (done = 0; done < nops; done++) {
		err = op_do(&ops[done], false);
		/* Already there / already gone: someone else's write; the end
		 * state is the one wanted, and the undo must not touch it. */
		if (err == (ops[done].add ? -EEXIST : -ENOENT)) {
			ops[done].fd = -1;
			err = 0;
		}
		if (err)
			break;
	}
	if (err) {
		const struct xdp_op *f = &ops[done];
		size_t k = done;

		while (k--)
			if (ops[k].fd >= 0 && (uerr = op_do(&ops[k], true)) < 0)
				break;
		if (uerr) {
			/* Nothing more to do than say so and re-read the maps
			 * at the next sync. */
			for (m = 0; m < XDP_SET_N; m++)
				x->applied[m].known = false;
			err = xdp_fail(err, "cannot %s %s map entry (%s), and undoing "
				       "the change failed too (%s): the XDP maps may "
				       "not match the configuration",
				       f->add ? "add" : "delete",
				       f->fd == fd[XDP_SET_SVC] ? "services" : "nat_rs",
				       strerror(-err), strerror(-uerr));
		} else {
			err = xdp_fail(err, "cannot %s %s map entry: %s (the change "
				       "was undone)", f->add ? "add" : "delete",
				       f->fd == fd[XDP_SET_SVC] ? "services" : "nat_rs",
				       strerror(-err));
		}
		goto out;
	}
	for (m = 0; m < XDP_SET_N; m++) {
		free(x->applied[m].k);
		x->applied[m] = want[m];
		want[m].k = NULL;
	}
out:
	for (m = 0; m < XDP_SET_N; m++)
		free(want[m].k);
	free(ops);
	free(tmp);
	return err;
}

/* ---- IPv6 maps (issue 14) ---- */

_Static_assert(sizeof(struct xlb_svc6_key) == 20, "svc6 key size");
_Static_assert(sizeof(struct xlb_rs6_key) == 20, "rs6 key size");
_Static_assert(sizeof(struct xlb_local6_key) == 16, "local6 key size");

#define XDP_KEY6_LEN	20	/* both 20-byte keys, pad last */

static int map_set_room(int fd, const void *key, const void *val, bool present,
			const char *what, uint32_t max)
{
	int err = map_set(fd, key, val, present, what);

	if (err == -E2BIG || err == -ENOSPC)
		return xdp_fail(-ENOSPC, "the XDP %s map is full (%u entries)",
				what, max);
	return err;
}

int xlb_xdp_svc6_set(struct xlb_xdp *x, const struct xlb_svc6_key *k,
		     bool present)
{
	struct xlb_svc6_key key = *k;
	struct xlb_svc_val val = { 0 };

	key.pad = 0;
	return map_set_room(bpf_map__fd(x->skel->maps.services6), &key, &val,
			    present, "services6",
			    bpf_map__max_entries(x->skel->maps.services6));
}

int xlb_xdp_nat_rs6_set(struct xlb_xdp *x, const struct xlb_rs6_key *k,
			bool present)
{
	struct xlb_rs6_key key = *k;
	struct xlb_rs_val val = { 0 };

	key.pad = 0;
	return map_set_room(bpf_map__fd(x->skel->maps.nat_rs6), &key, &val,
			    present, "nat_rs6",
			    bpf_map__max_entries(x->skel->maps.nat_rs6));
}

int xlb_xdp_local6_set(struct xlb_xdp *x, const uint8_t addr[16],
		       bool present)
{
	struct xlb_local_val val = { 0 };
	struct xlb_local6_key key;

	memcpy(key.addr, addr, sizeof(key.addr));
	return map_set_room(bpf_map__fd(x->skel->maps.local_addrs6), &key, &val,
			    present, "local_addrs6",
			    bpf_map__max_entries(x->skel->maps.local_addrs6));
}

int xlb_xdp_svc_set_af(struct xlb_xdp *x, int af, const union xlb_inaddr *a,
		       uint16_t port, uint8_t proto, bool present)
{
	if (af == AF_INET) {
		struct xlb_bpf_svc_key k = { .addr = a->ip, .port = port, .proto = proto };

		return xlb_xdp_svc_set(x, &k, present);
	}
	if (af == AF_INET6) {
		struct xlb_svc6_key k = { .port = port, .proto = proto };

		memcpy(k.addr, a->b, sizeof(k.addr));
		return xlb_xdp_svc6_set(x, &k, present);
	}
	return xdp_fail(-EAFNOSUPPORT, "address family %d is not IPv4 or IPv6", af);
}

int xlb_xdp_nat_rs_set_af(struct xlb_xdp *x, int af,
			  const union xlb_inaddr *a, uint16_t port,
			  uint8_t proto, bool present)
{
	if (af == AF_INET) {
		struct xlb_rs_key k = { .addr = a->ip, .port = port, .proto = proto };

		return xlb_xdp_nat_rs_set(x, &k, present);
	}
	if (af == AF_INET6) {
		struct xlb_rs6_key k = { .port = port, .proto = proto };

		memcpy(k.addr, a->b, sizeof(k.addr));
		return xlb_xdp_nat_rs6_set(x, &k, present);
	}
	return xdp_fail(-EAFNOSUPPORT, "address family %d is not IPv4 or IPv6", af);
}

int xlb_xdp_local_set_af(struct xlb_xdp *x, int af, const union xlb_inaddr *a,
			 bool present)
{
	if (af == AF_INET)
		return xlb_xdp_local_set(x, a->ip, present);
	if (af == AF_INET6)
		return xlb_xdp_local6_set(x, a->b, present);
	return xdp_fail(-EAFNOSUPPORT, "address family %d is not IPv4 or IPv6", af);
}

int xlb_xdp_capacity6(const struct xlb_xdp *x, uint32_t *svcs, uint32_t *nat_rs)
{
	if (svcs)
		*svcs = bpf_map__max_entries(x->skel->maps.services6);
	if (nat_rs)
		*nat_rs = bpf_map__max_entries(x->skel->maps.nat_rs6);
	return 0;
}

int xlb_xdp_services6_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.services6);
}

int xlb_xdp_nat_rs6_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.nat_rs6);
}

int xlb_xdp_local_addrs6_fd(const struct xlb_xdp *x)
{
	return bpf_map__fd(x->skel->maps.local_addrs6);
}

/* n 20-byte keys, sorted and distinct. */
struct xdp_keyset6 {
	uint8_t (*k)[XDP_KEY6_LEN];
	size_t n;
};

static int key6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, XDP_KEY6_LEN);
}

static void keyset6_sort(struct xdp_keyset6 *ks)
{
	size_t i, j;

	if (!ks->n)
		return;
	qsort(ks->k, ks->n, XDP_KEY6_LEN, key6_cmp);
	for (i = j = 0; i < ks->n; i++)
		if (!j || memcmp(ks->k[j - 1], ks->k[i], XDP_KEY6_LEN))
			memmove(ks->k[j++], ks->k[i], XDP_KEY6_LEN);
	ks->n = j;
}

static int keyset6_from(struct xdp_keyset6 *ks, const void *src, size_t n)
{
	size_t i;

	ks->k = malloc((n ? n : 1) * XDP_KEY6_LEN);
	if (!ks->k)
		return -ENOMEM;
	if (n)
		memcpy(ks->k, src, n * XDP_KEY6_LEN);
	for (i = 0; i < n; i++)
		ks->k[i][XDP_KEY6_LEN - 1] = 0;	/* pad */
	ks->n = n;
	keyset6_sort(ks);
	return 0;
}

static int keyset6_load(struct xdp_keyset6 *ks, int fd)
{
	uint8_t cur[XDP_KEY6_LEN], prev[XDP_KEY6_LEN];
	size_t cap = 0;
	bool first = true;

	ks->k = NULL;
	ks->n = 0;
	while (bpf_map_get_next_key(fd, first ? NULL : prev, cur) == 0) {
		first = false;
		memcpy(prev, cur, sizeof(prev));
		if (ks->n == cap) {
			void *nk;

			cap = cap ? 2 * cap : 64;
			nk = realloc(ks->k, cap * XDP_KEY6_LEN);
			if (!nk)
				return -ENOMEM;
			ks->k = nk;
		}
		memcpy(ks->k[ks->n++], cur, XDP_KEY6_LEN);
	}
	keyset6_sort(ks);
	return 0;
}

/* One operation of xlb_xdp_sync6(), for its undo. */
struct xdp_op6 {
	int fd;
	bool add;
	bool skip;	/* someone else's write had done it: no undo */
	uint8_t key[XDP_KEY6_LEN];
};

static int op6_do(const struct xdp_op6 *op, bool undo)
{
	uint64_t zero_val = 0;

	if (op->add != undo)
		return bpf_map_update_elem(op->fd, op->key, &zero_val, BPF_NOEXIST) ?
			-errno : 0;
	return bpf_map_delete_elem(op->fd, op->key) ? -errno : 0;
}

/* Appends to ops the keys of a not in b (both sorted) as add/delete. */
static void ops6_minus(const struct xdp_keyset6 *a, const struct xdp_keyset6 *b,
		       int fd, bool add, struct xdp_op6 *ops, size_t *nops)
{
	size_t i = 0, j = 0;
	int c;

	while (i < a->n) {
		c = j == b->n ? -1 : memcmp(a->k[i], b->k[j], XDP_KEY6_LEN);
		if (c < 0) {
			struct xdp_op6 *op = &ops[(*nops)++];

			op->fd = fd;
			op->add = add;
			op->skip = false;
			memcpy(op->key, a->k[i++], XDP_KEY6_LEN);
		} else if (c == 0) {
			i++, j++;
		} else {
			j++;
		}
	}
}

_Static_assert(sizeof(struct xlb_svc_val) <= sizeof(uint64_t) &&
	       sizeof(struct xlb_rs_val) <= sizeof(uint64_t), "v6 vals");

int xlb_xdp_sync6(struct xlb_xdp *x, const struct xlb_svc6_key *svcs,
		  size_t nsvc, const struct xlb_rs6_key *rs, size_t nrs)
{
	static const char *const what[2] = { "services6", "nat_rs6" };
	struct xdp_keyset6 want[2] = { 0 }, have[2] = { 0 };
	int fd[2] = { xlb_xdp_services6_fd(x), xlb_xdp_nat_rs6_fd(x) };
	uint32_t max[2];
	struct xdp_op6 *ops = NULL;
	size_t nops = 0, done, m;
	int err = 0, uerr = 0;

	xdp_errbuf[0] = '\0';
	xlb_xdp_capacity6(x, &max[0], &max[1]);
	if (keyset6_from(&want[0], svcs, nsvc) || keyset6_from(&want[1], rs, nrs) ||
	    keyset6_load(&have[0], fd[0]) || keyset6_load(&have[1], fd[1])) {
		err = xdp_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (m = 0; m < 2; m++)
		if (want[m].n > max[m]) {
			err = xdp_fail(-ENOSPC, "the XDP %s map holds at most %u "
				       "entries; this change needs %zu", what[m],
				       max[m], want[m].n);
			goto out;
		}
	ops = malloc((have[0].n + have[1].n + want[0].n + want[1].n + 1) *
		     sizeof(*ops));
	if (!ops) {
		err = xdp_fail(-ENOMEM, "out of memory");
		goto out;
	}
	/* Deletes first (both maps), so a swap at a map's limit fits. */
	for (m = 0; m < 2; m++)
		ops6_minus(&have[m], &want[m], fd[m], false, ops, &nops);
	for (m = 0; m < 2; m++)
		ops6_minus(&want[m], &have[m], fd[m], true, ops, &nops);
	for (done = 0; done < nops; done++) {
		err = op6_do(&ops[done], false);
		if (err == (ops[done].add ? -EEXIST : -ENOENT)) {
			ops[done].skip = true;
			err = 0;
		}
		if (err)
			break;
	}
	if (err) {
		const struct xdp_op6 *f = &ops[done];
		const char *map = f->fd == fd[0] ? what[0] : what[1];
		size_t k = done;

		while (k--)
			if (!ops[k].skip && (uerr = op6_do(&ops[k], true)) < 0)
				break;
		if (uerr)
			err = xdp_fail(err, "cannot %s %s map entry (%s), and undoing "
				       "the change failed too (%s): the XDP maps may "
				       "not match the configuration",
				       f->add ? "add" : "delete", map,
				       strerror(-err), strerror(-uerr));
		else
			err = xdp_fail(err, "cannot %s %s map entry: %s (the change "
				       "was undone)", f->add ? "add" : "delete", map,
				       strerror(-err));
	}
out:
	for (m = 0; m < 2; m++) {
		free(want[m].k);
		free(have[m].k);
	}
	free(ops);
	return err;
}

int xlb_xdp_sync_all(struct xlb_xdp *x, const struct xlb_bpf_svc_key *svcs,
		     size_t nsvc, const struct xlb_rs_key *rs, size_t nrs,
		     const struct xlb_svc6_key *svcs6, size_t nsvc6,
		     const struct xlb_rs6_key *rs6, size_t nrs6)
{
	static const char *const what[XDP_SET_N] = { "services", "nat_rs" };
	uint64_t *old[XDP_SET_N] = { NULL, NULL };
	size_t nold[XDP_SET_N] = { 0, 0 }, m;
	uint32_t max6[2];
	char msg[sizeof(xdp_errbuf)], umsg[sizeof(xdp_errbuf)];
	int err, uerr;

	xdp_errbuf[0] = '\0';
	/* The IPv6 limits before anything changes (distinct keys). */
	{
		struct xdp_keyset6 k[2] = { 0 };

		xlb_xdp_capacity6(x, &max6[0], &max6[1]);
		if (keyset6_from(&k[0], svcs6, nsvc6) || keyset6_from(&k[1], rs6, nrs6)) {
			free(k[0].k);
			free(k[1].k);
			return xdp_fail(-ENOMEM, "out of memory");
		}
		for (m = 0; m < 2; m++)
			nold[m] = k[m].n;
		free(k[0].k);
		free(k[1].k);
		for (m = 0; m < 2; m++)
			if (nold[m] > max6[m])
				return xdp_fail(-ENOSPC, "the XDP %s map holds at most "
						"%u entries; this change needs %zu",
						m ? "nat_rs6" : "services6", max6[m],
						nold[m]);
	}
	/* What the IPv4 maps hold now, to put back. */
	for (m = 0; m < XDP_SET_N; m++) {
		if (!x->applied[m].known &&
		    (err = keyset_load(&x->applied[m], bpf_map__fd(m ? x->skel->maps.nat_rs :
								x->skel->maps.services),
				       what[m])))
			goto out;
		nold[m] = x->applied[m].n;
		old[m] = malloc((nold[m] ? nold[m] : 1) * sizeof(uint64_t));
		if (!old[m]) {
			err = xdp_fail(-ENOMEM, "out of memory");
			goto out;
		}
		if (nold[m])
			memcpy(old[m], x->applied[m].k, nold[m] * sizeof(uint64_t));
	}
	err = xlb_xdp_sync(x, svcs, nsvc, rs, nrs);
	if (err)
		goto out;
	err = xlb_xdp_sync6(x, svcs6, nsvc6, rs6, nrs6);
	if (!err)
		goto out;
	snprintf(msg, sizeof(msg), "%s", xdp_errbuf);
	uerr = xlb_xdp_sync(x, (const struct xlb_bpf_svc_key *)old[XDP_SET_SVC],
			    nold[XDP_SET_SVC], (const struct xlb_rs_key *)old[XDP_SET_RS],
			    nold[XDP_SET_RS]);
	snprintf(umsg, sizeof(umsg), "%s", xdp_errbuf);
	if (uerr)
		err = xdp_fail(err, "%s; putting the IPv4 maps back failed too (%s): "
			       "the XDP maps may not match the configuration", msg,
			       umsg);
	else
		err = xdp_fail(err, "%s (the IPv4 maps were put back)", msg);
out:
	for (m = 0; m < XDP_SET_N; m++)
		free(old[m]);
	return err;
}

int xlb_xdp_counters(const struct xlb_xdp *x, uint64_t out[XLB_CNT_MAX])
{
	int fd = bpf_map__fd(x->skel->maps.counters);
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;
	uint32_t i;
	int c;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < XLB_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v)) {
			int err = -errno;

			free(v);
			return xdp_fail(err, "cannot read XDP counters: %s",
					strerror(-err));
		}
		for (c = 0; c < ncpu; c++)
			out[i] += v[c];
	}
	free(v);
	return 0;
}

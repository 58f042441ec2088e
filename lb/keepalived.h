/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keepalived.conf into xlb rules (xlbctl --from-keepalived): the LVS part
 * of a keepalived configuration (virtual_server, virtual_server_group,
 * real_server and its checkers) printed as ipvsadm-save lines with xlb's
 * health-check options, ready for `xlbctl -R` or `xlbd --rules`.
 *
 * keepalived's own syntax is read as keepalived reads it: '#' and '!'
 * comments, double-quoted words, '{' and '}' anywhere on a line, and
 * `include` (and includer/m/w/b/a) with globs, relative to the including
 * file's directory.
 *
 * Library code: nothing is printed but the rules (to the caller's FILE)
 * and the notes and warnings (to the caller's hook). The rules are written
 * only when the whole configuration converted: on any error nothing is
 * written and err says "FILE:LINE: what" (-EINVAL), or why the file could
 * not be read (-errno).
 */
#ifndef XLB_KEEPALIVED_H
#define XLB_KEEPALIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Deepest include nesting followed (keepalived has no limit; a loop is an
 * error on its own, this bounds a chain of distinct files). */
#define XLB_KAD_INCLUDE_DEPTH	8
/* Largest file read, and most files read in one conversion. */
#define XLB_KAD_FILE_MAX	(4u << 20)
#define XLB_KAD_FILES_MAX	256
/* Most services one conversion prints (address ranges expand). */
#define XLB_KAD_SVC_MAX		4096

/* A note or a warning: one line "FILE:LINE: warning: ..." (or "note:"),
 * without newline. */
typedef void (*xlb_kad_msg_fn)(const char *line, void *ctx);

struct xlb_kad_params {
	xlb_kad_msg_fn msg;	/* NULL: notes and warnings go to pr_warn() */
	void *ctx;
	bool no_include;	/* include is an error (fuzzing: no files) */
};

/*
 * Convert the keepalived configuration in path (its includes are read
 * from disk). params may be NULL. Returns 0 with the rules written to out,
 * or a negative errno with a sentence in err and nothing written.
 */
int xlb_kad_convert_file(const char *path, FILE *out,
			 const struct xlb_kad_params *params,
			 char *err, size_t errlen);

/* The same for a configuration held in memory; name is used in messages
 * and its directory for relative includes. */
int xlb_kad_convert_buf(const char *name, const char *buf, size_t len,
			FILE *out, const struct xlb_kad_params *params,
			char *err, size_t errlen);

#endif /* XLB_KEEPALIVED_H */

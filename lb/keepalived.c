// SPDX-License-Identifier: GPL-2.0
/*
 * keepalived.conf into xlb rules. Three stages, each on its own:
 *
 *  1. lines: the include stack. Files are read whole, line by line, with
 *     keepalived's decomment() rules ('#' and '!' outside double quotes
 *     start a comment, "\#" and "\!" are the characters). A line whose
 *     first word is include (or includer/m/w/b/a) is replaced by the files
 *     its glob names, in glob's sorted order, a relative pattern being
 *     relative to the including file's directory (keepalived chdir()s
 *     there). A file already open higher on the stack is a loop (error);
 *     nesting is bounded by XLB_KAD_INCLUDE_DEPTH.
 *  2. tokens and tree: a line is split as keepalived's alloc_strvec_r()
 *     does (blanks separate words, "..." is one word without its quotes)
 *     and, as keepalived's read_line() does, '{' and '}' outside quotes
 *     are words of their own wherever they are. A statement is its words
 *     up to the end of the line or a brace; a '{' after it (on that line
 *     or a later one) opens its block.
 *  3. meaning: virtual_server_group, virtual_server, real_server and the
 *     checkers are turned into services, servers and one check per
 *     server; every keyword keepalived knows there is translated, or named
 *     in a warning when xlb has no equivalent, or an error when leaving it
 *     out would change what is balanced (fwmark, IPv6, a checker xlb does
 *     not have). Unknown keywords are errors: nothing is dropped unsaid.
 *
 * The rules are printed into a memory stream and copied to the caller's
 * FILE only when everything converted.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "check.h"
#include "keepalived.h"
#include "log.h"
#include "sched.h"
#include "xlb-t.h"

#define KAD_WORDS_MAX	64	/* words in one statement */
#define KAD_NEST_MAX	16	/* block nesting */
#define KAD_NODES_MAX	200000	/* statements in one conversion */
#define KAD_RETRY_MAX	65535
#define KAD_MSGS_MAX	256	/* distinct notes and warnings kept */

/* keepalived's defaults (check_data.c alloc_vs, check_api.c queue_checker,
 * check_http.c, check_misc.c, libipvs.h). */
#define KAD_US			1000000ull
#define KAD_DELAY_LOOP_US	(60 * KAD_US)	/* KEEPALIVED_DEFAULT_DELAY */
#define KAD_CONNECT_TO_US	(5 * KAD_US)	/* vs->connection_to */
#define KAD_PERSIST_DEFAULT	360		/* IPVS_SVC_PERSISTENT_TIMEOUT */
#define KAD_PERSIST_MAX		(86400 * 31)	/* LVS_MAX_TIMEOUT */

/* ---------------------------------------------------------------- */
/* context, messages                                                */

enum { TOK_WORD, TOK_LBRACE, TOK_RBRACE, TOK_EOL, TOK_EOF };

struct kad_tok {
	int type;
	char *text;		/* TOK_WORD: owned until handed to a node */
	const char *file;
	unsigned line;
};

struct kad_src {
	const char *path;	/* as shown in messages (in ctx->names) */
	char *buf;
	size_t len, pos;
	unsigned line;
	bool loaded;
	dev_t dev;
	ino_t ino;
	const char *from_file;	/* the include line that named it */
	unsigned from_line;
};

struct kad_node {
	char **w;
	unsigned nw;
	const char *file;
	unsigned line;
	bool block;
	struct kad_node **kid;
	unsigned nkid, capkid;
};

struct kad_msg {
	char *text;		/* "warning: ..." without location */
	const char *file;
	unsigned line;
	unsigned more;		/* further places with the same text */
};

/* An address of either family: IPv4 in host order (ranges count on it),
 * IPv6 as in6_addr. */
struct kad_ip {
	uint8_t af;		/* AF_INET or AF_INET6 */
	uint32_t host;		/* AF_INET */
	struct in6_addr in6;	/* AF_INET6 */
};

struct kad_ctx {
	const struct xlb_kad_params *p;
	char *err;
	size_t errlen;
	int rc;
	/* stage 1 */
	struct kad_src src[XLB_KAD_INCLUDE_DEPTH + XLB_KAD_FILES_MAX];
	unsigned nsrc;
	unsigned nfiles;
	char **names;
	unsigned nnames;
	char *line;
	size_t linecap;
	const char *cur_file;
	unsigned cur_line;
	/* stage 2 */
	struct kad_tok *q;	/* tokens of the current line */
	unsigned nq, qpos, capq;
	struct kad_tok back;	/* one token pushed back */
	bool has_back;
	unsigned nnodes;
	const char *eof_file;
	unsigned eof_line;
	/* stage 3 */
	struct kad_msg msgs[KAD_MSGS_MAX];
	unsigned nmsgs;
	unsigned dropped;	/* distinct texts beyond KAD_MSGS_MAX */
	FILE *out;
	unsigned nsvc;
	struct kad_key { struct kad_ip addr; uint16_t port; uint8_t proto;
			 const char *file; unsigned line; } *keys;
	bool any_not_inhibit;
	const struct kad_node *first_not_inhibit;
};

__attribute__((format(printf, 4, 5)))
static int kad_fail(struct kad_ctx *c, const char *file, unsigned line,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->rc)
		return c->rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (file && line)
		xlb_seterr(c->err, c->errlen, "%s:%u: %s", file, line, msg);
	else if (file)
		xlb_seterr(c->err, c->errlen, "%s: %s", file, msg);
	else
		xlb_seterr(c->err, c->errlen, "%s", msg);
	c->rc = -EINVAL;
	return c->rc;
}

#define nfail(c, n, ...) kad_fail((c), (n)->file, (n)->line, __VA_ARGS__)

static int kad_nomem(struct kad_ctx *c)
{
	if (!c->rc) {
		xlb_seterr(c->err, c->errlen, "out of memory");
		c->rc = -ENOMEM;
	}
	return c->rc;
}

/* Notes and warnings are kept, one per distinct text with its first
 * place, and told at the end in that order: a sample with ten servers
 * that all use a digest gets one warning, not ten. */
__attribute__((format(printf, 4, 5)))
static void kad_say(struct kad_ctx *c, const struct kad_node *n,
		    const char *kind, const char *fmt, ...)
{
	char msg[512];
	int len;
	va_list ap;

	len = snprintf(msg, sizeof(msg), "%s: ", kind);
	va_start(ap, fmt);
	vsnprintf(msg + len, sizeof(msg) - (size_t)len, fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < c->nmsgs; i++) {
		if (!strcmp(c->msgs[i].text, msg)) {
			c->msgs[i].more++;
			return;
		}
	}
	if (c->nmsgs == KAD_MSGS_MAX) {
		c->dropped++;	/* told at the end */
		return;
	}
	c->msgs[c->nmsgs].text = strdup(msg);
	if (!c->msgs[c->nmsgs].text)
		return;
	c->msgs[c->nmsgs].file = n ? n->file : NULL;
	c->msgs[c->nmsgs].line = n ? n->line : 0;
	c->msgs[c->nmsgs].more = 0;
	c->nmsgs++;
}

#define warn(c, n, ...) kad_say((c), (n), "warning", __VA_ARGS__)
#define note(c, n, ...) kad_say((c), (n), "note", __VA_ARGS__)

static void kad_flush_msgs(struct kad_ctx *c)
{
	char line[700];

	for (unsigned i = 0; i < c->nmsgs; i++) {
		struct kad_msg *m = &c->msgs[i];
		char more[64] = "";

		if (m->more)
			snprintf(more, sizeof(more), " (and %u more like it)",
				 m->more);
		if (m->file)
			snprintf(line, sizeof(line), "%s:%u: %s%s", m->file,
				 m->line, m->text, more);
		else
			snprintf(line, sizeof(line), "%s%s", m->text, more);
		if (c->p && c->p->msg)
			c->p->msg(line, c->p->ctx);
		else
			pr_warn("%s", line);
		free(m->text);
	}
	c->nmsgs = 0;
	if (c->dropped) {
		snprintf(line, sizeof(line), "note: %u further notes and warnings are not shown",
			 c->dropped);
		if (c->p && c->p->msg)
			c->p->msg(line, c->p->ctx);
		else
			pr_warn("%s", line);
	}
}

static const char *kad_name(struct kad_ctx *c, const char *s)
{
	char **grown, *d;

	for (unsigned i = 0; i < c->nnames; i++)
		if (!strcmp(c->names[i], s))
			return c->names[i];
	grown = realloc(c->names, (c->nnames + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->names = grown;
	d = strdup(s);
	if (!d)
		return NULL;
	c->names[c->nnames++] = d;
	return d;
}

/* ---------------------------------------------------------------- */
/* stage 1: files, includes, lines                                  */

static int kad_load(struct kad_ctx *c, struct kad_src *s)
{
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (s->from_file)
			kad_fail(c, s->from_file, s->from_line,
				 "include: cannot open '%s': %s", s->path,
				 strerror(e));
		else
			xlb_seterr(c->err, c->errlen, "cannot open '%s': %s",
				   s->path, strerror(e));
		c->rc = s->from_file ? -EINVAL : -e;
		return c->rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > XLB_KAD_FILE_MAX) {
		close(fd);
		return kad_fail(c, s->from_file, s->from_line,
				"'%s' is not a regular file of at most %u bytes",
				s->path, XLB_KAD_FILE_MAX);
	}
	/* A file that is open below us on the stack includes itself: the
	 * error shows the chain from it to the include that closes it. */
	for (unsigned i = 0; i + 1 < c->nsrc; i++) {
		char chain[512];
		size_t l = 0;

		if (!c->src[i].loaded || c->src[i].dev != st.st_dev ||
		    c->src[i].ino != st.st_ino)
			continue;
		close(fd);
		chain[0] = '\0';
		for (unsigned j = i; j + 1 < c->nsrc && l < sizeof(chain); j++) {
			if (c->src[j].loaded)
				l += (size_t)snprintf(chain + l, sizeof(chain) - l,
						      "%s -> ", c->src[j].path);
		}
		return kad_fail(c, s->from_file, s->from_line,
				"include loop: %s%s", l < sizeof(chain) ? chain : "",
				s->path);
	}
	s->buf = malloc((size_t)st.st_size + 1);
	if (!s->buf) {
		close(fd);
		return kad_nomem(c);
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, s->buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	s->len = got;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->loaded = true;
	return 0;
}

static unsigned kad_loaded_depth(const struct kad_ctx *c)
{
	unsigned d = 0;

	for (unsigned i = 0; i < c->nsrc; i++)
		d += c->src[i].loaded;
	return d;
}

static bool has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[{") != NULL;
}

/*
 * include PATTERN: pushed in reverse so that the first match is read
 * first; each is opened when it comes to the top. keepalived's plain
 * include ignores a pattern that matches nothing; so do we (with a note)
 * for a wildcard pattern, but a named file that is missing is an error:
 * a conversion that quietly lost a file of servers would look complete.
 * includew and includea make a wildcard matching nothing an error too, as
 * they do in keepalived.
 */
static int kad_include(struct kad_ctx *c, char *line)
{
	const char *file = c->cur_file;
	unsigned lineno = c->cur_line;
	bool strict = line[7] == 'w' || line[7] == 'a';
	char *pat = line + 7 + (line[7] != ' ' && line[7] != '\t');
	char full[PATH_MAX];
	glob_t g;
	size_t plen;
	int rc;

	pat += strspn(pat, " \t");
	plen = strlen(pat);
	/* keepalived takes the rest of the line as it is; a quoted name is
	 * unquoted here, a convenience keepalived does not have. */
	if (plen >= 2 && pat[0] == '"' && pat[plen - 1] == '"') {
		pat[plen - 1] = '\0';
		pat++;
	}
	if (!*pat)
		return kad_fail(c, file, lineno, "include without a file name");
	if (c->p && c->p->no_include)
		return kad_fail(c, file, lineno, "include '%s': includes are not followed here", pat);
	if (kad_loaded_depth(c) >= XLB_KAD_INCLUDE_DEPTH)
		return kad_fail(c, file, lineno,
				"include '%s': includes nested deeper than %d",
				pat, XLB_KAD_INCLUDE_DEPTH);
	if (pat[0] == '/') {
		snprintf(full, sizeof(full), "%s", pat);
	} else {
		const char *slash = strrchr(file, '/');
		int dl = slash ? (int)(slash - file) : 0;

		if (slash)
			rc = snprintf(full, sizeof(full), "%.*s/%s", dl, file, pat);
		else
			rc = snprintf(full, sizeof(full), "%s", pat);
		if (rc < 0 || (size_t)rc >= sizeof(full))
			return kad_fail(c, file, lineno, "include '%s': path too long", pat);
	}
	memset(&g, 0, sizeof(g));
	rc = glob(full, GLOB_BRACE | GLOB_MARK, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		globfree(&g);
		if (!has_glob_chars(full))
			return kad_fail(c, file, lineno,
					"include: cannot open '%s': %s", full,
					strerror(ENOENT));
		if (strict)
			return kad_fail(c, file, lineno,
					"include: no file matches '%s'", full);
		{
			struct kad_node at = { .file = file, .line = lineno };

			note(c, &at, "include: no file matches '%s' (nothing included, as keepalived does)", full);
		}
		return 0;
	}
	if (rc) {
		globfree(&g);
		return kad_fail(c, file, lineno, "include '%s': cannot read the directory", full);
	}
	for (size_t i = g.gl_pathc; i-- > 0;) {
		const char *m = g.gl_pathv[i];
		size_t ml = strlen(m);
		struct kad_src *s;

		/* GLOB_MARK: directories end in '/'; keepalived skips them. */
		if (ml && m[ml - 1] == '/') {
			struct kad_node at = { .file = file, .line = lineno };

			note(c, &at, "include: '%s' is a directory, skipped as keepalived does", m);
			continue;
		}
		if (c->nfiles >= XLB_KAD_FILES_MAX ||
		    c->nsrc >= sizeof(c->src) / sizeof(c->src[0])) {
			globfree(&g);
			return kad_fail(c, file, lineno,
					"include '%s': more than %d files in one configuration",
					full, XLB_KAD_FILES_MAX);
		}
		s = &c->src[c->nsrc];
		memset(s, 0, sizeof(*s));
		s->path = kad_name(c, m);
		if (!s->path) {
			globfree(&g);
			return kad_nomem(c);
		}
		s->from_file = file;
		s->from_line = lineno;
		c->nsrc++;
		c->nfiles++;
	}
	globfree(&g);
	return 0;
}

/* keepalived's decomment(): leading blanks, comments, the escaping of
 * comment characters, trailing blanks. Returns false on an open quote. */
static bool kad_decomment(char *str)
{
	bool quote = false;
	char *p = str + strspn(str, " \t");
	size_t len;

	memmove(str, p, strlen(p) + 1);
	for (p = str; (p = strpbrk(p, "!#\"\\"));) {
		if (*p == '"') {
			quote = !quote;
			p++;
			continue;
		}
		if (*p == '\\') {
			if (!p[1])
				break;
			if (!quote && (p[1] == '#' || p[1] == '!')) {
				memmove(p, p + 1, strlen(p + 1) + 1);
				p++;
			} else {
				p += 2;
			}
			continue;
		}
		if (!quote) {
			*p = '\0';
			break;
		}
		p++;
	}
	len = strlen(str);
	while (len && (str[len - 1] == ' ' || str[len - 1] == '\t'))
		str[--len] = '\0';
	return !quote;
}

static bool kad_is_include(const char *b)
{
	if (strncmp(b, "include", 7) || !b[7])
		return false;
	if (b[7] == ' ' || b[7] == '\t')
		return true;
	return strchr("rmwba", b[7]) && (b[8] == ' ' || b[8] == '\t');
}

/* The next non-empty line (decommented, includes done) into c->line.
 * Returns 1, 0 at the end of everything, or the error. */
static int kad_next_line(struct kad_ctx *c)
{
	for (;;) {
		struct kad_src *s;
		const char *nl;
		size_t n;
		int rc;

		if (!c->nsrc)
			return 0;
		s = &c->src[c->nsrc - 1];
		if (!s->loaded) {
			rc = kad_load(c, s);
			if (rc)
				return rc;
		}
		if (s->pos >= s->len) {
			/* Where the last file ended, for "missing '}'". */
			c->eof_file = s->path;
			c->eof_line = s->line;
			free(s->buf);
			s->buf = NULL;
			c->nsrc--;
			continue;
		}
		nl = memchr(s->buf + s->pos, '\n', s->len - s->pos);
		n = nl ? (size_t)(nl - (s->buf + s->pos)) : s->len - s->pos;
		if (n + 1 > c->linecap) {
			char *g = realloc(c->line, n + 1);

			if (!g)
				return kad_nomem(c);
			c->line = g;
			c->linecap = n + 1;
		}
		memcpy(c->line, s->buf + s->pos, n);
		c->line[n] = '\0';
		s->pos += n + (nl != NULL);
		s->line++;
		c->cur_file = s->path;
		c->cur_line = s->line;
		if (strlen(c->line) != n)
			return kad_fail(c, s->path, s->line, "NUL byte in the line");
		while (n && (c->line[n - 1] == '\r'))
			c->line[--n] = '\0';
		if (!kad_decomment(c->line))
			return kad_fail(c, s->path, s->line, "unterminated quote");
		if (!c->line[0])
			continue;
		if (kad_is_include(c->line)) {
			rc = kad_include(c, c->line);
			if (rc)
				return rc;
			continue;
		}
		/* keepalived's parameter substitution and conditional lines
		 * change what the rest says: refused rather than guessed. */
		if (c->line[0] == '$')
			return kad_fail(c, s->path, s->line,
					"keepalived definitions ($NAME=...) are not supported: expand them first (keepalived -t -d shows the result)");
		if (c->line[0] == '@')
			return kad_fail(c, s->path, s->line,
					"conditional configuration (@ID ...) is not supported: keep the lines that apply to this director");
		if (!strncmp(c->line, "~SEQ", 4) || !strncmp(c->line, "~LST", 4))
			return kad_fail(c, s->path, s->line,
					"~SEQ/~LST sequences are not supported: expand them first");
		return 1;
	}
}

/* ---------------------------------------------------------------- */
/* stage 2: tokens and the statement tree                           */

static int kad_push_tok(struct kad_ctx *c, int type, const char *b, size_t n)
{
	struct kad_tok *t;

	if (c->nq == c->capq) {
		unsigned cap = c->capq ? c->capq * 2 : 16;
		struct kad_tok *g = realloc(c->q, cap * sizeof(*g));

		if (!g)
			return kad_nomem(c);
		c->q = g;
		c->capq = cap;
	}
	t = &c->q[c->nq];
	t->type = type;
	t->text = NULL;
	t->file = c->cur_file;
	t->line = c->cur_line;
	if (type == TOK_WORD) {
		t->text = strndup(b, n);
		if (!t->text)
			return kad_nomem(c);
	}
	c->nq++;
	return 0;
}

static int kad_split(struct kad_ctx *c, const char *p)
{
	int rc;

	for (;;) {
		const char *start;

		p += strspn(p, " \t\f\v");
		if (!*p)
			break;
		if (*p == '{' || *p == '}') {
			rc = kad_push_tok(c, *p == '{' ? TOK_LBRACE : TOK_RBRACE,
					  NULL, 0);
			p++;
		} else if (*p == '"') {
			start = ++p;
			p = strchr(start, '"');
			if (!p)	/* decomment() let no open quote through */
				return kad_fail(c, c->cur_file, c->cur_line,
						"unterminated quote");
			rc = kad_push_tok(c, TOK_WORD, start, (size_t)(p - start));
			p++;
		} else {
			start = p;
			p += strcspn(p, " \t\f\v\"{}");
			rc = kad_push_tok(c, TOK_WORD, start, (size_t)(p - start));
		}
		if (rc)
			return rc;
	}
	return kad_push_tok(c, TOK_EOL, NULL, 0);
}

static int kad_get(struct kad_ctx *c, struct kad_tok *t)
{
	int rc;

	if (c->has_back) {
		*t = c->back;
		c->has_back = false;
		return 0;
	}
	while (c->qpos == c->nq) {
		c->nq = c->qpos = 0;
		rc = kad_next_line(c);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			t->type = TOK_EOF;
			t->text = NULL;
			t->file = c->eof_file;
			t->line = c->eof_line;
			return 0;
		}
		rc = kad_split(c, c->line);
		if (rc)
			return rc;
	}
	*t = c->q[c->qpos++];
	return 0;
}

static void kad_unget(struct kad_ctx *c, const struct kad_tok *t)
{
	c->back = *t;
	c->has_back = true;
}

static void kad_free_node(struct kad_node *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < n->nw; i++)
		free(n->w[i]);
	free(n->w);
	for (unsigned i = 0; i < n->nkid; i++)
		kad_free_node(n->kid[i]);
	free(n->kid);
	free(n);
}

static int kad_add_kid(struct kad_ctx *c, struct kad_node *parent,
		       struct kad_node *kid)
{
	if (parent->nkid == parent->capkid) {
		unsigned cap = parent->capkid ? parent->capkid * 2 : 8;
		struct kad_node **g = realloc(parent->kid, cap * sizeof(*g));

		if (!g)
			return kad_nomem(c);
		parent->kid = g;
		parent->capkid = cap;
	}
	parent->kid[parent->nkid++] = kid;
	return 0;
}

static int kad_parse_block(struct kad_ctx *c, struct kad_node *parent,
			   unsigned depth)
{
	struct kad_tok t;
	int rc;

	for (;;) {
		struct kad_node *n;

		do {
			rc = kad_get(c, &t);
			if (rc)
				return rc;
		} while (t.type == TOK_EOL);
		if (t.type == TOK_EOF) {
			if (depth)
				return kad_fail(c, t.file, t.line,
						"end of file inside the block '%s' opened at %s:%u (missing '}')",
						parent->w[0], parent->file, parent->line);
			return 0;
		}
		if (t.type == TOK_RBRACE) {
			if (!depth)
				return kad_fail(c, t.file, t.line,
						"'}' without a block to close");
			return 0;
		}
		if (t.type == TOK_LBRACE)
			return kad_fail(c, t.file, t.line,
					"'{' without a keyword before it");
		if (++c->nnodes > KAD_NODES_MAX) {
			free(t.text);
			return kad_fail(c, t.file, t.line,
					"more than %d statements", KAD_NODES_MAX);
		}
		n = calloc(1, sizeof(*n));
		if (!n || !(n->w = calloc(KAD_WORDS_MAX, sizeof(char *)))) {
			free(n);
			free(t.text);
			return kad_nomem(c);
		}
		n->file = t.file;
		n->line = t.line;
		n->w[n->nw++] = t.text;
		rc = kad_add_kid(c, parent, n);
		if (rc) {
			kad_free_node(n);
			return rc;
		}
		for (;;) {
			rc = kad_get(c, &t);
			if (rc)
				return rc;
			if (t.type != TOK_WORD)
				break;
			if (n->nw == KAD_WORDS_MAX) {
				free(t.text);
				return nfail(c, n, "more than %d words in '%s'",
					     KAD_WORDS_MAX, n->w[0]);
			}
			n->w[n->nw++] = t.text;
		}
		while (t.type == TOK_EOL) {
			rc = kad_get(c, &t);
			if (rc)
				return rc;
		}
		if (t.type != TOK_LBRACE) {
			kad_unget(c, &t);
			continue;
		}
		if (depth + 1 >= KAD_NEST_MAX)
			return nfail(c, n, "blocks nested deeper than %d",
				     KAD_NEST_MAX);
		n->block = true;
		rc = kad_parse_block(c, n, depth + 1);
		if (rc)
			return rc;
	}
}

/* ---------------------------------------------------------------- */
/* stage 3: meaning                                                 */

#define UNSET	(-1)

/* Check settings that a checker inherits from its real server and that
 * from its virtual server (keepalived's validate_check_config()). */
struct kad_inh {
	int64_t retry;
	int64_t delay_before_retry;	/* us */
	int64_t connect_timeout;	/* us */
	int64_t delay_loop;		/* us */
	int alpha;
};

struct kad_vsg_ent {
	uint32_t first, last;	/* host order */
	uint16_t port;		/* host order, 0: every port */
	const struct kad_node *n;
};

struct kad_vsg {
	const char *name;
	const struct kad_node *n;
	struct kad_vsg_ent *ent;
	unsigned nent;
	const struct kad_node *v6;	/* its first IPv6 entry (not expanded) */
};

enum kad_kind { CHK_NONE, CHK_TCP, CHK_HTTP, CHK_UDP, CHK_EXEC };

/* One server's check, in xlb's terms, with its port still relative:
 * port 0 means "the server's own port as keepalived would probe it". */
struct kad_check {
	enum kad_kind kind;
	uint16_t connect_port;
	const char *path;
	unsigned status;
	char *exec;
	uint64_t interval, timeout;	/* us */
	unsigned rise, fall;
};

struct kad_rs {
	const struct kad_node *n;
	struct kad_ip addr;
	uint16_t port;		/* 0: the service's */
	int fwd;		/* UNSET: the service's */
	int64_t weight;		/* UNSET: the service's */
	int64_t uthr, lthr;
	int inhibit;
	struct kad_inh inh;
	const struct kad_node *checker;	/* the first checker block */
	struct kad_check chk;
};

struct kad_vs {
	const struct kad_node *n;
	uint8_t af;		/* its address's family; 0 for a group's */
	uint8_t proto;
	const char *sched;
	uint32_t persist;
	uint32_t mask;
	int fwd;
	int64_t weight;
	int inhibit;
	bool has_sorry;
	struct kad_ip sorry_addr;
	uint16_t sorry_port;
	int64_t quorum;
	const struct kad_node *ops;	/* "ops": one-packet scheduling (-o) */
	char bflags[96];		/* scheduler flags, as -b spells them */
	const struct kad_node *bflag;	/* the last of them */
	struct kad_inh inh;
	struct kad_rs *rs;
	unsigned nrs;
};

static const char *const kad_scheds[] = {
	/* keepalived's lvs_schedulers[] (check_parser.c) */
	"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf",
	"lblcr", "sed", "nq", "twos",
};

static bool kad_parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return false;
	*v = x;
	return true;
}

/* keepalived's <TIMER>: seconds with up to six decimals, e.g. 2.71828. */
static bool kad_parse_timer(const char *s, uint64_t *us)
{
	uint64_t sec = 0, frac = 0;
	const char *p = s;
	unsigned digits = 0;

	if (!*p || !(*p == '.' || (*p >= '0' && *p <= '9')))
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		sec = sec * 10 + (uint64_t)(*p - '0');
		if (sec > 86400ull * 365)
			return false;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (digits == 6)
				return false;
			frac = frac * 10 + (uint64_t)(*p - '0');
			digits++;
		}
		if (!digits && p - s == 1)
			return false;
	}
	if (*p)
		return false;
	while (digits++ < 6)
		frac *= 10;
	*us = sec * KAD_US + frac;
	return true;
}

static char *kad_fmt_timer(char *buf, size_t len, uint64_t us)
{
	unsigned long long sec = us / KAD_US, frac = us % KAD_US;
	int w = 6;

	if (!frac) {
		snprintf(buf, len, "%llu", sec);
		return buf;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		w--;
	}
	snprintf(buf, len, "%llu.%0*llu", sec, w, frac);
	return buf;
}

static bool kad_parse_ip4(const char *s, uint32_t *host)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*host = ntohl(a.s_addr);
	return true;
}

static bool kad_looks_ip6(const char *s)
{
	return strchr(s, ':') != NULL;
}

static int kad_addr(struct kad_ctx *c, const struct kad_node *n,
		    const char *s, const char *what, struct kad_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (kad_looks_ip6(s)) {
		if (inet_pton(AF_INET6, s, &ip->in6) != 1)
			return nfail(c, n, "%s '%s' is not an IPv6 address", what, s);
		ip->af = AF_INET6;
		return 0;
	}
	if (!kad_parse_ip4(s, &ip->host))
		return nfail(c, n, "%s '%s' is not an IPv4 address", what, s);
	ip->af = AF_INET;
	return 0;
}

static bool kad_ip_eq(const struct kad_ip *a, const struct kad_ip *b)
{
	return a->af == b->af && (a->af == AF_INET6 ?
		!memcmp(&a->in6, &b->in6, sizeof(a->in6)) : a->host == b->host);
}

/* A port word; keepalived reads a missing port and port 0 alike. */
static int kad_port(struct kad_ctx *c, const struct kad_node *n,
		    const char *s, const char *what, uint16_t *port)
{
	uint64_t v;

	if (!kad_parse_u64(s, 65535, &v))
		return nfail(c, n, "%s port '%s' is not 0..65535", what, s);
	*port = (uint16_t)v;
	return 0;
}

static int kad_want_args(struct kad_ctx *c, const struct kad_node *n,
			 unsigned min, unsigned max)
{
	if (n->block)
		return nfail(c, n, "'%s' takes no block", n->w[0]);
	if (n->nw - 1 < min)
		return nfail(c, n, "'%s' needs %s", n->w[0],
			     min == 1 ? "a value" : "more values");
	if (n->nw - 1 > max)
		return nfail(c, n, "'%s': too many values (%u, at most %u)",
			     n->w[0], n->nw - 1, max);
	return 0;
}

static int kad_want_block(struct kad_ctx *c, const struct kad_node *n)
{
	if (!n->block)
		return nfail(c, n, "'%s' needs a block { ... }", n->w[0]);
	return 0;
}

static int kad_timer_kw(struct kad_ctx *c, const struct kad_node *n,
			uint64_t min, int64_t *dst)
{
	uint64_t us;
	int rc = kad_want_args(c, n, 1, 1);

	if (rc)
		return rc;
	if (!kad_parse_timer(n->w[1], &us) || us < min)
		return nfail(c, n, "%s '%s' is not a time in seconds%s",
			     n->w[0], n->w[1], min ? " above 0" : "");
	*dst = (int64_t)us;
	return 0;
}

static int kad_bool_kw(struct kad_ctx *c, const struct kad_node *n, int *dst)
{
	int rc = kad_want_args(c, n, 0, 1);

	if (rc)
		return rc;
	if (n->nw == 1 || !strcmp(n->w[1], "on") || !strcmp(n->w[1], "true") ||
	    !strcmp(n->w[1], "yes")) {
		*dst = 1;
	} else if (!strcmp(n->w[1], "off") || !strcmp(n->w[1], "false") ||
		   !strcmp(n->w[1], "no")) {
		*dst = 0;
	} else {
		return nfail(c, n, "%s '%s' is not on/off/true/false/yes/no",
			     n->w[0], n->w[1]);
	}
	return 0;
}

static int kad_uint_kw(struct kad_ctx *c, const struct kad_node *n,
		       uint64_t min, uint64_t max, int64_t *dst)
{
	uint64_t v;
	int rc = kad_want_args(c, n, 1, 1);

	if (rc)
		return rc;
	if (!kad_parse_u64(n->w[1], max, &v) || v < min)
		return nfail(c, n, "%s '%s' is not %llu..%llu", n->w[0], n->w[1],
			     (unsigned long long)min, (unsigned long long)max);
	*dst = (int64_t)v;
	return 0;
}

/* keepalived's svr_forwarding_handler(): NAT, DR, TUN [type ipip]. */
static int kad_fwd_kw(struct kad_ctx *c, const struct kad_node *n, int *dst)
{
	int rc = kad_want_args(c, n, 1, 5);

	if (rc)
		return rc;
	if (!strcmp(n->w[1], "NAT"))
		*dst = XLB_FWD_NAT;
	else if (!strcmp(n->w[1], "DR"))
		*dst = XLB_FWD_DR;
	else if (!strcmp(n->w[1], "TUN"))
		*dst = XLB_FWD_TUN;
	else
		return nfail(c, n, "%s '%s': not NAT, DR or TUN", n->w[0], n->w[1]);
	for (unsigned i = 2; i < n->nw; i++) {
		if (*dst == XLB_FWD_TUN && !strcmp(n->w[i], "type") &&
		    i + 1 < n->nw && !strcmp(n->w[i + 1], "ipip")) {
			i++;
			continue;
		}
		if (*dst == XLB_FWD_TUN && !strcmp(n->w[i], "nocsum"))
			continue;
		return nfail(c, n, "%s %s: '%s' is not supported (xlb tunnels with plain IP-in-IP only)",
			     n->w[0], n->w[1], n->w[i]);
	}
	return 0;
}

static void kad_inh_init(struct kad_inh *i)
{
	i->retry = UNSET;
	i->delay_before_retry = UNSET;
	i->connect_timeout = UNSET;
	i->delay_loop = UNSET;
	i->alpha = UNSET;
}

/* Keywords a checker, a real server and a virtual server share. Returns
 * 1 when n was one of them, 0 when not, or the error. */
static int kad_inh_kw(struct kad_ctx *c, const struct kad_node *n,
		      struct kad_inh *i)
{
	const char *k = n->w[0];

	if (!strcmp(k, "retry") || !strcmp(k, "nb_get_retry"))
		return kad_uint_kw(c, n, 0, KAD_RETRY_MAX, &i->retry) ?: 1;
	if (!strcmp(k, "delay_before_retry"))
		return kad_timer_kw(c, n, 0, &i->delay_before_retry) ?: 1;
	if (!strcmp(k, "connect_timeout"))
		return kad_timer_kw(c, n, 1, &i->connect_timeout) ?: 1;
	if (!strcmp(k, "delay_loop"))
		return kad_timer_kw(c, n, 1, &i->delay_loop) ?: 1;
	if (!strcmp(k, "alpha"))
		return kad_bool_kw(c, n, &i->alpha) ?: 1;
	return 0;
}

/* Keywords xlb has no equivalent for and whose absence leaves what is
 * balanced intact: a warning each (once per text). */
static const struct kad_untranslated {
	const char *kw;
	const char *why;
} kad_untranslated[] = {
	{ "warmup", "xlb starts checking at once" },
	{ "smtp_alert", "xlb logs state changes; it sends no mail" },
	{ "snmp_name", "xlb has no SNMP" },
	{ "notify_up", "xlb logs and counts state changes; it runs no notify script" },
	{ "notify_down", "xlb logs and counts state changes; it runs no notify script" },
	{ "quorum_up", "xlb runs no quorum script" },
	{ "quorum_down", "xlb runs no quorum script" },
	{ "omega", "xlb runs no quorum script" },
	{ "hysteresis", "xlb's quorum has no hysteresis" },
	{ "ha_suspend", "xlb checks whether or not it holds the address" },
	{ "virtualhost", "xlb's HTTP check has no Host option" },
	{ "sorry_server_inhibit", "xlb gives the sorry server weight 1" },
	{ "sorry_server_lvs_method", "xlb's --sorry-server has no forwarding method of its own" },
	{ "hashed", "xlb's service table has no such flag (IPVS sets it itself)" },
	{ "bindto", "xlb's checks leave from the director's own address" },
	{ "bind_port", "xlb's checks leave from the director's own address" },
	{ "bind_if", "xlb's checks leave from the director's own address" },
	{ "fwmark", "xlb's checks set no socket mark" },
	{ "log_all_failures", "xlb logs each state change once" },
	{ "http_protocol", "xlb's HTTP check speaks HTTP/1.0 or 1.1 as it does" },
	{ "enable_sni", "SSL_GET becomes a TCP check" },
	{ "sni_name", "SSL_GET becomes a TCP check" },
	{ "tls_compliant", "SSL_GET becomes a TCP check" },
	{ "fast_recovery", "xlb's rise applies" },
	{ "regex", "xlb's HTTP check matches the status only" },
	{ "regex_no_match", "xlb's HTTP check matches the status only" },
	{ "regex_options", "xlb's HTTP check matches the status only" },
	{ "regex_min_offset", "xlb's HTTP check matches the status only" },
	{ "regex_max_offset", "xlb's HTTP check matches the status only" },
	{ "regex_stack", "xlb's HTTP check matches the status only" },
	{ "payload", "xlb's UDP check sends its own probe" },
	{ "require_reply", "xlb's UDP check decides by its own rule" },
	{ "min_reply_length", "xlb's UDP check decides by its own rule" },
	{ "max_reply_length", "xlb's UDP check decides by its own rule" },
	{ "misc_dynamic", "exit codes 2..255 set the weight in keepalived; xlb treats every non-zero exit as down" },
	{ "user", "xlb runs the command as xlbd's own user" },
};

static bool kad_in_list(const char *k, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(k, *list))
			return true;
	return false;
}

static int kad_untranslated_kw(struct kad_ctx *c, const struct kad_node *n,
			       const char *where, const char *const *allowed)
{
	for (; *allowed; allowed++) {
		if (strcmp(n->w[0], *allowed))
			continue;
		for (size_t i = 0; i < sizeof(kad_untranslated) / sizeof(kad_untranslated[0]); i++) {
			if (strcmp(kad_untranslated[i].kw, n->w[0]))
				continue;
			warn(c, n, "%s: '%s' is not translated (%s)", where,
			     n->w[0], kad_untranslated[i].why);
			return 1;
		}
	}
	return 0;
}

/* ---- checkers ---- */

static const char *const kad_chk_common_untr[] = {
	"bindto", "bind_port", "bind_if", "fwmark", "warmup",
	"log_all_failures", NULL,
};

static int kad_status_codes(struct kad_ctx *c, const struct kad_node *n,
			    unsigned *first, bool *many)
{
	for (unsigned i = 1; i < n->nw; i++) {
		char *end;
		unsigned long lo = strtoul(n->w[i], &end, 10), hi = lo;

		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (*end || n->w[i][0] < '0' || n->w[i][0] > '9' ||
		    lo < 100 || hi > 999 || lo > hi)
			return nfail(c, n, "status_code '%s' is not a code or a range like 200-299",
				     n->w[i]);
		if (i == 1)
			*first = (unsigned)lo;
		if (i > 1 || hi != lo)
			*many = true;
	}
	return 0;
}

/* quiet: SSL_GET, which becomes a TCP check, so that what the url asks
 * is not checked at all (its one warning says so). */
static int kad_url(struct kad_ctx *c, const struct kad_node *u,
		   struct kad_check *chk, bool quiet)
{
	bool has_status = false, many = false;
	const struct kad_node *path = NULL;
	static const char *const untr[] = {
		"virtualhost", "regex", "regex_no_match", "regex_options",
		"regex_min_offset", "regex_max_offset", "regex_stack",
		"tls_compliant", NULL,
	};
	int rc;

	for (unsigned i = 0; i < u->nkid; i++) {
		const struct kad_node *n = u->kid[i];
		const char *k = n->w[0];

		if (!strcmp(k, "path")) {
			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
			path = n;
		} else if (!strcmp(k, "status_code")) {
			rc = kad_want_args(c, n, 1, KAD_WORDS_MAX);
			if (!rc)
				rc = kad_status_codes(c, n, &chk->status, &many);
			if (rc)
				return rc;
			has_status = true;
			if (many && !quiet)
				warn(c, n, "status_code %s%s: xlb's --check-status takes one code: %u is checked",
				     n->w[1], n->nw > 2 ? " ..." : "", chk->status);
		} else if (!strcmp(k, "digest")) {
			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
			if (!quiet)
				warn(c, n, "digest: xlb's HTTP check does not verify the body's MD5: only the status code is checked");
		} else if (quiet ? !kad_in_list(k, untr) :
			   !kad_untranslated_kw(c, n, "url", untr)) {
			return nfail(c, n, "unknown keyword '%s' in url", k);
		}
	}
	if (!path)
		return nfail(c, u, "url without a path");
	if (strpbrk(path->w[1], " \t'\"") || path->w[1][0] != '/' ||
	    !xlb_check_str_ok(path->w[1], XLB_CHECK_PATH_MAX, false))
		return nfail(c, path, "path '%.40s' must start with '/' and hold at most %d printable characters, no blank or quote",
			     path->w[1], XLB_CHECK_PATH_MAX - 1);
	chk->path = path->w[1];
	if (!has_status)
		chk->status = 200;
	if (!has_status && !quiet) {
		/* keepalived's url_check() accepts 200-299 when no code is
		 * given; the usual answer of a health URL is 200. */
		warn(c, u, "url without status_code: keepalived accepts any 2xx status, xlb's --check-status takes one code: 200 is checked");
	}
	return 0;
}

/* One host { } of an SMTP_CHECK: keepalived's deprecated way of giving
 * the checker more targets, each checked as a checker of its own. Its
 * connect_* are the host's; retry, delay_before_retry, delay_loop and
 * alpha set the SMTP_CHECK's (keepalived's handlers write the current
 * checker), so they go to ci in file order. */
struct kad_smtp_host {
	const struct kad_node *n;
	const struct kad_node *ip;	/* connect_ip, when given */
	bool elsewhere;			/* connect_ip is not the server's */
	int64_t port, timeout;
};

static int kad_smtp_host(struct kad_ctx *c, const struct kad_node *hn,
			 const struct kad_rs *rs, struct kad_inh *ci,
			 struct kad_smtp_host *h)
{
	int rc;

	rc = kad_want_block(c, hn);
	if (!rc && hn->nw > 1)
		rc = nfail(c, hn, "'host' takes no value");
	if (rc)
		return rc;
	memset(h, 0, sizeof(*h));
	h->n = hn;
	h->port = UNSET;
	h->timeout = UNSET;
	for (unsigned i = 0; i < hn->nkid; i++) {
		const struct kad_node *n = hn->kid[i];
		const char *w = n->w[0];

		if (!strcmp(w, "connect_ip")) {
			struct kad_ip a;

			rc = kad_want_args(c, n, 1, 1);
			if (!rc)
				rc = kad_addr(c, n, n->w[1], "connect_ip", &a);
			if (rc)
				return rc;
			h->ip = n;
			h->elsewhere = !kad_ip_eq(&a, &rs->addr);
		} else if (!strcmp(w, "connect_port")) {
			rc = kad_uint_kw(c, n, 1, 65535, &h->port);
		} else if (!strcmp(w, "connect_timeout")) {
			rc = kad_timer_kw(c, n, 1, &h->timeout);
		} else {
			rc = kad_inh_kw(c, n, ci);
			if (rc > 0)
				rc = 0;
			else if (!rc && !kad_untranslated_kw(c, n, "SMTP_CHECK host",
							   kad_chk_common_untr))
				rc = nfail(c, n, "unknown keyword '%s' in SMTP_CHECK host", w);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* What a checker block says, over what it inherits (inh: the real
 * server's settings over the virtual server's). */
static int kad_checker(struct kad_ctx *c, const struct kad_node *k,
		       const struct kad_vs *vs, struct kad_rs *rs)
{
	const char *t = k->w[0];
	struct kad_check *chk = &rs->chk;
	struct kad_inh ci;
	const struct kad_node *misc_path = NULL, *first_url = NULL;
	int64_t misc_timeout = UNSET, cport = UNSET;
	bool http = !strcmp(t, "HTTP_GET"), ssl = !strcmp(t, "SSL_GET");
	bool misc = !strcmp(t, "MISC_CHECK"), smtp = !strcmp(t, "SMTP_CHECK");
	/* SMTP_CHECK: its first host { }, how many, and whether it names
	 * connect_* itself (then it is the main check, not the host). */
	struct kad_smtp_host host1 = { 0 }, hx;
	unsigned nhost = 0;
	const struct kad_node *own_co = NULL;
	uint64_t default_dbr = KAD_US;
	int64_t retry, dbr, loop;
	int rc;

	kad_inh_init(&ci);
	rc = kad_want_block(c, k);
	if (rc)
		return rc;
	if (k->nw > 1)
		return nfail(c, k, "'%s' takes no value", t);
	memset(chk, 0, sizeof(*chk));
	if (http || ssl) {
		chk->kind = CHK_HTTP;
		default_dbr = 3 * KAD_US;	/* check_http.c */
	} else if (!strcmp(t, "TCP_CHECK") || smtp) {
		chk->kind = CHK_TCP;
	} else if (!strcmp(t, "UDP_CHECK")) {
		chk->kind = CHK_UDP;
	} else {
		chk->kind = CHK_EXEC;
	}
	for (unsigned i = 0; i < k->nkid; i++) {
		const struct kad_node *n = k->kid[i];
		const char *w = n->w[0];
		static const char *const http_untr[] = {
			"virtualhost", "http_protocol", "enable_sni", "sni_name",
			"fast_recovery", "tls_compliant", NULL,
		};
		static const char *const udp_untr[] = {
			"payload", "require_reply", "min_reply_length",
			"max_reply_length", NULL,
		};
		static const char *const misc_untr[] = {
			"misc_dynamic", "user", NULL,
		};

		if (smtp && !own_co &&
		    (!strcmp(w, "connect_ip") || !strcmp(w, "connect_port") ||
		     !strcmp(w, "connect_timeout") || !strcmp(w, "bindto") ||
		     !strcmp(w, "bind_port") || !strcmp(w, "bind_if") ||
		     !strcmp(w, "fwmark")))
			own_co = n;
		rc = kad_inh_kw(c, n, &ci);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (smtp && !strcmp(w, "helo_name")) {
			/* Nothing to translate: the SMTP_CHECK warning says
			 * no HELO is sent. */
			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
		} else if (smtp && !strcmp(w, "host")) {
			rc = kad_smtp_host(c, n, rs, &ci, nhost ? &hx : &host1);
			if (rc)
				return rc;
			nhost++;
		} else if (!misc && !strcmp(w, "connect_port")) {
			rc = kad_uint_kw(c, n, 1, 65535, &cport);
			if (rc)
				return rc;
		} else if (!misc && !strcmp(w, "connect_ip")) {
			struct kad_ip a;

			rc = kad_want_args(c, n, 1, 1);
			if (!rc)
				rc = kad_addr(c, n, n->w[1], "connect_ip", &a);
			if (rc)
				return rc;
			if (!kad_ip_eq(&a, &rs->addr))
				return nfail(c, n, "connect_ip %s: xlb probes the real server's own address (use a MISC_CHECK whose script probes %s)",
					     n->w[1], n->w[1]);
		} else if ((http || ssl) && !strcmp(w, "url")) {
			rc = kad_want_block(c, n);
			if (rc)
				return rc;
			if (!first_url) {
				first_url = n;
				rc = kad_url(c, n, chk, ssl);
				if (rc)
					return rc;
			} else if (!ssl) {
				warn(c, n, "%s: only the first url (%s:%u) is checked by xlb; this one is not",
				     t, first_url->file, first_url->line);
			}
		} else if (misc && !strcmp(w, "misc_path")) {
			rc = kad_want_args(c, n, 1, KAD_WORDS_MAX);
			if (rc)
				return rc;
			misc_path = n;
		} else if (misc && !strcmp(w, "misc_timeout")) {
			rc = kad_uint_kw(c, n, 1, 86400, &misc_timeout);
			if (rc)
				return rc;
		} else if (kad_untranslated_kw(c, n, t, kad_chk_common_untr) ||
			   ((http || ssl) && kad_untranslated_kw(c, n, t, http_untr)) ||
			   (!strcmp(t, "UDP_CHECK") && kad_untranslated_kw(c, n, t, udp_untr)) ||
			   (misc && kad_untranslated_kw(c, n, t, misc_untr))) {
			continue;
		} else {
			return nfail(c, n, "unknown keyword '%s' in %s", w, t);
		}
	}
	if ((http || ssl) && !first_url)
		return nfail(c, k, "%s without a url { path ... } block", t);
	if (ssl) {
		/* The health checks have no TLS: a TCP connect to the same
		 * port is the nearest check that still takes a dead server
		 * out, and refusing would block every HTTPS pool. */
		chk->kind = CHK_TCP;
		chk->path = NULL;
		warn(c, k, "SSL_GET: xlb has no HTTPS check; translated as a TCP check of the same port (the TLS handshake, the path and the status are not verified)");
	}
	if (smtp) {
		/* keepalived's smtp_check_end_handler(): with no connect_*
		 * of its own, the first host is the main check and each
		 * further host a checker of its own; the server is out when
		 * any of them fails. xlb runs one check per server, of its
		 * own address: the main one. */
		const struct kad_node *main_at = own_co ? k : host1.n;
		bool first = true;

		if (nhost && !own_co) {
			if (host1.elsewhere)
				return nfail(c, host1.ip, "connect_ip %s: xlb probes the real server's own address (use a MISC_CHECK whose script probes %s)",
					     host1.ip->w[1], host1.ip->w[1]);
			if (host1.port != UNSET)
				cport = host1.port;
			if (host1.timeout != UNSET)
				ci.connect_timeout = host1.timeout;
		}
		for (unsigned i = 0; nhost && i < k->nkid; i++) {
			const struct kad_node *hn = k->kid[i];
			const struct kad_node *pn = NULL, *ipn = NULL;
			const char *ip;
			unsigned port;
			bool same;
			char at[INET6_ADDRSTRLEN + 16];

			if (strcmp(hn->w[0], "host"))
				continue;
			if (first && !own_co) {
				first = false;
				continue;
			}
			/* Read whole above; only its target is wanted here. */
			for (unsigned j = 0; j < hn->nkid; j++) {
				if (!strcmp(hn->kid[j]->w[0], "connect_ip"))
					ipn = hn->kid[j];
				else if (!strcmp(hn->kid[j]->w[0], "connect_port"))
					pn = hn->kid[j];
			}
			ip = ipn ? ipn->w[1] : rs->n->w[1];
			port = pn ? (unsigned)strtoul(pn->w[1], NULL, 10) : rs->port;
			if (ipn) {
				struct kad_ip a;

				/* read once already: cannot fail now */
				if (kad_addr(c, ipn, ip, "connect_ip", &a))
					return -EINVAL;
				same = kad_ip_eq(&a, &rs->addr);
			} else {
				same = true;
			}
			/* The same target as the check xlb runs: checked. */
			if (same && port == (cport != UNSET ? (unsigned)cport : rs->port))
				continue;
			if (port)
				snprintf(at, sizeof(at), strchr(ip, ':') ? "[%s]:%u" : "%s:%u",
					 ip, port);
			else
				snprintf(at, sizeof(at), "%s", ip);
			warn(c, hn, "SMTP_CHECK: host %s is not checked: keepalived takes the server out when any host fails; xlb runs one check per server (%s %s:%u)",
			     at, own_co ? "the SMTP_CHECK's own, at" : "the host at",
			     main_at->file, main_at->line);
		}
		warn(c, k, "SMTP_CHECK: xlb has no SMTP check; translated as a TCP check of the same port (the greeting, HELO and the reply codes are not verified)");
	}
	if (misc) {
		size_t len = 0;
		char *cmd;

		if (!misc_path)
			return nfail(c, k, "MISC_CHECK without misc_path");
		/* keepalived runs misc_path's words as a command line; so
		 * does --check-exec (through the shell). */
		for (unsigned i = 1; i < misc_path->nw; i++)
			len += strlen(misc_path->w[i]) + 1;
		cmd = malloc(len + 1);
		if (!cmd)
			return kad_nomem(c);
		cmd[0] = '\0';
		for (unsigned i = 1; i < misc_path->nw; i++) {
			if (i > 1)
				strcat(cmd, " ");
			strcat(cmd, misc_path->w[i]);
		}
		chk->exec = cmd;
		if (!xlb_check_str_ok(cmd, XLB_CHECK_EXEC_MAX, true))
			return nfail(c, misc_path, "misc_path: the command must hold at most %d printable characters",
				     XLB_CHECK_EXEC_MAX - 1);
	}
	if (cport != UNSET)
		chk->connect_port = (uint16_t)cport;

	/*
	 * Inheritance, as validate_check_config(): checker, then real
	 * server, then virtual server, then the checker's default.
	 *
	 * interval = delay_loop (60 s when nobody says).
	 * timeout  = connect_timeout (5 s); MISC_CHECK: misc_timeout, else
	 *            delay_loop (check_misc.c).
	 * fall     = retry + 1: keepalived retries a failed check `retry`
	 *            times and marks the server down when the last retry
	 *            fails too; retry defaults to 1 (MISC_CHECK: 0).
	 * rise     = 1: keepalived marks a server up on its first success
	 *            (alpha changes only the state it starts in).
	 * delay_before_retry has no xlb equivalent: xlb spaces the fall
	 *            checks by the interval; a warning says when that makes
	 *            a difference.
	 */
#define PICK(f) (ci.f != UNSET ? ci.f : rs->inh.f != UNSET ? rs->inh.f : vs->inh.f)
	retry = PICK(retry);
	if (retry == UNSET)
		retry = misc ? 0 : 1;
	loop = PICK(delay_loop);
	if (loop == UNSET)
		loop = (int64_t)KAD_DELAY_LOOP_US;
	dbr = PICK(delay_before_retry);
	if (dbr == UNSET)
		dbr = (int64_t)default_dbr;
	chk->interval = (uint64_t)loop;
	if (misc) {
		chk->timeout = misc_timeout != UNSET ?
			(uint64_t)misc_timeout * KAD_US : (uint64_t)loop;
	} else {
		int64_t to = PICK(connect_timeout);

		chk->timeout = to != UNSET ? (uint64_t)to : KAD_CONNECT_TO_US;
	}
	chk->rise = 1;
	chk->fall = (unsigned)retry + 1;
	if (retry && dbr != loop) {
		char a[32], b[32];

		warn(c, k, "keepalived retries a failed check %lld time%s %s s apart (retry, delay_before_retry); xlb repeats it at the check interval (%s s): a failed server is out after %u failed checks %s s apart",
		     (long long)retry, retry == 1 ? "" : "s",
		     kad_fmt_timer(a, sizeof(a), (uint64_t)dbr),
		     kad_fmt_timer(b, sizeof(b), (uint64_t)loop), chk->fall, b);
	}
	if (PICK(alpha) == 1)
		warn(c, k, "alpha (start each server as down until its first successful check) is not translated: xlb's own start state applies");
#undef PICK
	return 0;
}

/* keepalived's scheduler-flag keywords (ipvsadm's -b names). */
static bool kad_is_sched_flag(const char *k)
{
	static const char *const f[] = {
		"flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback",
		"mh-port", "mh-fallback",
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(k, f[i]))
			return true;
	return false;
}

static bool kad_is_checker(const char *k)
{
	return !strcmp(k, "TCP_CHECK") || !strcmp(k, "HTTP_GET") ||
	       !strcmp(k, "SSL_GET") || !strcmp(k, "UDP_CHECK") ||
	       !strcmp(k, "MISC_CHECK") || !strcmp(k, "SMTP_CHECK");
}

static bool kad_is_foreign_checker(const char *k)
{
	size_t n = strlen(k);

	/* DNS_CHECK, BFD_CHECK, FILE_CHECK, PING_CHECK, and
	 * whatever *_CHECK keepalived grows next. */
	return n > 6 && !strcmp(k + n - 6, "_CHECK");
}

/* ---- real servers ---- */

static int kad_real_server(struct kad_ctx *c, const struct kad_node *r,
			   struct kad_vs *vs)
{
	const struct kad_node *checker = NULL;
	struct kad_rs *rs, *g;
	static const char *const untr[] = {
		"notify_up", "notify_down", "smtp_alert", "snmp_name",
		"virtualhost", "warmup", NULL,
	};
	int rc;

	rc = kad_want_block(c, r);
	if (rc)
		return rc;
	if (r->nw < 2 || r->nw > 3)
		return nfail(c, r, "real_server needs an address and a port");
	g = realloc(vs->rs, (vs->nrs + 1) * sizeof(*g));
	if (!g)
		return kad_nomem(c);
	vs->rs = g;
	rs = &vs->rs[vs->nrs++];
	memset(rs, 0, sizeof(*rs));
	rs->n = r;
	rs->fwd = UNSET;
	rs->weight = UNSET;
	rs->uthr = rs->lthr = UNSET;
	rs->inhibit = UNSET;
	kad_inh_init(&rs->inh);
	rc = kad_addr(c, r, r->w[1], "real_server", &rs->addr);
	if (!rc && r->nw == 3)
		rc = kad_port(c, r, r->w[2], "real_server", &rs->port);
	if (rc)
		return rc;
	/* keepalived lets a tunnelled server differ; xlb refuses it (the
	 * tables do: no cross-family tunnels). */
	if (vs->af && rs->addr.af != vs->af)
		return nfail(c, r, "real_server %s: an %s real server of an %s virtual_server is not supported by xlb",
			     r->w[1], rs->addr.af == AF_INET6 ? "IPv6" : "IPv4",
			     vs->af == AF_INET6 ? "IPv6" : "IPv4");
	for (unsigned i = 0; i < vs->nrs - 1; i++) {
		if (kad_ip_eq(&vs->rs[i].addr, &rs->addr) && vs->rs[i].port == rs->port)
			return nfail(c, r, "real_server %s %s is already in this virtual_server (%s:%u)",
				     r->w[1], r->nw == 3 ? r->w[2] : "",
				     vs->rs[i].n->file, vs->rs[i].n->line);
	}
	for (unsigned i = 0; i < r->nkid; i++) {
		const struct kad_node *n = r->kid[i];
		const char *k = n->w[0];

		rc = kad_inh_kw(c, n, &rs->inh);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (!strcmp(k, "weight"))
			rc = kad_uint_kw(c, n, 0, XLB_WEIGHT_MAX, &rs->weight);
		else if (!strcmp(k, "lvs_method"))
			rc = kad_fwd_kw(c, n, &rs->fwd);
		else if (!strcmp(k, "uthreshold"))
			rc = kad_uint_kw(c, n, 0, INT_MAX, &rs->uthr);
		else if (!strcmp(k, "lthreshold"))
			rc = kad_uint_kw(c, n, 0, INT_MAX, &rs->lthr);
		else if (!strcmp(k, "inhibit_on_failure"))
			rc = kad_bool_kw(c, n, &rs->inhibit);
		else if (kad_is_checker(k)) {
			if (checker) {
				warn(c, n, "%s: xlb runs one check per server, the first (%s at %s:%u); this one is not run",
				     k, checker->w[0], checker->file, checker->line);
				continue;
			}
			checker = n;
		} else if (kad_is_foreign_checker(k)) {
			return nfail(c, n, "%s is not supported by xlb (its checks are TCP, HTTP, UDP and commands: a MISC_CHECK script can do what %s does)",
				     k, k);
		} else if (kad_untranslated_kw(c, n, "real_server", untr)) {
			continue;
		} else {
			return nfail(c, n, "unknown keyword '%s' in real_server", k);
		}
		if (rc)
			return rc;
	}
	/* Translated once the whole virtual_server is read: what the
	 * checker inherits may come after this block. */
	rs->checker = checker;
	rs->chk.kind = CHK_NONE;
	return 0;
}

/* ---- groups and virtual servers ---- */

static int kad_vsg(struct kad_ctx *c, const struct kad_node *gn,
		   struct kad_vsg *vsg)
{
	uint64_t total = 0;
	int rc;

	rc = kad_want_block(c, gn);
	if (rc)
		return rc;
	if (gn->nw != 2)
		return nfail(c, gn, "virtual_server_group needs one name");
	vsg->name = gn->w[1];
	vsg->n = gn;
	vsg->ent = calloc(gn->nkid ? gn->nkid : 1, sizeof(*vsg->ent));
	if (!vsg->ent)
		return kad_nomem(c);
	for (unsigned i = 0; i < gn->nkid; i++) {
		const struct kad_node *n = gn->kid[i];
		struct kad_vsg_ent *e = &vsg->ent[vsg->nent];
		char a[64];
		const char *dash, *slash;

		if (n->block)
			return nfail(c, n, "'%s' takes no block", n->w[0]);
		if (!strcmp(n->w[0], "fwmark"))
			return nfail(c, n, "virtual_server_group %s: fwmark %s: firewall-mark services are not supported by xlb",
				     vsg->name, n->nw > 1 ? n->w[1] : "");
		if (n->nw > 2)
			return nfail(c, n, "virtual_server_group entry needs an address (or range) and a port");
		if (n->nw == 2) {
			rc = kad_port(c, n, n->w[1], "virtual_server_group", &e->port);
			if (rc)
				return rc;
		}
		if (strlen(n->w[0]) >= sizeof(a))
			return nfail(c, n, "'%s' is not an address or range", n->w[0]);
		snprintf(a, sizeof(a), "%s", n->w[0]);
		if (kad_looks_ip6(a)) {
			/* Kept, not expanded: refused where a virtual_server
			 * uses the group. */
			if (!vsg->v6)
				vsg->v6 = n;
			continue;
		}
		dash = strchr(a, '-');
		slash = strchr(a, '/');
		if (slash) {
			/* 10.0.0.0/29: each address of the prefix. */
			uint64_t plen;
			uint32_t m;

			a[slash - a] = '\0';
			if (!kad_parse_ip4(a, &e->first) ||
			    !kad_parse_u64(slash + 1, 32, &plen) || !plen)
				return nfail(c, n, "'%s' is not an address/prefix", n->w[0]);
			m = plen == 32 ? 0 : (uint32_t)(0xffffffffu >> plen);
			if (e->first & m)
				return nfail(c, n, "'%s': address bits set beyond the prefix", n->w[0]);
			e->last = e->first | m;
		} else if (dash) {
			/* keepalived: 10.0.0.1-10 (the last byte's end) or
			 * 10.0.0.1-10.0.0.20 (a whole address). */
			a[dash - a] = '\0';
			if (!kad_parse_ip4(a, &e->first))
				return nfail(c, n, "'%s' is not an address range", n->w[0]);
			if (strchr(dash + 1, '.')) {
				if (!kad_parse_ip4(dash + 1, &e->last) ||
				    e->last < e->first)
					return nfail(c, n, "'%s' is not an address range (the end must not be below the start)",
						     n->w[0]);
			} else {
				uint64_t end;

				if (!kad_parse_u64(dash + 1, 255, &end) ||
				    end <= (e->first & 0xff))
					return nfail(c, n, "'%s': the range's end must be above %u and at most 255",
						     n->w[0], e->first & 0xff);
				e->last = (e->first & 0xffffff00u) | (uint32_t)end;
			}
		} else {
			if (!kad_parse_ip4(a, &e->first))
				return nfail(c, n, "'%s' is not an IPv4 address", n->w[0]);
			e->last = e->first;
		}
		total += (uint64_t)e->last - e->first + 1;
		if (total > XLB_KAD_SVC_MAX)
			return nfail(c, n, "virtual_server_group %s has more than %d addresses",
				     vsg->name, XLB_KAD_SVC_MAX);
		e->n = n;
		vsg->nent++;
	}
	if (!vsg->nent && !vsg->v6)
		return nfail(c, gn, "virtual_server_group %s has no entries", vsg->name);
	return 0;
}

static int kad_vs_body(struct kad_ctx *c, const struct kad_node *v,
		       struct kad_vs *vs)
{
	const struct kad_node *pto = NULL, *pgr = NULL, *algo = NULL;
	static const char *const untr[] = {
		"hashed", "ha_suspend",
		"smtp_alert", "virtualhost", "snmp_name", "omega", "quorum_up",
		"quorum_down", "hysteresis", "sorry_server_inhibit",
		"sorry_server_lvs_method", "warmup", NULL,
	};
	int rc;

	vs->proto = IPPROTO_TCP;
	vs->fwd = UNSET;
	vs->weight = 1;
	vs->inhibit = UNSET;
	vs->quorum = UNSET;
	vs->mask = vs->af == AF_INET6 ? 128 : 0xffffffff;
	kad_inh_init(&vs->inh);
	for (unsigned i = 0; i < v->nkid; i++) {
		const struct kad_node *n = v->kid[i];
		const char *k = n->w[0];

		rc = kad_inh_kw(c, n, &vs->inh);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (!strcmp(k, "lb_algo") || !strcmp(k, "lvs_sched")) {
			size_t s;

			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
			for (s = 0; s < sizeof(kad_scheds) / sizeof(kad_scheds[0]); s++)
				if (!strcmp(n->w[1], kad_scheds[s]))
					break;
			if (s == sizeof(kad_scheds) / sizeof(kad_scheds[0]))
				return nfail(c, n, "%s '%s' is not a scheduler keepalived knows (rr wrr lc wlc lblc sh mh dh fo ovf lblcr sed nq twos)",
					     k, n->w[1]);
			vs->sched = kad_scheds[s];
			algo = n;
		} else if (!strcmp(k, "lb_kind") || !strcmp(k, "lvs_method")) {
			rc = kad_fwd_kw(c, n, &vs->fwd);
		} else if (!strcmp(k, "persistence_timeout")) {
			int64_t t = KAD_PERSIST_DEFAULT;

			rc = kad_want_args(c, n, 0, 1);
			if (!rc && n->nw == 2)
				rc = kad_uint_kw(c, n, 1, KAD_PERSIST_MAX, &t);
			vs->persist = (uint32_t)t;
			pto = n;
		} else if (!strcmp(k, "persistence_granularity")) {
			uint32_t m, inv;

			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
			if (vs->af == AF_INET6) {
				/* keepalived: an IPv6 service's granularity is
				 * a prefix length, as ipvsadm's -M. */
				uint64_t plen;

				if (!kad_parse_u64(n->w[1], 128, &plen) || !plen)
					return nfail(c, n, "persistence_granularity '%s' is not an IPv6 prefix length (1..128)",
						     n->w[1]);
				vs->mask = (uint32_t)plen;
				pgr = n;
				continue;
			}
			if (kad_looks_ip6(n->w[1]) || !strchr(n->w[1], '.'))
				return nfail(c, n, "persistence_granularity %s: an IPv4 virtual_server needs a netmask (like 255.255.255.0)",
					     n->w[1]);
			if (!kad_parse_ip4(n->w[1], &m))
				return nfail(c, n, "persistence_granularity '%s' is not a netmask", n->w[1]);
			inv = ~m;
			if (inv & (inv + 1))
				return nfail(c, n, "persistence_granularity %s: xlb needs a contiguous netmask (like 255.255.255.0)",
					     n->w[1]);
			vs->mask = htonl(m);
			pgr = n;
		} else if (!strcmp(k, "persistence_engine")) {
			return nfail(c, n, "persistence_engine %s is not supported by xlb",
				     n->nw > 1 ? n->w[1] : "");
		} else if (!strcmp(k, "protocol")) {
			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
			if (!strcasecmp(n->w[1], "TCP"))
				vs->proto = IPPROTO_TCP;
			else if (!strcasecmp(n->w[1], "UDP"))
				vs->proto = IPPROTO_UDP;
			else if (!strcasecmp(n->w[1], "SCTP"))
				return nfail(c, n, "protocol SCTP is not supported by xlb (TCP and UDP)");
			else
				return nfail(c, n, "protocol '%s' is not TCP or UDP", n->w[1]);
		} else if (!strcmp(k, "ip_family")) {
			rc = kad_want_args(c, n, 1, 1);
			if (rc)
				return rc;
			if (strcmp(n->w[1], "inet") && strcmp(n->w[1], "inet6"))
				return nfail(c, n, "ip_family '%s' is not inet or inet6", n->w[1]);
			if (vs->af && vs->af != (strcmp(n->w[1], "inet6") ? AF_INET : AF_INET6))
				return nfail(c, n, "ip_family %s: the virtual_server's address is of the other family",
					     n->w[1]);
		} else if (!strcmp(k, "weight")) {
			rc = kad_uint_kw(c, n, 0, XLB_WEIGHT_MAX, &vs->weight);
		} else if (!strcmp(k, "inhibit_on_failure")) {
			rc = kad_bool_kw(c, n, &vs->inhibit);
		} else if (!strcmp(k, "quorum")) {
			rc = kad_uint_kw(c, n, 1, UINT32_MAX, &vs->quorum);
		} else if (!strcmp(k, "sorry_server")) {
			rc = kad_want_args(c, n, 1, 2);
			if (!rc)
				rc = kad_addr(c, n, n->w[1], "sorry_server", &vs->sorry_addr);
			if (!rc && vs->af && vs->sorry_addr.af != vs->af)
				rc = nfail(c, n, "sorry_server %s is not of the virtual_server's address family",
					   n->w[1]);
			if (!rc && n->nw == 3)
				rc = kad_port(c, n, n->w[2], "sorry_server", &vs->sorry_port);
			vs->has_sorry = true;
		} else if (!strcmp(k, "ops")) {
			rc = kad_want_args(c, n, 0, 0);
			vs->ops = n;
		} else if (kad_is_sched_flag(k)) {
			/* keepalived's flag-N / sh-* / mh-* keywords: ipvsadm's -b. */
			rc = kad_want_args(c, n, 0, 0);
			if (!rc && !strstr(vs->bflags, k)) {
				size_t l = strlen(vs->bflags);

				snprintf(vs->bflags + l, sizeof(vs->bflags) - l, "%s%s",
					 l ? "," : "", k);
			}
			vs->bflag = n;
		} else if (!strcmp(k, "real_server")) {
			rc = kad_real_server(c, n, vs);
		} else if (kad_is_checker(k) || kad_is_foreign_checker(k)) {
			return nfail(c, n, "%s belongs in a real_server block", k);
		} else if (kad_untranslated_kw(c, n, "virtual_server", untr)) {
			continue;
		} else {
			return nfail(c, n, "unknown keyword '%s' in virtual_server", k);
		}
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < vs->nrs; i++) {
		if (!vs->rs[i].checker)
			continue;
		rc = kad_checker(c, vs->rs[i].checker, vs, &vs->rs[i]);
		if (rc)
			return rc;
	}
	if (!algo)
		return nfail(c, v, "virtual_server without lb_algo: name the scheduler (xlb does not guess keepalived's)");
	if (vs->bflag) {
		char msg[160];
		uint32_t f;

		if (xlb_sched_flags_parse(vs->sched, vs->bflags, &f, msg, sizeof(msg)))
			return nfail(c, vs->bflag, "%s", msg);
	}
	if (vs->ops && vs->proto != IPPROTO_UDP) {
		/* IPVS applies one-packet scheduling to UDP only. */
		warn(c, vs->ops, "ops on a TCP service: IPVS ignores it there, so xlb's rules leave it out");
		vs->ops = NULL;
	}
	if (pgr && !pto) {
		/* keepalived's pgr_handler(): granularity implies persistence. */
		vs->persist = KAD_PERSIST_DEFAULT;
		note(c, pgr, "persistence_granularity without persistence_timeout: persistent for %d s, as keepalived", KAD_PERSIST_DEFAULT);
	}
	if (vs->fwd == UNSET) {
		bool all = vs->nrs > 0;

		for (unsigned i = 0; i < vs->nrs; i++)
			all = all && vs->rs[i].fwd != UNSET;
		if (!all)
			note(c, v, "virtual_server without lb_kind: NAT, as keepalived");
		vs->fwd = XLB_FWD_NAT;
	}
	for (unsigned i = 0; vs->ops && i < vs->nrs; i++)
		if ((vs->rs[i].fwd != UNSET ? vs->rs[i].fwd : vs->fwd) == XLB_FWD_NAT)
			return nfail(c, vs->ops, "ops with NAT real servers: xlb's NAT needs each connection's entry to translate the replies (use DR or TUN, or drop ops)");
	return 0;
}

/* ---- printing ---- */

/* A word as the rules parser reads it back (lb/ipvsadm.c split_words:
 * quotes group, no escapes): bare when safe, else in single quotes with
 * each ' written as '"'"'. */
static void kad_put_word(FILE *f, const char *w)
{
	if (*w && !strpbrk(w, " \t\r\n'\"#\\$`&|;<>()*?[]{}~!"))
		fputs(w, f);
	else {
		fputc('\'', f);
		for (; *w; w++) {
			if (*w == '\'')
				fputs("'\"'\"'", f);
			else
				fputc(*w, f);
		}
		fputc('\'', f);
	}
}

static const char *kad_fwd_switch(int fwd)
{
	return fwd == XLB_FWD_NAT ? "-m" : fwd == XLB_FWD_TUN ? "-i" : "-g";
}

#define KAD_IP_STR	(INET6_ADDRSTRLEN + 2)

/* An address as ipvsadm's -S writes it beside a port: IPv6 in brackets. */
static const char *kad_ip(char *buf, const struct kad_ip *ip)
{
	struct in_addr a = { .s_addr = htonl(ip->host) };
	char s[INET6_ADDRSTRLEN];

	if (ip->af != AF_INET6) {
		inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
		return buf;
	}
	inet_ntop(AF_INET6, &ip->in6, s, sizeof(s));
	snprintf(buf, KAD_IP_STR, "[%s]", s);
	return buf;
}

/* The port a server is written with on its -a line: NAT keeps the
 * configured port; DR and TUN cannot change it (IPVS ignores it). */
static uint16_t kad_rs_line_port(const struct kad_rs *rs, int fwd,
				 uint16_t svc_port)
{
	if (fwd != XLB_FWD_NAT)
		return svc_port;
	return rs->port ? rs->port : svc_port;
}

/* One server's check options for one service, into buf. */
static void kad_check_opts(char *buf, size_t len, const struct kad_rs *rs,
			   int fwd, uint16_t svc_port)
{
	static const char *const kinds[] = {
		[CHK_NONE] = "none", [CHK_TCP] = "tcp", [CHK_HTTP] = "http",
		[CHK_UDP] = "udp", [CHK_EXEC] = "exec",
	};
	const struct kad_check *k = &rs->chk;
	uint16_t probe, line_port = kad_rs_line_port(rs, fwd, svc_port);
	char a[32], b[32];
	FILE *f;

	f = fmemopen(buf, len, "w");
	if (!f) {
		buf[0] = '\0';
		return;
	}
	fprintf(f, "--check %s", kinds[k->kind]);
	if (k->kind != CHK_NONE) {
		/* keepalived probes the configured address:port of the
		 * server (or connect_port); xlb the port on the -a line. */
		probe = k->connect_port ? k->connect_port :
			rs->port ? rs->port : svc_port;
		if (k->kind != CHK_EXEC && probe != line_port)
			fprintf(f, " --check-port %u", probe);
		if (k->kind == CHK_HTTP)
			fprintf(f, " --check-path %s --check-status %u",
				k->path, k->status);
		if (k->kind == CHK_EXEC) {
			fputs(" --check-exec ", f);
			kad_put_word(f, k->exec);
		}
		fprintf(f, " --check-interval %s --check-timeout %s --check-rise %u --check-fall %u",
			kad_fmt_timer(a, sizeof(a), k->interval),
			kad_fmt_timer(b, sizeof(b), k->timeout), k->rise,
			k->fall);
	}
	fclose(f);
}

static int kad_print_svc(struct kad_ctx *c, const struct kad_vs *vs,
			 const struct kad_node *at, const struct kad_ip *vip,
			 uint16_t port)
{
	const char *sw = vs->proto == IPPROTO_UDP ? "-u" : "-t";
	char ip[KAD_IP_STR], rip[KAD_IP_STR];
	char opts[1024], first[1024];
	bool uniform = true, any = false;
	struct kad_key *k;

	for (unsigned i = 0; i < c->nsvc; i++) {
		if (kad_ip_eq(&c->keys[i].addr, vip) && c->keys[i].port == port &&
		    c->keys[i].proto == vs->proto)
			return nfail(c, at, "%s %s:%u is already defined at %s:%u",
				     vs->proto == IPPROTO_UDP ? "UDP" : "TCP",
				     kad_ip(ip, vip), port, c->keys[i].file,
				     c->keys[i].line);
	}
	if (c->nsvc == XLB_KAD_SVC_MAX)
		return nfail(c, at, "more than %d services", XLB_KAD_SVC_MAX);
	k = realloc(c->keys, (c->nsvc + 1) * sizeof(*k));
	if (!k)
		return kad_nomem(c);
	c->keys = k;
	c->keys[c->nsvc++] = (struct kad_key){ *vip, port, vs->proto, at->file, at->line };
	if (!port && !vs->persist)
		return nfail(c, at, "port 0 (every port) needs persistence_timeout, as in ipvsadm");

	/* The check goes on the -A line when every server has the same one,
	 * else on each -a line (a server's options override the service's). */
	first[0] = '\0';
	for (unsigned i = 0; i < vs->nrs; i++) {
		int fwd = vs->rs[i].fwd != UNSET ? vs->rs[i].fwd : vs->fwd;

		kad_check_opts(opts, sizeof(opts), &vs->rs[i], fwd, port);
		if (!i)
			snprintf(first, sizeof(first), "%s", opts);
		else if (strcmp(first, opts))
			uniform = false;
		any = any || vs->rs[i].chk.kind != CHK_NONE;
	}

	fprintf(c->out, "-A %s %s:%u -s %s", sw, kad_ip(ip, vip), port, vs->sched);
	if (vs->persist) {
		fprintf(c->out, " -p %u", vs->persist);
		if (vip->af == AF_INET6) {
			if (vs->mask != 128)
				fprintf(c->out, " -M %u", vs->mask);
		} else if (vs->mask != 0xffffffff) {
			struct in_addr m = { .s_addr = vs->mask };

			fprintf(c->out, " -M %s", inet_ntoa(m));
		}
	}
	/* ipvsadm's order: -p, -M, -o, -b. */
	if (vs->ops)
		fputs(" -o", c->out);
	if (vs->bflags[0])
		fprintf(c->out, " -b %s", vs->bflags);
	if (uniform && any)
		fprintf(c->out, " %s", first);
	if (vs->has_sorry)
		fprintf(c->out, " --sorry-server %s:%u",
			kad_ip(rip, &vs->sorry_addr),
			vs->sorry_port ? vs->sorry_port : port);
	if (vs->quorum != UNSET)
		fprintf(c->out, " --quorum %lld", (long long)vs->quorum);
	fputc('\n', c->out);

	for (unsigned i = 0; i < vs->nrs; i++) {
		const struct kad_rs *rs = &vs->rs[i];
		int fwd = rs->fwd != UNSET ? rs->fwd : vs->fwd;
		int64_t w = rs->weight != UNSET ? rs->weight : vs->weight;

		fprintf(c->out, "-a %s %s:%u -r %s:%u %s -w %lld", sw,
			kad_ip(ip, vip), port, kad_ip(rip, &rs->addr),
			kad_rs_line_port(rs, fwd, port), kad_fwd_switch(fwd),
			(long long)w);
		if (rs->uthr != UNSET)
			fprintf(c->out, " -x %lld", (long long)rs->uthr);
		if (rs->lthr != UNSET)
			fprintf(c->out, " -y %lld", (long long)rs->lthr);
		if (!uniform) {
			kad_check_opts(opts, sizeof(opts), rs, fwd, port);
			fprintf(c->out, " %s", opts);
		}
		fputc('\n', c->out);
	}
	return 0;
}

static void kad_free_vs(struct kad_vs *vs)
{
	for (unsigned i = 0; i < vs->nrs; i++)
		free(vs->rs[i].chk.exec);
	free(vs->rs);
}

static int kad_virtual_server(struct kad_ctx *c, const struct kad_node *v,
			      const struct kad_vsg *vsgs, unsigned nvsg)
{
	const struct kad_vsg *grp = NULL;
	struct kad_vs vs;
	struct kad_ip vip = { 0 };
	uint16_t port = 0;
	int rc;

	memset(&vs, 0, sizeof(vs));
	rc = kad_want_block(c, v);
	if (rc)
		return rc;
	if (v->nw < 2 || v->nw > 3)
		return nfail(c, v, "virtual_server needs an address and a port, 'group NAME' or 'fwmark N'");
	if (!strcmp(v->w[1], "fwmark"))
		return nfail(c, v, "virtual_server fwmark %s: firewall-mark services are not supported by xlb",
			     v->nw > 2 ? v->w[2] : "");
	if (!strcmp(v->w[1], "group")) {
		if (v->nw != 3)
			return nfail(c, v, "virtual_server group needs a group name");
		for (unsigned i = 0; i < nvsg; i++)
			if (!strcmp(vsgs[i].name, v->w[2]))
				grp = &vsgs[i];
		if (!grp)
			return nfail(c, v, "virtual_server group %s: no virtual_server_group of that name",
				     v->w[2]);
		if (grp->v6)
			return nfail(c, grp->v6, "virtual_server_group %s: %s: IPv6 groups are not supported by xlb yet (give each IPv6 virtual_server on its own)",
				     grp->name, grp->v6->w[0]);
	} else {
		rc = kad_addr(c, v, v->w[1], "virtual_server", &vip);
		if (!rc && v->nw == 3)
			rc = kad_port(c, v, v->w[2], "virtual_server", &port);
		if (rc)
			return rc;
		vs.af = vip.af;
	}
	rc = kad_vs_body(c, v, &vs);
	if (rc)
		goto out;
	if (!vs.nrs) {
		/* keepalived's vs_end_handler() drops it too. */
		warn(c, v, "virtual_server %s %s has no real_server: skipped, as keepalived does",
		     v->w[1], v->nw > 2 ? v->w[2] : "");
		goto out;
	}
	for (unsigned i = 0; i < vs.nrs; i++) {
		int inh = vs.rs[i].inhibit != UNSET ? vs.rs[i].inhibit : vs.inhibit;

		if (inh != 1 && !c->first_not_inhibit)
			c->first_not_inhibit = vs.rs[i].n;
	}
	if (!grp) {
		rc = kad_print_svc(c, &vs, v, &vip, port);
		goto out;
	}
	for (unsigned e = 0; e < grp->nent; e++) {
		const struct kad_vsg_ent *ent = &grp->ent[e];

		for (uint64_t a = ent->first; a <= ent->last; a++) {
			struct kad_ip ip = { .af = AF_INET, .host = (uint32_t)a };

			rc = kad_print_svc(c, &vs, ent->n, &ip, ent->port);
			if (rc)
				goto out;
		}
	}
out:
	kad_free_vs(&vs);
	return rc;
}

/* Top-level blocks that are not LVS: one note each. */
static const struct {
	const char *kw;
	const char *why;
} kad_skipped[] = {
	{ "global_defs", "global settings (mail, router_id, scripts) have no xlb equivalent" },
	{ "vrrp_instance", "VRRP is not part of xlb (keep keepalived for the addresses, or announce them with BGP)" },
	{ "vrrp_sync_group", "VRRP is not part of xlb" },
	{ "vrrp_script", "VRRP is not part of xlb" },
	{ "vrrp_track_process", "VRRP is not part of xlb" },
	{ "vrrp_track_file", "VRRP is not part of xlb" },
	{ "track_file", "VRRP is not part of xlb" },
	{ "track_process", "VRRP is not part of xlb" },
	{ "garp_group", "VRRP is not part of xlb" },
	{ "static_ipaddress", "addresses are configured outside xlb" },
	{ "static_routes", "routes are configured outside xlb" },
	{ "static_rules", "routing rules are configured outside xlb" },
	{ "static_track_group", "VRRP is not part of xlb" },
	{ "linkbeat_interfaces", "VRRP is not part of xlb" },
	{ "bfd_instance", "BFD is not part of xlb" },
	{ "SSL", "SSL_GET becomes a TCP check, which needs no certificate" },
	{ "net_namespace", "run xlbd in the namespace instead" },
	{ "net_namespace_ipvs", "run xlbd in the namespace instead" },
	{ "namespace_with_ipsets", "xlb uses no ipsets" },
	{ "instance", "run one xlbd per instance" },
	{ "use_pid_dir", "xlbd has its own pid handling" },
	{ "child_wait_time", "xlbd has no child processes" },
	{ "linkbeat_use_polling", "VRRP is not part of xlb" },
};

static int kad_top(struct kad_ctx *c, const struct kad_node *root)
{
	struct kad_vsg *vsgs = NULL;
	unsigned nvsg = 0;
	int rc = 0;

	/* Groups first: keepalived resolves them after reading everything,
	 * so a virtual_server may name a group defined further down. */
	for (unsigned i = 0; i < root->nkid && !rc; i++) {
		const struct kad_node *n = root->kid[i];
		struct kad_vsg *g;

		if (strcmp(n->w[0], "virtual_server_group"))
			continue;
		g = realloc(vsgs, (nvsg + 1) * sizeof(*g));
		if (!g) {
			rc = kad_nomem(c);
			break;
		}
		vsgs = g;
		memset(&vsgs[nvsg], 0, sizeof(vsgs[nvsg]));
		rc = kad_vsg(c, n, &vsgs[nvsg++]);
		for (unsigned j = 0; !rc && j + 1 < nvsg; j++)
			if (!strcmp(vsgs[j].name, vsgs[nvsg - 1].name))
				rc = nfail(c, n, "virtual_server_group %s is already defined at %s:%u",
					   vsgs[j].name, vsgs[j].n->file, vsgs[j].n->line);
	}
	for (unsigned i = 0; i < root->nkid && !rc; i++) {
		const struct kad_node *n = root->kid[i];
		const char *k = n->w[0];
		size_t s;

		if (!strcmp(k, "virtual_server_group"))
			continue;
		if (!strcmp(k, "virtual_server")) {
			rc = kad_virtual_server(c, n, vsgs, nvsg);
			continue;
		}
		for (s = 0; s < sizeof(kad_skipped) / sizeof(kad_skipped[0]); s++)
			if (!strcmp(k, kad_skipped[s].kw))
				break;
		if (s < sizeof(kad_skipped) / sizeof(kad_skipped[0])) {
			note(c, n, "%s%s%s skipped: %s", k, n->nw > 1 ? " " : "",
			     n->nw > 1 ? n->w[1] : "", kad_skipped[s].why);
			continue;
		}
		if (kad_is_checker(k) || kad_is_foreign_checker(k) ||
		    !strcmp(k, "real_server"))
			rc = nfail(c, n, "%s outside a virtual_server", k);
		else
			rc = nfail(c, n, "unknown keyword '%s'", k);
	}
	for (unsigned i = 0; i < nvsg; i++)
		free(vsgs[i].ent);
	free(vsgs);
	if (!rc && c->first_not_inhibit)
		note(c, c->first_not_inhibit, "xlb always inhibits a failed real server (no new connections, established ones continue: keepalived's inhibit_on_failure); without inhibit_on_failure keepalived would remove it");
	return rc;
}

/* ---------------------------------------------------------------- */

static int kad_run(struct kad_ctx *c, const char *label, FILE *out)
{
	struct kad_node root = { .w = NULL };
	static const char *root_word = "(top)";
	char *text = NULL;
	size_t tlen = 0;
	int rc;

	root.w = (char **)&root_word;
	if (c->rc) {
		rc = c->rc;
		goto out;
	}
	c->out = open_memstream(&text, &tlen);
	if (!c->out) {
		rc = kad_nomem(c);
		goto out;
	}
	fprintf(c->out, "# xlb rules converted from %s by xlbctl --from-keepalived\n", label);
	fprintf(c->out, "# a failed real server gets no new connections and keeps its established ones (keepalived's inhibit_on_failure)\n");
	rc = kad_parse_block(c, &root, 0);
	if (!rc)
		rc = kad_top(c, &root);
	if (!rc && !c->nsvc)
		rc = kad_fail(c, label, 0, "no virtual_server to convert (VRRP and global blocks only?)");
	if (fclose(c->out) && !rc)
		rc = kad_nomem(c);
	c->out = NULL;
	if (!rc && fwrite(text, 1, tlen, out) != tlen) {
		xlb_seterr(c->err, c->errlen, "cannot write the rules: %s", strerror(errno));
		rc = -EIO;
	}
out:
	kad_flush_msgs(c);
	free(text);
	for (unsigned i = 0; i < root.nkid; i++)
		kad_free_node(root.kid[i]);
	free(root.kid);
	for (unsigned i = c->qpos; i < c->nq; i++)
		free(c->q[i].text);
	if (c->has_back)
		free(c->back.text);
	free(c->q);
	for (unsigned i = 0; i < c->nsrc; i++)
		free(c->src[i].buf);
	free(c->line);
	free(c->keys);
	for (unsigned i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c);
	return rc;
}

static struct kad_ctx *kad_new(const struct xlb_kad_params *p, char *err,
			       size_t errlen)
{
	struct kad_ctx *c = calloc(1, sizeof(*c));

	if (!c) {
		xlb_seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->p = p;
	c->err = err;
	c->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	return c;
}

int xlb_kad_convert_file(const char *path, FILE *out,
			 const struct xlb_kad_params *params,
			 char *err, size_t errlen)
{
	struct kad_ctx *c = kad_new(params, err, errlen);

	if (!c)
		return -ENOMEM;
	c->src[0].path = kad_name(c, path);
	if (!c->src[0].path) {
		kad_nomem(c);
		return kad_run(c, path, NULL) ?: -ENOMEM;
	}
	c->nsrc = 1;
	c->nfiles = 1;
	return kad_run(c, path, out);
}

int xlb_kad_convert_buf(const char *name, const char *buf, size_t len,
			FILE *out, const struct xlb_kad_params *params,
			char *err, size_t errlen)
{
	struct kad_ctx *c = kad_new(params, err, errlen);
	struct kad_src *s;

	if (!c)
		return -ENOMEM;
	s = &c->src[0];
	s->path = kad_name(c, name);
	s->buf = malloc(len + 1);
	if (!s->path || !s->buf) {
		kad_nomem(c);
		c->nsrc = 1;
		return kad_run(c, name, NULL);
	}
	memcpy(s->buf, buf, len);
	s->len = len;
	s->loaded = true;
	s->dev = (dev_t)-1;
	s->ino = (ino_t)-1;
	c->nsrc = 1;
	c->nfiles = 1;
	return kad_run(c, name, out);
}

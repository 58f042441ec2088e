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

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * systemd's readiness protocol (sd_notify(3)), without libsystemd: one
 * datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). A few
 * lines, no new dependency, and a no-op when the variable is unset.
 */
#ifndef XLB_SDNOTIFY_H
#define XLB_SDNOTIFY_H

/* Send state (e.g. "READY=1\nSTATUS=serving"). 1 sent, 0 no NOTIFY_SOCKET,
 * -errno on failure. */
int xlb_sd_notify(const char *state);
/* The same with printf formatting. */
int xlb_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* XLB_SDNOTIFY_H */

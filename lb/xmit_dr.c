// SPDX-License-Identifier: GPL-2.0
/* DR (direct routing): only the Ethernet addresses change. The RS holds the
 * VIP on lo and answers the client directly. The rewrite is the XDP fast
 * path's too (bpf/xlb_rewrite.h). */
#include "xmit.h"
#include "../bpf/xlb_rewrite.h"

int xlb_xmit_dr(struct xlb_frame *f, struct xlb_pkt *p,
		const struct xlb_xmit_bind *b)
{
	(void)p;
	xlb_rw_macs(f->data, b->dmac, b->smac);
	return 0;
}

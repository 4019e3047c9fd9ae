/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_REGS_H
#define _HETMIG_REGS_H

#include <net/genetlink.h>

int hetmig_get_regs_start(struct netlink_callback *cb);
int hetmig_get_regs_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

#endif /* _HETMIG_REGS_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_PAGES_H
#define _HETMIG_PAGES_H

#include <net/genetlink.h>
#include <linux/hetmig.h>

extern const struct nla_policy hetmig_save_pages_policy[HETMIG_A_MAX + 1];

int hetmig_save_pages_doit(struct sk_buff *skb, struct genl_info *info);

#endif /* _HETMIG_PAGES_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_RESTORE_H
#define _HETMIG_RESTORE_H

#include <net/genetlink.h>
#include <linux/hetmig.h>

extern const struct nla_policy hetmig_restore_mm_policy[HETMIG_A_MAX + 1];
extern const struct nla_policy hetmig_write_pages_policy[HETMIG_A_MAX + 1];
extern const struct nla_policy hetmig_set_thread_policy[HETMIG_A_MAX + 1];

int hetmig_restore_mm_doit(struct sk_buff *skb, struct genl_info *info);
int hetmig_write_pages_doit(struct sk_buff *skb, struct genl_info *info);
int hetmig_set_thread_doit(struct sk_buff *skb, struct genl_info *info);

#endif /* _HETMIG_RESTORE_H */

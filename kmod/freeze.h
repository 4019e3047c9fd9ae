/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_FREEZE_H
#define _HETMIG_FREEZE_H

#include <net/genetlink.h>

int hetmig_freeze_init(void);
void hetmig_freeze_uninit(void);
int hetmig_freeze_doit(struct sk_buff *skb, struct genl_info *info);
int hetmig_thaw_doit(struct sk_buff *skb, struct genl_info *info);
bool hetmig_frozen_for_reader(struct task_struct *leader, const struct sk_buff *skb);

#endif /* _HETMIG_FREEZE_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_VMAS_H
#define _HETMIG_VMAS_H

#include <net/genetlink.h>

int hetmig_get_mm_doit(struct sk_buff *skb, struct genl_info *info);
int hetmig_get_vmas_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
bool hetmig_vma_is_special(struct vm_area_struct *vma);

#endif /* _HETMIG_VMAS_H */

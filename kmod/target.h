/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_TARGET_H
#define _HETMIG_TARGET_H

#include <linux/netlink.h>
#include <linux/sched.h>
#include <net/genetlink.h>

u32 hetmig_threads_generation(struct task_struct *leader);
struct task_struct *hetmig_request_target(struct genl_info *info);
struct task_struct *hetmig_read_target(const struct sk_buff *skb, struct genl_info *info);
struct task_struct *hetmig_dump_target(struct netlink_callback *cb, long *pid);
int hetmig_dump_result(struct sk_buff *skb, int ret);

#endif /* _HETMIG_TARGET_H */

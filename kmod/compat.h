/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernel series hetmig.ko is built for (Debian
 * 12's 6.1 and Debian 6.12), in one place, by feature tests rather than
 * version numbers or copies of the module (Documentation/testbed.md,
 * "Kernel series").
 */
#ifndef _HETMIG_COMPAT_H
#define _HETMIG_COMPAT_H

#include <net/genetlink.h>

/*
 * A dump's request attribute. 6.2 moved the parsed attributes of a dump
 * into a genl_info inside genl_dumpit_info; the request itself is where
 * it always was, and the family's policy has already validated it.
 */
static inline struct nlattr *hetmig_dump_attr(struct netlink_callback *cb, int type)
{
	return nlmsg_find_attr(cb->nlh, GENL_HDRLEN, type);
}

/* 6.10 moved the rseq helpers out of <linux/sched.h>. */
#if __has_include("linux/rseq.h")
#include <linux/rseq.h>
#endif

#endif /* _HETMIG_COMPAT_H */

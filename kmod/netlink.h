/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_NETLINK_H
#define _HETMIG_NETLINK_H

#include <net/genetlink.h>

extern struct genl_family hetmig_genl_family;

/* Indexes into the family's multicast groups. */
enum {
	HETMIG_MCGRP_EVENTS_ID,
};

int hetmig_genl_init(void);
void hetmig_genl_uninit(void);

#endif /* _HETMIG_NETLINK_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_SIGNALS_H
#define _HETMIG_SIGNALS_H

#include <net/genetlink.h>

int hetmig_get_signals_doit(struct sk_buff *skb, struct genl_info *info);

#endif /* _HETMIG_SIGNALS_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The "hetmig" generic netlink family. uapi/linux/hetmig.h is its
 * specification; this file only implements what it states.
 */

#include <linux/utsname.h>
#include <net/genetlink.h>
#include <linux/hetmig.h>

#include "freeze.h"
#include "hetmig.h"
#include "netlink.h"
#include "pages.h"
#include "regs.h"
#include "restore.h"
#include "signals.h"
#include "vmas.h"

static const struct nla_policy get_version_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_PROTO_VERSION] = { .type = NLA_U32 },
};

/* Requests that name a process take its pid and nothing else. */
static const struct nla_policy pid_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_PID] = { .type = NLA_U32 },
};

static int fill_version(struct sk_buff *skb)
{
	if (nla_put_u32(skb, HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION) ||
	    nla_put_string(skb, HETMIG_A_MODULE_VERSION, HETMIG_MODULE_VERSION) ||
	    nla_put_u32(skb, HETMIG_A_ARCH, HETMIG_THIS_ARCH) ||
	    nla_put_string(skb, HETMIG_A_KERNEL_RELEASE, init_utsname()->release) ||
	    nla_put_u32(skb, HETMIG_A_PAGE_SIZE, PAGE_SIZE))
		return -EMSGSIZE;
	return 0;
}

static int hetmig_get_version_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *proto = info->attrs[HETMIG_A_PROTO_VERSION];
	struct sk_buff *reply;
	void *hdr;
	int ret;

	if (proto && nla_get_u32(proto) != HETMIG_PROTO_VERSION) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "protocol version not supported by this module");
		NL_SET_BAD_ATTR(info->extack, proto);
		return -EPROTO;
	}

	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	hdr = genlmsg_put_reply(reply, info, &hetmig_genl_family, 0,
				HETMIG_CMD_GET_VERSION);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}

	ret = fill_version(reply);
	if (ret)
		goto err_free;

	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);

err_free:
	nlmsg_free(reply);
	return ret;
}

static const struct genl_ops hetmig_genl_ops[] = {
	{
		.cmd = HETMIG_CMD_GET_VERSION,
		.doit = hetmig_get_version_doit,
		.policy = get_version_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_GET_REGS,
		.start = hetmig_get_regs_start,
		.dumpit = hetmig_get_regs_dumpit,
		.policy = pid_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_GET_MM,
		.doit = hetmig_get_mm_doit,
		.policy = pid_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_GET_VMAS,
		.dumpit = hetmig_get_vmas_dumpit,
		.policy = pid_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_GET_SIGNALS,
		.doit = hetmig_get_signals_doit,
		.policy = pid_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_FREEZE,
		.doit = hetmig_freeze_doit,
		.policy = pid_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_THAW,
		.doit = hetmig_thaw_doit,
		.policy = pid_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_RESTORE_MM,
		.doit = hetmig_restore_mm_doit,
		.policy = hetmig_restore_mm_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_WRITE_PAGES,
		.doit = hetmig_write_pages_doit,
		.policy = hetmig_write_pages_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_SET_THREAD,
		.doit = hetmig_set_thread_doit,
		.policy = hetmig_set_thread_policy,
		.maxattr = HETMIG_A_MAX,
	},
	{
		.cmd = HETMIG_CMD_SAVE_PAGES,
		.doit = hetmig_save_pages_doit,
		.policy = hetmig_save_pages_policy,
		.maxattr = HETMIG_A_MAX,
	},
};

static const struct genl_multicast_group hetmig_mcgrps[] = {
	[HETMIG_MCGRP_EVENTS_ID] = { .name = HETMIG_MCGRP_EVENTS },
};

struct genl_family hetmig_genl_family __ro_after_init = {
	.name = HETMIG_GENL_NAME,
	.version = HETMIG_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = hetmig_genl_ops,
	.n_ops = ARRAY_SIZE(hetmig_genl_ops),
	.mcgrps = hetmig_mcgrps,
	.n_mcgrps = ARRAY_SIZE(hetmig_mcgrps),
	.netnsok = true,
};

int __init hetmig_genl_init(void)
{
	return genl_register_family(&hetmig_genl_family);
}

void hetmig_genl_uninit(void)
{
	genl_unregister_family(&hetmig_genl_family);
}

MODULE_ALIAS_GENL_FAMILY(HETMIG_GENL_NAME);

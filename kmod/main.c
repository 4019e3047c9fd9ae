// SPDX-License-Identifier: GPL-2.0
/*
 * hetmig.ko: freeze, export and rebuild Linux processes for migration
 * between machines of the same or of a different instruction set.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "freeze.h"
#include "hetmig.h"
#include "netlink.h"

/*
 * The family registers last and goes first, but after the freezes end, so
 * that their holders hear of it.
 */
static int __init hetmig_init(void)
{
	int ret;

	ret = hetmig_freeze_init();
	if (ret)
		return ret;
	ret = hetmig_genl_init();
	if (ret)
		goto err_freeze;

	pr_info("version %s loaded\n", HETMIG_MODULE_VERSION);
	return 0;

err_freeze:
	hetmig_freeze_uninit();
	return ret;
}

static void __exit hetmig_exit(void)
{
	hetmig_freeze_uninit();
	hetmig_genl_uninit();
}

module_init(hetmig_init);
module_exit(hetmig_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Process migration across machines and instruction sets");
MODULE_AUTHOR("The hetmig developers");
MODULE_VERSION(HETMIG_MODULE_VERSION);

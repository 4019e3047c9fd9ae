// SPDX-License-Identifier: GPL-2.0
/*
 * hetmig.ko: freeze, export and rebuild Linux processes for migration
 * between machines of the same or of a different instruction set.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/utsname.h>

#include "freeze.h"
#include "hetmig.h"
#include "netlink.h"

/*
 * The kernel series hetmig.ko is built and tested for, as "MAJOR.MINOR"
 * (Documentation/testbed.md, "Kernel series"). On another one it may
 * build and still misbehave: it is refused unless allow_unsupported is set.
 */
#define HETMIG_SERIES "6.1, 6.12"

static bool allow_unsupported;
module_param(allow_unsupported, bool, 0444);
MODULE_PARM_DESC(allow_unsupported,
		 "load on a kernel series other than " HETMIG_SERIES ", at your own risk");

static char *test_release;
module_param(test_release, charp, 0444);
MODULE_PARM_DESC(test_release,
		 "check this kernel release too, as if it were the running one (for tests)");

/* RELEASE (e.g. "6.12.95+deb12-amd64") is of a series in HETMIG_SERIES. */
static bool __init hetmig_series_supported(const char *release)
{
	const char *series = HETMIG_SERIES;

	while (*series) {
		size_t len = strcspn(series, ",");

		if (!strncmp(release, series, len) && !isdigit(release[len]))
			return true;
		series += len;
		series += strspn(series, ", ");
	}
	return false;
}

static int __init hetmig_check_series(const char *release)
{
	if (hetmig_series_supported(release))
		return 0;
	if (!allow_unsupported) {
		pr_err("kernel %s is of no supported series (%s): not loaded; load with allow_unsupported=1 to use it anyway, at your own risk\n",
		       release, HETMIG_SERIES);
		return -EOPNOTSUPP;
	}
	pr_warn("kernel %s is of no supported series (%s): loaded anyway (allow_unsupported=1), at your own risk\n",
		release, HETMIG_SERIES);
	return 0;
}

/*
 * The family registers last and goes first, but after the freezes end, so
 * that their holders hear of it.
 */
static int __init hetmig_init(void)
{
	int ret;

	/* test_release can refuse a load, never allow one. */
	ret = hetmig_check_series(init_utsname()->release);
	if (!ret && test_release)
		ret = hetmig_check_series(test_release);
	if (ret)
		return ret;
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

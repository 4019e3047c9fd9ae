/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_KMOD_H
#define _HETMIG_KMOD_H

#include <linux/hetmig.h>

#define HETMIG_MODULE_VERSION "0.1.0"

#if defined(CONFIG_X86_64)
#define HETMIG_THIS_ARCH HETMIG_ARCH_X86_64
#elif defined(CONFIG_ARM64)
#define HETMIG_THIS_ARCH HETMIG_ARCH_AARCH64
#else
#error "hetmig supports x86_64 and arm64 only"
#endif

#endif /* _HETMIG_KMOD_H */

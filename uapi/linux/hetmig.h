/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * hetmig: process migration between Linux machines, across x86_64 and aarch64.
 *
 * This header is the specification of the "hetmig" generic netlink family
 * that hetmig.ko registers. Kernel and user space both include it.
 *
 * Conventions
 * -----------
 * - The family name is HETMIG_GENL_NAME; resolve its id through the generic
 *   netlink controller. HETMIG_GENL_VERSION is put in genlmsghdr.version of
 *   every message; the kernel answers with the same value.
 * - Attribute numbering starts at 1 and numbers are never reused; a new
 *   attribute is appended before __HETMIG_A_LAST.
 * - Requests are strictly validated: an attribute the command does not take,
 *   an attribute of the wrong length, or an unknown attribute type makes the
 *   request fail with -EINVAL. The extended ACK (NLMSGERR_ATTR_MSG, and
 *   NLMSGERR_ATTR_OFFS for the attribute at fault) says what was wrong; ask
 *   for it with NETLINK_EXT_ACK.
 * - Integers are in host byte order: a message never leaves the machine.
 *
 * Commands
 * --------
 * HETMIG_CMD_GET_VERSION: what module answers and on which kernel.
 *   Permission: none; any user may ask.
 *   Request:
 *     [HETMIG_A_PROTO_VERSION]     u32, optional: the protocol version the
 *                                  caller speaks. If present and not equal
 *                                  to HETMIG_PROTO_VERSION the request fails
 *                                  with -EPROTO and an extack message.
 *   Reply (a HETMIG_CMD_GET_VERSION message):
 *     HETMIG_A_PROTO_VERSION       u32: HETMIG_PROTO_VERSION of the module
 *     HETMIG_A_MODULE_VERSION      string: the module's release, e.g. "0.1.0"
 *     HETMIG_A_ARCH                u32: enum hetmig_arch of the kernel
 *     HETMIG_A_KERNEL_RELEASE      string: utsname release, e.g. "6.1.0-56-arm64"
 *     HETMIG_A_PAGE_SIZE           u32: the kernel's page size in bytes
 */
#ifndef _UAPI_LINUX_HETMIG_H
#define _UAPI_LINUX_HETMIG_H

#define HETMIG_GENL_NAME	"hetmig"
#define HETMIG_GENL_VERSION	1

/*
 * The protocol spoken over the family. It changes only when a command's
 * meaning changes incompatibly; new commands and attributes do not change it.
 */
#define HETMIG_PROTO_VERSION	1

/*
 * Instruction set architectures. The values appear in netlink replies and in
 * migration images, so they are fixed forever.
 */
enum hetmig_arch {
	HETMIG_ARCH_X86_64 = 1,
	HETMIG_ARCH_AARCH64 = 2,
};

enum hetmig_cmd {
	HETMIG_CMD_GET_VERSION = 1,

	__HETMIG_CMD_LAST
};

#define HETMIG_CMD_MAX (__HETMIG_CMD_LAST - 1)

enum hetmig_attr {
	HETMIG_A_PROTO_VERSION = 1,	/* u32 */
	HETMIG_A_MODULE_VERSION,	/* NUL-terminated string */
	HETMIG_A_ARCH,			/* u32, enum hetmig_arch */
	HETMIG_A_KERNEL_RELEASE,	/* NUL-terminated string */
	HETMIG_A_PAGE_SIZE,		/* u32 */

	__HETMIG_A_LAST
};

#define HETMIG_A_MAX (__HETMIG_A_LAST - 1)

#endif /* _UAPI_LINUX_HETMIG_H */

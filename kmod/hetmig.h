/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HETMIG_KMOD_H
#define _HETMIG_KMOD_H

#define HETMIG_MODULE_VERSION "0.1.0"

#endif /* _HETMIG_KMOD_H */

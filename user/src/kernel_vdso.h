// SPDX-License-Identifier: GPL-2.0
// The kernel's vdso: which one this machine has, which one an image's
// process had, and whether a process can run under this one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "error.h"
#include "image.h"

namespace hetmig {

// A kernel's vdso as a move within one ISA compares it. The process keeps
// pointers into its vdso (libc caches its entry points, a stack may hold
// return addresses into it), and the destination's own vdso and vvar take
// its place at the same addresses, so it runs on only where they are the
// same bytes and sizes: the same kernel build. RELEASE (uname -r) is for
// messages; equal releases with other bytes are another build.
struct KernelVdso {
	std::string release;
	uint64_t vdso_size = 0, vvar_size = 0;
	std::string digest;	// BLAKE2b of the vdso's bytes, hex (memory_digest)
};

// This kernel's, from our own [vdso] and [vvar]: one kernel maps the same
// vdso into every 64-bit process, so it is also that of any process here
// hetmig can move (capture records the process's own the same way).
Result<KernelVdso> this_kernel_vdso();
// The source kernel's, as IMG recorded it.
KernelVdso kernel_vdso_of(const Image &img);
// A process that had SOURCE's vdso can run under HERE's; if not, EXDEV
// and a message naming both kernels' releases.
Result<void> check_same_vdso(const KernelVdso &source, const KernelVdso &here);
// Msg::kKernel's payload (channel.h): "DIGEST VDSO_SIZE VVAR_SIZE RELEASE",
// the release last as it is the one free-form field.
std::string kernel_vdso_text(const KernelVdso &k);
Result<KernelVdso> parse_kernel_vdso(const std::string &text);

// An address range of ours.
struct Region {
	uint64_t start = 0, end = 0;
};

// Our own [vdso] and [vvar], from /proc/self/maps (a rebuilt child moves
// them to where its image had them).
Result<std::pair<Region, Region>> own_vdso();

} // namespace hetmig

// SPDX-License-Identifier: GPL-2.0
// What a process told the kernel about its mappings with madvise(2) and
// mlock(2): capture and rebuild side by side.
//
// Captured by hetmig.ko with the mappings (HETMIG_VMA_F_* of GET_VMAS:
// locked, dontfork, seq-read, rand-read, dontdump, mergeable, hugepage,
// nohugepage, wipeonfork, and noreserve, which is mmap(2)'s). RESTORE_MM
// maps MAP_NORESERVE again itself (kMapFlags); the rest is set again by
// restore_advice, through calls the process makes for us once its memory
// is in place: madvise for each piece of advice, mlock for a locked
// mapping (under the image's RLIMIT_MEMLOCK, as on the source).
#pragma once

#include <cstdint>
#include <linux/hetmig.h>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig {

// The HETMIG_VMA_F_* bits RESTORE_MM takes.
inline constexpr uint32_t kMapFlags =
	HETMIG_VMA_F_MAYSHARE | HETMIG_VMA_F_GROWSDOWN | HETMIG_VMA_F_NORESERVE;

// PID (rebuilt, stopped, traced by us) advises and locks its mappings as
// IMG says; an error names the mapping and the call.
Result<void> restore_advice(pid_t pid, const Image &img);

} // namespace hetmig

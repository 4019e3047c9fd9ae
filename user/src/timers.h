// SPDX-License-Identifier: GPL-2.0
// The process's timers: interval timers (setitimer(2)), POSIX timers
// (timer_create(2)) and the main thread's timer slack. Only the process can
// read them of itself, so the dump has its stopped main thread make the
// calls (inject.h); the restore's child, which becomes the process and
// keeps its timers through RESTORE_MM, sets them up for itself.
#pragma once

#include <string>
#include <span>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig {

// The POSIX timers /proc/PID/timers lists (TEXT: its contents), without
// their times. TIDS: the process's threads, in Image::threads order (none:
// the main thread alone); a timer that signals one of them names it by its
// index. Timers that cannot be carried are refused, naming why.
Result<std::vector<PosixTimer>> parse_proc_timers(const std::string &text, pid_t pid,
						  std::span<const uint32_t> tids = {});

// PID's timers; its main thread is in a ptrace stop of ours. TIDS as above.
Result<Timers> capture_timers(pid_t pid, std::span<const uint32_t> tids = {});

// Creates and arms the timers in the calling process, each POSIX timer
// with its id. The times left run from now. Nothing else may have created
// a POSIX timer in this process before. TIDS: its threads here, in
// Image::threads order (a timer for thread K signals TIDS[K]; none: the
// caller alone).
Result<void> restore_timers(const Timers &timers, std::span<const pid_t> tids = {});

} // namespace hetmig

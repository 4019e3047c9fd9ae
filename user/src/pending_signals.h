// SPDX-License-Identifier: GPL-2.0
// Signals sent to the process and not yet taken: each thread's own queue
// (tgkill, pthread_kill, a fault) and the process's shared one (kill,
// sigqueue, timers), standard and real-time, each entry with its siginfo.
// Capture and rebuild side by side.
//
// Captured with PTRACE_PEEKSIGINFO, which reads a stopped tracee's queues
// without taking anything off them; a signal the kernel marked pending
// without an entry (one sent while its queue was full) is recorded as the
// kernel would deliver it, SI_USER with no sender. SIGKILL and SIGSTOP are
// not recorded: a SIGKILL ends the process anyway, and a SIGSTOP sent
// while it was frozen is not carried (restrictions.md).
//
// Rebuilt by the restored threads themselves: the kernel takes any siginfo
// (si_code >= 0, as the kernel's own or kill's, and SI_TKILL included)
// only from the thread it is queued to, rt_tgsigqueueinfo from the thread
// its own, rt_sigqueueinfo for the shared queue from the main thread (whose
// id is the process's). So once the threads have their state, the
// restorer has each stopped thread make those calls (inject.h), every
// signal blocked meanwhile, in the order the queues held them; delivery
// then follows the kernel's rules as it would have on the source. Signal
// numbers and siginfo layouts are one on x86_64 and arm64.
#pragma once

#include <sys/types.h>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig {

// QUEUE (a thread's or the process's) with SIGKILL and SIGSTOP left out,
// and an entry for every signal of PENDING (bit N - 1 for signal N) that
// has none: SI_USER with no sender, as the kernel delivers such a signal.
std::vector<SigInfo> completed(std::vector<SigInfo> queue, uint64_t pending);

// The pending signals of PID, whose threads THREADS are in ptrace stops of
// ours.
Result<PendingSignals> capture_pending_signals(pid_t pid, const std::vector<ThreadState> &threads);

// Queues the image's pending signals in the rebuilt process PID, whose
// threads TIDS (in the image's thread order) are stopped and traced by us
// and have their registers.
Result<void> queue_pending_signals(pid_t pid, const std::vector<pid_t> &tids, const Image &img);

} // namespace hetmig

// SPDX-License-Identifier: GPL-2.0
// A process's capabilities and its no_new_privs flag: a daemon that runs
// as root with some capabilities dropped (or none but one), a sandbox that
// set no_new_privs so that no exec gives it more. Capture and restore side
// by side.
//
// Captured from /proc/PID/status (CapInh, CapPrm, CapEff, CapBnd, CapAmb,
// NoNewPrivs), which every thread must agree on: they are per thread, and
// a process whose threads differ is refused. Restored by each stopped
// thread of the rebuilt process itself, through injected calls (a thread
// can set only its own): the bounding set's drops (PR_CAPBSET_DROP) while
// it may, then capset, then the ambient set, then no_new_privs; /proc must
// then show every set as it was, or the restore fails. A root process only:
// a process of another user is rebuilt with its user's ids, which leave it
// none of the capabilities it may have kept (PR_SET_KEEPCAPS), and a
// notice says so. no_new_privs, which needs no privilege, is set for every
// process that had it: a sandbox must not come out of a move with the
// right to gain privileges back.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig {

// The capabilities of PID (stopped: its threads do not change them).
Result<Capabilities> capture_capabilities(pid_t pid);

// Gives the rebuilt process PID (threads TIDS, each stopped and traced by
// us) IMG's capabilities, running here as UID. Nothing for an image without
// them; a notice for what cannot be given.
Result<std::optional<std::string>> restore_capabilities(pid_t pid, const std::vector<pid_t> &tids,
							const Image &img, uid_t uid);

} // namespace hetmig

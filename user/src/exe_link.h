// SPDX-License-Identifier: GPL-2.0
// A restored process's /proc/PID/exe. The kernel points it at the binary
// the restorer was exec'd from (hetmig) and keeps it through RESTORE_MM;
// `ps`, systemd and a program that re-executes /proc/self/exe would see
// the wrong program. Only the process itself can set it again (prctl
// PR_SET_MM_EXE_FILE, with CAP_SYS_RESOURCE, once nothing of the old
// binary is mapped), and no exported kernel symbol lets hetmig.ko do it,
// so the stopped main thread makes the calls for us after RESTORE_MM.
//
// A process that runs as another user has no CAP_SYS_RESOURCE. A root
// restorer gives it the capability for that long the way CRIU's restorer
// does, by setting its credentials last: the rebuilt child switches to
// the process's uid with a saved uid of 0 (its effective capabilities go,
// its permitted ones stay), the main thread takes euid 0 back for the
// prctl, and then every thread drops uid 0 for good, which empties its
// capability sets. Until then it runs none of its own code and is traced
// by us; its saved uid keeps other processes of its user from tracing it.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "credentials.h"
#include "error.h"
#include "image.h"

namespace hetmig {

// Whether the rebuilt child keeps a saved uid of 0 while it takes IDS
// (the restorer is root, the effective uid of IDS is not, and the image
// names its program).
bool exe_link_keeps_saved_root(const Image &img, const IdSet &ids);

// Points PID's exe link at the image's program (img.program.path: the
// source's exe, or the destination's build after a conversion). IDS are
// the ones the process runs as here (the receiver's policy); TIDS are its
// threads, the main thread first, each in a ptrace stop of ours after
// RESTORE_MM. With a saved uid of 0 (exe_link_keeps_saved_root), every
// thread ends with IDS' real, effective, saved and file system uids (and
// no capability unless one of them is 0), or this fails. A link the kernel refuses (a binary missing
// or deleted here, a restorer that is not root) stays hetmig's: the
// notice says why. An error when the threads could not be made to run
// the calls, or did not drop uid 0.
// PDEATHSIG, when not 0, is set again in the main thread after the uid
// changes, which clear it.
Result<std::optional<std::string>> restore_exe_link(pid_t pid, const std::vector<pid_t> &tids,
						    const Image &img, const IdSet &ids, int pdeathsig);

} // namespace hetmig

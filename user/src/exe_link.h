// SPDX-License-Identifier: GPL-2.0
// A restored process's /proc/PID/exe. The kernel points it at the binary
// the restorer was exec'd from (hetmig) and keeps it through RESTORE_MM;
// `ps`, systemd and a program that re-executes /proc/self/exe would see
// the wrong program. Only the process itself can set it again (prctl
// PR_SET_MM_EXE_FILE, with CAP_SYS_RESOURCE, once nothing of the old
// binary is mapped), and no exported kernel symbol lets hetmig.ko do it,
// so the stopped main thread makes the calls for us after RESTORE_MM.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig {

// Points PID's exe link at the image's program (img.program.path: the
// source's exe, or the destination's build after a conversion). UID is
// the one the process runs as here (the receiver's policy). PID's
// main thread must be in a ptrace stop of ours, after RESTORE_MM. A link
// the kernel refuses (a process not running as root, a binary missing or
// deleted here) stays hetmig's: the notice says why. An error only when
// the thread could not be made to run the calls.
Result<std::optional<std::string>> restore_exe_link(pid_t pid, const Image &img, uid_t uid);

} // namespace hetmig

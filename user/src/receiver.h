// SPDX-License-Identifier: GPL-2.0
// The receiving side of a move (`hetmig recv`), as the steps it goes
// through, the sender's (sender.h) seen from here: handshake (the
// program's build or the kernel's vdso checked before the source is
// touched), pre-copy rounds (--live), the image's metadata, the rebuild
// (each page record written into the process as it arrives), ready,
// commit. A failure before READY is told to the sender in one place with
// its reason; the process being rebuilt, stopped and traced by us, is
// discarded on any failure before the commit. cmd_recv.cpp only parses the
// options and accepts connections.
#pragma once

#include <sys/types.h>

#include "channel.h"
#include "error.h"
#include "rebuild.h"

namespace hetmig {

// One move over the accepted connection FD: the new pid once it runs here.
Result<pid_t> receive_process(int fd, const Key &key, const RestorePolicy &policy,
			      int timeout_s);

} // namespace hetmig

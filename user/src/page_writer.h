// SPDX-License-Identifier: GPL-2.0
// An image's pages written into the process rebuilt from it.
#pragma once

#include <sys/types.h>
#include <vector>

#include "error.h"
#include "genl.h"
#include "image.h"

namespace hetmig {

// The image's pages into the rebuilt process. Shared memory goes into its
// memfd; private anonymous memory, nearly all of a process's, through UFFD
// (the process's userfaultfd, -1 for none: anon_fill.h), which allocates
// each page and copies into it once; what is left, process_vm_writev
// where the mapping is writable, else WRITE_PAGES (read-only mappings, as
// ptrace's POKE would: hetmig.ko copies into a buffer of its own and then
// into the target with access_process_vm).
Result<void> write_pages(GenlClient &client, pid_t pid, const Image &img,
			 const std::vector<int> &shm, int uffd);

} // namespace hetmig

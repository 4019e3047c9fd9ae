// SPDX-License-Identifier: GPL-2.0
// Capturing a stopped process into an Image: the state hetmig.ko exports,
// the pages /proc/PID/pagemap says hold something, and what /proc tells of
// files, working directory and credentials. A process using something the
// restore cannot rebuild is refused here, before anything is lost.
#pragma once

#include <span>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "fds/tcp.h"
#include "genl.h"
#include "image.h"

namespace hetmig {

// PID must be stopped by this process (a Seizure) and frozen. The page
// runs are listed, not read: a MemoryReader reads them while the image is
// written, and the process must stay stopped until then. TREE: the
// processes that move with it (tree.h), PID among them; its shared memory
// is left to capture_tree (its mappings listed, their pages not). REPAIR
// holds its TCP connections in repair mode until the move ends (without
// one they are refused).
Result<Image> capture(GenlClient &client, pid_t pid, std::span<const pid_t> tree = {},
		      fds::TcpRepair *repair = nullptr);

// The open files of PID (stopped by us) into IMG's files and pipes, or why
// one cannot be carried. Part of capture; needs no hetmig.ko.
// Whether PID (stopped, its main thread in a ptrace stop of ours) is a
// child subreaper, which only the process can ask of itself.
Result<bool> child_subreaper_of(pid_t pid);

// Refuses PID when its root directory is not the file system's (chroot):
// not carried, and a process restored without it would see everything.
Result<void> check_root(pid_t pid);

Result<void> capture_files(pid_t pid, Image &img, std::span<const pid_t> tree = {},
			   fds::TcpRepair *repair = nullptr);

// A mapping of shared memory that capture_tree carries: MAP_SHARED
// anonymous memory, shared /dev/zero, a memfd (the kernel's internal tmpfs).
bool is_shared_memory(const Mapping &m);

// /proc/PID/mem, for WriteOptions::reader.
class MemoryReader {
public:
	static Result<MemoryReader> open(pid_t pid);
	MemoryReader(MemoryReader &&o) noexcept : fd_(o.fd_), pid_(o.pid_) { o.fd_ = -1; }
	MemoryReader &operator=(MemoryReader &&) = delete;
	~MemoryReader();
	PageReader reader() const;

private:
	MemoryReader(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
	int fd_;
	pid_t pid_;
};

// /proc/PID/mem of each of PIDS (a tree's, its root first), with OPTS's
// readers set to them: reader the root's, member_readers the others'.
Result<std::vector<MemoryReader>> open_tree_memory(std::span<const pid_t> pids,
						   WriteOptions &opts);

// A file's modification time in nanoseconds, as images record it.
int64_t mtime_ns(const struct stat &st);

// BLAKE2b of [ADDR, ADDR + LEN) of PID's memory, hex; for the vdso check.
Result<std::string> memory_digest(pid_t pid, uint64_t addr, uint64_t len);

} // namespace hetmig

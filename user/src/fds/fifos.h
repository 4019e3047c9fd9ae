// SPDX-License-Identifier: GPL-2.0
// Named pipes (FIFOs): the control FIFO a daemon reads commands from, a
// FIFO between two processes of a tree. Capture and rebuild side by side.
//
// A FIFO is a file of the file system and is opened again by its path,
// which must name a FIFO on the destination (same host: the same one).
// Whoever opens it shares one buffer, so its bytes are carried once: by the
// process of the tree with the lowest pid that holds it, read without
// taking them (tee from a read-only open of our own). Refused: a FIFO that
// a process which is not moved holds too (both would share one buffer,
// the bytes would be there twice) and one whose
// FIFO here holds bytes already (another process has it open). One that
// was deleted is a ghost (ghost_files.h).
//
// Rebuilt with a keeper: the FIFO opened non-blocking for reading and
// writing (which never waits for the other side, and counts as both), so
// that each fd opens with its own flags without blocking; the carried
// bytes written through it; the keeper closed once the process's fds are
// in place. Each fd is opened by path as the process, so the file's
// permissions are asked as they were on the source.
#pragma once

#include <map>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "image.h"

namespace hetmig::fds {

// The capacity and bytes of the FIFO at PID's fd FD (PATH its name), read
// without taking them from a non-blocking read-only open of our own (a
// FIFO's buffer is the inode's: every open of it sees the same), which
// never waits for a writer.
Result<FifoState> capture_fifo(pid_t pid, int fd, const std::string &path);

// After describe_fd marked FILES' FIFOs (OpenFile::fifo): refuses one a
// process outside TREE holds, and appends to FIFOS the state of each that
// PID (stopped, traced by us) carries: the lowest pid of PID and TREE's
// processes holding it.
Result<void> capture_fifos(pid_t pid, const std::vector<OpenFile> &files,
			   std::vector<FifoState> &fifos, std::span<const pid_t> tree = {});

// What is wrong with IMG's FIFOs (read_image's check), or nothing.
std::optional<std::string> fifos_problem(const std::vector<OpenFile> &files,
					 const std::vector<FifoState> &fifos);

// Before anything is made: F's path names a FIFO here.
Result<void> check_fifo_here(const OpenFile &f);

// The restore's side, in the process being rebuilt (or the restorer, for
// a FIFO the tree's processes share): keeps one keeper per FIFO path,
// above every fd number the image uses (ABOVE and up), until it goes.
class FifoOpener {
public:
	explicit FifoOpener(int above) : above_(above) {}

	// Writes each of FIFOS' bytes into its FIFO here, with its capacity;
	// each must be empty here.
	Result<void> fill(const std::vector<FifoState> &fifos);

	// A new descriptor (the lowest free number) of F's FIFO with F's
	// flags.
	Result<int> open_end(const OpenFile &f);

private:
	Result<int> keeper(const std::string &path);

	int above_;
	std::map<std::string, UniqueFd> keepers_;
};

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
// Pipes whose ends are all in the process: the self-pipe a daemon wakes
// its own event loop with, with what was written to it and not yet read.
// Capture and rebuild side by side.
//
// Captured: which fds are its read and write ends (the fdinfo flags'
// access mode; dups share an end), its capacity (F_GETPIPE_SZ) and its
// buffered bytes, read without consuming them: tee(2) from our copy of a
// read end (pidfd_getfd) into a pipe of our own. Rebuilt: pipe2, the same
// capacity, the bytes written back, each end put at its fds with its
// flags. A pipe one of whose ends no process holds any more (a reader
// waiting for EOF, a writer whose reader exited) is carried with that end
// closed, as the kernel's own counts say it is (poll), not /proc, which
// shows a dumper only what it may look into. A pipe that leads out of the
// process (to a process left behind) cannot be carried: as a standard stream it becomes the receiver's, like
// a terminal; at any other fd the dump is refused, naming the pipe and the
// process at its other end when one is found. A pipe between processes of
// one tree is the tree's (fds/tree_files.h).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "image.h"

namespace hetmig::fds {

// N of a "pipe:[N]" link (/proc/PID/fd/FD), or 0 for anything else.
uint64_t pipe_inode(const std::string &link);

// Decides about every pipe end among FILES (those with OpenFile::pipe, in
// fd order), and appends the state of each pipe that is carried to PIPES:
// both its ends in the process, or one and the other closed everywhere.
// PID is stopped and traced by us. A pipe another process of TREE holds
// too (and none outside it) is left as it is, for capture_tree_files.
// OURS: the ends in flight among FILES (OpenFile::in_flight), by number,
// each our descriptor of it (fds/in_flight.h).
Result<void> capture_pipes(pid_t pid, std::vector<OpenFile> &files,
			   std::vector<PipeState> &pipes, std::span<const pid_t> tree = {},
			   const std::map<int, int> &ours = {});

// The state of pipe:[INODE], whose read end PID (stopped, traced by us)
// has at FD: its capacity and the bytes in it, left where they are. FD
// may be a write end whose read end is closed everywhere: no bytes then.
Result<PipeState> capture_pipe(pid_t pid, int fd, uint64_t inode,
			       const std::map<int, int> &ours = {});

// The bytes queued in the pipe (or FIFO) FD reads from, left where they
// are; CAPACITY is its F_GETPIPE_SZ, NAME names it in errors.
Result<std::vector<uint8_t>> peek_pipe(int fd, uint32_t capacity, const std::string &name);

// Whether the other end of the pipe whose end PID has at FD (a read end
// when READING) is closed in every process.
Result<bool> other_end_closed(pid_t pid, int fd, bool reading,
			      const std::map<int, int> &ours = {});

// The restore's side, in the process being rebuilt: makes each pipe the
// first time one of its ends is asked for, and keeps both ends above
// every fd number the image uses (ABOVE and up) until it goes.
class PipeMaker {
public:
	PipeMaker(const std::vector<PipeState> &pipes, int above)
		: pipes_(pipes), above_(above) {}

	// A new descriptor (the lowest free number) of F's end of its pipe,
	// with F's flags (O_NONBLOCK, O_CLOEXEC): the first of each end is
	// that end's pipe2 description, one more that is no dup of it a
	// description of its own, as opening /proc/PID/fd/N made it.
	Result<int> open_end(const OpenFile &f);

private:
	struct Made {
		UniqueFd read, write;
		bool read_given = false, write_given = false;
	};
	Result<Made *> make(uint64_t inode);

	const std::vector<PipeState> &pipes_;
	int above_;
	std::map<uint64_t, Made> made_;
};

} // namespace hetmig::fds

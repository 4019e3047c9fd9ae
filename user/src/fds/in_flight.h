// SPDX-License-Identifier: GPL-2.0
// Descriptors in flight: files sent with SCM_RIGHTS over a unix socket of
// the process and not received yet, the way a daemon hands a connection
// or a pipe to a worker. Capture and rebuild side by side.
//
// Captured: every unix socket's queue is peeked (MSG_PEEK on our copy of
// it, fds/unix_pairs.h's peek_queue), which installs the descriptors in
// flight in us. Each is then one of the process's own files, found by
// kcmp(KCMP_FILE) and carried as that fd's number, or a pipe end no fd
// holds (the sender closed it), carried as a file of the image at a number
// the process does not use (OpenFile::in_flight) with its pipe, whose
// bytes fds/pipes.h reads through our copy. Each message's list of
// numbers goes with it in the image (UnixPair::End::rights,
// UnixSocket::rights). Refused, naming the socket: any other file in
// flight (a socket, a regular file, an eventfd no fd holds: each would
// need its own capture here), descriptors in flight on a stream socket
// (the kernel splits a stream's bytes at each message with files, which
// one message per stream in the image cannot keep), and in a socket
// between processes of a tree. Credentials (SCM_CREDENTIALS) are not
// carried, as for any message.
//
// Rebuilt: the messages of a queue with descriptors in flight are left out
// when its socket is made, and sent once every fd of the process is in
// place (send_in_flight), in order, each with SCM_RIGHTS of its fds, from
// the socket's peer (or the sender named in the image); then the numbers
// that held only files in flight are closed.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "image.h"

namespace hetmig::fds {

// What the dump found in flight in PID's sockets.
struct InFlight {
	// Per socket inode: for each queued message, the fd numbers of its
	// descriptors in flight (empty lists for messages without).
	std::map<uint64_t, std::vector<std::vector<int>>> rights;
	// Our descriptors of the files in flight no fd holds, by the number
	// they were given in the image (OpenFile::in_flight).
	std::map<int, UniqueFd> ours;

	// OURS as numbers to descriptors, for capture_pipes.
	std::map<int, int> numbers() const;
};

// Peeks every unix socket among FILES (PID's, stopped and traced by us,
// in fd order), appends a file for each one in flight that no fd holds
// to FILES, and records what each message carries in FOUND. TREE: the
// processes moving with PID; a socket one of them holds too is left to
// the tree's capture, which refuses what it carries.
Result<void> capture_in_flight(pid_t pid, std::vector<OpenFile> &files, InFlight &found,
			       std::span<const pid_t> tree = {});

// Puts FOUND's lists with the messages of PAIRS and SOCKETS (captured
// after), checking that each queue has the messages it had.
// A file in flight that is a standard stream of FILES left to the receiver
// is refused.
Result<void> attach_in_flight(const InFlight &found, const std::vector<OpenFile> &files,
			      std::vector<UnixPair> &pairs, std::vector<UnixSocket> &sockets);

// In the process being rebuilt, every fd in place: sends the messages that
// carry descriptors (left out when their sockets were made), then closes
// the numbers that held files in flight only.
Result<void> send_in_flight(const std::vector<OpenFile> &files,
			    const std::vector<UnixPair> &pairs,
			    const std::vector<UnixSocket> &sockets);

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
// Unix socket pairs whose both ends are in the process (socketpair(2)):
// a daemon's channel between its threads, with what each end has yet to
// read. Capture and rebuild side by side.
//
// Captured: each socket's peer from the kernel's socket diagnostics
// (NETLINK_SOCK_DIAG, unix_diag: the same lookup `ss -x` makes), its type
// and send buffer, and the messages queued to each end, read without
// taking them: MSG_PEEK on our copy of the end (pidfd_getfd), moved along
// the queue by a peek offset (SO_PEEK_OFF) that is put back as it was. A
// stream's bytes are one message; datagrams keep their boundaries.
// Sockets with a name, listening, shut down, with a closed peer, or of
// sequenced packets are fds/unix_sockets.h's, which takes them first.
// Refused, naming the fd: a socket that is not AF_UNIX, one whose peer is
// not in the process (at fd 0-2 it is a standard stream the receiver
// provides, as before), a message with descriptors in flight
// (SCM_RIGHTS), and an empty datagram (a peek cannot step past it); in a
// tree, a socket with a name or shut down that two of its processes hold.
// Credentials that went with a message (SO_PASSCRED) are not carried.
//
// Rebuilt: socketpair, each end's send buffer, and each end's messages
// written into it through its peer, in order. A pair with an end in
// another process of the same tree is the tree's (fds/tree_files.h),
// captured and made by the same functions.
#pragma once

#include <array>
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

// N of a "socket:[N]" link, or 0 for anything else.
uint64_t socket_inode(const std::string &link);

// Decides about every socket among FILES (those with
// OpenFile::unix_socket, in fd order), and appends each pair that is
// carried to PAIRS. PID is stopped and traced by us. A pair an end of
// which another process of TREE holds (and none outside it) is left as it
// is, for capture_tree_files. The sockets TAKEN (capture_unix_sockets's)
// are left alone.
Result<void> capture_unix_pairs(pid_t pid, std::vector<OpenFile> &files,
				std::vector<UnixPair> &pairs, std::span<const pid_t> tree = {},
				std::span<const uint64_t> taken = {});

// What unix_diag (NETLINK_SOCK_DIAG) says of one unix socket.
struct UnixDiag {
	int type = 0, state = 0;	// SOCK_*; 10 listening, 1 connected, 7 neither
	uint64_t peer = 0;		// 0: none, or closed
	bool named = false;
	std::string name;		// sun_path as bound (a path's NUL included)
	int shutdown = 0;		// RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2
	bool has_vfs = false;		// a path's file: inode, device (the kernel's dev_t)
	uint32_t vfs_ino = 0, vfs_dev = 0;
	// Listening: connections not accepted yet, and the backlog; otherwise
	// the bytes queued to read and to send.
	uint32_t rqueue = 0, wqueue = 0;
	// Listening: the clients of the connections not accepted yet, in order
	// (0: a client whose socket is gone).
	std::vector<uint64_t> icons;
};
Result<UnixDiag> unix_diag(uint64_t inode);

// The messages queued to the socket FD reads from, left where they are
// (MSG_PEEK); with SENDERS, each one's sender's address too (sun_path).
// With RIGHTS, each datagram's descriptors in flight (SCM_RIGHTS), as the
// peek installed them in us; without, a message with any refuses, as does
// a stream's. NAME names the socket in errors.
Result<std::vector<std::vector<uint8_t>>> peek_queue(int fd, int type, const std::string &name,
						     std::vector<std::string> *senders = nullptr,
						     std::vector<std::vector<UniqueFd>> *rights =
							     nullptr);

// An end of a pair: socket:[INODE], which PID (stopped, traced by us)
// holds at FD.
struct SocketEnd {
	uint64_t inode = 0;
	pid_t pid = 0;
	int fd = -1;
};

// The pair of ENDS, of TYPE (SOCK_STREAM or SOCK_DGRAM): each end's send
// buffer and the messages queued to it, left where they are. IN_FLIGHT:
// descriptors in flight with them are taken (fds/in_flight.h fills in
// their numbers), else refused.
Result<UnixPair> capture_pair(int type, const std::array<SocketEnd, 2> &ends,
			      bool in_flight = false);

// For the descriptors in flight RIGHTS that peek_queue gave, one list of
// -1s per message, as many as it carries, for attach_in_flight to fill in;
// none when no message carries any.
std::vector<std::vector<int>> rights_placeholders(const std::vector<std::vector<UniqueFd>> &rights);

// The type of unix socket INODE and its peer's inode (0: none), from
// unix_diag.
Result<std::pair<int, uint64_t>> unix_peer(uint64_t inode);

// The restore's side: makes each pair the first time one of its ends is
// asked for, its ends kept at ABOVE and up until it goes.
class UnixPairMaker {
public:
	UnixPairMaker(const std::vector<UnixPair> &pairs, int above)
		: pairs_(pairs), above_(above) {}

	// A new descriptor (the lowest free number) of F's end, with F's
	// flags (O_NONBLOCK, O_CLOEXEC).
	Result<int> open_end(const OpenFile &f);

private:
	const std::vector<UnixPair> &pairs_;
	int above_;
	std::map<uint64_t, UniqueFd> made_;	// by inode
};

} // namespace hetmig::fds

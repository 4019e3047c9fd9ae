// SPDX-License-Identifier: GPL-2.0
// Unix sockets that are no plain socket pair (unix_pairs.h): a daemon's
// listening socket at /run/foo.sock or at an abstract name, a bound
// datagram socket with its queue, the connections a listener of the
// process accepted from clients of the process, sockets shut down in a
// direction, and sockets whose peer closed with bytes still to read.
// Capture and rebuild side by side.
//
// Captured, the process frozen: each socket's type, state, name, peer,
// shutdown and backlog from the kernel's socket diagnostics (unix_diag,
// which `ss -x` reads), and its queue read without taking it (MSG_PEEK, as
// unix_pairs.h does), with each datagram's sender. A path's file: its mode
// and owner, and whether it is the socket's still (UNIX_DIAG_VFS against
// stat): one unlinked or replaced since is `deleted`; a relative name is
// looked for from the process's working directory.
// Left to unix_pairs.h, which carries or names them: unnamed pairs with
// both ends in the process, sockets whose peer is outside it (at fd 0-2,
// a standard stream the receiver provides), and sockets of a tree that
// another of its processes holds or is connected to.
// Refused, naming the fd: a listener with connections it has not
// accepted yet (the clients are elsewhere, and the kernel gives no way to
// read what they sent), a datagram socket connected to an unnamed one
// that is connected elsewhere, an empty datagram and descriptors in
// flight (SCM_RIGHTS).
//
// Rebuilt (UnixSocketMaker) before the process's credentials change, with
// the file system access of the user it runs as (setfsuid): first the
// connections: two unnamed ends are a socket pair; otherwise the client
// end is made (bound, if it has a name of its own), a listener of ours is
// bound at the other end's name just long enough to accept it, and what it
// accepts has that name as the source's end had; a socket whose peer had
// closed gets a peer that is closed once the bytes are in. Then the other
// named sockets are bound, listeners listen with their backlog, datagrams
// are sent back to their sockets (from the sender of the image where it
// has a name, else from an unnamed socket), datagram sockets connect to
// their peers' names, deleted paths are unlinked again, and shutdowns are
// made again with shutdown(2). A path is bound only where there is
// nothing, or a socket no one listens on (connect fails with
// ECONNREFUSED: the source's own file, left when it stopped), and its file
// gets the mode and owner it had; a socket someone uses, or any other
// file, fails the restore before anything is committed, with the reason.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "fds/unix_pairs.h"
#include "image.h"

namespace hetmig::fds {

// Decides about every unix socket among FILES (OpenFile::unix_socket):
// those this file carries go into SOCKETS, plain pairs into PAIRS
// (capture_unix_pairs, which also names what is refused). PID is stopped
// and traced by us; TREE as for capture_unix_pairs.
Result<void> capture_unix_sockets(pid_t pid, std::vector<OpenFile> &files,
				  std::vector<UnixPair> &pairs, std::vector<UnixSocket> &sockets,
				  std::span<const pid_t> tree = {});

// Whether the socket INODE that D describes, with P what unix_diag says
// of its peer (none: nullptr), is an end of a plain pair (unix_pairs.h's):
// unnamed, stream or datagram, connected to an unnamed socket connected to
// it, neither shut down.
bool plain_pair(uint64_t inode, const UnixDiag &d, const UnixDiag *p);

// The socket INODE that PID (stopped, traced by us) holds at FD, for a
// tree's shared sockets (tree_files.h); refused, naming FD, where it
// cannot be carried.
Result<UnixSocket> capture_unix_socket(pid_t pid, int fd, uint64_t inode);

// "connected to socket:[N] (/run/x.sock) of process P": the peer of the
// socket D describes, which is not PID's, for refusals.
std::string peer_outside(pid_t pid, const UnixDiag &d, std::span<const pid_t> tree);

// A name as people read it: a path, or "@name" for an abstract one.
std::string printable_name(const std::string &name);

// What is wrong with SOCKETS of a process with FILES (read_image's
// check), or nothing.
std::optional<std::string> unix_sockets_problem(const std::vector<UnixSocket> &sockets,
						const std::vector<OpenFile> &files);

// Whether each name SOCKETS bind is free here, or a stale socket file a
// restore would replace: a listener or any other file at a path, or an
// abstract name taken, is named (a restore's first check).
Result<void> check_unix_names_here(const std::vector<UnixSocket> &sockets);

// Who the sockets' files belong to: the process's user and group on the
// source (IMAGE_*) and here; a file the source's process owned is this
// one's.
struct SocketOwner {
	uid_t image_uid = 0, uid = 0;
	gid_t image_gid = 0, gid = 0;
};

// The restore's side: every socket made at once, kept at ABOVE and up.
class UnixSocketMaker {
public:
	static Result<UnixSocketMaker> make(const std::vector<UnixSocket> &sockets, int above,
					    const SocketOwner &owner);

	bool has(uint64_t inode) const { return made_.contains(inode); }
	// A new descriptor (the lowest free number) of F's socket, with F's
	// flags (O_NONBLOCK, O_CLOEXEC).
	Result<int> take(const OpenFile &f);

private:
	std::map<uint64_t, UniqueFd> made_;	// by inode
};

} // namespace hetmig::fds

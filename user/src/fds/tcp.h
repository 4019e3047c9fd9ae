// SPDX-License-Identifier: GPL-2.0
// TCP sockets (IPv4 and IPv6): listeners, sockets not connected, and
// established connections, the way CRIU carries them (TCP_REPAIR).
// Capture and rebuild side by side.
//
// Captured: the local address and port, a listener's backlog, the common
// options (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE with TCP_KEEPIDLE,
// TCP_KEEPINTVL and TCP_KEEPCNT, TCP_NODELAY, IPV6_V6ONLY, IP_FREEBIND,
// which is set before the bind). An established connection is put in
// repair mode (TCP_REPAIR, which needs CAP_NET_ADMIN) on our copy of it
// while the process is frozen, and read there: its peer,
// the sequence numbers after each queue (TCP_QUEUE_SEQ), the bytes of each
// queue (MSG_PEEK with TCP_REPAIR_QUEUE: the receive queue the process has
// not read, the send queue the peer has not acknowledged, of which
// SIOCOUTQNSD says how much was never sent), the options the handshake
// agreed (MSS, window scale, SACK, timestamps) and the window
// (TCP_REPAIR_WINDOW), and the buffer sizes. It stays in repair mode
// until the move ends (TcpRepair): a move called off takes it out again
// and the process runs on with it as it was; a move that succeeds closes
// it in repair mode once the process is killed, and the kernel then sends
// the peer nothing, neither FIN nor RST.
// Refused, naming the fd: other states (a connection being opened or
// closed), a listener with connections waiting to be accepted, a socket
// another process holds too, and IPv4/IPv6 sockets that are neither TCP
// nor UDP (udp.h: raw, ICMP, UDP-Lite).
//
// Rebuilt (TcpMaker), before the process's credentials change: a listener
// bound and listening again; a connection made in repair mode, bound to
// its local address, its sequence numbers set, connected without a
// handshake, its options and window set and its queues written back (the
// sent part of the send queue in repair mode, which takes it as sent). It
// leaves repair mode when the restorer lets the process run
// (leave_repair), and only then writes the part never sent, as an
// ordinary write that TCP sends: in repair mode it would be taken as sent
// too, and an early write could reach a peer not made again yet.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "fds/inet.h"
#include "image.h"

namespace hetmig::fds {

// Why F's TCP record cannot be made again as it is (so the image is
// corrupted), or nothing; nothing for a file that is no TCP socket.
std::optional<std::string> tcp_problem(const OpenFile &f);

// The send queue as the restore writes it back: the bytes sent and not
// acknowledged (in repair mode), then those never sent (out of it).
struct SendQueueParts {
	std::span<const uint8_t> sent, unsent;
};
SendQueueParts split_send_queue(const TcpConnection &c);

// The sequence numbers where each queue starts: what TCP_QUEUE_SEQ is set
// to before connect().
uint32_t send_queue_start(const TcpConnection &c);
uint32_t recv_queue_start(const TcpConnection &c);

// The connections of a frozen process held in repair mode, and its
// listeners watched, for as long as the move lasts.
class TcpRepair {
public:
	TcpRepair() = default;
	TcpRepair(TcpRepair &&) = default;
	TcpRepair &operator=(TcpRepair &&) = default;
	~TcpRepair() { release(); }

	// Puts the connection COPY is of in repair mode (NAME for messages;
	// REUSEADDR: its SO_REUSEADDR, which leaving repair mode clears).
	// Returns COPY's descriptor, held here from now on.
	Result<int> hold(UniqueFd copy, const std::string &name, bool reuseaddr);
	// The receive sequence number the capture read of the last held.
	void settled(uint32_t recv_seq);
	// Keeps COPY to check at the end that nothing arrived: a listener's
	// accept queue is empty, or (kDatagrams) a UDP socket's queue.
	enum Watch { kAccepts, kDatagrams };
	void watch(UniqueFd copy, const std::string &name, Watch what = kAccepts);

	// Whether every connection is as the capture read it (no byte and no
	// FIN arrived since, which the kernel, still receiving in repair mode,
	// took) and every listener's accept queue empty: else the move must be
	// called off, or that would be lost.
	Result<void> check_unchanged() const;
	// The move was called off: out of repair mode, SO_REUSEADDR back.
	void release();
	// The process was killed: the copies closed in repair mode, silently.
	void drop();

	bool empty() const { return held_.empty() && watched_.empty(); }

private:
	struct Held {
		UniqueFd fd;
		std::string name;
		bool reuseaddr = false;
		uint32_t recv_seq = 0;
		Watch watch = kAccepts;
	};
	std::vector<Held> held_, watched_;
};

// Decides about every socket of FILES (those with OpenFile::unix_socket)
// that is an IPv4 or IPv6 socket: a TCP one gets its OpenFile::tcp, a UDP
// one its OpenFile::udp (fds/udp.h; both lose unix_socket), anything else
// is refused. PID is frozen and traced
// by us; REPAIR holds its connections (none: connections refused).
Result<void> capture_tcp(pid_t pid, std::vector<OpenFile> &files, TcpRepair *repair);

// The restore's side, in the process being made: every TCP and UDP
// socket of FILES made at once, above ABOVE, before the process's credentials
// change (TCP_REPAIR needs CAP_NET_ADMIN, a port below 1024
// CAP_NET_BIND_SERVICE), owned by UID and GID.
class TcpMaker {
public:
	static Result<TcpMaker> make(const std::vector<OpenFile> &files, int above, uid_t uid,
				     gid_t gid);
	// F's socket, with F's O_NONBLOCK (close-on-exec: the caller's dup3),
	// handed over: the caller puts it at F.fd and closes this number.
	Result<int> take(const OpenFile &f);

private:
	std::map<int, UniqueFd> made_;	// by the image's fd
};

// A connection of a rebuilt process, to take out of repair mode when it
// is let go: PID's FD, its SO_REUSEADDR, and the bytes it had never sent.
struct TcpRelease {
	pid_t pid = 0;
	int fd = -1;
	bool reuseaddr = false;
	std::vector<uint8_t> unsent;
};
std::vector<TcpRelease> tcp_releases(pid_t pid, const Image &img);
Result<void> leave_repair(const TcpRelease &r);

} // namespace hetmig::fds

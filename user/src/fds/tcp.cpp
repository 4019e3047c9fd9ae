// SPDX-License-Identifier: GPL-2.0
#include "fds/tcp.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <tuple>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fds/epoll.h"
#include "fds/inet.h"
#include "fds/socket_options.h"
#include "fds/udp.h"

namespace hetmig::fds {

namespace {

// Queues larger than this are refused as corrupted: the kernel's own
// limits (tcp_rmem, tcp_wmem) are far below it.
constexpr size_t kQueueMax = size_t(1) << 30;

const char *state_name(int state)
{
	switch (state) {
	case TCP_ESTABLISHED: return "ESTABLISHED";
	case TCP_SYN_SENT: return "SYN_SENT (connecting)";
	case TCP_SYN_RECV: return "SYN_RECV";
	case TCP_FIN_WAIT1: return "FIN_WAIT1 (closing)";
	case TCP_FIN_WAIT2: return "FIN_WAIT2 (closing)";
	case TCP_TIME_WAIT: return "TIME_WAIT";
	case TCP_CLOSE: return "CLOSE";
	case TCP_CLOSE_WAIT: return "CLOSE_WAIT (the peer closed it)";
	case TCP_LAST_ACK: return "LAST_ACK (closing)";
	case TCP_LISTEN: return "LISTEN";
	case TCP_CLOSING: return "CLOSING";
	}
	return "unknown";
}

// What the process's socket is, for messages: "a TCP connection
// 127.0.0.1:4000 -> 127.0.0.1:39422", "a TCP socket listening on [::]:80".
std::string what_socket(const TcpSocket &s)
{
	if (s.state == TCP_LISTEN)
		return "a TCP socket listening on " + address_text(s.local);
	if (s.state == TCP_ESTABLISHED)
		return "a TCP connection " + address_text(s.local) + " -> " +
		       address_text(s.peer);
	return s.local.port ? "a TCP socket bound to " + address_text(s.local)
			    : std::string("a TCP socket not bound");
}

// The bytes of the queue TCP_REPAIR_QUEUE selected, LEN of them, left in
// place (MSG_PEEK in repair mode reads the selected queue whole).
Result<std::vector<uint8_t>> peek_repair_queue(int fd, int queue, size_t len,
					       const std::string &name)
{
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue, name + ": TCP_REPAIR_QUEUE"); !r)
		return std::unexpected(r.error());
	std::vector<uint8_t> bytes(len + 1);
	if (!len)
		return std::vector<uint8_t>{};
	ssize_t n = recv(fd, bytes.data(), bytes.size(), MSG_PEEK | MSG_DONTWAIT);
	if (n != ssize_t(len))
		return fail(n < 0 ? errno : EPROTO,
			    strf("%s: reading its %s queue (%zd bytes of %zu)", name.c_str(),
				 queue == TCP_RECV_QUEUE ? "receive" : "send", n, len));
	bytes.resize(len);
	return bytes;
}

Result<int> queue_seq(int fd, int queue, const std::string &name)
{
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue, name + ": TCP_REPAIR_QUEUE"); !r)
		return std::unexpected(r.error());
	return get_int(fd, SOL_TCP, TCP_QUEUE_SEQ, name + ": TCP_QUEUE_SEQ");
}

// QUEUE's TCP_QUEUE_SEQ (after its last byte) and its LEN bytes.
Result<std::pair<uint32_t, std::vector<uint8_t>>> read_queue(int fd, int queue, size_t len,
							     const std::string &name)
{
	auto seq = queue_seq(fd, queue, name);
	if (!seq)
		return std::unexpected(seq.error());
	auto bytes = peek_repair_queue(fd, queue, len, name);
	if (!bytes)
		return std::unexpected(bytes.error());
	return std::pair{uint32_t(*seq), std::move(*bytes)};
}

Result<int> ioctl_int(int fd, unsigned long req, const std::string &what)
{
	int value = 0;
	if (ioctl(fd, req, &value))
		return fail(errno, what);
	return value;
}

// An established connection, in repair mode on FD: its sequence numbers,
// queues, agreed options and window.
Result<TcpConnection> read_connection(int fd, const std::string &name)
{
	TcpConnection c;
	auto outq = ioctl_int(fd, SIOCOUTQ, name + ": SIOCOUTQ");
	auto unsent = ioctl_int(fd, SIOCOUTQNSD, name + ": SIOCOUTQNSD");
	auto inq = ioctl_int(fd, SIOCINQ, name + ": SIOCINQ");
	if (!outq || !unsent || !inq)
		return std::unexpected(!outq ? outq.error() : !unsent ? unsent.error() : inq.error());
	auto recv = read_queue(fd, TCP_RECV_QUEUE, size_t(*inq), name);
	if (!recv)
		return std::unexpected(recv.error());
	auto send = read_queue(fd, TCP_SEND_QUEUE, size_t(*outq), name);
	if (!send)
		return std::unexpected(send.error());
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, name); !r)
		return std::unexpected(r.error());
	std::tie(c.recv_seq, c.recv_queue) = std::move(*recv);
	std::tie(c.send_seq, c.send_queue) = std::move(*send);
	c.unsent = uint32_t(std::min(*unsent, *outq));

	tcp_info info{};
	socklen_t len = sizeof(info);
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len))
		return fail(errno, name + ": TCP_INFO");
	c.options = info.tcpi_options;
	if (info.tcpi_options & TCPI_OPT_WSCALE) {
		c.snd_wscale = info.tcpi_snd_wscale;
		c.rcv_wscale = info.tcpi_rcv_wscale;
	}
	auto mss = get_int(fd, SOL_TCP, TCP_MAXSEG, name + ": TCP_MAXSEG");
	if (!mss)
		return std::unexpected(mss.error());
	c.mss = uint32_t(*mss);
	if (info.tcpi_options & TCPI_OPT_TIMESTAMPS) {
		auto ts = get_int(fd, SOL_TCP, TCP_TIMESTAMP, name + ": TCP_TIMESTAMP");
		if (!ts)
			return std::unexpected(ts.error());
		c.timestamp = uint32_t(*ts);
	}
	tcp_repair_window w{};
	len = sizeof(w);
	if (!getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, &len)) {
		c.has_window = true;
		c.snd_wl1 = w.snd_wl1;
		c.snd_wnd = w.snd_wnd;
		c.max_window = w.max_window;
		c.rcv_wnd = w.rcv_wnd;
		c.rcv_wup = w.rcv_wup;
	}
	return c;
}

// The options both kinds of socket carry, read before repair mode (which
// changes what SO_REUSEADDR reads).
Result<void> read_options(int fd, TcpSocket &s, const std::string &name)
{
	struct {
		int level, opt;
		int *out;
	} ints[] = {{SOL_TCP, TCP_KEEPIDLE, &s.keepidle}, {SOL_TCP, TCP_KEEPINTVL, &s.keepintvl},
		    {SOL_TCP, TCP_KEEPCNT, &s.keepcnt}};
	for (const auto &i : ints) {
		auto v = get_int(fd, i.level, i.opt, name + ": getsockopt");
		if (!v)
			return std::unexpected(v.error());
		*i.out = *v;
	}
	struct {
		int level, opt;
		bool *out;
	} flags[] = {{SOL_SOCKET, SO_REUSEADDR, &s.reuseaddr},
		     {SOL_SOCKET, SO_REUSEPORT, &s.reuseport},
		     {SOL_SOCKET, SO_KEEPALIVE, &s.keepalive},
		     {SOL_TCP, TCP_NODELAY, &s.nodelay},
		     {SOL_IP, IP_FREEBIND, &s.freebind}};
	for (const auto &f : flags) {
		auto v = get_int(fd, f.level, f.opt, name + ": getsockopt");
		if (!v)
			return std::unexpected(v.error());
		*f.out = *v != 0;
	}
	if (s.local.family == AF_INET6) {
		auto v = get_int(fd, SOL_IPV6, IPV6_V6ONLY, name + ": IPV6_V6ONLY");
		if (!v)
			return std::unexpected(v.error());
		s.v6only = *v != 0;
	}
	return {};
}

// The TCP socket COPY is (fd FD of PID), read; a connection put in
// repair mode and held by REPAIR, a listener watched by it.
Result<TcpSocket> capture_socket(pid_t pid, int fd, UniqueFd copy, TcpRepair *repair,
				 const std::string &path)
{
	const std::string name = strf("fd %d (%s)", fd, path.c_str());
	TcpSocket s;
	auto local = local_address(copy.get(), name);
	if (!local)
		return std::unexpected(local.error());
	s.local = *local;
	tcp_info info{};
	socklen_t len = sizeof(info);
	if (getsockopt(copy.get(), SOL_TCP, TCP_INFO, &info, &len))
		return fail(errno, name + ": TCP_INFO");
	s.state = info.tcpi_state;
	if (s.state == TCP_ESTABLISHED) {
		auto peer = peer_address(copy.get(), name);
		if (!peer || !*peer)
			return fail(peer ? ENOTCONN : peer.error().code, name + ": getpeername");
		s.peer = **peer;
	}
	std::string what = strf("fd %d is %s", fd, what_socket(s).c_str());
	if (s.state != TCP_ESTABLISHED && s.state != TCP_LISTEN && s.state != TCP_CLOSE)
		return fail(EOPNOTSUPP, strf("fd %d is a TCP connection %s -> %s in state %s: only "
					     "listening sockets, sockets not connected and "
					     "established connections can be carried",
					     fd, address_text(s.local).c_str(),
					     address_text(s.peer).c_str(), state_name(s.state)));
	if (pid_t other = held_elsewhere(pid, path, {}, false))
		return fail(EOPNOTSUPP, what + strf(", which process %d holds too: a TCP socket "
						    "is carried when one process holds it", other));
	if (auto r = read_options(copy.get(), s, name); !r)
		return std::unexpected(r.error());
	if (s.state == TCP_LISTEN) {
		// For a listener TCP_INFO says how many connections wait to be
		// accepted (tcpi_unacked) and its backlog (tcpi_sacked).
		s.backlog = int(info.tcpi_sacked);
		if (info.tcpi_unacked)
			return fail(EAGAIN, what + strf(" with %u connection%s waiting to be "
							"accepted, which cannot be carried: try again "
							"when it has accepted them", info.tcpi_unacked,
							info.tcpi_unacked == 1 ? "" : "s"));
		if (repair)
			repair->watch(std::move(copy), what);
		return s;
	}
	if (s.state == TCP_CLOSE)
		return s;
	if (!repair)
		return fail(EOPNOTSUPP, what + ": only a frozen process's connections can be "
					       "carried");
	auto sndbuf = get_int(copy.get(), SOL_SOCKET, SO_SNDBUF, name + ": SO_SNDBUF");
	auto rcvbuf = get_int(copy.get(), SOL_SOCKET, SO_RCVBUF, name + ": SO_RCVBUF");
	if (!sndbuf || !rcvbuf)
		return std::unexpected(!sndbuf ? sndbuf.error() : rcvbuf.error());
	s.sndbuf = uint32_t(*sndbuf);
	s.rcvbuf = uint32_t(*rcvbuf);
	auto held = repair->hold(std::move(copy), what, s.reuseaddr);
	if (!held)
		return fail(held.error().code, what + ": " + held.error().describe());
	auto c = read_connection(*held, name);
	if (!c)
		return std::unexpected(c.error());
	repair->settled(c->recv_seq);
	s.connection = std::move(*c);
	return s;
}

} // namespace

std::optional<std::string> tcp_problem(const OpenFile &f)
{
	if (!f.tcp)
		return std::nullopt;
	const TcpSocket &s = *f.tcp;
	auto bad = [&](const char *why) {
		return strf("fd %d: a TCP socket %s", f.fd, why);
	};
	if (f.dup_of >= 0 || f.pipe || f.unix_socket || f.eventfd || f.timerfd || f.epoll ||
	    f.signalfd || f.directory || f.tree_file >= 0)
		return bad("that is something else too");
	if (s.local.family != AF_INET && s.local.family != AF_INET6)
		return bad("of another address family");
	if (s.state != TCP_LISTEN && s.state != TCP_CLOSE && s.state != TCP_ESTABLISHED)
		return bad("in another state");
	if ((s.state == TCP_ESTABLISHED) != s.connection.has_value())
		return bad("whose connection does not match its state");
	if (s.backlog < 0)
		return bad("with a negative backlog");
	if (const auto &c = s.connection) {
		if (s.peer.family != s.local.family || !s.peer.port || !s.local.port)
			return bad("connected without both addresses");
		if (c->unsent > c->send_queue.size() || c->send_queue.size() > kQueueMax ||
		    c->recv_queue.size() > kQueueMax)
			return bad("with queues out of range");
		if (c->snd_wscale > 14 || c->rcv_wscale > 14)
			return bad("with a window scale out of range");
	}
	return std::nullopt;
}

SendQueueParts split_send_queue(const TcpConnection &c)
{
	std::span<const uint8_t> all(c.send_queue);
	size_t unsent = std::min<size_t>(c.unsent, all.size());
	return {all.first(all.size() - unsent), all.last(unsent)};
}

uint32_t send_queue_start(const TcpConnection &c)
{
	return c.send_seq - uint32_t(c.send_queue.size());
}

uint32_t recv_queue_start(const TcpConnection &c)
{
	return c.recv_seq - uint32_t(c.recv_queue.size());
}

Result<int> TcpRepair::hold(UniqueFd copy, const std::string &name, bool reuseaddr)
{
	if (auto r = set_int(copy.get(), SOL_TCP, TCP_REPAIR, 1, "TCP_REPAIR"); !r) {
		if (r.error().code == EPERM)
			return fail(EPERM, "carrying a TCP connection needs TCP_REPAIR, which needs "
					   "CAP_NET_ADMIN: run hetmig as root");
		return std::unexpected(r.error());
	}
	held_.push_back({std::move(copy), name, reuseaddr, 0});
	return held_.back().fd.get();
}

void TcpRepair::settled(uint32_t recv_seq)
{
	if (!held_.empty())
		held_.back().recv_seq = recv_seq;
}

void TcpRepair::watch(UniqueFd copy, const std::string &name, Watch what)
{
	watched_.push_back({std::move(copy), name, false, 0, what});
}

Result<void> TcpRepair::check_unchanged() const
{
	for (const auto &h : held_) {
		tcp_info info{};
		socklen_t len = sizeof(info);
		auto seq = queue_seq(h.fd.get(), TCP_RECV_QUEUE, h.name);
		(void)set_int(h.fd.get(), SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, h.name);
		if (!seq)
			return std::unexpected(seq.error());
		if (getsockopt(h.fd.get(), SOL_TCP, TCP_INFO, &info, &len))
			return fail(errno, h.name + ": TCP_INFO");
		if (uint32_t(*seq) != h.recv_seq || info.tcpi_state != TCP_ESTABLISHED)
			return fail(EAGAIN, strf("%s received %u more bytes (or was closed: %s) "
						 "while the process was frozen, after the capture "
						 "had read its queue: the move is called off so "
						 "that they are not lost; try again",
						 h.name.c_str(), uint32_t(*seq) - h.recv_seq,
						 state_name(info.tcpi_state)));
	}
	for (const auto &w : watched_) {
		if (w.watch == kDatagrams) {
			int queued = 0;
			if (ioctl(w.fd.get(), FIONREAD, &queued))
				return fail(errno, w.name + ": FIONREAD");
			if (queued)
				return fail(EAGAIN, w.name + " received datagrams while the process "
							     "was frozen, which would be lost: the move "
							     "is called off; try again");
			continue;
		}
		tcp_info info{};
		socklen_t len = sizeof(info);
		if (getsockopt(w.fd.get(), SOL_TCP, TCP_INFO, &info, &len))
			return fail(errno, w.name + ": TCP_INFO");
		if (info.tcpi_unacked)
			return fail(EAGAIN, strf("%s got %u connection%s while the process was "
						 "frozen, which would be lost: the move is called "
						 "off; try again", w.name.c_str(), info.tcpi_unacked,
						 info.tcpi_unacked == 1 ? "" : "s"));
	}
	return {};
}

void TcpRepair::release()
{
	for (auto &h : held_) {
		// Leaving repair mode clears SO_REUSEADDR (the kernel's
		// SK_NO_REUSE): put the process's back.
		(void)set_int(h.fd.get(), SOL_TCP, TCP_REPAIR, 0, h.name);
		if (h.reuseaddr)
			(void)set_int(h.fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, h.name);
	}
	held_.clear();
	watched_.clear();
}

void TcpRepair::drop()
{
	held_.clear();	// closed in repair mode: tcp_close sends nothing
	watched_.clear();
}

namespace {

// F (a socket of PID's) decided: a TCP one gets F.tcp, a UDP one F.udp;
// a unix one is left as it is; anything else is refused.
Result<void> capture_inet(pid_t pid, OpenFile &f, TcpRepair *repair)
{
	auto copy = copy_of(pid, f.fd);
	if (!copy)
		return std::unexpected(copy.error());
	auto domain = get_int(copy->get(), SOL_SOCKET, SO_DOMAIN, strf("fd %d: SO_DOMAIN", f.fd));
	if (!domain)
		return std::unexpected(domain.error());
	if (*domain != AF_INET && *domain != AF_INET6)
		return {};  // a unix socket: capture_unix_pairs decides
	auto protocol = get_int(copy->get(), SOL_SOCKET, SO_PROTOCOL,
				strf("fd %d: SO_PROTOCOL", f.fd));
	auto type = get_int(copy->get(), SOL_SOCKET, SO_TYPE, strf("fd %d: SO_TYPE", f.fd));
	if (!protocol || !type)
		return std::unexpected(!protocol ? protocol.error() : type.error());
	bool udp = (*protocol == IPPROTO_UDP || *protocol == IPPROTO_UDPLITE) && *type == SOCK_DGRAM;
	if (udp || *protocol == IPPROTO_TCP) {
		auto opts = capture_socket_options(copy->get(), *domain, *type, *protocol,
						   strf("fd %d", f.fd));
		if (!opts)
			return std::unexpected(opts.error());
		f.sockopts = std::move(*opts);
	}
	if (udp) {
		auto u = capture_udp_socket(pid, f.fd, std::move(*copy), repair, f.path, *protocol);
		if (!u)
			return std::unexpected(u.error());
		f.udp = std::move(*u);
	} else if (*protocol == IPPROTO_TCP) {
		auto t = capture_socket(pid, f.fd, std::move(*copy), repair, f.path);
		if (!t)
			return std::unexpected(t.error());
		f.tcp = std::move(*t);
	} else {
		return fail(EOPNOTSUPP, strf("fd %d is %s, an IPv%d socket of protocol %d (%s): only "
					     "TCP, UDP and UDP-Lite sockets and unix sockets can "
					     "be carried", f.fd, f.path.c_str(),
					     *domain == AF_INET ? 4 : 6, *protocol,
					     *protocol == IPPROTO_ICMP ? "ICMP"
					     : *protocol == IPPROTO_SCTP ? "SCTP"
									 : "not TCP or UDP"));
	}
	f.unix_socket = 0;
	return {};
}

} // namespace

Result<void> capture_tcp(pid_t pid, std::vector<OpenFile> &files, TcpRepair *repair)
{
	for (auto &f : files) {
		if (!f.unix_socket)
			continue;
		if (f.dup_of >= 0) {
			// A dup of a socket decided at its first fd: an IPv4 or
			// IPv6 one is made there and dup'ed here.
			for (const auto &first : files)
				if (first.fd == f.dup_of && (first.tcp || first.udp))
					f.unix_socket = 0;
			continue;
		}
		if (auto r = capture_inet(pid, f, repair); !r) {
			// A descriptor an epoll watches: the epoll cannot go
			// without it either.
			Error e = r.error();
			e.context += epolls_watching(pid, f.fd);
			return std::unexpected(e);
		}
	}
	return {};
}

namespace {

// LEN bytes of DATA written into the queue TCP_REPAIR_QUEUE selected (or
// sent, out of repair mode), in pieces the kernel takes: in repair mode
// each write to the receive queue is one linear buffer, which a large
// one may not get (ENOMEM), so a refused piece is halved (as CRIU does).
Result<void> write_queue(int fd, std::span<const uint8_t> data, const std::string &what)
{
	size_t piece = data.size();
	while (!data.empty()) {
		ssize_t n = send(fd, data.data(), std::min(piece, data.size()),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (piece > 1024) {
				piece /= 2;
				continue;
			}
			return fail(n < 0 ? errno : EIO, what);
		}
		data = data.subspan(size_t(n));
	}
	return {};
}

// The options set on a socket of either kind (SO_REUSEADDR and the others
// that must come before bind are set by make_socket).
Result<void> set_options(int fd, const TcpSocket &s, const std::string &name)
{
	if (s.keepalive)
		if (auto r = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, name + ": SO_KEEPALIVE"); !r)
			return r;
	if (s.nodelay)
		if (auto r = set_int(fd, SOL_TCP, TCP_NODELAY, 1, name + ": TCP_NODELAY"); !r)
			return r;
	int keep[][2] = {{TCP_KEEPIDLE, s.keepidle}, {TCP_KEEPINTVL, s.keepintvl},
			 {TCP_KEEPCNT, s.keepcnt}};
	for (const auto &[opt, value] : keep)
		if (value > 0)
			if (auto r = set_int(fd, SOL_TCP, opt, value, name + ": TCP_KEEP*"); !r)
				return r;
	return {};
}

// What the connection was before the move, set on FD (in repair mode,
// bound, not connected yet): sequence numbers, the connection, options,
// queues and window.
Result<void> repair_connection(int fd, const TcpSocket &s, const std::string &name)
{
	const TcpConnection &c = *s.connection;
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, name); !r)
		return r;
	if (auto r = set_int(fd, SOL_TCP, TCP_QUEUE_SEQ, int(recv_queue_start(c)),
			     name + ": TCP_QUEUE_SEQ"); !r)
		return r;
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, name); !r)
		return r;
	if (auto r = set_int(fd, SOL_TCP, TCP_QUEUE_SEQ, int(send_queue_start(c)),
			     name + ": TCP_QUEUE_SEQ"); !r)
		return r;
	sockaddr_storage ss;
	socklen_t len = to_sockaddr(s.peer, ss);
	if (connect(fd, reinterpret_cast<sockaddr *>(&ss), len)) {
		int err = errno;
		if (err == EADDRNOTAVAIL)
			return fail(err, name + ": that connection exists here already (another "
						"socket has both of its addresses)");
		return fail(err, name + ": connect (in repair mode)");
	}
	tcp_repair_opt opts[4];
	int n = 0;
	if (c.options & TCPI_OPT_SACK)
		opts[n++] = {TCPOPT_SACK_PERMITTED, 0};
	if (c.options & TCPI_OPT_WSCALE)
		opts[n++] = {TCPOPT_WINDOW, uint32_t(c.snd_wscale) | uint32_t(c.rcv_wscale) << 16};
	if (c.options & TCPI_OPT_TIMESTAMPS)
		opts[n++] = {TCPOPT_TIMESTAMP, 0};
	opts[n++] = {TCPOPT_MAXSEG, c.mss};
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, opts, socklen_t(n * sizeof(opts[0]))))
		return fail(errno, name + ": TCP_REPAIR_OPTIONS");
	if (c.options & TCPI_OPT_TIMESTAMPS)
		if (auto r = set_int(fd, SOL_TCP, TCP_TIMESTAMP, int(c.timestamp),
				     name + ": TCP_TIMESTAMP"); !r)
			return r;
	if (auto r = set_options(fd, s, name); !r)
		return r;
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, name); !r)
		return r;
	if (auto r = write_queue(fd, c.recv_queue, name + ": writing its receive queue back"); !r)
		return r;
	// The part sent and not acknowledged, in repair mode (taken as sent,
	// and sent again if the peer does not acknowledge it); the rest is
	// leave_repair's.
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, name); !r)
		return r;
	if (auto r = write_queue(fd, split_send_queue(c).sent,
				 name + ": writing its send queue back"); !r)
		return r;
	if (auto r = set_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, name); !r)
		return r;
	if (c.has_window) {
		tcp_repair_window w{c.snd_wl1, c.snd_wnd, c.max_window, c.rcv_wnd, c.rcv_wup};
		if (setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)))
			return fail(errno, name + ": TCP_REPAIR_WINDOW");
	}
	return {};
}

Result<UniqueFd> make_socket(const OpenFile &f, uid_t uid, gid_t gid)
{
	const TcpSocket &s = *f.tcp;
	const std::string name = strf("fd %d, %s", f.fd, what_socket(s).c_str());
	UniqueFd sk(socket(s.local.family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
	if (sk.get() < 0)
		return fail(errno, name + ": socket");
	if (s.local.family == AF_INET6 && s.v6only)
		if (auto r = set_int(sk.get(), SOL_IPV6, IPV6_V6ONLY, 1, name + ": IPV6_V6ONLY"); !r)
			return std::unexpected(r.error());
	if (s.reuseaddr)
		if (auto r = set_int(sk.get(), SOL_SOCKET, SO_REUSEADDR, 1, name + ": SO_REUSEADDR"); !r)
			return std::unexpected(r.error());
	if (s.reuseport)
		if (auto r = set_int(sk.get(), SOL_SOCKET, SO_REUSEPORT, 1, name + ": SO_REUSEPORT"); !r)
			return std::unexpected(r.error());
	if (s.freebind)
		if (auto r = set_int(sk.get(), SOL_IP, IP_FREEBIND, 1, name + ": IP_FREEBIND"); !r)
			return std::unexpected(r.error());
	if (s.connection) {
		if (auto r = set_int(sk.get(), SOL_TCP, TCP_REPAIR, 1, name + ": TCP_REPAIR"); !r)
			return fail(r.error().code, r.error().code == EPERM
				? name + ": TCP_REPAIR needs CAP_NET_ADMIN: restore it as root"
				: r.error().describe());
		// As large as they were, and large enough for the queues
		// written back in pieces, each with its own overhead
		// (getsockopt gives twice what setsockopt takes).
		const TcpConnection &c = *s.connection;
		size_t sndbuf = std::max<size_t>(s.sndbuf / 2, 2 * c.send_queue.size() + 65536);
		size_t rcvbuf = std::max<size_t>(s.rcvbuf / 2, 2 * c.recv_queue.size() + 65536);
		if (auto r = set_int(sk.get(), SOL_SOCKET, SO_SNDBUFFORCE, int(sndbuf),
				     name + ": SO_SNDBUFFORCE"); !r)
			return std::unexpected(r.error());
		if (auto r = set_int(sk.get(), SOL_SOCKET, SO_RCVBUFFORCE, int(rcvbuf),
				     name + ": SO_RCVBUFFORCE"); !r)
			return std::unexpected(r.error());
	}
	if (s.local.port || s.connection)
		if (auto r = bind_here(sk.get(), s.local, name); !r)
			return std::unexpected(r.error());
	if (s.state == TCP_LISTEN && listen(sk.get(), s.backlog))
		return fail(errno, name + ": listen");
	if (s.connection) {
		if (auto r = repair_connection(sk.get(), s, name); !r)
			return std::unexpected(r.error());
	} else if (auto r = set_options(sk.get(), s, name); !r) {
		return std::unexpected(r.error());
	}
	// The socket's owner (sk_uid, what ss shows) is the process's.
	if (fchown(sk.get(), uid, gid))
		return fail(errno, name + ": fchown");
	return sk;
}

} // namespace

Result<TcpMaker> TcpMaker::make(const std::vector<OpenFile> &files, int above, uid_t uid,
				gid_t gid)
{
	TcpMaker m;
	for (const auto &f : files) {
		if (!f.tcp && !f.udp)
			continue;
		auto sk = f.tcp ? make_socket(f, uid, gid) : make_udp_socket(f, uid, gid);
		if (!sk)
			return std::unexpected(sk.error());
		UniqueFd up(fcntl(sk->get(), F_DUPFD_CLOEXEC, above));
		if (up.get() < 0)
			return fail(errno, strf("fd %d: F_DUPFD", f.fd));
		m.made_[f.fd] = std::move(up);
	}
	return m;
}

Result<int> TcpMaker::take(const OpenFile &f)
{
	auto it = made_.find(f.fd);
	if (it == made_.end())
		return fail(EINVAL, strf("fd %d: a socket that was not made", f.fd));
	int fd = it->second.release();
	made_.erase(it);
	if (fcntl(fd, F_SETFL, f.flags & O_NONBLOCK) < 0) {
		close(fd);
		return fail(errno, strf("fd %d: F_SETFL", f.fd));
	}
	if (auto r = set_socket_options(fd, f.sockopts, strf("fd %d", f.fd)); !r) {
		close(fd);
		return std::unexpected(r.error());
	}
	return fd;
}

std::vector<TcpRelease> tcp_releases(pid_t pid, const Image &img)
{
	std::vector<TcpRelease> out;
	for (const auto &f : img.files)
		if (f.tcp && f.tcp->connection) {
			auto unsent = split_send_queue(*f.tcp->connection).unsent;
			out.push_back({pid, f.fd, f.tcp->reuseaddr, {unsent.begin(), unsent.end()}});
		}
	return out;
}

Result<void> leave_repair(const TcpRelease &r)
{
	const std::string name = strf("fd %d of process %d, a TCP connection", r.fd, r.pid);
	auto copy = copy_of(r.pid, r.fd);
	if (!copy)
		return std::unexpected(copy.error());
	if (auto e = set_int(copy->get(), SOL_TCP, TCP_REPAIR, 0, name + ": leaving repair mode");
	    !e)
		return e;
	if (r.reuseaddr)
		if (auto e = set_int(copy->get(), SOL_SOCKET, SO_REUSEADDR, 1, name); !e)
			return e;
	// What the process had written and TCP had not sent yet: sent now.
	// The socket is the process's (its O_NONBLOCK too): wait here.
	std::span<const uint8_t> left(r.unsent);
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	while (!left.empty()) {
		ssize_t n = send(copy->get(), left.data(), left.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			left = left.subspan(size_t(n));
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return fail(errno, name + ": writing the bytes it had not sent");
		pollfd p{copy->get(), POLLOUT, 0};
		if (std::chrono::steady_clock::now() > deadline)
			return fail(ETIMEDOUT, name + ": writing the bytes it had not sent");
		poll(&p, 1, 100);
	}
	return {};
}

} // namespace hetmig::fds

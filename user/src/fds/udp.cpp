// SPDX-License-Identifier: GPL-2.0
#include "fds/udp.h"

#include <cerrno>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fds/unix_pairs.h"

#include "fds/inet.h"

namespace hetmig::fds {

namespace {

// UDP-Lite's socket options (the kernel's include/net/udplite.h; no uapi
// header has them).
constexpr int kUdpliteSendCscov = 10, kUdpliteRecvCscov = 11;

std::string what_socket(const UdpSocket &s)
{
	std::string kind = s.protocol == IPPROTO_UDPLITE ? "a UDP-Lite socket" : "a UDP socket";
	std::string what = s.local.port ? kind + " bound to " + address_text(s.local)
					 : kind + " not bound";
	if (s.peer.port)
		what += " connected to " + address_text(s.peer);
	return what;
}

// The directions socket INODE (of FAMILY and PROTOCOL) is shut down in,
// as inet_diag (`ss -u`) reports the kernel's sk_shutdown; nothing when
// it does not list the socket: one never bound is in no table it walks.
Result<std::optional<uint8_t>> diag_shutdown(int family, int protocol, uint64_t inode)
{
	UniqueFd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
	if (nl.get() < 0)
		return fail(errno, "a NETLINK_SOCK_DIAG socket");
	struct {
		nlmsghdr nlh;
		inet_diag_req_v2 req;
	} msg{};
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = uint8_t(family);
	msg.req.sdiag_protocol = uint8_t(protocol);
	msg.req.idiag_states = ~0u;
	if (send(nl.get(), &msg, sizeof(msg), 0) != ssize_t(sizeof(msg)))
		return fail(errno, "asking inet_diag");
	std::optional<uint8_t> found;
	alignas(nlmsghdr) char buf[32768];
	for (;;) {
		ssize_t n = recv(nl.get(), buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EPROTO, "reading inet_diag's answer");
		for (auto *h = reinterpret_cast<nlmsghdr *>(buf); NLMSG_OK(h, size_t(n));
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				// A dump's error comes in its NLMSG_DONE.
				int err = 0;
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					err = -*reinterpret_cast<const int *>(NLMSG_DATA(h));
				if (err > 0)
					return fail(err, strf("the kernel's socket diagnostics "
							      "(inet_diag) of protocol %d", protocol));
				return found;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = -reinterpret_cast<nlmsgerr *>(NLMSG_DATA(h))->error;
				return fail(err, strf("the kernel's socket diagnostics (inet_diag) of "
						      "protocol %d", protocol));
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)))
				continue;
			auto *m = reinterpret_cast<inet_diag_msg *>(NLMSG_DATA(h));
			if (m->idiag_inode != inode)
				continue;
			found = uint8_t(0);
			int len = int(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (auto *a = reinterpret_cast<rtattr *>(m + 1); RTA_OK(a, len);
			     a = RTA_NEXT(a, len))
				if (a->rta_type == INET_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1)
					found = *reinterpret_cast<const uint8_t *>(RTA_DATA(a));
		}
	}
}

// SHUT_RD, SHUT_WR or SHUT_RDWR for the kernel's sk_shutdown bits.
int shutdown_how(uint8_t bits)
{
	return bits == 3 ? SHUT_RDWR : bits == 2 ? SHUT_WR : SHUT_RD;
}

} // namespace

Result<UdpSocket> capture_udp_socket(pid_t pid, int fd, UniqueFd copy, TcpRepair *repair,
				     const std::string &path, int protocol)
{
	const std::string name = strf("fd %d (%s)", fd, path.c_str());
	UdpSocket s;
	s.protocol = protocol;
	auto local = local_address(copy.get(), name);
	if (!local)
		return std::unexpected(local.error());
	auto peer = peer_address(copy.get(), name);
	if (!peer)
		return std::unexpected(peer.error());
	s.local = *local;
	s.peer = peer->value_or(InetAddress{s.local.family, {}, 0, 0});
	std::string what = strf("fd %d is %s", fd, what_socket(s).c_str());
	if (pid_t other = held_elsewhere(pid, path, {}, false))
		return fail(EOPNOTSUPP, what + strf(", which process %d holds too: a UDP socket "
						    "is carried when one process holds it", other));
	struct {
		int level, opt;
		bool *out;
	} flags[] = {{SOL_SOCKET, SO_REUSEADDR, &s.reuseaddr},
		     {SOL_SOCKET, SO_REUSEPORT, &s.reuseport},
		     {SOL_SOCKET, SO_BROADCAST, &s.broadcast},
		     {SOL_IP, IP_FREEBIND, &s.freebind}};
	for (const auto &f : flags) {
		auto v = get_int(copy.get(), f.level, f.opt, name + ": getsockopt");
		if (!v)
			return std::unexpected(v.error());
		*f.out = *v != 0;
	}
	if (s.local.family == AF_INET6) {
		auto v = get_int(copy.get(), SOL_IPV6, IPV6_V6ONLY, name + ": IPV6_V6ONLY");
		if (!v)
			return std::unexpected(v.error());
		s.v6only = *v != 0;
	}
	if (protocol == IPPROTO_UDPLITE) {
		auto send_cscov = get_int(copy.get(), IPPROTO_UDPLITE, kUdpliteSendCscov,
					  name + ": UDPLITE_SEND_CSCOV");
		auto recv_cscov = get_int(copy.get(), IPPROTO_UDPLITE, kUdpliteRecvCscov,
					  name + ": UDPLITE_RECV_CSCOV");
		if (!send_cscov || !recv_cscov)
			return std::unexpected(!send_cscov ? send_cscov.error() : recv_cscov.error());
		s.send_cscov = *send_cscov;
		s.recv_cscov = *recv_cscov;
	}
	// Its shutdown state: inet_diag's, or for one no table holds (never
	// bound) or where the kernel has no udp_diag (a module nothing loaded)
	// what poll shows of it (EPOLLRDHUP: receive; EPOLLHUP: both).
	auto shut = diag_shutdown(s.local.family, protocol, socket_inode(path));
	if (!shut && shut.error().code != ENOENT)
		return std::unexpected(shut.error());
	if (shut && *shut) {
		s.shutdown = **shut;
	} else {
		pollfd pfd{copy.get(), POLLRDHUP, 0};
		if (poll(&pfd, 1, 0) < 0)
			return fail(errno, name + ": poll");
		s.shutdown = (pfd.revents & POLLHUP) ? 3 : (pfd.revents & POLLRDHUP) ? 1 : 0;
	}
	int queued = 0;
	if (ioctl(copy.get(), FIONREAD, &queued))
		return fail(errno, name + ": FIONREAD");
	if (queued)
		return fail(EAGAIN, what + " with datagrams queued, which cannot be carried with "
					   "their senders' addresses: try again when it has read them");
	if (repair)
		repair->watch(std::move(copy), what, TcpRepair::kDatagrams);
	return s;
}

Result<UniqueFd> make_udp_socket(const OpenFile &f, uid_t uid, gid_t gid)
{
	const UdpSocket &s = *f.udp;
	const std::string name = strf("fd %d, %s", f.fd, what_socket(s).c_str());
	UniqueFd sk(socket(s.local.family, SOCK_DGRAM | SOCK_CLOEXEC, s.protocol));
	if (sk.get() < 0)
		return fail(errno, name + ": socket");
	struct {
		bool on;
		int level, opt;
		const char *what;
	} opts[] = {{s.local.family == AF_INET6 && s.v6only, SOL_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"},
		    {s.reuseaddr, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"},
		    {s.reuseport, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT"},
		    {s.broadcast, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST"},
		    {s.freebind, SOL_IP, IP_FREEBIND, "IP_FREEBIND"}};
	for (const auto &o : opts)
		if (o.on)
			if (auto r = set_int(sk.get(), o.level, o.opt, 1, name + ": " + o.what); !r)
				return std::unexpected(r.error());
	if (s.send_cscov)
		if (auto r = set_int(sk.get(), IPPROTO_UDPLITE, kUdpliteSendCscov, s.send_cscov,
				     name + ": UDPLITE_SEND_CSCOV"); !r)
			return std::unexpected(r.error());
	if (s.recv_cscov)
		if (auto r = set_int(sk.get(), IPPROTO_UDPLITE, kUdpliteRecvCscov, s.recv_cscov,
				     name + ": UDPLITE_RECV_CSCOV"); !r)
			return std::unexpected(r.error());
	if (s.local.port)
		if (auto r = bind_here(sk.get(), s.local, name); !r)
			return std::unexpected(r.error());
	if (s.peer.port) {
		sockaddr_storage ss;
		socklen_t len = to_sockaddr(s.peer, ss);
		if (connect(sk.get(), reinterpret_cast<sockaddr *>(&ss), len))
			return fail(errno, name + ": connect");
	}
	// The kernel keeps the directions of a socket that is not connected
	// too, and says ENOTCONN.
	if (s.shutdown && shutdown(sk.get(), shutdown_how(s.shutdown)) && errno != ENOTCONN)
		return fail(errno, name + ": shutdown");
	if (fchown(sk.get(), uid, gid))
		return fail(errno, name + ": fchown");
	return sk;
}

std::optional<std::string> udp_problem(const OpenFile &f)
{
	if (!f.udp)
		return std::nullopt;
	const UdpSocket &s = *f.udp;
	auto bad = [&](const char *why) { return strf("fd %d: a UDP socket %s", f.fd, why); };
	if (f.dup_of >= 0 || f.pipe || f.unix_socket || f.tcp || f.eventfd || f.timerfd ||
	    f.epoll || f.signalfd || f.directory || f.tree_file >= 0)
		return bad("that is something else too");
	if (s.local.family != AF_INET && s.local.family != AF_INET6)
		return bad("of another address family");
	if (s.peer.port && s.peer.family != s.local.family)
		return bad("connected to a peer of another family");
	if (s.protocol != IPPROTO_UDP && s.protocol != IPPROTO_UDPLITE)
		return bad("of a protocol other than UDP and UDP-Lite");
	if (s.shutdown > 3)
		return bad("shut down in no direction a socket has");
	if (s.protocol == IPPROTO_UDP && (s.send_cscov || s.recv_cscov))
		return bad("with a UDP-Lite checksum coverage");
	if (s.send_cscov < 0 || s.send_cscov > 0xffff || s.recv_cscov < 0 || s.recv_cscov > 0xffff)
		return bad("with a checksum coverage out of range");
	return std::nullopt;
}

} // namespace hetmig::fds

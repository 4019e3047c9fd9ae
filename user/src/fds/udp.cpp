// SPDX-License-Identifier: GPL-2.0
#include "fds/udp.h"

#include <cerrno>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fds/inet.h"

namespace hetmig::fds {

namespace {

std::string what_socket(const UdpSocket &s)
{
	std::string what = s.local.port ? "a UDP socket bound to " + address_text(s.local)
					 : std::string("a UDP socket not bound");
	if (s.peer.port)
		what += " connected to " + address_text(s.peer);
	return what;
}

} // namespace

Result<UdpSocket> capture_udp_socket(pid_t pid, int fd, UniqueFd copy, TcpRepair *repair,
				     const std::string &path)
{
	const std::string name = strf("fd %d (%s)", fd, path.c_str());
	UdpSocket s;
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
		     {SOL_SOCKET, SO_BROADCAST, &s.broadcast}};
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
	UniqueFd sk(socket(s.local.family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
	if (sk.get() < 0)
		return fail(errno, name + ": socket");
	struct {
		bool on;
		int level, opt;
		const char *what;
	} opts[] = {{s.local.family == AF_INET6 && s.v6only, SOL_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"},
		    {s.reuseaddr, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"},
		    {s.reuseport, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT"},
		    {s.broadcast, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST"}};
	for (const auto &o : opts)
		if (o.on)
			if (auto r = set_int(sk.get(), o.level, o.opt, 1, name + ": " + o.what); !r)
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
	return std::nullopt;
}

} // namespace hetmig::fds

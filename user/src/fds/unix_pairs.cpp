// SPDX-License-Identifier: GPL-2.0
#include "fds/unix_pairs.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fds/epoll.h"
#include "fds/unix_sockets.h"

namespace hetmig::fds {

namespace {

std::string socket_name(uint64_t inode)
{
	return strf("socket:[%llu]", (unsigned long long)inode);
}

} // namespace

Result<UnixDiag> unix_diag(uint64_t inode)
{
	UniqueFd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
	if (nl.get() < 0)
		return fail(errno, "a NETLINK_SOCK_DIAG socket");
	struct {
		nlmsghdr nlh;
		unix_diag_req req;
	} msg{};
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = AF_UNIX;
	msg.req.udiag_states = ~0u;
	msg.req.udiag_ino = uint32_t(inode);
	msg.req.udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_NAME | UDIAG_SHOW_VFS |
			     UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS;
	msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;
	if (send(nl.get(), &msg, sizeof(msg), 0) != ssize_t(sizeof(msg)))
		return fail(errno, "asking unix_diag");
	alignas(nlmsghdr) char buf[8192];
	ssize_t n = recv(nl.get(), buf, sizeof(buf), 0);
	if (n < ssize_t(sizeof(nlmsghdr)))
		return fail(n < 0 ? errno : EPROTO, "reading unix_diag's answer");
	auto *h = reinterpret_cast<nlmsghdr *>(buf);
	if (h->nlmsg_type == NLMSG_ERROR) {
		int err = -reinterpret_cast<nlmsgerr *>(NLMSG_DATA(h))->error;
		return fail(err, strf("the kernel's unix socket diagnostics (unix_diag) about %s%s",
				      socket_name(inode).c_str(),
				      err == ENOENT ? ", which this kernel lacks (modprobe unix_diag)"
						    : ""));
	}
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || !NLMSG_OK(h, size_t(n)) ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg)))
		return fail(EPROTO, "unix_diag's answer is malformed");
	auto *m = reinterpret_cast<unix_diag_msg *>(NLMSG_DATA(h));
	UnixDiag d;
	d.type = m->udiag_type;
	d.state = m->udiag_state;
	int len = int(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (auto *a = reinterpret_cast<rtattr *>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		auto *data = reinterpret_cast<const char *>(RTA_DATA(a));
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4) {
			d.peer = *reinterpret_cast<const uint32_t *>(data);
		} else if (a->rta_type == UNIX_DIAG_NAME) {
			d.named = true;
			d.name.assign(data, RTA_PAYLOAD(a));
		} else if (a->rta_type == UNIX_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1) {
			d.shutdown = *reinterpret_cast<const uint8_t *>(data);
		} else if (a->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(a) >= sizeof(unix_diag_vfs)) {
			auto *v = reinterpret_cast<const unix_diag_vfs *>(data);
			d.has_vfs = true;
			d.vfs_ino = v->udiag_vfs_ino;
			d.vfs_dev = v->udiag_vfs_dev;
		} else if (a->rta_type == UNIX_DIAG_ICONS) {
			for (size_t i = 0; i + 4 <= RTA_PAYLOAD(a); i += 4)
				d.icons.push_back(*reinterpret_cast<const uint32_t *>(data + i));
		} else if (a->rta_type == UNIX_DIAG_RQLEN &&
			   RTA_PAYLOAD(a) >= sizeof(unix_diag_rqlen)) {
			auto *q = reinterpret_cast<const unix_diag_rqlen *>(data);
			d.rqueue = q->udiag_rqueue;
			d.wqueue = q->udiag_wqueue;
		}
	}
	return d;
}

// A peek offset (SO_PEEK_OFF) moves each peek past the last; the
// socket's own is put back after.
Result<std::vector<std::vector<uint8_t>>> peek_queue(int fd, int type, const std::string &name,
						     std::vector<std::string> *senders,
						     std::vector<std::vector<UniqueFd>> *rights)
{
	int saved = -1;
	socklen_t len = sizeof(saved);
	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &saved, &len))
		return fail(errno, name + ": SO_PEEK_OFF");
	int zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return fail(errno, name + ": SO_PEEK_OFF");
	std::vector<std::vector<uint8_t>> queued;
	std::vector<uint8_t> buf(1 << 20);
	auto peek = [&]() -> Result<void> {
		for (;;) {
			alignas(cmsghdr) char control[CMSG_SPACE(253 * sizeof(int))];
			iovec iov{buf.data(), buf.size()};
			sockaddr_un from{};
			msghdr mh{};
			mh.msg_name = &from;
			mh.msg_namelen = sizeof(from);
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = control;
			mh.msg_controllen = sizeof(control);
			ssize_t n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return {};
			if (n < 0)
				return fail(errno, name + ": reading its queue (MSG_PEEK)");
			// The descriptors in flight, installed in us by the peek.
			std::vector<UniqueFd> in_flight;
			for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
					size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
					for (size_t i = 0; i < count; i++) {
						int got;
						std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
							    sizeof(int));
						in_flight.emplace_back(got);
					}
				}
			if (mh.msg_flags & MSG_CTRUNC)
				return fail(EOPNOTSUPP, name + " has more than 253 descriptors in flight "
							"(SCM_RIGHTS) with one message, which cannot "
							"be carried");
			if (!in_flight.empty() && (!rights || type == SOCK_STREAM))
				return fail(EOPNOTSUPP, name + " has descriptors in flight (SCM_RIGHTS) "
							"in its queue, which cannot be carried" +
							(type == SOCK_STREAM
								 ? std::string(" on a stream socket")
								 : std::string(" in a tree's shared "
									       "socket")));
			if (mh.msg_flags & MSG_TRUNC)
				return fail(EOPNOTSUPP, name + " has a datagram of more than 1 MiB "
							"queued, which cannot be carried");
			if (type == SOCK_STREAM) {
				if (n == 0)
					return {};
				if (queued.empty())
					queued.emplace_back();
				queued[0].insert(queued[0].end(), buf.begin(), buf.begin() + n);
				continue;
			}
			if (n == 0)
				return fail(EOPNOTSUPP, name + " has an empty datagram queued, which "
							"cannot be read without taking it");
			queued.emplace_back(buf.begin(), buf.begin() + n);
			if (rights)
				rights->push_back(std::move(in_flight));
			if (senders) {
				size_t len = mh.msg_namelen > offsetof(sockaddr_un, sun_path)
					? std::min<size_t>(mh.msg_namelen - offsetof(sockaddr_un, sun_path),
							   sizeof(from.sun_path)) : 0;
				senders->emplace_back(from.sun_path, len);
			}
		}
	};
	auto r = peek();
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &saved, sizeof(saved)) && r)
		r = fail(errno, name + ": putting its SO_PEEK_OFF back");
	if (!r)
		return std::unexpected(r.error());
	return queued;
}

namespace {

Result<void> send_all(int fd, const std::vector<uint8_t> &m, int type)
{
	for (size_t off = 0; off < m.size() || (type != SOCK_STREAM && off == 0);) {
		ssize_t n = send(fd, m.data() + off, m.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(errno, strf("writing back %zu bytes", m.size()));
		if (type != SOCK_STREAM)
			return n == ssize_t(m.size()) ? Result<void>{} : fail(EMSGSIZE, "a datagram");
		off += size_t(n);
	}
	return {};
}

} // namespace

uint64_t socket_inode(const std::string &link)
{
	if (!link.starts_with("socket:[") || !link.ends_with("]"))
		return 0;
	return std::strtoull(link.c_str() + 8, nullptr, 10);
}

Result<void> capture_unix_pairs(pid_t pid, std::vector<OpenFile> &files,
				std::vector<UnixPair> &pairs, std::span<const pid_t> tree,
				std::span<const uint64_t> taken)
{
	std::map<uint64_t, int> first_fd;	// inode -> its lowest fd
	for (const auto &f : files)
		if (f.unix_socket && !first_fd.contains(f.unix_socket))
			first_fd[f.unix_socket] = f.fd;
	auto is_taken = [&](uint64_t inode) {
		return std::find(taken.begin(), taken.end(), inode) != taken.end();
	};
	// Why F's socket is not carried, or nothing. TREES: it is not the
	// process's alone but its tree's, for capture_tree_files.
	auto why_not = [&](const OpenFile &f, int &type, bool &trees) -> Result<std::string> {
		auto copy = copy_of(pid, f.fd);
		if (!copy)
			return std::unexpected(copy.error());
		int domain = 0;
		socklen_t len = sizeof(domain);
		if (getsockopt(copy->get(), SOL_SOCKET, SO_DOMAIN, &domain, &len))
			return fail(errno, strf("fd %d: SO_DOMAIN", f.fd));
		if (domain != AF_UNIX)
			return strf("a socket of address family %d (only unix socket pairs and TCP "
				    "sockets can be carried)", domain);
		auto d = unix_diag(f.unix_socket);
		if (!d)
			return d.error().describe();
		type = d->type;
		// What capture_unix_sockets did not take: a socket of the tree, or
		// one whose peer is not in the process.
		for (uint64_t end : {f.unix_socket, d->peer})
			if (end && held_elsewhere(pid, socket_name(end), tree, true))
				trees = true;
		if (!trees && (!d->peer || !first_fd.contains(d->peer)))
			return "a unix socket whose peer is not in the process (" +
			       peer_outside(pid, *d, tree) + "): only sockets whose peers are in "
			       "it can be carried";
		// A socket of the tree, named or not, is capture_tree_files's.
		for (uint64_t end : {f.unix_socket, d->peer})
			if (pid_t other = end ? held_elsewhere(pid, socket_name(end), tree, false) : 0) {
				trees = false;
				return strf("a unix socket pair whose %s process %d holds too: only "
					    "pairs whose both ends are in the process or its tree "
					    "can be carried", end == f.unix_socket ? "end" : "other end",
					    other);
			}
		return std::string();
	};

	std::map<uint64_t, int> types;
	std::map<uint64_t, uint64_t> peers;
	for (auto &f : files) {
		if (!f.unix_socket || first_fd[f.unix_socket] != f.fd || is_taken(f.unix_socket))
			continue;
		int type = 0;
		bool trees = false;
		auto why = why_not(f, type, trees);
		if (!why)
			return std::unexpected(why.error());
		if (trees)
			continue;
		if (!why->empty()) {
			if (f.fd <= 2) {
				// A socket to a log (a journal stream) or a
				// terminal's: the receiver provides its own.
				for (auto &g : files)
					if (g.unix_socket == f.unix_socket) {
						g.std_stream = g.fd <= 2;
						if (g.fd > 2)
							return fail(EOPNOTSUPP, strf(
								"fd %d is %s, a dup of standard stream "
								"%d: %s", g.fd, f.path.c_str(), f.fd,
								why->c_str()));
						g.unix_socket = 0;
					}
				continue;
			}
			return fail(EOPNOTSUPP, strf("fd %d is %s, %s%s", f.fd, f.path.c_str(),
						     why->c_str(),
						     epolls_watching(pid, f.fd).c_str()));
		}
		types[f.unix_socket] = type;
		auto d = unix_diag(f.unix_socket);
		if (!d)
			return std::unexpected(d.error());
		peers[f.unix_socket] = d->peer;
	}

	for (const auto &[inode, peer] : peers) {
		if (inode > peer)
			continue;  // the pair is taken from its lower inode
		auto p = capture_pair(types[inode], {{{inode, pid, first_fd[inode]},
						       {peer, pid, first_fd[peer]}}}, true);
		if (!p)
			return std::unexpected(p.error());
		pairs.push_back(std::move(*p));
	}
	return {};
}

std::vector<std::vector<int>> rights_placeholders(const std::vector<std::vector<UniqueFd>> &rights)
{
	std::vector<std::vector<int>> out;
	if (std::all_of(rights.begin(), rights.end(), [](const auto &r) { return r.empty(); }))
		return out;
	for (const auto &r : rights)
		out.emplace_back(r.size(), -1);
	return out;
}

Result<UnixPair> capture_pair(int type, const std::array<SocketEnd, 2> &ends, bool in_flight)
{
	UnixPair p;
	p.type = type;
	for (size_t i = 0; i < 2; i++) {
		const SocketEnd &e = ends[i];
		std::string name = strf("fd %d (%s)", e.fd, socket_name(e.inode).c_str());
		auto copy = copy_of(e.pid, e.fd);
		if (!copy)
			return std::unexpected(copy.error());
		int sndbuf = 0;
		socklen_t len = sizeof(sndbuf);
		if (getsockopt(copy->get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, &len))
			return fail(errno, name + ": SO_SNDBUF");
		// Descriptors in flight: fds/in_flight.h found them, for a pair
		// of one process.
		std::vector<std::vector<UniqueFd>> rights;
		auto queued = peek_queue(copy->get(), p.type, name, nullptr,
					 in_flight ? &rights : nullptr);
		if (!queued)
			return std::unexpected(queued.error());
		p.ends[i] = {e.inode, uint32_t(sndbuf), std::move(*queued),
			     rights_placeholders(rights)};
	}
	return p;
}

Result<std::pair<int, uint64_t>> unix_peer(uint64_t inode)
{
	auto d = unix_diag(inode);
	if (!d)
		return std::unexpected(d.error());
	return std::pair{d->type, d->peer};
}

Result<int> UnixPairMaker::open_end(const OpenFile &f)
{
	std::string name = socket_name(f.unix_socket) + " of the process";
	if (!made_.contains(f.unix_socket)) {
		const UnixPair *p = nullptr;
		for (const auto &pair : pairs_)
			if (pair.ends[0].inode == f.unix_socket || pair.ends[1].inode == f.unix_socket)
				p = &pair;
		if (!p)
			return fail(EINVAL, name + " is not in the image");
		int sv[2];
		if (socketpair(AF_UNIX, p->type | SOCK_CLOEXEC, 0, sv))
			return fail(errno, name + ": socketpair");
		UniqueFd ends[2] = {UniqueFd(sv[0]), UniqueFd(sv[1])};
		for (size_t i = 0; i < 2; i++) {
			// getsockopt gives twice what setsockopt takes.
			int sndbuf = int(p->ends[i].sndbuf / 2);
			if (sndbuf)
				setsockopt(ends[i].get(), SOL_SOCKET, SO_SNDBUF, &sndbuf,
					   sizeof(sndbuf));
		}
		// A queue with descriptors in flight is sent once the process's
		// fds are in place (fds/in_flight.h).
		for (size_t i = 0; i < 2; i++)
			for (const auto &m : p->ends[i].rights.empty() ? p->ends[i].queued
								       : decltype(p->ends[i].queued){})
				if (auto r = send_all(ends[1 - i].get(), m, p->type); !r)
					return fail(r.error().code,
						    strf("%s: %s its end held", name.c_str(),
							 r.error().describe().c_str()));
		for (size_t i = 0; i < 2; i++) {
			UniqueFd above(fcntl(ends[i].get(), F_DUPFD_CLOEXEC, above_));
			if (above.get() < 0)
				return fail(errno, name + ": F_DUPFD");
			made_[p->ends[i].inode] = std::move(above);
		}
	}
	const UniqueFd &end = made_[f.unix_socket];
	if (fcntl(end.get(), F_SETFL, f.flags & O_NONBLOCK) < 0)
		return fail(errno, strf("fd %d, an end of %s: F_SETFL", f.fd, name.c_str()));
	int fd = fcntl(end.get(), (f.flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (fd < 0)
		return fail(errno, strf("fd %d, an end of %s", f.fd, name.c_str()));
	return fd;
}

} // namespace hetmig::fds

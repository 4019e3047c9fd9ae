// SPDX-License-Identifier: GPL-2.0
#include "fds/in_flight.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fds/pipes.h"
#include "fds/unix_pairs.h"

namespace hetmig::fds {

namespace {

std::string socket_name(uint64_t inode)
{
	return strf("socket:[%llu]", (unsigned long long)inode);
}

// The open(2) flags of our descriptor FD of a file in flight, as the
// process will have them: the file's, without the close-on-exec flag the
// peek gave our descriptor.
int flags_of_ours(int fd)
{
	auto flags = fdinfo_field(getpid(), fd, "flags");
	return flags ? int(std::stoul(*flags, nullptr, 8)) & ~O_CLOEXEC : 0;
}

std::string link_of(int fd)
{
	char buf[256];
	ssize_t n = readlink(strf("/proc/self/fd/%d", fd).c_str(), buf, sizeof(buf) - 1);
	return n > 0 ? std::string(buf, size_t(n)) : std::string("an unknown file");
}

} // namespace

std::map<int, int> InFlight::numbers() const
{
	std::map<int, int> out;
	for (const auto &[number, fd] : ours)
		out[number] = fd.get();
	return out;
}

Result<void> capture_in_flight(pid_t pid, std::vector<OpenFile> &files, InFlight &found,
			       std::span<const pid_t> tree)
{
	int next = 2;
	for (const auto &f : files)
		next = std::max(next, f.fd);
	next++;
	std::vector<OpenFile> added;
	for (const auto &f : files) {
		if (!f.unix_socket || f.dup_of >= 0)
			continue;
		auto d = unix_diag(f.unix_socket);
		if (!d)
			continue;  // not a unix socket, or gone: the sockets' capture decides
		if (d->type != SOCK_DGRAM && !(d->type == SOCK_SEQPACKET && d->state == 1))
			continue;  // a stream's queue: peek_queue refuses what it carries
		bool trees = false;
		for (uint64_t end : {f.unix_socket, d->peer})
			if (end && held_elsewhere(pid, socket_name(end), tree, true))
				trees = true;
		if (trees)
			continue;  // the tree's: its capture refuses what it carries
		std::string name = strf("fd %d (%s)", f.fd, f.path.c_str());
		auto copy = copy_of(pid, f.fd);
		if (!copy)
			return std::unexpected(copy.error());
		std::vector<std::vector<UniqueFd>> rights;
		auto queued = peek_queue(copy->get(), SOCK_DGRAM, name, nullptr, &rights);
		if (!queued)
			return std::unexpected(queued.error());
		if (std::all_of(rights.begin(), rights.end(),
				[](const auto &r) { return r.empty(); }))
			continue;
		std::vector<std::vector<int>> numbers(rights.size());
		for (size_t m = 0; m < rights.size(); m++) {
			for (UniqueFd &ours : rights[m]) {
				int number = -1;
				// One of the process's own files (sent and kept)?
				for (const auto &g : files) {
					if (g.dup_of >= 0 || g.in_flight)
						continue;
					auto same = same_description(getpid(), ours.get(), pid, g.fd);
					if (!same)
						return std::unexpected(same.error());
					if (*same) {
						number = g.fd;
						break;
					}
				}
				// One in flight already, in this message or another?
				for (const auto &[n, held] : found.ours) {
					if (number >= 0)
						break;
					auto same = same_description(getpid(), ours.get(), getpid(),
								     held.get());
					if (!same)
						return std::unexpected(same.error());
					if (*same)
						number = n;
				}
				if (number >= 0) {
					numbers[m].push_back(number);
					continue;
				}
				std::string link = link_of(ours.get());
				uint64_t inode = pipe_inode(link);
				if (!inode)
					return fail(EOPNOTSUPP, strf(
						"%s has %s in flight in its queue (SCM_RIGHTS), "
						"which no fd of the process holds: only the "
						"process's own files and pipes can be carried in "
						"flight", name.c_str(), link.c_str()));
				if (tree.size() > 1)
					return fail(EOPNOTSUPP, strf(
						"%s has %s in flight in its queue (SCM_RIGHTS), "
						"which no fd of the process holds: in a process "
						"tree only the process's own files can be carried "
						"in flight", name.c_str(), link.c_str()));
				OpenFile held;
				held.fd = next++;
				held.path = link;
				held.flags = flags_of_ours(ours.get());
				held.pipe = inode;
				held.in_flight = true;
				added.push_back(held);
				numbers[m].push_back(held.fd);
				found.ours[held.fd] = std::move(ours);
			}
		}
		found.rights[f.unix_socket] = std::move(numbers);
	}
	files.insert(files.end(), added.begin(), added.end());
	return {};
}

Result<void> attach_in_flight(const InFlight &found, const std::vector<OpenFile> &files,
			      std::vector<UnixPair> &pairs, std::vector<UnixSocket> &sockets)
{
	// A standard stream the receiver provides is not the file that was
	// in flight.
	for (const auto &[inode, messages] : found.rights)
		for (const auto &fds : messages)
			for (int fd : fds)
				for (const auto &f : files)
					if (f.fd == fd && f.std_stream)
						return fail(EOPNOTSUPP, strf(
							"%s has fd %d (%s) in flight in its queue "
							"(SCM_RIGHTS), a standard stream that stays "
							"with the receiver: it cannot be carried",
							socket_name(inode).c_str(), fd,
							f.path.c_str()));
	size_t attached = 0;
	// TO: the captured queue's placeholders (unix_pairs.h), as many -1s
	// per message as it carries.
	auto attach = [&](uint64_t inode, size_t queued,
			  std::vector<std::vector<int>> &to) -> Result<void> {
		auto it = found.rights.find(inode);
		if (it == found.rights.end()) {
			if (to.empty())
				return {};
			return fail(EOPNOTSUPP, strf("%s has descriptors in flight (SCM_RIGHTS) in "
						     "its queue, which cannot be carried in a "
						     "socket of this kind",
						     socket_name(inode).c_str()));
		}
		bool same = it->second.size() == queued && to.size() == queued;
		for (size_t m = 0; same && m < queued; m++)
			same = it->second[m].size() == to[m].size();
		if (!same)
			return fail(EAGAIN, strf("%s: its queue changed while the dump read it",
						 socket_name(inode).c_str()));
		to = it->second;
		attached++;
		return {};
	};
	for (auto &p : pairs)
		for (auto &e : p.ends)
			if (auto r = attach(e.inode, e.queued.size(), e.rights); !r)
				return r;
	for (auto &s : sockets) {
		if (auto r = attach(s.inode, s.queued.size(), s.rights); !r)
			return r;
		// send_in_flight sends from the peer or the sender's socket,
		// else to the socket's name: one it can reach by.
		bool reachable = !s.name.empty() && (s.name[0] == '\0' || s.name[0] == '/');
		if (!s.rights.empty() && !s.peer && (!reachable || s.type != SOCK_DGRAM))
			return fail(EOPNOTSUPP, strf("%s has descriptors in flight (SCM_RIGHTS) in its "
						     "queue, and neither a peer nor (a datagram "
						     "socket) a name to send them to again by (an "
						     "absolute path or an abstract name)",
						     socket_name(s.inode).c_str()));
	}
	if (attached != found.rights.size())
		return fail(EOPNOTSUPP, "a unix socket with descriptors in flight (SCM_RIGHTS) that "
					"is carried neither as a pair nor as a socket of the "
					"process");
	return {};
}

namespace {

// Sends M to the socket at TO's end through FROM, with the fds FDS in
// flight; ADDRESS (a sun_path, "" for none) names the receiver.
Result<void> send_with(int from, const std::vector<uint8_t> &m, const std::vector<int> &fds,
		       const std::string &address, const std::string &name)
{
	std::vector<char> control(CMSG_SPACE(fds.size() * sizeof(int)));
	iovec iov{const_cast<uint8_t *>(m.data()), m.size()};
	sockaddr_un to{};
	msghdr mh{};
	if (!address.empty()) {
		to.sun_family = AF_UNIX;
		std::memcpy(to.sun_path, address.data(),
			    std::min(address.size(), sizeof(to.sun_path)));
		mh.msg_name = &to;
		mh.msg_namelen = socklen_t(offsetof(sockaddr_un, sun_path) +
					   std::min(address.size(), sizeof(to.sun_path)));
	}
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (!fds.empty()) {
		mh.msg_control = control.data();
		mh.msg_controllen = control.size();
		cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
		std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(from, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == ssize_t(m.size()))
			return {};
		return fail(n < 0 ? errno : EMSGSIZE,
			    strf("%s: queueing again a message of %zu bytes with %zu descriptors "
				 "in flight (SCM_RIGHTS)", name.c_str(), m.size(), fds.size()));
	}
}

// The lowest fd of FILES that holds the socket INODE; -1 for none.
int fd_of_socket(const std::vector<OpenFile> &files, uint64_t inode)
{
	for (const auto &f : files)
		if (f.unix_socket == inode && !f.in_flight)
			return f.fd;
	return -1;
}

} // namespace

Result<void> send_in_flight(const std::vector<OpenFile> &files,
			    const std::vector<UnixPair> &pairs,
			    const std::vector<UnixSocket> &sockets)
{
	for (const auto &p : pairs)
		for (size_t i = 0; i < 2; i++) {
			const auto &e = p.ends[i];
			if (e.rights.empty())
				continue;
			std::string name = socket_name(e.inode) + " of the process";
			int from = fd_of_socket(files, p.ends[1 - i].inode);
			if (from < 0)
				return fail(EINVAL, name + ": its peer is not in the image");
			for (size_t m = 0; m < e.queued.size(); m++)
				if (auto r = send_with(from, e.queued[m], e.rights[m], "", name); !r)
					return r;
		}
	for (const auto &s : sockets) {
		if (s.rights.empty())
			continue;
		std::string name = socket_name(s.inode) + " of the process";
		UniqueFd unnamed;
		for (size_t m = 0; m < s.queued.size(); m++) {
			// From the socket that sent it, found by its name; else
			// from the peer; else from a socket of no name, to S's.
			const std::string sender = m < s.senders.size() ? s.senders[m] : "";
			int from = -1;
			for (const auto &o : sockets)
				if (!sender.empty() && o.name == sender)
					from = fd_of_socket(files, o.inode);
			bool addressed = true;
			if (from < 0 && sender.empty() && s.peer) {
				from = fd_of_socket(files, s.peer);
				addressed = false;
			}
			if (from < 0) {
				if (unnamed.get() < 0)
					unnamed = UniqueFd(socket(AF_UNIX, s.type | SOCK_CLOEXEC, 0));
				from = unnamed.get();
			}
			if (addressed && (s.name.empty() || (s.name[0] != '\0' && s.name[0] != '/')))
				return fail(EINVAL, name + ": messages with descriptors in flight "
						    "from a sender it cannot be reached by");
			if (auto r = send_with(from, s.queued[m], s.rights[m],
					       addressed ? s.name : "", name); !r)
				return r;
		}
	}
	for (const auto &f : files)
		if (f.in_flight && close(f.fd))
			return fail(errno, strf("closing fd %d, which held a file in flight", f.fd));
	return {};
}

} // namespace hetmig::fds

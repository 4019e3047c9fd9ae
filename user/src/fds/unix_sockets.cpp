// SPDX-License-Identifier: GPL-2.0
#include "fds/unix_sockets.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <random>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "fds/epoll.h"

namespace hetmig::fds {

namespace {

constexpr int kEstablished = 1, kClose = 7, kListen = 10;	// unix_diag's states
constexpr size_t kNameMax = sizeof(sockaddr_un::sun_path);

std::string socket_link(uint64_t inode)
{
	return strf("socket:[%llu]", (unsigned long long)inode);
}

bool is_path(const std::string &name) { return !name.empty() && name[0] != '\0'; }

// Where a path name's file is: NAME, or BASE/NAME for a relative one.
std::string file_of(const std::string &name, const std::string &base)
{
	if (!is_path(name) || name[0] == '/')
		return name;
	return base + "/" + name;
}

std::string file_of(const UnixSocket &s) { return file_of(s.name, s.base); }

const char *type_name(int type)
{
	return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "datagram"
					      : "sequenced-packet";
}

// The kernel's dev_t (20 bits of minor), as unix_diag gives it, in stat's.
dev_t user_dev(uint32_t kdev)
{
	return makedev(kdev >> 20, kdev & ((1u << 20) - 1));
}

} // namespace

std::string printable_name(const std::string &name)
{
	if (is_path(name))
		return name;
	std::string out = "@";
	for (size_t i = 1; i < name.size(); i++)
		out += name[i] ? name[i] : '@';
	return out;
}

std::string peer_outside(pid_t pid, const UnixDiag &d, std::span<const pid_t> tree)
{
	if (!d.peer)
		return d.type == SOCK_DGRAM ? "whose peer is gone"
					    : "connected to a listener that has not accepted it yet";
	std::string out = "connected to " + socket_link(d.peer);
	if (auto p = unix_diag(d.peer); p && p->named)
		out += " (" + printable_name(is_path(p->name) ? std::string(p->name.c_str())
							      : p->name) + ")";
	if (pid_t other = held_elsewhere(pid, socket_link(d.peer), tree, false))
		out += strf(" of process %d, which stays", other);
	return out;
}

namespace {

// The UnixSocket of INODE, D being what unix_diag says of it and COPY our
// descriptor of it; a refusal's reason, or nothing.
Result<std::string> describe(const UnixDiag &d, uint64_t inode, int copy, const std::string &cwd,
			     int fd, UnixSocket &s, bool in_flight)
{
	const std::string label = strf("fd %d (%s)", fd, socket_link(inode).c_str());
	s.inode = inode;
	s.type = d.type;
	s.state = d.state;
	s.shutdown = d.shutdown & 3;
	if (d.type != SOCK_STREAM && d.type != SOCK_DGRAM && d.type != SOCK_SEQPACKET)
		return strf("a unix socket of type %d", d.type);
	if (d.named) {
		s.name = d.name;
		if (is_path(s.name))
			s.name.resize(std::strlen(s.name.c_str()));	// its NUL
		if (s.name.empty() || s.name.size() > kNameMax)
			return std::string("a unix socket with a name longer than a socket address");
	}
	if (is_path(s.name)) {
		if (s.name[0] != '/')
			s.base = cwd;
		// Its file, if the path still leads to it: the mode and owner to
		// give it again. Otherwise it is bound and unlinked again.
		struct stat st;
		if (!lstat(file_of(s).c_str(), &st) && S_ISSOCK(st.st_mode) && d.has_vfs &&
		    st.st_ino == d.vfs_ino && st.st_dev == user_dev(d.vfs_dev)) {
			s.mode = st.st_mode & 07777;
			s.uid = st.st_uid;
			s.gid = st.st_gid;
		} else {
			s.deleted = true;
		}
	}
	if (d.state == kListen) {
		// Its connections not accepted yet: checked by the caller.
		s.pending = d.icons;
		s.backlog = int(d.wqueue);
	}
	s.peer = d.peer;
	int sndbuf = 0;
	socklen_t len = sizeof(sndbuf);
	if (getsockopt(copy, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len))
		return fail(errno, label + ": SO_SNDBUF");
	s.sndbuf = uint32_t(sndbuf);
	// An unconnected stream socket has no queue to peek (EINVAL).
	if (d.type == SOCK_DGRAM || d.state == kEstablished) {
		std::vector<std::string> senders;
		std::vector<std::vector<UniqueFd>> rights;	// fds/in_flight.h's
		auto queued = peek_queue(copy, d.type == SOCK_SEQPACKET ? SOCK_DGRAM : d.type,
					 label, d.type == SOCK_DGRAM ? &senders : nullptr,
					 in_flight ? &rights : nullptr);
		if (!queued)
			return std::unexpected(queued.error());
		s.queued = std::move(*queued);
		s.rights = rights_placeholders(rights);
		s.senders = std::move(senders);
		for (auto &from : s.senders)
			if (is_path(from))
				from.resize(std::strlen(from.c_str()));
		if (d.type == SOCK_SEQPACKET)
			s.senders.assign(s.queued.size(), std::string());
	}
	return std::string();
}

} // namespace

bool plain_pair(uint64_t inode, const UnixDiag &d, const UnixDiag *p)
{
	return (d.type == SOCK_STREAM || d.type == SOCK_DGRAM) && !d.named &&
	       d.state != kListen && !d.shutdown && p && !p->named && !p->shutdown &&
	       p->peer == inode;
}

namespace {

std::string cwd_of(pid_t pid)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(strf("/proc/%d/cwd", pid).c_str(), buf, sizeof(buf));
	return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// Why the listener S (D) cannot go with its connections not accepted yet.
std::string not_accepted(const UnixSocket &s, const UnixDiag &d, const char *why = nullptr)
{
	return strf("a unix socket listening on %s with %u connection%s it has not accepted "
		    "yet, which cannot be carried (%s)", printable_name(s.name).c_str(),
		    d.rqueue, d.rqueue == 1 ? "" : "s",
		    why ? why : "their clients are not in the process, and what they sent "
				"cannot be read");
}

} // namespace

Result<UnixSocket> capture_unix_socket(pid_t pid, int fd, uint64_t inode)
{
	auto copy = copy_of(pid, fd);
	if (!copy)
		return std::unexpected(copy.error());
	auto d = unix_diag(inode);
	if (!d)
		return std::unexpected(d.error());
	UnixSocket s;
	auto why = describe(*d, inode, copy->get(), cwd_of(pid), fd, s, false);
	if (why && why->empty() && !d->peer && d->state == kEstablished &&
	    d->type != SOCK_DGRAM && d->shutdown != 3)
		why = "a unix socket whose peer is not in the tree (" +
		      peer_outside(pid, *d, {}) + ")";
	if (why && why->empty() && d->state == kListen && d->rqueue)
		why = not_accepted(s, *d);
	if (!why)
		return std::unexpected(why.error());
	if (!why->empty())
		return fail(EOPNOTSUPP, strf("fd %d is %s, %s", fd, socket_link(inode).c_str(),
					     why->c_str()));
	return s;
}

Result<void> capture_unix_sockets(pid_t pid, std::vector<OpenFile> &files,
				  std::vector<UnixPair> &pairs, std::vector<UnixSocket> &sockets,
				  std::span<const pid_t> tree)
{
	std::map<uint64_t, int> first_fd;	// inode -> its lowest fd
	for (const auto &f : files)
		if (f.unix_socket && !first_fd.contains(f.unix_socket))
			first_fd[f.unix_socket] = f.fd;
	std::map<uint64_t, UnixDiag> diags;	// the unix sockets among them
	std::map<uint64_t, UniqueFd> copies;
	for (const auto &[inode, fd] : first_fd) {
		auto copy = copy_of(pid, fd);
		if (!copy)
			return std::unexpected(copy.error());
		int domain = 0;
		socklen_t len = sizeof(domain);
		if (getsockopt(copy->get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
		    domain != AF_UNIX)
			continue;  // capture_unix_pairs names it
		auto d = unix_diag(inode);
		if (!d)
			continue;  // the same
		diags[inode] = *d;
		copies[inode] = std::move(*copy);
	}
	auto in_tree = [&](uint64_t inode) {
		return !tree.empty() && inode && held_elsewhere(pid, socket_link(inode), tree, true);
	};
	// Clients of a listener of the process that has not accepted them yet:
	// connected again, in order, once it listens.
	std::set<uint64_t> waiting;
	for (const auto &[inode, d] : diags)
		if (d.state == kListen)
			waiting.insert(d.icons.begin(), d.icons.end());
	std::set<uint64_t> taken;
	for (const auto &[inode, d] : diags) {
		if (in_tree(inode) || in_tree(d.peer))
			continue;
		auto p = diags.find(d.peer);
		if (d.peer && p == diags.end())
			continue;  // its peer is outside: capture_unix_pairs names it
		if (!d.peer && d.state == kEstablished && d.type != SOCK_DGRAM && d.shutdown != 3 &&
		    !waiting.contains(inode))
			continue;  // a client not accepted yet elsewhere: the same
		if (!plain_pair(inode, d, d.peer ? &p->second : nullptr))
			taken.insert(inode);
	}
	// A connection goes whole: the peer of what is taken is taken too.
	for (bool more = true; more;) {
		more = false;
		for (uint64_t inode : std::set<uint64_t>(taken))
			if (uint64_t peer = diags[inode].peer; peer && diags.contains(peer) &&
								 taken.insert(peer).second)
				more = true;
	}

	const std::string cwd = cwd_of(pid);
	auto d_of = [&](uint64_t inode) -> const UnixDiag & { return diags[inode]; };
	for (uint64_t inode : taken) {
		const int fd = first_fd[inode];
		const OpenFile *f = nullptr;
		for (const auto &g : files)
			if (g.fd == fd)
				f = &g;
		UnixSocket s;
		auto why = describe(diags[inode], inode, copies[inode].get(), cwd, fd, s, true);
		if (why && why->empty() && d_of(inode).state == kListen && d_of(inode).rqueue) {
			const UnixDiag &l = d_of(inode);
			if (l.icons.size() != l.rqueue ||
			    std::any_of(l.icons.begin(), l.icons.end(), [&](uint64_t c) {
				    return !taken.contains(c);
			    }))
				why = not_accepted(s, l);
			else if (std::any_of(l.icons.begin(), l.icons.end(), [&](uint64_t c) {
					 return d_of(c).wqueue != 0;
				 }))
				why = not_accepted(s, l, "a client in the process wrote to its "
							 "connection, and what it sent cannot be "
							 "read");
		}
		if (why && why->empty() && s.type == SOCK_DGRAM && s.peer) {
			const UnixDiag &p = diags[s.peer];
			if (!p.named && p.peer != inode)
				why = std::string("a datagram unix socket connected to an unnamed "
						  "socket that is connected elsewhere");
		}
		if (!why)
			return std::unexpected(why.error());
		if (!why->empty())
			return fail(EOPNOTSUPP, strf("fd %d is %s, %s%s", fd, f->path.c_str(),
						     why->c_str(), epolls_watching(pid, fd).c_str()));
		sockets.push_back(std::move(s));
	}
	std::vector<uint64_t> skip(taken.begin(), taken.end());
	return capture_unix_pairs(pid, files, pairs, tree, skip);
}

std::optional<std::string> unix_sockets_problem(const std::vector<UnixSocket> &sockets,
						const std::vector<OpenFile> &files)
{
	auto find = [&](uint64_t inode) -> const UnixSocket * {
		for (const auto &s : sockets)
			if (s.inode == inode)
				return &s;
		return nullptr;
	};
	for (size_t i = 0; i < sockets.size(); i++) {
		const UnixSocket &s = sockets[i];
		auto bad = [&](const char *why) {
			return strf("unix socket:[%llu] %s", (unsigned long long)s.inode, why);
		};
		if (!s.inode || std::any_of(sockets.begin(), sockets.begin() + ptrdiff_t(i),
					    [&](const UnixSocket &o) { return o.inode == s.inode; }))
			return bad("is there twice");
		if (s.type != SOCK_STREAM && s.type != SOCK_DGRAM && s.type != SOCK_SEQPACKET)
			return bad("is of no type a unix socket has");
		if (s.state != kEstablished && s.state != kClose && s.state != kListen)
			return bad("is in no state a unix socket has");
		if (s.name.size() > kNameMax || (is_path(s.name) && (s.name.find('\0') !=
								    std::string::npos ||
								    (s.name[0] != '/' &&
								     !s.base.starts_with("/")))))
			return bad("has a name that is no socket address");
		if ((s.deleted && !is_path(s.name)) || s.mode > 07777 || s.shutdown < 0 ||
		    s.shutdown > 3 || s.backlog < 0)
			return bad("has a file, mode, shutdown or backlog out of range");
		if (s.state == kListen && (s.type == SOCK_DGRAM || s.name.empty() || s.peer ||
					   !s.queued.empty()))
			return bad("listens without a name, or with a peer or a queue");
		if (s.type == SOCK_STREAM ? s.queued.size() > 1
					  : s.senders.size() != s.queued.size())
			return bad("has a queue of another form than its type's");
		for (uint64_t c : s.pending) {
			const UnixSocket *p = find(c);
			if (s.state != kListen || !p || p->type != s.type || p->state != kEstablished ||
			    p->peer || !p->queued.empty() ||
			    std::count_if(sockets.begin(), sockets.end(), [&](const UnixSocket &o) {
				    return std::count(o.pending.begin(), o.pending.end(), c);
			    }) != 1)
				return bad("waits to accept a client the image lacks, or another's");
		}
		if (s.peer) {
			const UnixSocket *p = find(s.peer);
			if (!p || p->type != s.type || s.state != kEstablished)
				return bad("is connected to a socket the image lacks");
			if (s.type != SOCK_DGRAM && p->peer != s.inode)
				return bad("is connected to a socket connected elsewhere");
			if (s.type == SOCK_DGRAM && p->name.empty() && p->peer != s.inode)
				return bad("is connected to an unnamed socket connected elsewhere");
		}
		if (std::none_of(files.begin(), files.end(), [&](const OpenFile &f) {
			    return f.unix_socket == s.inode && f.tree_file < 0;
		    }))
			return bad("is held by no fd");
	}
	return std::nullopt;
}

namespace {

// While it lives, this thread reaches files as UID and GID (when it runs as
// root): a socket's file is bound, unlinked and given its mode where the
// process itself could, not wherever root can.
class FsAccess {
public:
	FsAccess(uid_t uid, gid_t gid) : active_(geteuid() == 0)
	{
		if (!active_)
			return;
		old_gid_ = gid_t(syscall(SYS_setfsgid, gid));
		old_uid_ = uid_t(syscall(SYS_setfsuid, uid));
	}
	~FsAccess()
	{
		if (!active_)
			return;
		syscall(SYS_setfsuid, old_uid_);
		syscall(SYS_setfsgid, old_gid_);
	}
	FsAccess(const FsAccess &) = delete;
	FsAccess &operator=(const FsAccess &) = delete;

private:
	bool active_;
	uid_t old_uid_ = 0;
	gid_t old_gid_ = 0;
};

// CALL with NAME's socket address; a relative path's from BASE (the
// working directory changes for as long as the call, and is put back).
int at_address(const std::string &name, const std::string &base,
	       const std::function<int(const sockaddr *, socklen_t)> &call)
{
	sockaddr_un a{};
	a.sun_family = AF_UNIX;
	std::memcpy(a.sun_path, name.data(), std::min(name.size(), kNameMax));
	socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + name.size());
	if (!is_path(name) || name[0] == '/')
		return call(reinterpret_cast<sockaddr *>(&a), len);
	UniqueFd here(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (here.get() < 0 || chdir(base.c_str()))
		return -1;
	int r = call(reinterpret_cast<sockaddr *>(&a), len);
	int err = errno;
	if (fchdir(here.get()) && r == 0) {
		err = errno;
		r = -1;
	}
	errno = err;
	return r;
}

int connect_to(int fd, const std::string &name, const std::string &base)
{
	return at_address(name, base, [fd](const sockaddr *a, socklen_t len) {
		return connect(fd, a, len);
	});
}

Result<void> make_room_once(const std::string &name, const std::string &base, int type,
			    bool remove);

// Whether NAME (of a socket of TYPE) can be bound here: free, or the file
// of a socket no one uses (removed, with REMOVE). Fails naming what is
// there otherwise. A name can be held a while by a socket no process
// holds, only messages in flight in a cycle (a dumped process's sockets
// that sent each other, zdtm's scm06): the kernel's garbage collector
// frees them when a unix socket is closed (6.1), or soon after on a work
// queue (6.12), so a name in use is looked at again for a second, a probe
// closed between looks, before it is refused.
Result<void> make_room(const std::string &name, const std::string &base, int type, bool remove)
{
	for (int look = 0;; look++) {
		auto r = make_room_once(name, base, type, remove);
		if (r || r.error().code != EADDRINUSE || look == 50)
			return r;
		usleep(20000);
	}
}

Result<void> make_room_once(const std::string &name, const std::string &base, int type,
			    bool remove)
{
	if (name.empty())
		return {};
	UniqueFd probe(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (probe.get() < 0)
		return fail(errno, "a unix socket");
	if (!is_path(name)) {
		if (!connect_to(probe.get(), name, base) || errno != ECONNREFUSED)
			return fail(EADDRINUSE, strf("the abstract unix socket name %s is taken here",
						     printable_name(name).c_str()));
		return {};
	}
	const std::string path = file_of(name, base);
	struct stat st;
	if (lstat(path.c_str(), &st))
		return errno == ENOENT ? Result<void>{} : fail(errno, "stat " + path);
	if (!S_ISSOCK(st.st_mode))
		return fail(EEXIST, strf("%s is here and is no socket: the process's unix socket "
					 "cannot be bound there", path.c_str()));
	if (!connect_to(probe.get(), name, base) || errno != ECONNREFUSED)
		return fail(EADDRINUSE, strf("%s is a unix socket that a process here %s: the "
					     "process's own cannot be bound there", path.c_str(),
					     errno == EPROTOTYPE ? "has bound (of another type)"
								 : "listens on"));
	if (remove && unlink(path.c_str()))
		return fail(errno, "removing the stale socket file " + path);
	return {};
}

// Where a socket whose path was unlinked is bound: what is at the path
// now is not the process's (its file went, or was replaced), so it is
// moved aside while the socket is bound and unlinked again, and put back:
// the path ends as it was. A socket a process here uses is not moved
// (refused). The name it was moved to, "" for nothing there; with DRY
// only checked.
Result<std::string> set_aside(const UnixSocket &s, bool dry)
{
	const std::string path = file_of(s);
	struct stat st;
	if (lstat(path.c_str(), &st))
		return errno == ENOENT ? Result<std::string>{} : fail(errno, "stat " + path);
	if (S_ISSOCK(st.st_mode)) {
		UniqueFd probe(socket(AF_UNIX, s.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (probe.get() < 0)
			return fail(errno, "a unix socket");
		if (!connect_to(probe.get(), s.name, s.base) || errno != ECONNREFUSED)
			return fail(EADDRINUSE, strf("%s is a unix socket that a process here uses: "
						     "the process's own, unlinked since it was "
						     "bound, cannot be bound there for a moment",
						     path.c_str()));
	}
	if (dry)
		return std::string();
	std::string aside = strf("%s.hetmig-aside-%d", path.c_str(), getpid());
	if (rename(path.c_str(), aside.c_str()))
		return fail(errno, "moving " + path + " aside for a moment");
	return aside;
}

// A file moved aside from a path while a socket of ours is bound there:
// ours unlinked and it put back when this goes.
class Aside {
public:
	Aside() = default;
	Aside(std::string path, std::string moved) : path_(std::move(path)), moved_(std::move(moved)) {}
	Aside(const Aside &) = delete;
	Aside &operator=(const Aside &) = delete;
	~Aside()
	{
		if (moved_.empty())
			return;
		unlink(path_.c_str());
		rename(moved_.c_str(), path_.c_str());
	}
	bool active() const { return !moved_.empty(); }

private:
	std::string path_, moved_;
};

// The sockets as they are being made.
class Building {
public:
	Building(const std::vector<UnixSocket> &all, const SocketOwner &owner)
		: all_(all), owner_(owner) {}

	Result<void> connections();
	Result<void> named();
	Result<void> queues_and_peers();
	Result<void> finish();

	std::map<uint64_t, UniqueFd> made;

private:
	bool waiting(uint64_t inode) const
	{
		return std::any_of(all_.begin(), all_.end(), [&](const UnixSocket &l) {
			return std::find(l.pending.begin(), l.pending.end(), inode) != l.pending.end();
		});
	}
	const UnixSocket *find(uint64_t inode) const
	{
		for (const auto &s : all_)
			if (s.inode == inode)
				return &s;
		return nullptr;
	}
	Result<void> bind_to(const UnixSocket &s, int fd);
	Result<void> pair(const UnixSocket &s, const UnixSocket *p);
	Result<void> connection(const UnixSocket &s, const UnixSocket *p);
	Result<void> send_from(int from, const UnixSocket &to, const std::vector<uint8_t> &m,
			       bool addressed);

	const std::vector<UnixSocket> &all_;
	SocketOwner owner_;
	std::set<uint64_t> paired_;		// made by socketpair: connected already
	std::set<uint64_t> gone_;		// deleted, unlinked at once (the path another's)
	std::vector<std::string> unlink_;	// deleted paths, unlinked at the end
};

std::string what(const UnixSocket &s)
{
	std::string out = strf("the %s unix socket socket:[%llu]", type_name(s.type),
			       (unsigned long long)s.inode);
	if (!s.name.empty())
		out += " (" + printable_name(s.name) + ")";
	return out;
}

Result<void> Building::bind_to(const UnixSocket &s, int fd)
{
	const std::string path = file_of(s);
	std::string moved;
	if (s.deleted) {
		auto m = set_aside(s, false);
		if (!m)
			return fail(m.error().code, what(s) + ": " + m.error().context);
		moved = *m;
	} else if (auto r = make_room(s.name, s.base, s.type, true); !r) {
		return fail(r.error().code, what(s) + ": " + r.error().context);
	}
	Aside aside(path, moved);
	if (at_address(s.name, s.base, [fd](const sockaddr *a, socklen_t len) {
		    return bind(fd, a, len);
	    }))
		return fail(errno, what(s) + ": bind");
	if (!is_path(s.name))
		return {};
	if (s.deleted) {
		// Unlinked at the end, when no datagram or client needs its path
		// any more; at once where the path is another file's (set aside)
		// or a socket of the process binds there too.
		if (!aside.active() && std::none_of(all_.begin(), all_.end(), [&](const UnixSocket &o) {
			    return !o.deleted && file_of(o) == path;
		    })) {
			unlink_.push_back(path);
			return {};
		}
		unlink(path.c_str());
		gone_.insert(s.inode);
		return {};
	}
	// A file the process owned is the restored process's, whoever that is
	// here; another owner stays (root's process chowned it).
	uid_t uid = s.uid == owner_.image_uid ? owner_.uid : s.uid;
	gid_t gid = s.gid == owner_.image_gid ? owner_.gid : s.gid;
	struct stat st;
	if (lstat(path.c_str(), &st))
		return fail(errno, what(s) + ": stat " + path);
	if ((st.st_uid != uid || st.st_gid != gid) && lchown(path.c_str(), uid, gid))
		return fail(errno, strf("%s: giving %s to uid %u gid %u as it was", what(s).c_str(),
					path.c_str(), uid, gid));
	if (chmod(path.c_str(), s.mode))
		return fail(errno, strf("%s: giving %s mode %o as it was", what(s).c_str(),
					path.c_str(), s.mode));
	return {};
}

// Writes message M to TO from FROM: sent to its name (ADDRESSED), or to
// FROM's peer.
Result<void> Building::send_from(int from, const UnixSocket &to, const std::vector<uint8_t> &m,
				 bool addressed)
{
	for (size_t off = 0; off < m.size() || (to.type != SOCK_STREAM && off == 0);) {
		ssize_t n = at_address(addressed ? to.name : std::string(), to.base,
				       [&](const sockaddr *a, socklen_t len) {
			return int(sendto(from, m.data() + off, m.size() - off,
					  MSG_DONTWAIT | MSG_NOSIGNAL, addressed ? a : nullptr,
					  addressed ? len : 0));
		});
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(errno, strf("%s: writing back %zu bytes it had to read%s",
						what(to).c_str(), m.size(), errno == EAGAIN
						? " (more datagrams than net.unix.max_dgram_qlen "
						  "lets a socket queue from another)" : ""));
		if (to.type != SOCK_STREAM)
			return n == ssize_t(m.size()) ? Result<void>{}
						      : fail(EMSGSIZE, what(to) + ": a datagram");
		off += size_t(n);
	}
	return {};
}

// S and its peer P, both unnamed (or P none: its peer had closed), as a
// socket pair; the end for P is closed after S's bytes are in when there
// is no P.
Result<void> Building::pair(const UnixSocket &s, const UnixSocket *p)
{
	int sv[2];
	if (socketpair(AF_UNIX, s.type | SOCK_CLOEXEC, 0, sv))
		return fail(errno, what(s) + ": socketpair");
	UniqueFd a(sv[0]), b(sv[1]);
	// A queue with descriptors in flight is sent once the process's fds
	// are in place (fds/in_flight.h).
	if (s.rights.empty())
		for (const auto &m : s.queued)
			if (auto r = send_from(b.get(), s, m, false); !r)
				return r;
	if (p && p->rights.empty())
		for (const auto &m : p->queued)
			if (auto r = send_from(a.get(), *p, m, false); !r)
				return r;
	paired_.insert(s.inode);
	made[s.inode] = std::move(a);
	if (p) {
		paired_.insert(p->inode);
		made[p->inode] = std::move(b);
	}
	return {};
}

// A stream or sequenced-packet connection between S and P (or S and a
// peer that closed): accepted from a listener of ours at the name of the
// end that has one (the accepted end of the source, which took its
// listener's name), so that it has that name again.
Result<void> Building::connection(const UnixSocket &s, const UnixSocket *p)
{
	if (s.name.empty() && (!p || p->name.empty()))
		return pair(s, p);
	const UnixSocket *acceptor = &s, *client = p;
	auto listens_at = [&](const UnixSocket *e) {
		return std::any_of(all_.begin(), all_.end(), [&](const UnixSocket &l) {
			return l.state == kListen && l.type == e->type && l.name == e->name;
		});
	};
	if (p && !p->name.empty() && (s.name.empty() || (!listens_at(&s) && listens_at(p))))
		std::swap(acceptor, client);
	UniqueFd c(socket(AF_UNIX, s.type | SOCK_CLOEXEC, 0));
	UniqueFd l(socket(AF_UNIX, s.type | SOCK_CLOEXEC, 0));
	if (c.get() < 0 || l.get() < 0)
		return fail(errno, what(s) + ": socket");
	if (client && !client->name.empty())
		if (auto r = bind_to(*client, c.get()); !r)
			return r;
	// Our listener's file, if it has one, is unlinked once it accepted;
	// where it was deleted, what is at the path is set aside meanwhile.
	std::string moved;
	if (acceptor->deleted) {
		auto m = set_aside(*acceptor, false);
		if (!m)
			return fail(m.error().code, what(*acceptor) + ": " + m.error().context);
		moved = *m;
	} else if (auto r = make_room(acceptor->name, acceptor->base, s.type, true); !r) {
		return fail(r.error().code, what(*acceptor) + ": " + r.error().context);
	}
	Aside aside(file_of(*acceptor), moved);
	if (at_address(acceptor->name, acceptor->base, [&](const sockaddr *a, socklen_t len) {
		    return bind(l.get(), a, len);
	    }) || listen(l.get(), 8))
		return fail(errno, what(*acceptor) + ": a listener at its name, to connect it");
	if (connect_to(c.get(), acceptor->name, acceptor->base))
		return fail(errno, what(*acceptor) + ": connecting it");
	// A stranger may connect to our listener too: ours says a cookie first.
	uint64_t cookie = std::random_device{}() | uint64_t(std::random_device{}()) << 32;
	if (send(c.get(), &cookie, sizeof(cookie), MSG_NOSIGNAL) != ssize_t(sizeof(cookie)))
		return fail(errno, what(*acceptor) + ": connecting it");
	UniqueFd accepted;
	for (int tries = 0; tries < 64 && accepted.get() < 0; tries++) {
		UniqueFd a(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
		if (a.get() < 0)
			return fail(errno, what(*acceptor) + ": accepting it");
		uint64_t said = 0;
		if (recv(a.get(), &said, sizeof(said), MSG_DONTWAIT) == ssize_t(sizeof(said)) &&
		    said == cookie)
			accepted = std::move(a);
	}
	if (accepted.get() < 0)
		return fail(EAGAIN, what(*acceptor) + ": others kept connecting to its name");
	l.reset();
	if (is_path(acceptor->name))
		unlink(file_of(*acceptor).c_str());	// ours; a listener of the image binds again
	// A queue with descriptors in flight (sequenced packets) is sent once
	// the process's fds are in place (fds/in_flight.h).
	if (acceptor->rights.empty())
		for (const auto &m : acceptor->queued)
			if (auto r = send_from(c.get(), *acceptor, m, false); !r)
				return r;
	if (client && client->rights.empty())
		for (const auto &m : client->queued)
			if (auto r = send_from(accepted.get(), *client, m, false); !r)
				return r;
	made[acceptor->inode] = std::move(accepted);
	if (client)
		made[client->inode] = std::move(c);
	return {};
}

Result<void> Building::connections()
{
	for (const auto &s : all_) {
		if (made.contains(s.inode) || s.state != kEstablished || waiting(s.inode))
			continue;
		const UnixSocket *p = s.peer ? find(s.peer) : nullptr;
		if (s.type != SOCK_DGRAM) {
			if (auto r = connection(s, p); !r)
				return r;
			continue;
		}
		// An unnamed datagram socket whose peer is it's own peer, or is
		// gone, is an end of a socket pair; the others connect by name.
		if (s.name.empty() && (!p || (p->name.empty() && p->peer == s.inode)))
			if (auto r = pair(s, p); !r)
				return r;
	}
	return {};
}

Result<void> Building::named()
{
	// Deleted ones first: a socket bound at their path since binds after.
	std::vector<const UnixSocket *> order;
	for (const auto &s : all_)
		if (!made.contains(s.inode) && s.deleted)
			order.push_back(&s);
	for (const auto &s : all_)
		if (!made.contains(s.inode) && !s.deleted)
			order.push_back(&s);
	for (const UnixSocket *s : order) {
		UniqueFd fd(socket(AF_UNIX, s->type | SOCK_CLOEXEC, 0));
		if (fd.get() < 0)
			return fail(errno, what(*s) + ": socket");
		if (!s->name.empty())
			if (auto r = bind_to(*s, fd.get()); !r)
				return r;
		if (s->state == kListen && listen(fd.get(), s->backlog))
			return fail(errno, what(*s) + ": listen");
		made[s->inode] = std::move(fd);
	}
	// The connections listeners had not accepted: their clients connect
	// again, in the order they had.
	for (const auto &l : all_)
		for (uint64_t inode : l.pending) {
			const UnixSocket *c = find(inode);
			if (!c || gone_.contains(l.inode) ||
			    connect_to(made[inode].get(), l.name, l.base))
				return fail(c && !gone_.contains(l.inode) ? errno : EINVAL,
					    strf("%s: connecting again its client socket:[%llu], "
						 "which it had not accepted", what(l).c_str(),
						 (unsigned long long)inode));
		}
	return {};
}

Result<void> Building::queues_and_peers()
{
	// Datagrams first: a socket connected elsewhere takes none from others.
	UniqueFd unnamed;
	for (const auto &s : all_) {
		if (s.type != SOCK_DGRAM || paired_.contains(s.inode) || !s.rights.empty())
			continue;  // with descriptors in flight: fds/in_flight.h's
		for (size_t i = 0; i < s.queued.size(); i++) {
			if (s.name.empty() || gone_.contains(s.inode))
				return fail(EINVAL, what(s) + ": datagrams queued to a socket that "
						    "cannot be reached by name (unnamed, or deleted and "
						    "its path another socket's)");
			int from = -1;
			for (const auto &o : all_)
				if (!s.senders[i].empty() && o.type == SOCK_DGRAM &&
				    o.name == s.senders[i] && made.contains(o.inode))
					from = made[o.inode].get();
			if (from < 0) {
				if (unnamed.get() < 0)
					unnamed = UniqueFd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
				from = unnamed.get();
			}
			if (auto r = send_from(from, s, s.queued[i], true); !r)
				return r;
		}
	}
	for (const auto &s : all_) {
		if (s.type != SOCK_DGRAM || !s.peer || paired_.contains(s.inode))
			continue;
		const UnixSocket *p = find(s.peer);
		if (!p || p->name.empty() || gone_.contains(p->inode) ||
		    connect_to(made[s.inode].get(), p->name, p->base))
			return fail(p && !p->name.empty() ? errno : EINVAL,
				    strf("%s: connecting it to %s", what(s).c_str(),
					 p ? what(*p).c_str() : "its peer"));
	}
	return {};
}

Result<void> Building::finish()
{
	for (const auto &path : unlink_)
		if (unlink(path.c_str()) && errno != ENOENT)
			return fail(errno, "unlinking " + path + " again, as it was");
	for (const auto &s : all_) {
		int fd = made[s.inode].get();
		// getsockopt gives twice what setsockopt takes.
		if (int sndbuf = int(s.sndbuf / 2); sndbuf > 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		// SHUT_RD is RCV_SHUTDOWN less one, SHUT_WR SEND_SHUTDOWN less one.
		if (s.shutdown && shutdown(fd, s.shutdown - 1) && errno != ENOTCONN)
			return fail(errno, what(s) + ": shutdown");
	}
	return {};
}

} // namespace

Result<void> check_unix_names_here(const std::vector<UnixSocket> &sockets)
{
	for (const auto &s : sockets) {
		Result<void> r;
		if (!s.deleted)
			r = make_room(s.name, s.base, s.type, false);
		else if (auto m = set_aside(s, true); !m)
			r = std::unexpected(m.error());
		if (!r)
			return fail(r.error().code, what(s) + " of the process: " +
					    r.error().context);
	}
	return {};
}

Result<UnixSocketMaker> UnixSocketMaker::make(const std::vector<UnixSocket> &sockets, int above,
					      const SocketOwner &owner)
{
	UnixSocketMaker m;
	if (sockets.empty())
		return m;
	FsAccess as(owner.uid, owner.gid);
	Building b(sockets, owner);
	for (auto step : {&Building::connections, &Building::named, &Building::queues_and_peers,
			  &Building::finish})
		if (auto r = (b.*step)(); !r)
			return std::unexpected(r.error());
	for (auto &[inode, fd] : b.made) {
		UniqueFd high(fcntl(fd.get(), F_DUPFD_CLOEXEC, above));
		if (high.get() < 0)
			return fail(errno, "F_DUPFD");
		m.made_[inode] = std::move(high);
	}
	return m;
}

Result<int> UnixSocketMaker::take(const OpenFile &f)
{
	auto it = made_.find(f.unix_socket);
	if (it == made_.end())
		return fail(EINVAL, strf("fd %d: %s is not in the image", f.fd, f.path.c_str()));
	if (fcntl(it->second.get(), F_SETFL, f.flags & O_NONBLOCK) < 0)
		return fail(errno, strf("fd %d (%s): F_SETFL", f.fd, f.path.c_str()));
	int fd = fcntl(it->second.get(), (f.flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (fd < 0)
		return fail(errno, strf("fd %d (%s)", f.fd, f.path.c_str()));
	return fd;
}

} // namespace hetmig::fds

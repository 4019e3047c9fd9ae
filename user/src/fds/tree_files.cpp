// SPDX-License-Identifier: GPL-2.0
#include "fds/tree_files.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "fds/eventfd.h"
#include "fds/fifos.h"
#include "fds/ghost_files.h"
#include "fds/pipes.h"
#include "fds/timerfd.h"
#include "fds/unix_pairs.h"
#include "fds/unix_sockets.h"

namespace hetmig::fds {

namespace {

// Larger than the kernel's limit (/proc/sys/fs/pipe-max-size is an int).
constexpr uint32_t kCapacityMax = 1u << 31;

// One fd of one process of the tree.
struct Holder {
	Image *img;
	size_t file;	// index in img->files

	OpenFile &f() const { return img->files[file]; }
	pid_t pid() const { return pid_t(img->pid); }
};

// One open file description, with every fd of the tree that holds it
// (dups within a process excepted: they follow their first fd).
struct Description {
	std::vector<Holder> holders;

	bool shared() const
	{
		return std::any_of(holders.begin(), holders.end(), [&](const Holder &h) {
			return h.pid() != holders.front().pid();
		});
	}
};

bool reads(const OpenFile &f) { return (f.flags & O_ACCMODE) == O_RDONLY; }

// A regular file opened by path (not a device, directory, O_PATH or a
// standard stream): one offset, which processes sharing it share.
bool regular(const OpenFile &f)
{
	return !f.made_anew() && !f.rdev && !f.directory && !f.std_stream &&
	       !(f.flags & O_PATH) && !f.proc_pid && !f.path.empty() && f.path.front() == '/';
}

// A standard stream opened by path that a parent may have passed down.
bool inheritable_stream(const OpenFile &f)
{
	return f.fd <= 2 && !f.std_stream && !f.made_anew() && !f.rdev && !f.directory &&
	       !f.fifo && f.ghost < 0 && f.ns.empty() && !f.symlink && !f.proc_pid &&
	       !(f.flags & O_PATH) && !f.path.empty() && f.path.front() == '/';
}

// What a description of another process may be: a pipe or socket the
// process's own capture left to the tree, an eventfd, a timerfd, or a
// regular file at fd 3 and up (a standard stream that is one is opened
// again in each process, as it becomes the receiver's where the file is
// not on the destination).
bool candidate(const Image &img, const OpenFile &f)
{
	if (f.dup_of >= 0 || f.std_stream || f.in_flight)
		return false;
	if (regular(f))
		return f.fd > 2;
	if (f.pipe)
		return std::none_of(img.pipes.begin(), img.pipes.end(),
				    [&](const PipeState &p) { return p.inode == f.pipe; });
	if (f.unix_socket)
		return std::none_of(img.unix_pairs.begin(), img.unix_pairs.end(),
				    [&](const UnixPair &p) {
					    return p.ends[0].inode == f.unix_socket ||
						   p.ends[1].inode == f.unix_socket;
				    }) &&
		       std::none_of(img.unix_sockets.begin(), img.unix_sockets.end(),
				    [&](const UnixSocket &s) { return s.inode == f.unix_socket; });
	return f.eventfd || f.timerfd;
}

std::string where(const Holder &h)
{
	return strf("fd %d of process %d (%s)", h.f().fd, h.pid(), h.f().path.c_str());
}

// The tree's descriptions of the candidates, in the order of the tree's
// processes and their fds.
Result<std::vector<Description>> descriptions(Image &root)
{
	std::vector<Image *> procs = {&root};
	for (auto &m : root.members)
		procs.push_back(&m);
	std::vector<Description> out;
	for (Image *img : procs)
		for (size_t i = 0; i < img->files.size(); i++) {
			Holder h{img, i};
			if (!candidate(*img, h.f()))
				continue;
			Description *same = nullptr;
			for (auto &d : out) {
				// Two fds of one process that are one description
				// are dups already (note_shared_descriptions).
				const Holder &first = d.holders.front();
				if (first.f().path != h.f().path ||
				    std::any_of(d.holders.begin(), d.holders.end(),
						[&](const Holder &o) { return o.pid() == h.pid(); }))
					continue;
				auto one = same_description(first.pid(), first.f().fd, h.pid(), h.f().fd);
				if (!one)
					return std::unexpected(one.error());
				if (*one) {
					same = &d;
					break;
				}
			}
			if (same)
				same->holders.push_back(h);
			else
				out.push_back({{h}});
		}
	return out;
}

} // namespace

Result<void> note_inherited_streams(Image &root)
{
	std::vector<Image *> procs = {&root};
	for (auto &m : root.members)
		procs.push_back(&m);
	// Each parent comes before its children, so its own streams are
	// settled when a child's are.
	for (size_t i = 1; i < procs.size(); i++) {
		Image &child = *procs[i];
		auto parent = std::find_if(procs.begin(), procs.end(), [&](const Image *p) {
			return p->pid == child.links.ppid;
		});
		if (parent == procs.end())
			continue;
		for (auto &f : child.files) {
			if (!inheritable_stream(f))
				continue;
			auto up = std::find_if((*parent)->files.begin(), (*parent)->files.end(),
					       [&](const OpenFile &o) { return o.fd == f.fd; });
			if (up == (*parent)->files.end() || up->path != f.path ||
			    (up->dup_of < 0 && !inheritable_stream(*up)))
				continue;
			// A dup of the parent's: what its first fd is.
			const OpenFile *first = &*up;
			if (up->dup_of >= 0)
				for (const auto &o : (*parent)->files)
					if (o.fd == up->dup_of)
						first = &o;
			if (!inheritable_stream(*first))
				continue;
			auto one = same_description(pid_t((*parent)->pid), up->fd, pid_t(child.pid),
						    f.fd);
			if (!one)
				return std::unexpected(one.error());
			if (*one)
				f.opened_by = first->opened_by ? first->opened_by : (*parent)->pid;
		}
	}
	return {};
}

namespace {

// The descriptions of one pipe between the tree's processes: refused
// when it cannot be made again, else its state.
Result<std::optional<PipeState>> decide_pipe(uint64_t inode,
					     const std::vector<const Description *> &ends)
{
	const Holder *reader = nullptr;
	bool writer = false, beyond_streams = false;
	for (const Description *d : ends)
		for (const Holder &h : d->holders) {
			int mode = h.f().flags & O_ACCMODE;
			if (mode != O_RDONLY && mode != O_WRONLY)
				return fail(EOPNOTSUPP, strf("%s is opened for reading and writing "
							     "(through /proc), which cannot be "
							     "carried", where(h).c_str()));
			if (h.f().flags & O_DIRECT)
				return fail(EOPNOTSUPP, strf("%s is in packet mode (O_DIRECT), whose "
							     "message boundaries cannot be carried",
							     where(h).c_str()));
			if (reads(h.f()) && !reader)
				reader = &h;
			writer |= !reads(h.f());
			beyond_streams |= h.f().fd > 2;
		}
	if (reader && writer)
		return capture_pipe(reader->pid(), reader->f().fd, inode);
	if (!beyond_streams) {
		// Standard streams of a pipeline whose other end is not in
		// the tree: the destination's, as for one process.
		for (const Description *d : ends)
			for (const Holder &h : d->holders) {
				h.f().std_stream = true;
				h.f().pipe = 0;
			}
		return std::nullopt;
	}
	// One end in the tree and the other closed everywhere (a child
	// reading what its parent wrote before it closed its end): made with
	// that end closed.
	const Holder &h = ends.front()->holders.front();
	auto closed = other_end_closed(h.pid(), h.f().fd, reader != nullptr);
	if (!closed)
		return std::unexpected(closed.error());
	if (*closed)
		return capture_pipe(h.pid(), h.f().fd, inode);
	return fail(EOPNOTSUPP, strf("%s, held by processes of the tree, has its %s end "
				     "outside it: only pipes whose ends are all in the tree, "
				     "or closed, can be carried",
				     where(h).c_str(), reader ? "write" : "read"));
}

// The socket pairs of the tree: every socket a process's capture left to
// the tree (one of its ends is in another process of it) with its peer,
// which must be in the tree too, into ROOT.tree_pairs and MADE.
Result<void> decide_sockets(Image &root, const std::vector<Description> &all,
			    std::set<const Description *> &made)
{
	std::map<uint64_t, const Description *> sockets;	// one description each
	for (const auto &d : all)
		if (uint64_t inode = d.holders.front().f().unix_socket)
			sockets.emplace(inode, &d);
	for (const auto &[inode, d] : sockets) {
		if (made.contains(d))
			continue;
		const Holder &h = d->holders.front();
		auto self = unix_diag(inode);
		if (!self)
			return std::unexpected(self.error());
		auto other = sockets.find(self->peer);
		if (self->peer && other == sockets.end())
			return fail(EOPNOTSUPP, strf("%s is a unix socket whose peer is not in the "
						     "tree (%s): only sockets whose peers are in "
						     "the tree can be carried", where(h).c_str(),
						     peer_outside(h.pid(), *self, {}).c_str()));
		std::optional<UnixDiag> peer;
		if (self->peer) {
			auto p = unix_diag(self->peer);
			if (!p)
				return std::unexpected(p.error());
			peer = *p;
		}
		if (!plain_pair(inode, *self, peer ? &*peer : nullptr)) {
			// Named, listening, shut down or its peer closed: it and its
			// peer are the tree's unix_sockets.
			std::vector<std::pair<uint64_t, const Description *>> ends = {{inode, d}};
			if (self->peer)
				ends.emplace_back(self->peer, other->second);
			for (const auto &[end, desc] : ends) {
				if (made.contains(desc))
					continue;
				const Holder &x = desc->holders.front();
				auto s = capture_unix_socket(x.pid(), x.f().fd, end);
				if (!s) {
					Error e = s.error();
					e.context = strf("process %d: ", x.pid()) + e.context;
					return std::unexpected(e);
				}
				root.tree_sockets.push_back(std::move(*s));
				made.insert(desc);
			}
			continue;
		}
		const Holder &o = other->second->holders.front();
		auto pair = capture_pair(self->type, {{{inode, h.pid(), h.f().fd},
						       {self->peer, o.pid(), o.f().fd}}});
		if (!pair)
			return std::unexpected(pair.error());
		root.tree_pairs.push_back(std::move(*pair));
		made.insert(d);
		made.insert(other->second);
	}
	return {};
}

} // namespace

Result<void> capture_tree_files(Image &root)
{
	auto all = descriptions(root);
	if (!all)
		return std::unexpected(all.error());
	// A pipe is the tree's when two processes hold it (one end each, or
	// one description both): all its descriptions are made once.
	std::map<uint64_t, std::vector<const Description *>> pipes;
	std::map<uint64_t, std::set<pid_t>> pipe_holders;
	for (const auto &d : *all)
		if (uint64_t inode = d.holders.front().f().pipe) {
			pipes[inode].push_back(&d);
			for (const Holder &h : d.holders)
				pipe_holders[inode].insert(h.pid());
		}
	std::set<const Description *> made;
	for (const auto &[inode, ends] : pipes) {
		if (pipe_holders[inode].size() < 2) {
			// capture_pipes left it to the tree, having seen it in
			// another process of it, which let it go since.
			const Holder &h = ends.front()->holders.front();
			return fail(EAGAIN, strf("%s: the process of the tree that held it too "
						 "does not any more", where(h).c_str()));
		}
		auto state = decide_pipe(inode, ends);
		if (!state)
			return std::unexpected(state.error());
		if (!*state)
			continue;
		root.tree_pipes.push_back(std::move(**state));
		made.insert(ends.begin(), ends.end());
	}
	if (auto r = decide_sockets(root, *all, made); !r)
		return r;
	// Pipe ends decide_pipe left to the receiver (standard streams) are no
	// longer candidates: only what is still an eventfd, timerfd or file.
	for (const auto &d : *all) {
		const OpenFile &f = d.holders.front().f();
		if ((f.eventfd || f.timerfd || regular(f)) && d.shared())
			made.insert(&d);
	}

	for (const auto &d : *all) {
		if (!made.contains(&d))
			continue;
		OpenFile shared = d.holders.front().f();
		shared.flags &= ~O_CLOEXEC;	// each fd's own
		for (const Holder &h : d.holders)
			h.f().tree_file = int32_t(root.tree_files.size());
		root.tree_files.push_back(std::move(shared));
	}
	return {};
}

std::optional<std::string> tree_files_problem(const Image &root)
{
	for (size_t k = 0; k < root.tree_files.size(); k++) {
		const OpenFile &f = root.tree_files[k];
		int kinds = !!f.pipe + f.eventfd.has_value() + f.timerfd.has_value() +
			    !!f.unix_socket + regular(f);
		int mode = f.flags & O_ACCMODE;
		if (kinds != 1 || f.epoll || f.signalfd || f.tree_file >= 0 || f.dup_of >= 0 ||
		    f.std_stream)
			return strf("shared descriptor %zu is not one pipe end, eventfd, timerfd, "
				    "socket or regular file", k);
		if (f.pipe && ((mode != O_RDONLY && mode != O_WRONLY) ||
			       std::none_of(root.tree_pipes.begin(), root.tree_pipes.end(),
					    [&](const PipeState &p) { return p.inode == f.pipe; })))
			return strf("shared descriptor %zu is an end of a pipe the image lacks", k);
		if (f.timerfd && (f.timerfd->value.nsec >= 1000000000 ||
				  f.timerfd->interval.nsec >= 1000000000 ||
				  f.timerfd->value.sec > INT64_MAX ||
				  f.timerfd->interval.sec > INT64_MAX))
			return strf("shared descriptor %zu: a timerfd's time out of range", k);
	}
	for (size_t i = 0; i < root.tree_pipes.size(); i++) {
		const PipeState &p = root.tree_pipes[i];
		bool twice = std::any_of(root.tree_pipes.begin(), root.tree_pipes.begin() + i,
					 [&](const PipeState &e) { return e.inode == p.inode; });
		bool read = false, write = false;
		for (const auto &f : root.tree_files)
			if (f.pipe == p.inode) {
				read |= reads(f);
				write |= !reads(f);
			}
		if (!p.inode || twice || (!read && !write) || (!read && !p.data.empty()) ||
		    p.data.size() > p.capacity || p.capacity > kCapacityMax)
			return strf("the tree's pipe:[%llu] without an end, or holding more "
				    "than it can", (unsigned long long)p.inode);
	}
	std::vector<const Image *> procs = {&root};
	for (const auto &m : root.members)
		procs.push_back(&m);
	for (const Image *img : procs)
		for (const auto &f : img->files) {
			if (f.tree_file < 0)
				continue;
			if (size_t(f.tree_file) >= root.tree_files.size())
				return strf("fd %d of process %u: a shared descriptor the image lacks",
					    f.fd, img->pid);
			const OpenFile &s = root.tree_files[size_t(f.tree_file)];
			if (f.pipe != s.pipe || f.unix_socket != s.unix_socket ||
			    regular(f) != regular(s) || (regular(f) && f.path != s.path) ||
			    f.ghost != s.ghost ||
			    f.eventfd.has_value() != s.eventfd.has_value() ||
			    f.timerfd.has_value() != s.timerfd.has_value() ||
			    (f.flags & O_ACCMODE) != (s.flags & O_ACCMODE) || f.dup_of >= 0 ||
			    f.std_stream)
				return strf("fd %d of process %u is not the shared descriptor it "
					    "names", f.fd, img->pid);
		}
	return std::nullopt;
}

namespace {

// F, a regular file, opened as a process running as UID and GID would
// open it: by a child of ours that takes those credentials (as the
// restored process does, supplementary groups dropped) and hands the
// descriptor back (SCM_RIGHTS). Only raw calls in the child: we may have
// threads.
Result<UniqueFd> open_as(uid_t uid, gid_t gid, const OpenFile &f)
{
	int flags = reopen_flags(f.flags) | O_CLOEXEC;
	if (geteuid() != 0) {
		UniqueFd fd(open(f.path.c_str(), flags));
		if (fd.get() < 0)
			return fail(errno, "opening " + f.path);
		return fd;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return fail(errno, "socketpair");
	UniqueFd ours(sv[0]), theirs(sv[1]);
	pid_t child = fork();
	if (child < 0)
		return fail(errno, "fork");
	if (child == 0) {
		int err = 0, fd = -1;
		if (syscall(SYS_setgroups, 0, nullptr) || syscall(SYS_setgid, gid) ||
		    syscall(SYS_setuid, uid))
			err = errno;
		else if ((fd = open(f.path.c_str(), flags)) < 0)
			err = errno;
		alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
		iovec iov{&err, sizeof(err)};
		msghdr mh{};
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (fd >= 0) {
			mh.msg_control = control;
			mh.msg_controllen = sizeof(control);
			cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			std::memcpy(CMSG_DATA(c), &fd, sizeof(fd));
		}
		_exit(sendmsg(theirs.get(), &mh, 0) == ssize_t(sizeof(err)) ? 0 : 1);
	}
	theirs.reset();
	int err = EIO;
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
	iovec iov{&err, sizeof(err)};
	msghdr mh{};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = control;
	mh.msg_controllen = sizeof(control);
	ssize_t n = recvmsg(ours.get(), &mh, MSG_CMSG_CLOEXEC);
	waitpid(child, nullptr, 0);
	UniqueFd fd;
	for (cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;
			std::memcpy(&got, CMSG_DATA(c), sizeof(got));
			fd = UniqueFd(got);
		}
	if (n != ssize_t(sizeof(err)) || fd.get() < 0)
		return fail(n == ssize_t(sizeof(err)) ? err : EIO,
			    strf("opening %s as uid %u gid %u", f.path.c_str(), uid, gid));
	return fd;
}


// A regular file the tree's processes share, opened as the first of them
// would, checked to be the file it was, at its offset.
Result<int> make_regular(const OpenFile &f, uid_t uid, gid_t gid)
{
	auto fd = open_as(uid, gid, f);
	if (!fd)
		return std::unexpected(fd.error());
	struct stat st;
	if (fstat(fd->get(), &st))
		return fail(errno, "fstat " + f.path);
	if (!S_ISREG(st.st_mode) || uint64_t(st.st_size) != f.size || mtime_ns(st) != f.mtime_ns)
		return fail(ESTALE, "file " + f.path + " differs here (size or mtime): it must be "
				    "the same file on both machines");
	if (lseek(fd->get(), off_t(f.offset), SEEK_SET) < 0)
		return fail(errno, "seeking in " + f.path);
	return fd->release();
}

} // namespace

Result<std::vector<UniqueFd>> make_tree_files(const Image &root, std::span<const int> ghosts,
					      const CredentialsOf &creds_of)
{
	std::vector<UniqueFd> made;
	// Each pipe's own ends are closed when the maker goes: an end no
	// process holds is closed, as it was on the source.
	PipeMaker pipes(root.tree_pipes, 0);
	UnixPairMaker sockets(root.tree_pairs, 0);
	// Named sockets all at once (a connection's two ends are made
	// together), their files as the root's user reaches them.
	auto [root_uid, root_gid] = creds_of(root);
	auto named = UnixSocketMaker::make(root.tree_sockets, 0,
					   {root.uid, root_uid, root.gid, root_gid});
	if (!named)
		return std::unexpected(named.error());
	// A FIFO's bytes are its lowest holder's to write back (fifos.h).
	FifoOpener fifos(0);
	// Each is made as the first process holding it, a regular file opened
	// with its credentials.
	std::vector<const Image *> procs = {&root};
	for (const auto &m : root.members)
		procs.push_back(&m);
	auto holder = [&](size_t k) {
		for (const Image *img : procs)
			for (const auto &f : img->files)
				if (f.tree_file == int32_t(k))
					return img;
		return procs.front();
	};
	for (size_t k = 0; k < root.tree_files.size(); k++) {
		const OpenFile &f = root.tree_files[k];
		auto [uid, gid] = creds_of(*holder(k));
		CreatingAs owner(uid, gid);
		if (f.ghost >= 0 && size_t(f.ghost) >= ghosts.size())
			return fail(EINVAL, strf("%s: a deleted file the image lacks", f.path.c_str()));
		auto fd = f.ghost >= 0	  ? reopen_ghost(f, ghosts[size_t(f.ghost)])
			  : f.pipe	  ? pipes.open_end(f)
			  : f.unix_socket ? (named->has(f.unix_socket) ? named->take(f)
							      : sockets.open_end(f))
			  : f.eventfd	  ? make_eventfd(f)
			  : f.timerfd	  ? make_timerfd(f)
			  : f.fifo	  ? fifos.open_end(f)
					  : make_regular(f, uid, gid);
		if (!fd) {
			Error e = fd.error();
			e.context = strf("%s, which processes of the tree share: ",
					 f.path.c_str()) + e.context;
			return std::unexpected(e);
		}
		made.emplace_back(*fd);
	}
	return made;
}

} // namespace hetmig::fds

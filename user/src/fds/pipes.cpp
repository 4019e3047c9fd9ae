// SPDX-License-Identifier: GPL-2.0
#include "fds/pipes.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <set>
#include <sys/ioctl.h>
#include <unistd.h>

namespace hetmig::fds {

namespace {

std::string pipe_name(uint64_t inode)
{
	return strf("pipe:[%llu]", (unsigned long long)inode);
}

bool reads(const OpenFile &f) { return (f.flags & O_ACCMODE) == O_RDONLY; }

// The fds of one pipe in the process, in fd order.
struct Ends {
	std::vector<int> read, write;
};

// " (comm)" of PID, for messages; empty when it cannot be read.
std::string comm_of(pid_t pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
	std::string comm;
	std::getline(in, comm);
	return comm.empty() ? comm : " (" + comm + ")";
}

// Who else holds the pipes of ENDS, as far as /proc shows us (all of them
// to root): for each, one process outside TREE (a pipe whose ends are all
// in the process may still be shared with a child it forked), and one of
// TREE's other processes.
struct Holders {
	std::map<uint64_t, pid_t> outside, tree;
};

Holders held_elsewhere(pid_t pid, const std::map<uint64_t, Ends> &ends,
		       std::span<const pid_t> tree, const std::set<uint64_t> &ours)
{
	Holders found;
	DIR *proc = opendir("/proc");
	if (!proc)
		return found;
	while (dirent *e = readdir(proc)) {
		if (!std::isdigit(static_cast<unsigned char>(e->d_name[0])))
			continue;
		pid_t other = pid_t(std::atol(e->d_name));
		if (other == pid)
			continue;
		bool in_tree = std::find(tree.begin(), tree.end(), other) != tree.end();
		std::string dir = std::string("/proc/") + e->d_name + "/fd";
		DIR *fds = opendir(dir.c_str());
		if (!fds)
			continue;  // gone, or not ours to look at
		while (dirent *fd = readdir(fds)) {
			char link[64];
			ssize_t n = readlinkat(dirfd(fds), fd->d_name, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			uint64_t inode = pipe_inode(std::string(link, size_t(n)));
			// Our copies of the ends in flight are no one else's.
			if (other == getpid() && ours.contains(inode))
				continue;
			if (inode && ends.contains(inode))
				(in_tree ? found.tree : found.outside).emplace(inode, other);
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

// Why F, an end of a pipe that cannot be carried, refuses the dump.
std::unexpected<Error> refuse(const OpenFile &f, const Ends &ends, std::optional<pid_t> other)
{
	const char *missing = ends.read.empty() ? "read" : "write";
	std::string why;
	if (!ends.read.empty() && !ends.write.empty())
		why = strf("which process %d%s holds too", *other, comm_of(*other).c_str());
	else if (other)
		why = strf("whose %s end process %d%s holds", missing, *other,
			   comm_of(*other).c_str());
	else
		why = strf("whose %s end is open outside it, where hetmig cannot see it (in "
			   "another user's process, or in flight in a unix socket's queue)",
			   missing);
	return fail(EOPNOTSUPP, strf("fd %d is %s, %s: only pipes whose ends are all in the "
				     "process can be carried", f.fd, pipe_name(f.pipe).c_str(),
				     why.c_str()));
}


} // namespace

// tee copies the pipe's buffers, one slot of ours for each of its own,
// and starts from the first again on every call: a pipe of ours as large
// as CAPACITY takes them all in one call.
Result<std::vector<uint8_t>> peek_pipe(int fd, uint32_t capacity, const std::string &name)
{
	int queued = 0;
	if (ioctl(fd, FIONREAD, &queued) < 0)
		return fail(errno, name + ": FIONREAD");
	std::vector<uint8_t> data(static_cast<size_t>(queued));
	if (data.empty())
		return data;
	int own[2];
	if (pipe2(own, O_CLOEXEC | O_NONBLOCK))
		return fail(errno, "pipe2");
	UniqueFd out(own[0]), in(own[1]);
	int ours = fcntl(in.get(), F_GETPIPE_SZ);
	if (ours < 0 || (uint32_t(ours) < capacity && fcntl(in.get(), F_SETPIPE_SZ, capacity) < 0))
		return fail(errno, strf("%s: a pipe of %u bytes to copy its contents into",
					name.c_str(), capacity));
	ssize_t n = tee(fd, in.get(), data.size(), SPLICE_F_NONBLOCK);
	if (n != queued)
		return fail(n < 0 ? errno : EIO, strf("%s: tee copied %zd of its %d bytes",
						      name.c_str(), n, queued));
	for (size_t got = 0; got < data.size();) {
		ssize_t m = read(out.get(), data.data() + got, data.size() - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			return fail(m < 0 ? errno : EIO,
				    name + ": reading the copy of its contents");
		got += size_t(m);
	}
	return data;
}

namespace {

// Our descriptor of the end PID has at FD, or of the end in flight OURS
// gives that number (fds/in_flight.h).
Result<UniqueFd> copy_at(pid_t pid, int fd, const std::map<int, int> &ours)
{
	if (auto it = ours.find(fd); it != ours.end()) {
		UniqueFd copy(fcntl(it->second, F_DUPFD_CLOEXEC, 0));
		if (copy.get() < 0)
			return fail(errno, strf("a copy of the file in flight numbered %d", fd));
		return copy;
	}
	return copy_of(pid, fd);
}

} // namespace

// No writer for a read end (poll says POLLHUP), no reader for a write end
// (POLLERR): the kernel's own counts, where /proc shows a dumper only the
// processes it may look into. Our copy of the end is the process's open
// file, which counts once however many descriptors it has.
Result<bool> other_end_closed(pid_t pid, int fd, bool reading, const std::map<int, int> &ours)
{
	auto copy = copy_at(pid, fd, ours);
	if (!copy)
		return std::unexpected(copy.error());
	pollfd p{copy->get(), short(reading ? POLLIN : POLLOUT), 0};
	if (poll(&p, 1, 0) < 0)
		return fail(errno, strf("fd %d of process %d: poll", fd, pid));
	return (p.revents & (reading ? POLLHUP : POLLERR)) != 0;
}

uint64_t pipe_inode(const std::string &link)
{
	if (!link.starts_with("pipe:[") || !link.ends_with("]"))
		return 0;
	return std::strtoull(link.c_str() + 6, nullptr, 10);
}

Result<void> capture_pipes(pid_t pid, std::vector<OpenFile> &files,
			   std::vector<PipeState> &pipes, std::span<const pid_t> tree,
			   const std::map<int, int> &ours)
{
	std::map<uint64_t, Ends> ends;
	for (const auto &f : files)
		if (f.pipe)
			(reads(f) ? ends[f.pipe].read : ends[f.pipe].write).push_back(f.fd);
	if (ends.empty())
		return {};
	std::set<uint64_t> in_flight;
	for (const auto &f : files)
		if (f.in_flight && f.pipe)
			in_flight.insert(f.pipe);
	auto [outside, in_tree] = held_elsewhere(pid, ends, tree, in_flight);
	// A pipe one of whose ends is closed in every process (a reader
	// waiting for the rest and EOF, a writer whose reader went) is carried
	// with that end closed; unless only standard streams hold it, which
	// a pipeline's are: those become the receiver's.
	std::set<uint64_t> one_ended;
	for (const auto &[inode, e] : ends) {
		if (outside.contains(inode) || in_tree.contains(inode) ||
		    (!e.read.empty() && !e.write.empty()))
			continue;
		bool reading = !e.read.empty();
		const std::vector<int> &fds = reading ? e.read : e.write;
		if (fds.back() <= 2)
			continue;
		auto closed = other_end_closed(pid, fds.front(), reading, ours);
		if (!closed)
			return std::unexpected(closed.error());
		if (*closed)
			one_ended.insert(inode);
	}
	auto carried = [&](uint64_t inode) {
		const Ends &e = ends[inode];
		return one_ended.contains(inode) ||
		       (!e.read.empty() && !e.write.empty() && !outside.contains(inode));
	};
	// A pipe between processes of the tree (and none outside it) is the
	// tree's: capture_tree_files (tree_files.h) decides it with all its ends.
	auto trees = [&](uint64_t inode) {
		return in_tree.contains(inode) && !outside.contains(inode);
	};

	// Every refusal before anything is read.
	for (auto &f : files) {
		if (!f.pipe || trees(f.pipe))
			continue;
		int mode = f.flags & O_ACCMODE;
		if (carried(f.pipe) && mode != O_RDONLY && mode != O_WRONLY)
			return fail(EOPNOTSUPP, strf("fd %d is %s opened for reading and writing "
						     "(through /proc), which cannot be carried",
						     f.fd, pipe_name(f.pipe).c_str()));
		if (carried(f.pipe) && (f.flags & O_DIRECT))
			return fail(EOPNOTSUPP, strf("fd %d is %s in packet mode (O_DIRECT), whose "
						     "message boundaries cannot be carried",
						     f.fd, pipe_name(f.pipe).c_str()));
		if (carried(f.pipe))
			continue;
		if (f.fd <= 2) {
			// A shell's pipeline: the destination provides its own
			// stream, as for a terminal.
			f.std_stream = true;
			f.pipe = 0;
			continue;
		}
		auto other = outside.find(f.pipe);
		return refuse(f, ends[f.pipe],
			      other == outside.end() ? std::nullopt : std::optional(other->second));
	}

	for (const auto &[inode, e] : ends) {
		if (!carried(inode) || trees(inode))
			continue;
		auto state = capture_pipe(pid, e.read.empty() ? e.write.front() : e.read.front(),
					  inode, ours);
		if (!state)
			return std::unexpected(state.error());
		pipes.push_back(std::move(*state));
	}
	return {};
}

Result<PipeState> capture_pipe(pid_t pid, int fd, uint64_t inode, const std::map<int, int> &ours)
{
	std::string name = pipe_name(inode) + strf(" (fd %d of process %d)", fd, pid);
	auto copy = copy_at(pid, fd, ours);
	if (!copy)
		return std::unexpected(copy.error());
	int capacity = fcntl(copy->get(), F_GETPIPE_SZ);
	if (capacity <= 0)
		return fail(errno, name + ": F_GETPIPE_SZ");
	// A write end whose read end is closed everywhere: what it holds
	// nobody will read.
	if ((fcntl(copy->get(), F_GETFL) & O_ACCMODE) == O_WRONLY)
		return PipeState{inode, uint32_t(capacity), {}};
	auto data = peek_pipe(copy->get(), uint32_t(capacity), name);
	if (!data)
		return std::unexpected(data.error());
	return PipeState{inode, uint32_t(capacity), std::move(*data)};
}

Result<PipeMaker::Made *> PipeMaker::make(uint64_t inode)
{
	if (auto it = made_.find(inode); it != made_.end())
		return &it->second;
	const PipeState *p = nullptr;
	for (const auto &s : pipes_)
		if (s.inode == inode)
			p = &s;
	std::string name = pipe_name(inode) + " of the process";
	if (!p)
		return fail(EINVAL, name + " is not in the image");
	int fds[2];
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK))
		return fail(errno, name + ": pipe2");
	UniqueFd read(fds[0]), write(fds[1]);
	int size = fcntl(write.get(), F_GETPIPE_SZ);
	if (size != int(p->capacity) && fcntl(write.get(), F_SETPIPE_SZ, p->capacity) < 0)
		return fail(errno, strf("giving %s its capacity of %u bytes here", name.c_str(),
					p->capacity));
	// Non-blocking: bytes that did not fit would fail, not hang. They fit,
	// as they did on the source.
	for (size_t off = 0; off < p->data.size();) {
		ssize_t n = ::write(write.get(), p->data.data() + off, p->data.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EIO, strf("writing the %zu bytes %s held "
							      "back into it", p->data.size(),
							      name.c_str()));
		off += size_t(n);
	}
	// Above every number the image uses: putting one end at its number
	// must not close the other.
	Made m;
	m.read = UniqueFd(fcntl(read.get(), F_DUPFD_CLOEXEC, above_));
	m.write = UniqueFd(fcntl(write.get(), F_DUPFD_CLOEXEC, above_));
	if (m.read.get() < 0 || m.write.get() < 0)
		return fail(errno, name + ": F_DUPFD");
	return &(made_[inode] = std::move(m));
}

Result<int> PipeMaker::open_end(const OpenFile &f)
{
	auto m = make(f.pipe);
	if (!m)
		return std::unexpected(m.error());
	bool reading = reads(f);
	const UniqueFd &end = reading ? (*m)->read : (*m)->write;
	bool &given = reading ? (*m)->read_given : (*m)->write_given;
	int fd;
	if (!given) {
		given = true;
		// O_NONBLOCK is the description's; this fd is its first.
		if (fcntl(end.get(), F_SETFL, f.flags & O_NONBLOCK) < 0)
			return fail(errno, strf("fd %d, an end of %s: F_SETFL", f.fd,
						pipe_name(f.pipe).c_str()));
		fd = fcntl(end.get(), (f.flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	} else {
		fd = open(("/proc/self/fd/" + std::to_string(end.get())).c_str(),
			  f.flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC));
	}
	if (fd < 0)
		return fail(errno, strf("fd %d, an end of %s", f.fd, pipe_name(f.pipe).c_str()));
	return fd;
}

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
#include "fds/fifos.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fds/pipes.h"

namespace hetmig::fds {

namespace {

// Larger than the kernel's limit (/proc/sys/fs/pipe-max-size is an int).
constexpr uint32_t kCapacityMax = 1u << 31;

// Whether process PID has a descriptor whose link reads PATH.
bool holds(pid_t pid, const std::string &path)
{
	std::string dir = "/proc/" + std::to_string(pid) + "/fd";
	DIR *fds = opendir(dir.c_str());
	if (!fds)
		return false;
	bool found = false;
	while (dirent *fd = readdir(fds)) {
		char link[PATH_MAX];
		ssize_t n = readlinkat(dirfd(fds), fd->d_name, link, sizeof(link) - 1);
		if (n > 0 && std::string(link, size_t(n)) == path) {
			found = true;
			break;
		}
	}
	closedir(fds);
	return found;
}

} // namespace

Result<FifoState> capture_fifo(pid_t pid, int fd, const std::string &path)
{
	std::string name = strf("the FIFO %s (fd %d of process %d)", path.c_str(), fd, pid);
	UniqueFd ours(open(strf("/proc/%d/fd/%d", pid, fd).c_str(),
			   O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	if (ours.get() < 0)
		return fail(errno, "opening " + name + " to read its bytes");
	int capacity = fcntl(ours.get(), F_GETPIPE_SZ);
	if (capacity <= 0)
		return fail(errno, name + ": F_GETPIPE_SZ");
	auto data = peek_pipe(ours.get(), uint32_t(capacity), name);
	if (!data)
		return std::unexpected(data.error());
	return FifoState{path, uint32_t(capacity), std::move(*data)};
}

Result<void> capture_fifos(pid_t pid, const std::vector<OpenFile> &files,
			   std::vector<FifoState> &fifos, std::span<const pid_t> tree)
{
	std::set<std::string> seen;
	for (const auto &f : files) {
		if (!f.fifo || f.dup_of >= 0 || !seen.insert(f.path).second)
			continue;
		if (pid_t other = held_elsewhere(pid, f.path, tree, false))
			return fail(EOPNOTSUPP, strf("fd %d is the FIFO %s, which process %d holds "
						     "too and is not moved: only FIFOs whose every "
						     "holder moves can be carried", f.fd,
						     f.path.c_str(), other));
		bool lowest = std::none_of(tree.begin(), tree.end(), [&](pid_t q) {
			return q < pid && holds(q, f.path);
		});
		if (!lowest)
			continue;
		auto state = capture_fifo(pid, f.fd, f.path);
		if (!state)
			return std::unexpected(state.error());
		fifos.push_back(std::move(*state));
	}
	return {};
}

std::optional<std::string> fifos_problem(const std::vector<OpenFile> &files,
					 const std::vector<FifoState> &fifos)
{
	for (size_t i = 0; i < fifos.size(); i++) {
		const FifoState &s = fifos[i];
		bool twice = std::any_of(fifos.begin(), fifos.begin() + i,
					 [&](const FifoState &o) { return o.path == s.path; });
		bool held = std::any_of(files.begin(), files.end(), [&](const OpenFile &f) {
			return f.fifo && f.path == s.path;
		});
		if (twice || !held || s.path.empty() || s.path.front() != '/' ||
		    s.data.size() > s.capacity || s.capacity > kCapacityMax)
			return strf("the FIFO %s twice, held by no fd, or holding more than it can",
				    s.path.c_str());
	}
	for (const auto &f : files)
		if (f.fifo && (f.made_anew() || f.directory || f.std_stream || f.rdev ||
			       f.path.empty() || f.path.front() != '/'))
			return strf("fd %d is a FIFO and something else", f.fd);
	return std::nullopt;
}

Result<void> check_fifo_here(const OpenFile &f)
{
	struct stat st;
	if (stat(f.path.c_str(), &st))
		return fail(errno, strf("the FIFO %s of the process (fd %d) is missing here",
					f.path.c_str(), f.fd));
	if (!S_ISFIFO(st.st_mode))
		return fail(ESTALE, strf("%s (fd %d of the process) is no FIFO here: it must be "
					 "the same file on both machines", f.path.c_str(), f.fd));
	return {};
}

Result<int> FifoOpener::keeper(const std::string &path)
{
	if (auto it = keepers_.find(path); it != keepers_.end())
		return it->second.get();
	// Read and write: never waits, and lets every open of either kind
	// that follows go on at once. A process that may only read it needs
	// no more than a reader.
	UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
	if (fd.get() < 0 && errno == EACCES)
		fd = UniqueFd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	if (fd.get() < 0)
		return fail(errno, strf("opening the FIFO %s here", path.c_str()));
	struct stat st;
	if (fstat(fd.get(), &st))
		return fail(errno, "fstat " + path);
	if (!S_ISFIFO(st.st_mode))
		return fail(ESTALE, strf("%s is no FIFO here: it must be the same file on both "
					 "machines", path.c_str()));
	UniqueFd above(fcntl(fd.get(), F_DUPFD_CLOEXEC, above_));
	if (above.get() < 0)
		return fail(errno, "F_DUPFD");
	int got = above.get();
	keepers_[path] = std::move(above);
	return got;
}

Result<void> FifoOpener::fill(const std::vector<FifoState> &fifos)
{
	for (const auto &s : fifos) {
		auto fd = keeper(s.path);
		if (!fd)
			return std::unexpected(fd.error());
		int queued = 0;
		if (ioctl(*fd, FIONREAD, &queued) < 0)
			return fail(errno, strf("the FIFO %s: FIONREAD", s.path.c_str()));
		if (queued)
			return fail(EBUSY, strf("the FIFO %s holds %d bytes here already: a process "
						"that is not moved has it open", s.path.c_str(),
						queued));
		int size = fcntl(*fd, F_GETPIPE_SZ);
		if (size != int(s.capacity) && fcntl(*fd, F_SETPIPE_SZ, s.capacity) < 0)
			return fail(errno, strf("giving the FIFO %s its capacity of %u bytes here",
						s.path.c_str(), s.capacity));
		if (s.data.empty())
			continue;
		UniqueFd writer(open(s.path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
		if (writer.get() < 0)
			return fail(errno, strf("opening the FIFO %s to write its bytes back",
						s.path.c_str()));
		for (size_t off = 0; off < s.data.size();) {
			ssize_t n = write(writer.get(), s.data.data() + off, s.data.size() - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fail(n < 0 ? errno : EIO,
					    strf("writing the %zu bytes the FIFO %s held back into it",
						 s.data.size(), s.path.c_str()));
			off += size_t(n);
		}
	}
	return {};
}

Result<int> FifoOpener::open_end(const OpenFile &f)
{
	if (auto k = keeper(f.path); !k)
		return std::unexpected(k.error());
	// Non-blocking to open (the keeper is there), then as it was.
	int flags = reopen_flags(f.flags);
	int fd = open(f.path.c_str(), flags | O_NONBLOCK);
	if (fd < 0)
		return fail(errno, strf("fd %d: opening the FIFO %s", f.fd, f.path.c_str()));
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int err = errno;
		close(fd);
		return fail(err, strf("fd %d, the FIFO %s: F_SETFL", f.fd, f.path.c_str()));
	}
	return fd;
}

} // namespace hetmig::fds

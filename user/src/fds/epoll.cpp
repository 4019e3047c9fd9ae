// SPDX-License-Identifier: GPL-2.0
#include "fds/epoll.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/kcmp.h>
#include <sstream>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds/fd.h"

namespace hetmig::fds {

namespace {

std::string fdinfo_text(pid_t pid, int fd)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

// Whether fd TFD of PID is the file of the epoll at EPFD's entry number
// TOFF among those added under fd number TFD (an fd closed and used again
// leaves one entry per file added under it; the kernel counts them in the
// order fdinfo lists them). kcmp answers 0 for the same file; ENOENT when
// the epoll has no such entry any more.
Result<bool> target_is_in_place(pid_t pid, int epfd, int tfd, uint32_t toff)
{
	struct kcmp_epoll_slot slot = {uint32_t(epfd), uint32_t(tfd), toff};
	long r = syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, tfd, &slot);
	if (r == 0)
		return true;
	if (r > 0 || errno == EBADF)
		return false;
	return fail(errno, strf("fd %d, an epoll: comparing its target fd %d with what the "
				"process holds there (kcmp)", epfd, tfd));
}

// The lowest fd of PID that holds the file of EPFD's entry number TOFF
// under fd number TFD (KCMP_EPOLL_TFD asked of each), other than TFD
// itself; -1 for none (the file is in flight, or another process's only).
Result<int> fd_of_target(pid_t pid, int epfd, int tfd, uint32_t toff)
{
	std::vector<int> fds;
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator(
		     "/proc/" + std::to_string(pid) + "/fd", ec))
		fds.push_back(std::stoi(entry.path().filename().string()));
	std::sort(fds.begin(), fds.end());
	for (int fd : fds) {
		if (fd == tfd || fd == epfd)
			continue;
		struct kcmp_epoll_slot slot = {uint32_t(epfd), uint32_t(tfd), toff};
		long r = syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, fd, &slot);
		if (r == 0)
			return fd;
		if (r < 0 && errno != EBADF)
			return fail(errno, strf("fd %d, an epoll: looking for the file of its "
						"target fd %d at fd %d (kcmp)", epfd, tfd, fd));
	}
	return -1;
}

} // namespace

bool is_epoll(const std::string &link)
{
	return link == "anon_inode:[eventpoll]";
}

Result<std::vector<EpollTarget>> parse_epoll_fdinfo(const std::string &text)
{
	std::vector<EpollTarget> targets;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);) {
		if (!line.starts_with("tfd:"))
			continue;
		EpollTarget t;
		unsigned long long data;
		if (std::sscanf(line.c_str(), "tfd: %d events: %" SCNx32 " data: %llx", &t.fd,
				&t.events, &data) != 3 || t.fd < 0)
			return fail(EPROTO, "an epoll's fdinfo line is not as Linux 6.1 to 6.12 "
					    "print it: \"" + line + "\"");
		t.data = data;
		targets.push_back(t);
	}
	std::stable_sort(targets.begin(), targets.end(),
			 [](const EpollTarget &a, const EpollTarget &b) { return a.fd < b.fd; });
	return targets;
}

Result<std::vector<EpollTarget>> capture_epoll(pid_t pid, int fd)
{
	auto targets = parse_epoll_fdinfo(fdinfo_text(pid, fd));
	if (!targets)
		return fail(targets.error().code, strf("fd %d: %s", fd,
						       targets.error().describe().c_str()));
	for (size_t i = 0; i < targets->size(); i++) {
		const EpollTarget &t = (*targets)[i];
		// parse_epoll_fdinfo's sort keeps fdinfo's order within an fd.
		uint32_t toff = 0;
		while (toff < i && (*targets)[i - toff - 1].fd == t.fd)
			toff++;
		auto same = target_is_in_place(pid, fd, t.fd, toff);
		if (!same)
			return std::unexpected(same.error());
		if (*same)
			continue;
		// Closed since, its file open at another fd: the restore adds it
		// under its old number through that one (fill_epoll).
		auto held = fd_of_target(pid, fd, t.fd, toff);
		if (!held)
			return std::unexpected(held.error());
		if (*held < 0)
			return fail(EOPNOTSUPP, strf("fd %d is an epoll watching a file added as fd "
						     "%d, which was closed since (fd %d is %s), and "
						     "no fd of the process holds that file: an entry "
						     "whose file cannot be found cannot be added "
						     "again", fd, t.fd, t.fd,
						     access(strf("/proc/%d/fd/%d", pid,
								 t.fd).c_str(), F_OK)
							     ? "closed"
							     : "another file now"));
		(*targets)[i].file_fd = *held;
	}
	return targets;
}

Result<void> check_epoll_targets(const std::vector<OpenFile> &files)
{
	for (const auto &f : files) {
		if (!f.epoll)
			continue;
		for (const auto &t : *f.epoll) {
			int held = t.file_fd >= 0 ? t.file_fd : t.fd;
			auto target = std::find_if(files.begin(), files.end(),
						   [&](const OpenFile &o) { return o.fd == held; });
			if (target == files.end())
				return fail(EOPNOTSUPP, strf("fd %d is an epoll watching fd %d, which "
							     "the process does not hold", f.fd, held));
			if (target->std_stream)
				return fail(EOPNOTSUPP, strf("fd %d is an epoll watching fd %d (%s), "
							     "a standard stream that stays with the "
							     "receiver: it cannot be watched there as "
							     "it was", f.fd, held,
							     target->path.c_str()));
		}
	}
	return {};
}

std::string epolls_watching(pid_t pid, int fd)
{
	std::string found;
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator(
		     "/proc/" + std::to_string(pid) + "/fd", ec)) {
		std::error_code link_ec;
		if (!is_epoll(std::filesystem::read_symlink(entry.path(), link_ec).string()))
			continue;
		int epfd = std::stoi(entry.path().filename().string());
		auto targets = parse_epoll_fdinfo(fdinfo_text(pid, epfd));
		if (targets && std::any_of(targets->begin(), targets->end(),
					   [&](const EpollTarget &t) { return t.fd == fd; }))
			found += strf(" (watched by the epoll at fd %d)", epfd);
	}
	return found;
}

Result<int> make_epoll(const OpenFile &f)
{
	UniqueFd ep(epoll_create1(f.flags & O_CLOEXEC ? EPOLL_CLOEXEC : 0));
	if (ep.get() < 0)
		return fail(errno, strf("fd %d, an epoll: epoll_create1", f.fd));
	if ((f.flags & O_NONBLOCK) && fcntl(ep.get(), F_SETFL, O_NONBLOCK) < 0)
		return fail(errno, strf("fd %d, an epoll: F_SETFL", f.fd));
	return ep.release();
}

namespace {

// Adds the file at FILE_FD to EPFD under fd number TFD, which holds
// another file or none: the file is put there for the call (an entry is
// the file and the number it was added under), and what was there back
// after, with its close-on-exec flag. Our copy keeps that file open, so
// its own entries in any epoll stay.
Result<void> add_under(int epfd, int tfd, int file_fd, epoll_event &ev)
{
	int fd_flags = fcntl(tfd, F_GETFD);
	UniqueFd saved(fd_flags >= 0 ? fcntl(tfd, F_DUPFD_CLOEXEC, 0) : -1);
	if (fd_flags >= 0 && saved.get() < 0)
		return fail(errno, strf("fd %d, an epoll: setting fd %d aside", epfd, tfd));
	if (dup2(file_fd, tfd) < 0)
		return fail(errno, strf("fd %d, an epoll: fd %d at %d for its entry", epfd,
					file_fd, tfd));
	int added = epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
	int err = errno;
	int back = saved.get() >= 0 ? dup3(saved.get(), tfd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0)
				    : close(tfd);
	if (added)
		return fail(err, strf("fd %d, an epoll: adding fd %d's file as fd %d with "
				      "events 0x%x (EPOLL_CTL_ADD)", epfd, file_fd, tfd,
				      ev.events));
	if (back < 0)
		return fail(errno, strf("fd %d, an epoll: putting fd %d back", epfd, tfd));
	return {};
}

} // namespace

Result<void> fill_epoll(const OpenFile &f)
{
	for (const auto &t : *f.epoll) {
		epoll_event ev{};
		ev.events = t.events;
		ev.data.u64 = t.data;
		if (t.file_fd >= 0) {
			if (auto r = add_under(f.fd, t.fd, t.file_fd, ev); !r)
				return r;
			continue;
		}
		if (epoll_ctl(f.fd, EPOLL_CTL_ADD, t.fd, &ev))
			return fail(errno, strf("fd %d, an epoll: adding fd %d with events 0x%x "
						"(EPOLL_CTL_ADD)", f.fd, t.fd, t.events));
	}
	return {};
}

} // namespace hetmig::fds

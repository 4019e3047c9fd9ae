// SPDX-License-Identifier: GPL-2.0
#include "fds/timerfd.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fds/fd.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

namespace hetmig::fds {

namespace {

// "(SEC, NSEC)" of it_value and it_interval.
bool parse_time(const std::string &text, Timespec &t)
{
	unsigned long long sec, nsec;
	if (std::sscanf(text.c_str(), "(%llu, %llu)", &sec, &nsec) != 2 || nsec >= 1000000000)
		return false;
	t = {sec, nsec};
	return true;
}

timespec to_timespec(const Timespec &t)
{
	return {time_t(t.sec), long(t.nsec)};
}

} // namespace

bool is_timerfd(const std::string &link)
{
	return link == "anon_inode:[timerfd]";
}

Result<TimerState> capture_timerfd(pid_t pid, int fd)
{
	auto clock = fdinfo_field(pid, fd, "clockid");
	auto ticks = fdinfo_field(pid, fd, "ticks");
	auto flags = fdinfo_field(pid, fd, "settime flags");
	auto value = fdinfo_field(pid, fd, "it_value");
	auto interval = fdinfo_field(pid, fd, "it_interval");
	TimerState t;
	if (!clock || !ticks || !flags || !value || !interval || !parse_time(*value, t.value) ||
	    !parse_time(*interval, t.interval))
		return fail(ENOENT, strf("fd %d, a timerfd: its fdinfo is not as Linux 6.1 to "
					 "6.12 print it", fd));
	t.clockid = std::stoi(*clock);
	t.ticks = std::stoull(*ticks);
	t.settime_flags = int(std::stoul(*flags, nullptr, 8));
	return t;
}

Result<int> make_timerfd(const OpenFile &f)
{
	const TimerState &t = *f.timerfd;
	auto failed = [&](int err, const std::string &what) {
		return fail(err, strf("fd %d, a timerfd of clock %d: %s", f.fd, t.clockid,
				      what.c_str()));
	};
	UniqueFd fd(timerfd_create(t.clockid, (f.flags & O_NONBLOCK ? TFD_NONBLOCK : 0) |
					      (f.flags & O_CLOEXEC ? TFD_CLOEXEC : 0)));
	if (fd.get() < 0)
		return failed(errno, "timerfd_create");
	itimerspec spec{to_timespec(t.interval), to_timespec(t.value)};
	bool periodic = t.interval.sec || t.interval.nsec;
	if (!t.value.sec && !t.value.nsec && periodic)
		spec.it_value = spec.it_interval;  // expired, rearmed by the read
	bool armed = spec.it_value.tv_sec || spec.it_value.tv_nsec;
	int flags = 0;
	if ((t.settime_flags & TFD_TIMER_ABSTIME) && armed) {
		timespec now;
		if (clock_gettime(t.clockid, &now))
			return failed(errno, "clock_gettime");
		spec.it_value.tv_sec += now.tv_sec;
		spec.it_value.tv_nsec += now.tv_nsec;
		if (spec.it_value.tv_nsec >= 1000000000) {
			spec.it_value.tv_sec++;
			spec.it_value.tv_nsec -= 1000000000;
		}
		flags = t.settime_flags;
	}
	if (armed && timerfd_settime(fd.get(), flags, &spec, nullptr))
		return failed(errno, "timerfd_settime");
	if (t.ticks && ioctl(fd.get(), TFD_IOC_SET_TICKS, &t.ticks)) {
		int err = errno;
		return failed(err, strf("putting back its %llu expiries not read "
					"(TFD_IOC_SET_TICKS)", (unsigned long long)t.ticks));
	}
	return fd.release();
}

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
#include "fds/devices.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fds/fd.h"

namespace hetmig::fds {

namespace {

struct Device {
	const char *path;
	unsigned minor;	// of major 1, "mem" (Documentation/admin-guide/devices.txt)
};

constexpr Device kDevices[] = {
	{"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/full", 7},
	{"/dev/random", 8}, {"/dev/urandom", 9},
};

// Whether ST is F's device.
Result<void> same_device(const OpenFile &f, const struct stat &st)
{
	if (!S_ISCHR(st.st_mode) || (f.rdev && uint64_t(st.st_rdev) != f.rdev))
		return fail(ENODEV, strf("%s (fd %d of the process) is another device here, or "
					 "none", f.path.c_str(), f.fd));
	return {};
}

} // namespace

std::optional<uint64_t> same_everywhere_device(const std::string &path, const struct stat &st)
{
	for (const auto &d : kDevices)
		if (path == d.path && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, d.minor))
			return uint64_t(st.st_rdev);
	return std::nullopt;
}

bool is_device(const OpenFile &f)
{
	return f.rdev || f.path == "/dev/null";
}

Result<void> check_device_here(const OpenFile &f)
{
	struct stat st;
	if (stat(f.path.c_str(), &st))
		return fail(errno, strf("%s (fd %d of the process) is missing here", f.path.c_str(),
					f.fd));
	return same_device(f, st);
}

Result<int> open_device(const OpenFile &f)
{
	UniqueFd fd(open(f.path.c_str(), reopen_flags(f.flags)));
	if (fd.get() < 0)
		return fail(errno, "opening " + f.path);
	struct stat st;
	if (fstat(fd.get(), &st))
		return fail(errno, "fstat " + f.path);
	if (auto r = same_device(f, st); !r)
		return std::unexpected(r.error());
	return fd.release();
}

} // namespace hetmig::fds

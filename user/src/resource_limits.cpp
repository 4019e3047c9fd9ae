// SPDX-License-Identifier: GPL-2.0
#include "resource_limits.h"

#include <cerrno>
#include <fcntl.h>
#include <iterator>
#include <sys/resource.h>
#include <unistd.h>

#include "process_state.h"

namespace hetmig {

bool write_oom_score_adj(const std::string &who, int value)
{
	int fd = open(("/proc/" + who + "/oom_score_adj").c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	std::string text = std::to_string(value);
	bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size());
	int err = errno;
	close(fd);
	errno = err;
	return ok;
}

Result<void> set_rlimits(pid_t pid, const Image &img)
{
	static const char *const names[] = {
		"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
		"MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO",
		"RTTIME",
	};
	for (size_t r = 0; r < img.rlimits.size() && r < RLIM_NLIMITS; r++) {
		struct rlimit lim = {img.rlimits[r].first, img.rlimits[r].second};
		if (prlimit(pid, static_cast<__rlimit_resource>(r), &lim, nullptr))
			return fail(errno, strf("setting the process's RLIMIT_%s to %llu/%llu "
						"(soft/hard) here",
						r < std::size(names) ? names[r] : "?",
						(unsigned long long)lim.rlim_cur,
						(unsigned long long)lim.rlim_max));
	}
	return {};
}

Result<void> set_oom_score_adj(pid_t pid, const Image &img)
{
	if (!img.oom_score_adj)
		return {};  // an image from before it was carried
	const std::string who = std::to_string(pid);
	if (read_oom_score_adj(who) == img.oom_score_adj)
		return {};
	if (write_oom_score_adj(who, *img.oom_score_adj))
		return {};
	int err = errno;
	auto ours = read_oom_score_adj("self");
	return fail(err, strf("setting the process's oom_score_adj to %d here%s",
			      *img.oom_score_adj,
			      err == EACCES && ours
				      ? strf(" (lowering it below this receiver's own, %d, "
					     "needs CAP_SYS_RESOURCE)", *ours).c_str()
				      : ""));
}

} // namespace hetmig

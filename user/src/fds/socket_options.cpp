// SPDX-License-Identifier: GPL-2.0
#include "fds/socket_options.h"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fds/fd.h"

namespace hetmig::fds {

namespace {

// The options carried: each a plain int but SO_LINGER and the timeouts.
constexpr int kCarried[] = {SO_PRIORITY, SO_RCVLOWAT,	SO_MARK,     SO_PASSCRED, SO_PASSSEC,
			    SO_DONTROUTE, SO_NO_CHECK,	SO_OOBINLINE, SO_LINGER,   SO_RCVTIMEO,
			    SO_SNDTIMEO};

bool carried(int32_t name)
{
	return std::find(std::begin(kCarried), std::end(kCarried), name) != std::end(kCarried);
}

Result<int64_t> get(int fd, int opt, const std::string &name)
{
	if (opt == SO_LINGER) {
		linger l{};
		socklen_t len = sizeof(l);
		if (getsockopt(fd, SOL_SOCKET, opt, &l, &len))
			return fail(errno, name + ": getsockopt SO_LINGER");
		return l.l_onoff ? int64_t(l.l_linger) : -1;
	}
	if (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO) {
		timeval tv{};
		socklen_t len = sizeof(tv);
		if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len))
			return fail(errno, name + ": getsockopt of a timeout");
		return int64_t(tv.tv_sec) * 1000000 + tv.tv_usec;
	}
	int v = 0;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len))
		return fail(errno, strf("%s: getsockopt %d", name.c_str(), opt));
	return v;
}

} // namespace

Result<std::vector<SocketOption>> capture_socket_options(int fd, int domain, int type,
							 int protocol, const std::string &name)
{
	UniqueFd fresh(socket(domain, type | SOCK_CLOEXEC, protocol));
	if (fresh.get() < 0)
		return fail(errno, name + ": a new socket of its kind, to compare its options with");
	std::vector<SocketOption> out;
	for (int opt : kCarried) {
		auto now = get(fd, opt, name);
		// One this kind of socket has not (newer kernels keep
		// SO_PASSCRED to unix and netlink sockets).
		if (!now && (now.error().code == EOPNOTSUPP || now.error().code == ENOPROTOOPT))
			continue;
		if (!now)
			return std::unexpected(now.error());
		auto was = get(fresh.get(), opt, name);
		if (!was)
			return std::unexpected(was.error());
		if (*now != *was)
			out.push_back({opt, *now});
	}
	return out;
}

Result<void> set_socket_options(int fd, const std::vector<SocketOption> &options,
				const std::string &name)
{
	for (const auto &o : options) {
		int r;
		if (o.name == SO_LINGER) {
			linger l{o.value >= 0, int(std::max<int64_t>(o.value, 0))};
			r = setsockopt(fd, SOL_SOCKET, o.name, &l, sizeof(l));
		} else if (o.name == SO_RCVTIMEO || o.name == SO_SNDTIMEO) {
			timeval tv{o.value / 1000000, o.value % 1000000};
			r = setsockopt(fd, SOL_SOCKET, o.name, &tv, sizeof(tv));
		} else {
			int v = int(o.value);
			r = setsockopt(fd, SOL_SOCKET, o.name, &v, sizeof(v));
		}
		if (r)
			return fail(errno, strf("%s: setting socket option %d to %lld as it was",
						name.c_str(), o.name, (long long)o.value));
	}
	return {};
}

std::optional<std::string> socket_options_problem(const std::vector<SocketOption> &options)
{
	for (size_t i = 0; i < options.size(); i++) {
		const SocketOption &o = options[i];
		bool twice = std::any_of(options.begin(), options.begin() + i,
					 [&](const SocketOption &e) { return e.name == o.name; });
		bool in_range = o.name == SO_RCVTIMEO || o.name == SO_SNDTIMEO
					? o.value >= 0
					: o.value >= (o.name == SO_LINGER ? -1 : INT32_MIN) &&
						  o.value <= INT32_MAX;
		if (!carried(o.name) || twice || !in_range)
			return strf("socket option %d twice, unknown, or out of range", o.name);
	}
	return std::nullopt;
}

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
#include "fds/inet.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>

namespace hetmig::fds {

Result<void> set_int(int fd, int level, int opt, int value, const std::string &what)
{
	if (setsockopt(fd, level, opt, &value, sizeof(value)))
		return fail(errno, what);
	return {};
}

Result<int> get_int(int fd, int level, int opt, const std::string &what)
{
	int value = 0;
	socklen_t len = sizeof(value);
	if (getsockopt(fd, level, opt, &value, &len))
		return fail(errno, what);
	return value;
}

InetAddress from_sockaddr(const sockaddr_storage &ss)
{
	InetAddress a;
	a.family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		const auto &in = reinterpret_cast<const sockaddr_in &>(ss);
		std::memcpy(a.addr.data(), &in.sin_addr, 4);
		a.port = ntohs(in.sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(ss);
		std::memcpy(a.addr.data(), &in6.sin6_addr, 16);
		a.port = ntohs(in6.sin6_port);
		a.scope_id = in6.sin6_scope_id;
	}
	return a;
}

socklen_t to_sockaddr(const InetAddress &a, sockaddr_storage &ss)
{
	std::memset(&ss, 0, sizeof(ss));
	if (a.family == AF_INET) {
		auto &in = reinterpret_cast<sockaddr_in &>(ss);
		in.sin_family = AF_INET;
		std::memcpy(&in.sin_addr, a.addr.data(), 4);
		in.sin_port = htons(a.port);
		return sizeof(in);
	}
	auto &in6 = reinterpret_cast<sockaddr_in6 &>(ss);
	in6.sin6_family = AF_INET6;
	std::memcpy(&in6.sin6_addr, a.addr.data(), 16);
	in6.sin6_port = htons(a.port);
	in6.sin6_scope_id = a.scope_id;
	return sizeof(in6);
}

std::string address_text(const InetAddress &a)
{
	char buf[INET6_ADDRSTRLEN] = "?";
	inet_ntop(a.family == AF_INET6 ? AF_INET6 : AF_INET, a.addr.data(), buf, sizeof(buf));
	if (a.family == AF_INET6)
		return strf("[%s]:%u", buf, a.port);
	return strf("%s:%u", buf, a.port);
}

Result<InetAddress> local_address(int fd, const std::string &name)
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len))
		return fail(errno, name + ": getsockname");
	return from_sockaddr(ss);
}

Result<std::optional<InetAddress>> peer_address(int fd, const std::string &name)
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	if (!getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &len))
		return from_sockaddr(ss);
	if (errno == ENOTCONN)
		return std::nullopt;
	return fail(errno, name + ": getpeername");
}

Result<void> bind_here(int fd, const InetAddress &a, const std::string &name)
{
	sockaddr_storage ss;
	socklen_t len = to_sockaddr(a, ss);
	if (!bind(fd, reinterpret_cast<sockaddr *>(&ss), len))
		return {};
	int err = errno;
	std::string where = address_text(a);
	if (err == EADDRNOTAVAIL)
		return fail(err, strf("%s: binding to %s here: that address is not on this "
				      "machine (add it to an interface first: the user guide's "
				      "\"Moving an address\")", name.c_str(), where.c_str()));
	if (err == EADDRINUSE)
		return fail(err, strf("%s: binding to %s here: another socket has that address "
				      "and port", name.c_str(), where.c_str()));
	return fail(err, strf("%s: binding to %s here", name.c_str(), where.c_str()));
}

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
// What the IPv4 and IPv6 sockets (tcp.h, udp.h) share: options as ints,
// addresses between the kernel's sockaddr and the image's InetAddress,
// and bind with a message that says what to do.
#pragma once

#include <optional>
#include <string>
#include <sys/socket.h>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

Result<void> set_int(int fd, int level, int opt, int value, const std::string &what);
Result<int> get_int(int fd, int level, int opt, const std::string &what);

// The address of a sockaddr the kernel gave (getsockname, getpeername).
InetAddress from_sockaddr(const sockaddr_storage &ss);
// A into SS; its length.
socklen_t to_sockaddr(const InetAddress &a, sockaddr_storage &ss);

// The address FD (NAME's socket) is bound to, and the one it is connected
// to (nothing when it is not: ENOTCONN).
Result<InetAddress> local_address(int fd, const std::string &name);
Result<std::optional<InetAddress>> peer_address(int fd, const std::string &name);

// "127.0.0.1:8080", "[::1]:8080".
std::string address_text(const InetAddress &a);

// Binds FD (NAME's socket) to A, or says why not: an address this machine
// lacks (and how to give it one), a port another socket holds.
Result<void> bind_here(int fd, const InetAddress &a, const std::string &name);

} // namespace hetmig::fds

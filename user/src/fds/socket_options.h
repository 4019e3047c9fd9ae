// SPDX-License-Identifier: GPL-2.0
// The generic options (SOL_SOCKET) a program may set on any socket:
// SO_LINGER (a server that resets its connections at close), SO_PRIORITY,
// SO_RCVLOWAT, receive and send timeouts, SO_MARK, SO_PASSCRED and the
// others zdtm's sock_opts00 checks. Capture and rebuild side by side.
//
// Captured where they differ from a new socket of the same domain, type
// and protocol (one made by the dump to ask), so that the image holds only
// what the program set, and the rebuild sets only that: SO_MARK, which
// needs CAP_NET_ADMIN, is asked of no one who never set it. SO_LINGER is
// kept as its seconds, -1 when off; timeouts in microseconds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

// The options of socket FD (of DOMAIN, TYPE, PROTOCOL) that differ from a
// new one's. NAME names it in errors.
Result<std::vector<SocketOption>> capture_socket_options(int fd, int domain, int type,
							 int protocol, const std::string &name);

// Sets OPTIONS on FD.
Result<void> set_socket_options(int fd, const std::vector<SocketOption> &options,
				const std::string &name);

// What is wrong with OPTIONS (read_image's check), or nothing.
std::optional<std::string> socket_options_problem(const std::vector<SocketOption> &options);

} // namespace hetmig::fds

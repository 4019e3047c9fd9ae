// SPDX-License-Identifier: GPL-2.0
// UDP and UDP-Lite sockets (IPv4 and IPv6): bound, connected, or neither.
// Capture and rebuild side by side.
//
// Captured: the local address and port, the peer of a connected one,
// SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, IPV6_V6ONLY, IP_FREEBIND, the
// directions it is shut down in (inet_diag, as `ss` reads them; for one
// never bound, which no table lists, or on a kernel without udp_diag,
// poll's EPOLLRDHUP and EPOLLHUP, which do not show a socket shut down
// for sending only) and UDP-Lite's checksum coverage. Datagrams
// queued to it are not: written back they would come from the restorer,
// not from their senders. So one with datagrams queued is refused (the
// dump can be tried again once the process has read them), and one that
// receives datagrams while the process is frozen calls the move off at
// the end (TcpRepair::check_unchanged), since they would be lost with the
// source. Refused too: one another process holds.
//
// Rebuilt before the process's credentials change (a port below 1024),
// with TcpMaker: options, bind, connect.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "error.h"
#include "fds/fd.h"
#include "fds/tcp.h"
#include "image.h"

namespace hetmig::fds {

// The UDP or UDP-Lite (PROTOCOL) socket COPY is (fd FD of PID, PATH its
// link); REPAIR, if any, watches it for datagrams until the move ends.
Result<UdpSocket> capture_udp_socket(pid_t pid, int fd, UniqueFd copy, TcpRepair *repair,
				     const std::string &path, int protocol);

// F's UDP socket made again, owned by UID and GID.
Result<UniqueFd> make_udp_socket(const OpenFile &f, uid_t uid, gid_t gid);

// Why F's UDP record cannot be made again as it is, or nothing.
std::optional<std::string> udp_problem(const OpenFile &f);

} // namespace hetmig::fds

// SPDX-License-Identifier: GPL-2.0
// epoll(7) descriptors with their interest lists: the event loop of
// nearly every daemon. Capture and rebuild side by side.
//
// Captured from fdinfo: a "tfd:" line per entry gives the target's fd
// number, its events with their flags (EPOLLET, EPOLLONESHOT,
// EPOLLEXCLUSIVE, EPOLLWAKEUP) and the data word. An entry names the fd
// the target was added under; the entry outlives that fd while its open
// file lives on elsewhere, so kcmp(KCMP_EPOLL_TFD) checks that the fd
// still holds the very file that was added. One that was closed (or holds
// another file now) is looked for among the process's other fds, by the
// same kcmp, and carried with the fd that holds it (EpollTarget::file_fd);
// one no fd of the process holds refuses the dump, naming both, as does a
// target that is not carried itself (a standard stream left to the
// receiver, or anything the dump refuses, which then names the epoll
// watching it).
//
// Rebuilt: epoll_create1 at the epoll's number with its flags, and once
// every descriptor is in place, EPOLL_CTL_ADD of each target with its
// events and data; an entry whose fd was closed is added with its file
// put at that number for the call (dup2), and what is there put back. Not
// carried: the ready list, which the kernel computes
// again as each target is added (a level-triggered target that is ready
// is reported, as it would have been; an edge-triggered one that is ready
// reports one edge more), and which waiter an EPOLLEXCLUSIVE entry woke
// last. A oneshot entry that fired stays disarmed.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

bool is_epoll(const std::string &link);

// The interest list of an epoll's fdinfo (TEXT), in target fd order.
Result<std::vector<EpollTarget>> parse_epoll_fdinfo(const std::string &text);

// The interest list of the epoll PID (stopped, traced by us) has at FD,
// every target checked to be the file its fd holds now.
Result<std::vector<EpollTarget>> capture_epoll(pid_t pid, int fd);

// Refuses an epoll among FILES (described, in fd order) that watches a
// descriptor that is not carried as itself.
Result<void> check_epoll_targets(const std::vector<OpenFile> &files);

// The epolls of PID whose interest lists hold FD, as " (watched by the
// epoll at fd N)" for a refusal of FD; empty for none.
std::string epolls_watching(pid_t pid, int fd);

// A new epoll (the lowest free number) with F's flags (O_CLOEXEC,
// O_NONBLOCK), its interest list still empty.
Result<int> make_epoll(const OpenFile &f);

// Adds F's targets to the epoll at F.fd, every target at its number.
Result<void> fill_epoll(const OpenFile &f);

} // namespace hetmig::fds

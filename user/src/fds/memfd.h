// SPDX-License-Identifier: GPL-2.0
// memfds, and MAP_SHARED anonymous memory opened as a file
// (/proc/PID/map_files: "/dev/zero (deleted)"), held as fds: the ghosts
// (ghost_files.h) that live on the kernel's internal tmpfs. Their name,
// bytes, size and seals are carried; one the tree also maps is the
// Image::shared object its mappings name, so the fd and the mappings are
// one object on the destination too, its bytes carried once, through the
// fd (capture_shared then carries no pages of it).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <sys/stat.h>

#include "error.h"
#include "fds/fd.h"
#include "image.h"

namespace hetmig::fds {

// "/memfd:NAME (deleted)": NAME; nothing for another link.
std::optional<std::string> memfd_name(const std::string &link);

// Whether LINK, the file ST, is MAP_SHARED anonymous memory (or shared
// /dev/zero) opened as a file, not the device.
bool is_shared_anon(const std::string &link, const struct stat &st);

// Refuses what cannot be made again: a memfd on hugetlbfs (MFD_HUGETLB).
// FD_PATH: /proc/PID/fd/N.
Result<void> check_memfd(int fd, const std::string &link, const std::string &fd_path);

// G's seals, read through FD (ours, of the same memfd).
Result<void> capture_seals(int fd, GhostFile &g);

// The source's identity of ST's file as Image::shared names objects.
uint64_t shared_dev(const struct stat &st);

// capture_shared's part: the ghost of ROOT that is shared object INDEX
// (device DEV, inode INODE), linked to it; false when no fd holds it.
bool link_ghost_to_shared(Image &root, uint64_t dev, uint64_t inode, int32_t index);

// Whether shared object K of ROOT must be made sealable: a ghost linked
// to it carries seals.
bool shared_needs_sealing(const Image &root, size_t k);

// G made again, its bytes, mode, owner and seals in it: the memfd of its
// shared object in SHM when it is one, else a new one.
Result<UniqueFd> make_memfd(const GhostFile &g, std::span<const int> shm);

} // namespace hetmig::fds

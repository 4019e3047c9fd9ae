// SPDX-License-Identifier: GPL-2.0
// Character devices that are the same on every Linux machine: /dev/null,
// /dev/zero, /dev/full, /dev/random and /dev/urandom, opened again by path
// with their flags. Capture and rebuild side by side. Their numbers are
// fixed (devices.txt, major 1), and the destination's path must have the
// same one: in a container or a chroot /dev/zero can be anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/stat.h>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

// ST's device number when PATH is one of them and ST (of the process's fd)
// is that device.
std::optional<uint64_t> same_everywhere_device(const std::string &path, const struct stat &st);

// Whether F is one: so marked (OpenFile::rdev), or /dev/null in an image
// from before devices were checked.
bool is_device(const OpenFile &f);

// The destination's PATH is the same device (any /dev/null for an image
// that did not record its number); else an error naming it.
Result<void> check_device_here(const OpenFile &f);

// F's device opened again (the lowest free number) with F's flags, and
// checked as check_device_here does.
Result<int> open_device(const OpenFile &f);

} // namespace hetmig::fds

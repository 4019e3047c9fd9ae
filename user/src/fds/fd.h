// SPDX-License-Identifier: GPL-2.0
// What the kinds of descriptors (devices.h) share: an owned descriptor.
#pragma once

#include <unistd.h>

namespace hetmig::fds {

// A descriptor closed when its owner goes; moving it leaves -1 behind.
class UniqueFd {
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	UniqueFd(UniqueFd &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
	UniqueFd &operator=(UniqueFd &&o) noexcept
	{
		if (this != &o) {
			reset();
			fd_ = o.fd_;
			o.fd_ = -1;
		}
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	~UniqueFd() { reset(); }

	int get() const { return fd_; }
	int release() { int fd = fd_; fd_ = -1; return fd; }
	void reset() { if (fd_ >= 0) ::close(fd_); fd_ = -1; }

private:
	int fd_ = -1;
};

} // namespace hetmig::fds

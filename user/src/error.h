// SPDX-License-Identifier: GPL-2.0
// Recoverable errors: a positive errno, what we were doing, and the kernel's
// own explanation (netlink extended ACK) when it gave one.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace hetmig {

struct Error {
	int code = 0;                  // positive errno value
	std::string context;           // what failed, e.g. "GET_VERSION"
	std::string kernel_message;    // NLMSGERR_ATTR_MSG, if any
	std::optional<uint32_t> bad_attr_offset;  // NLMSGERR_ATTR_OFFS

	// "context: kernel message (strerror)", the form users see.
	std::string describe() const;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(int code, std::string context)
{
	return std::unexpected(Error{code, std::move(context), {}, {}});
}

// Exit codes of the hetmig command, documented in Documentation/user-guide.md.
// They follow sysexits(3) where one fits.
enum ExitCode : int {
	kExitOk = 0,
	kExitFailure = 1,       // the operation failed
	kExitUsage = 64,        // bad command line
	kExitUnavailable = 69,  // hetmig.ko is not loaded
	kExitNoPerm = 77,       // the kernel refused: not permitted
};

ExitCode exit_code_for(const Error &err);

// printf into a std::string (g++ 12 has no std::format).
[[gnu::format(printf, 1, 2)]] std::string strf(const char *fmt, ...);

} // namespace hetmig

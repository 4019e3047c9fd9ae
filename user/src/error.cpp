// SPDX-License-Identifier: GPL-2.0
#include "error.h"

#include <cerrno>
#include <cstring>

#include <cstdarg>
#include <cstdio>

namespace hetmig {

std::string strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[1024];
	int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return std::string(buf, n < 0 ? 0 : std::min<size_t>(size_t(n), sizeof(buf) - 1));
}

std::string Error::describe() const
{
	std::string out = context;
	if (!kernel_message.empty()) {
		out += out.empty() ? "" : ": ";
		out += kernel_message;
	}
	if (code) {
		out += out.empty() ? "" : " ";
		out += "(";
		out += std::strerror(code);
		out += ")";
	}
	return out;
}

ExitCode exit_code_for(const Error &err)
{
	switch (err.code) {
	case EPERM:
	case EACCES:
		return kExitNoPerm;
	case EPROTONOSUPPORT:  // the family is not registered
		return kExitUnavailable;
	default:
		return kExitFailure;
	}
}

} // namespace hetmig

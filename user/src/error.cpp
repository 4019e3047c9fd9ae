// SPDX-License-Identifier: GPL-2.0
#include "error.h"

#include <cerrno>
#include <cstring>

namespace hetmig {

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

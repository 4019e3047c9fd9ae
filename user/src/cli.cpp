// SPDX-License-Identifier: GPL-2.0
#include "cli.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "error.h"

namespace hetmig {

std::optional<pid_t> parse_pid(const char *text)
{
	pid_t pid = 0;
	const char *end = text + std::strlen(text);
	auto [ptr, ec] = std::from_chars(text, end, pid);
	if (ec != std::errc() || ptr != end || pid <= 0)
		return std::nullopt;
	return pid;
}

int report(const Error &err)
{
	std::fprintf(stderr, "hetmig: %s\n", err.describe().c_str());
	return exit_code_for(err);
}

} // namespace hetmig

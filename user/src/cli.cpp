// SPDX-License-Identifier: GPL-2.0
#include "cli.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
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

std::optional<long long> option_number(const char *option, const char *text, long long min,
				       long long max)
{
	long long value = 0;
	const char *end = text + std::strlen(text);
	auto [ptr, ec] = std::from_chars(text, end, value);
	if (ec != std::errc() || ptr != end || *text == '\0' || value < min || value > max) {
		std::fprintf(stderr, "hetmig: %s wants a whole number from %lld to %lld, not '%s'\n",
			     option, min, max, text);
		return std::nullopt;
	}
	return value;
}

std::optional<double> option_seconds(const char *option, const char *text, double max)
{
	char *end = nullptr;
	double value = std::strtod(text, &end);
	if (end == text || *end != '\0' || !(value > 0) || value > max) {
		std::fprintf(stderr, "hetmig: %s wants seconds, more than 0 and at most %g, not '%s'\n",
			     option, max, text);
		return std::nullopt;
	}
	return value;
}

int report(const Error &err)
{
	std::fprintf(stderr, "hetmig: %s\n", err.describe().c_str());
	return exit_code_for(err);
}

} // namespace hetmig

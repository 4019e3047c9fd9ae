// SPDX-License-Identifier: GPL-2.0
// Small helpers the subcommands share for their command lines.
#pragma once

#include <optional>
#include <sys/types.h>

namespace hetmig {

// A positive decimal pid, or nothing.
std::optional<pid_t> parse_pid(const char *text);

// The value TEXT of command-line option OPTION as a whole decimal number
// in [MIN, MAX], or nothing after saying why on stderr (the caller then
// exits with kExitUsage): atoi would take "x" for 0 and "99999" for a port.
std::optional<long long> option_number(const char *option, const char *text, long long min,
				       long long max);

// The same for a number of seconds, fractions allowed, in (0, MAX].
std::optional<double> option_seconds(const char *option, const char *text, double max);

// OUT = option_number(...); false (said why) when TEXT is not one.
template <typename T>
bool set_option(T &out, const char *option, const char *text, long long min, long long max)
{
	auto value = option_number(option, text, min, max);
	if (value)
		out = T(*value);
	return value.has_value();
}

// Prints "hetmig: MESSAGE" for ERR and returns its exit code.
int report(const struct Error &err);

} // namespace hetmig

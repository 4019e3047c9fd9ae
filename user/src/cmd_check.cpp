// SPDX-License-Identifier: GPL-2.0
// hetmig check OUT.x86_64 OUT.aarch64 [--json]: prove that every call site
// that can be on the stack at a migration point can be converted between
// the two builds. Exit 0 when all are proven, 1 otherwise (or when a build
// cannot be read), 64 on a bad command line.
#include <cstdio>
#include <cstring>

#include "check/report.h"
#include "check/verifier.h"
#include "convert/agreement.h"
#include "cli.h"
#include "commands.h"
#include "error.h"

namespace hetmig {

int cmd_check(int argc, char **argv)
{
	bool json = false;
	std::vector<const char *> paths;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] != '-')
			paths.push_back(argv[i]);
		else
			paths.clear(), paths.resize(3);  // an unknown option: usage
	}
	if (paths.size() != 2) {
		std::fprintf(stderr, "usage: hetmig check OUT.x86_64 OUT.aarch64 [--json]\n");
		return kExitUsage;
	}
	auto a = program::Program::open(paths[0]);
	if (!a)
		return report(a.error());
	auto b = program::Program::open(paths[1]);
	if (!b)
		return report(b.error());
	check::Report r = convert::verify_pair(*a, *b);
	if (json)
		std::fputs(check::to_json(r).c_str(), stdout);
	else
		check::print_text(stdout, r);
	return r.ok() ? kExitOk : kExitFailure;
}

} // namespace hetmig

// SPDX-License-Identifier: GPL-2.0
// hetmig: move a running process to another machine, across x86_64 and
// aarch64. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "commands.h"
#include "error.h"
#include "rebuild.h"

namespace {

struct Subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

constexpr Subcommand subcommands[] = {
	{"version", hetmig::cmd_version,
	 "Show the companion's and the loaded hetmig.ko's versions"},
	{"inspect", hetmig::cmd_inspect,
	 "Stop a process for a moment; show its threads, registers and mappings"},
	{"freeze", hetmig::cmd_freeze,
	 "Stop a process and hold it until thawed (Ctrl-C or 'hetmig thaw')"},
	{"thaw", hetmig::cmd_thaw, "End a freeze held by 'hetmig freeze'"},
	{"send", hetmig::cmd_send, "Move a process to HOST, where 'hetmig recv' runs"},
	{"recv", hetmig::cmd_recv, "Receive processes from 'hetmig send' and run them"},
	{"keygen", hetmig::cmd_keygen, "Make a pre-shared key file for send and recv"},
	{"dump", hetmig::cmd_dump, "Move a process into an image file (--keep: copy it)"},
	{"restore", hetmig::cmd_restore, "Rebuild a process from an image file and run it"},
	{"check", hetmig::cmd_check,
	 "Prove that two hetmig-cc builds can be converted at every migration point"},
	{"convert", hetmig::cmd_convert,
	 "Convert a parked hetmig-cc program's image for the other ISA"},
};

void usage(FILE *out)
{
	std::fprintf(out, "usage: hetmig COMMAND [ARGS...]\n\ncommands:\n");
	for (const auto &c : subcommands)
		std::fprintf(out, "  %-10s %s\n", c.name, c.help);
	std::fprintf(out, "\nSee Documentation/user-guide.md for exit codes.\n");
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return hetmig::kExitUsage;
	}
	std::string_view name = argv[1];
	if (name == "help" || name == "--help" || name == "-h") {
		usage(stdout);
		return hetmig::kExitOk;
	}
	if (name == "--version") {
		std::printf("hetmig %s\n", HETMIG_VERSION);
		return hetmig::kExitOk;
	}
	// Processes rebuilt here inherit our address-space layout.
	if (name == "recv" || name == "restore")
		hetmig::use_low_mmap_layout(argv);
	for (const auto &c : subcommands)
		if (name == c.name)
			return c.run(argc - 1, argv + 1);

	std::fprintf(stderr, "hetmig: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return hetmig::kExitUsage;
}

// SPDX-License-Identifier: GPL-2.0
// hetmig convert IMAGE --to x86_64|aarch64 -o OUT [--from-build PATH]
//   [--to-build PATH] [--json]: convert the image of a parked hetmig-cc
//   program (hetmig dump --park) for the other ISA, offline. The builds
//   default to the program's path recorded in the image and its sibling
//   (PROGRAM.x86_64 <-> PROGRAM.aarch64).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "commands.h"
#include "convert/convert.h"
#include "image.h"

namespace hetmig {

int cmd_convert(int argc, char **argv)
{
	const char *usage = "usage: hetmig convert IMAGE --to x86_64|aarch64 -o OUT "
			    "[--from-build PATH] [--to-build PATH] [--json]\n";
	std::string in, out, to_name, from_build, to_build;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--to" && i + 1 < argc)
			to_name = argv[++i];
		else if (a == "-o" && i + 1 < argc)
			out = argv[++i];
		else if (a == "--from-build" && i + 1 < argc)
			from_build = argv[++i];
		else if (a == "--to-build" && i + 1 < argc)
			to_build = argv[++i];
		else if (a == "--json")
			json = true;
		else if (in.empty() && a[0] != '-')
			in = a;
		else
			return std::fputs(usage, stderr), kExitUsage;
	}
	if (in.empty() || out.empty() || (to_name != "x86_64" && to_name != "aarch64"))
		return std::fputs(usage, stderr), kExitUsage;
	auto to_isa = to_name == "x86_64" ? program::Isa::x86_64 : program::Isa::aarch64;

	auto img = load_image(in);
	if (!img)
		return report(img.error());
	if (from_build.empty())
		from_build = img->program.path;
	if (from_build.empty())
		return report(Error{EINVAL, in + " does not name its program: use --from-build",
				    {}, {}});
	if (to_build.empty())
		to_build = convert::sibling_build(from_build, to_isa);
	auto from = program::Program::open(from_build);
	if (!from)
		return report(from.error());
	auto to = program::Program::open(to_build);
	if (!to)
		return report(to.error());
	convert::Report rep;
	auto converted = convert::convert_image(*img, *from, *to, &rep);
	if (!converted)
		return report(converted.error());
	if (auto r = save_image(*converted, out); !r)
		return report(r.error());
	if (json) {
		nlohmann::json frames = nlohmann::json::array();
		for (const auto &f : rep.frames)
			frames.push_back({{"function", f.function}, {"file", f.file},
					  {"line", f.line}, {"column", f.column},
					  {"source_cfa", f.source_cfa}, {"dest_cfa", f.dest_cfa},
					  {"variables", f.variables}});
		nlohmann::json j = {{"frames", frames},
				    {"pointers_in_variables", rep.pointers_in_variables},
				    {"pointers_in_memory", rep.pointers_in_memory},
				    {"stale_stack_words", rep.stale_stack_words},
				    {"stack_moved_by", rep.stack_moved_by}};
		std::printf("%s\n", j.dump(2).c_str());
	} else {
		std::printf("hetmig: %s (%s) converted to %s for %s: %zu frames, %zu stack "
			    "pointers mapped\n", in.c_str(), arch_name(img->arch), out.c_str(),
			    to_name.c_str(), rep.frames.size(),
			    rep.pointers_in_variables + rep.pointers_in_memory);
	}
	return kExitOk;
}

} // namespace hetmig

// SPDX-License-Identifier: GPL-2.0
// hetmig inspect PID --frames [--parked] [--json]: park a hetmig-cc program
// at its next migration point (or, with --parked, wait for it to park by
// itself: HETMIG_PARK_AT) and show its stack as the converter sees it: each
// frame's function and call site, and every variable live there with its
// value. The program runs on afterwards (__hetmig_park returns 0).
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "convert/frames.h"
#include "convert/park.h"
#include "convert/resume.h"

namespace hetmig {

namespace {

// A value as C would print it, from its type's name and size.
std::string render(const program::Type &t, const std::vector<uint8_t> &b)
{
	auto as = [&](auto v) { std::memcpy(&v, b.data(), sizeof(v)); return v; };
	const std::string &n = t.name;
	bool is_unsigned = n.find("unsigned") != std::string::npos ||
			   n.starts_with("uint") || n == "size_t" || n == "_Bool";
	if (n.find('*') != std::string::npos && b.size() == 8)
		return strf("0x%" PRIx64, as(uint64_t()));
	if (n == "double" && b.size() == 8)
		return strf("%.17g", as(double()));
	if (n == "float" && b.size() == 4)
		return strf("%.9g", double(as(float())));
	if (n.starts_with("char [") || n.starts_with("char[")) {
		size_t len = strnlen(reinterpret_cast<const char *>(b.data()), b.size());
		return nlohmann::json(std::string(b.begin(), b.begin() + long(len))).dump();
	}
	if (n.find('[') == std::string::npos && n.find("struct") == std::string::npos &&
	    n.find("union") == std::string::npos) {
		switch (b.size()) {
		case 1: return is_unsigned ? std::to_string(as(uint8_t())) : std::to_string(as(int8_t()));
		case 2: return is_unsigned ? std::to_string(as(uint16_t())) : std::to_string(as(int16_t()));
		case 4: return is_unsigned ? std::to_string(as(uint32_t())) : std::to_string(as(int32_t()));
		case 8: return is_unsigned ? std::to_string(as(uint64_t())) : std::to_string(as(int64_t()));
		}
	}
	std::string hex = "{";
	for (size_t i = 0; i < b.size() && i < 32; i++)
		hex += strf("%s%02x", i ? " " : "", b[i]);
	return hex + (b.size() > 32 ? " ...}" : "}");
}

} // namespace

int inspect_frames(pid_t pid, bool json, bool parked)
{
	auto prog = convert::program_of(pid);
	if (!prog)
		return report(prog.error());
	if (prog->pair_id().empty())
		return report(Error{ENOTSUP, prog->path() + " was not built by hetmig-cc: its "
				    "frames cannot be shown", {}, {}});
	auto parking = convert::Parking::request(pid, *prog, 30000, parked);
	if (!parking)
		return report(parking.error());
	// Parked, the frames from the caller of __hetmig_park outwards do not
	// change until the request is released: no freeze is needed to read them.
	auto rt = convert::read_process_memory(pid, *prog->symbol(convert::kRuntimeSymbol),
			      sizeof(convert::RuntimeLayout));
	if (!rt)
		return report(rt.error());
	convert::RuntimeLayout layout;
	std::memcpy(&layout, rt->data(), sizeof(layout));
	auto word = [&](uint64_t a) -> Result<uint64_t> {
		auto b = convert::read_process_memory(pid, a, 8);
		if (!b)
			return std::unexpected(b.error());
		uint64_t v;
		std::memcpy(&v, b->data(), 8);
		return v;
	};
	auto frames = convert::parked_frames(*prog, {layout.park_ra, layout.park_cfa,
						     layout.park_fp}, word);
	if (!frames)
		return report(frames.error());
	nlohmann::json out = nlohmann::json::array();
	const unsigned fp_reg = prog->isa() == program::Isa::x86_64 ? 6 : 29;
	for (size_t i = 0; i < frames->size(); i++) {
		const auto &f = (*frames)[i];
		nlohmann::json jf = {{"index", i}, {"function", f.function->name},
				     {"file", f.site->file}, {"line", f.site->line},
				     {"column", f.site->column},
				     {"calls", f.site->callee.empty() ? "(indirect)" : f.site->callee},
				     {"cfa", strf("0x%" PRIx64, f.cfa)}};
		nlohmann::json vars = nlohmann::json::array();
		auto vs = prog->variables_at(f.resume_pc);
		if (!vs)
			return report(vs.error());
		for (const auto &v : *vs) {
			nlohmann::json jv = {{"name", v.name}, {"type", v.type.name},
					     {"parameter", v.parameter}};
			auto located = convert::variable_address(v, f.cfa, f.fp, fp_reg, "");
			if (located) {
				auto b = convert::read_process_memory(pid, *located, v.type.size);
				jv["value"] = b ? render(v.type, *b) : "<unreadable>";
				jv["address"] = strf("0x%" PRIx64, *located);
			} else {
				jv["value"] = "<" + (v.location.why.empty() ? std::string("not in memory")
									   : v.location.why) + ">";
			}
			vars.push_back(jv);
		}
		jf["variables"] = vars;
		out.push_back(jf);
	}
	parking->release(0);
	if (json) {
		std::printf("%s\n", nlohmann::json{{"pid", pid}, {"isa", program::isa_name(prog->isa())},
						   {"program", prog->path()}, {"frames", out}}
					    .dump(1).c_str());
		return kExitOk;
	}
	std::printf("process %d (%s, %s) parked at a migration point:\n", pid,
		    prog->path().c_str(), program::isa_name(prog->isa()));
	for (const auto &jf : out) {
		std::printf("#%-3d %s at %s:%d:%d, calling %s\n", jf["index"].get<int>(),
			    jf["function"].get<std::string>().c_str(),
			    jf["file"].get<std::string>().c_str(), jf["line"].get<int>(),
			    jf["column"].get<int>(), jf["calls"].get<std::string>().c_str());
		for (const auto &jv : jf["variables"])
			std::printf("       %s %s = %s\n", jv["type"].get<std::string>().c_str(),
				    jv["name"].get<std::string>().c_str(),
				    jv["value"].get<std::string>().c_str());
	}
	return kExitOk;
}

} // namespace hetmig

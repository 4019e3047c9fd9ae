// SPDX-License-Identifier: GPL-2.0
#include "check/flags.h"

#include <map>
#include <sstream>

#include "error.h"

namespace hetmig::check {

namespace {

bool isa_specific(const std::string &opt)
{
	static const char *const prefixes[] = {"-march=", "-mtune=", "-mabi=", "-mcpu=",
					       "-mbranch-protection="};
	static const char *const exact[] = {"-mno-outline-atomics", "-moutline-atomics",
					    "-mlittle-endian", "-m64", "-mno-red-zone",
					    "-mfix-cortex-a53-843419",
					    "-mno-fix-cortex-a53-843419",
					    // hetmig-cc's on x86_64 (aarch64 always
					    // accumulates outgoing arguments)
					    "-maccumulate-outgoing-args"};
	for (const char *p : prefixes)
		if (opt.rfind(p, 0) == 0)
			return true;
	for (const char *e : exact)
		if (opt == e)
			return true;
	return false;
}

} // namespace

std::string portable_flags(const std::string &producer)
{
	std::istringstream in(producer);
	std::string word, out;
	while (in >> word) {
		if (isa_specific(word))
			continue;
		// A plugin is built once per compiler, so its path is the ISA's
		// (build/plugin/ISA/hetmig_plugin.so); its file name says which.
		if (word.rfind("-fplugin=", 0) == 0) {
			size_t slash = word.rfind('/');
			if (slash != std::string::npos)
				word = "-fplugin=" + word.substr(slash + 1);
		}
		out += out.empty() ? "" : " ";
		out += word;
	}
	return out;
}

std::vector<std::string> compare_flags(const program::Program &a, const program::Program &b)
{
	std::vector<std::string> out;
	// Assembler units (ISA-specific runtime pieces) are not compared.
	auto compiled = [](const program::Program::Unit &u) {
		return u.producer.rfind("GNU AS", 0) != 0;
	};
	std::map<std::string, std::string> bu;
	for (const auto &u : b.units())
		if (compiled(u))
			bu[u.name] = u.producer;
	std::map<std::string, bool> seen;
	for (const auto &u : a.units()) {
		if (!compiled(u))
			continue;
		seen[u.name] = true;
		auto it = bu.find(u.name);
		if (it == bu.end()) {
			out.push_back(strf("%s: compiled into the %s build only", u.name.c_str(),
					   program::isa_name(a.isa())));
			continue;
		}
		std::string fa = portable_flags(u.producer), fb = portable_flags(it->second);
		if (fa != fb)
			out.push_back(strf("%s: compiler flags differ: %s: \"%s\", %s: \"%s\"",
					   u.name.c_str(), program::isa_name(a.isa()), fa.c_str(),
					   program::isa_name(b.isa()), fb.c_str()));
	}
	for (const auto &u : b.units())
		if (compiled(u) && !seen.count(u.name))
			out.push_back(strf("%s: compiled into the %s build only", u.name.c_str(),
					   program::isa_name(b.isa())));
	return out;
}

} // namespace hetmig::check

// SPDX-License-Identifier: GPL-2.0
#include "check/report.h"

#include <nlohmann/json.hpp>

namespace hetmig::check {

namespace {

double share(const Report &r)
{
	return r.sites ? double(r.proven) / double(r.sites) : 1.0;
}

} // namespace

void print_text(FILE *out, const Report &r)
{
	for (const auto &e : r.errors)
		std::fprintf(out, "error: %s\n", e.c_str());
	for (const auto &f : r.refusals)
		for (const auto &why : f.reasons)
			std::fprintf(out, "%s:%d:%d: %s: %s\n", f.file.c_str(), f.line, f.column,
				     f.function.c_str(), why.c_str());
	std::fprintf(out, "%zu sites, %zu proven, %zu refused (%.1f%% proven)%s\n", r.sites,
		     r.proven, r.sites - r.proven, 100.0 * share(r),
		     r.errors.empty() ? "" : "; the pair itself is refused");
}

std::string to_json(const Report &r)
{
	nlohmann::json refusals = nlohmann::json::array();
	for (const auto &f : r.refusals)
		refusals.push_back({{"file", f.file},
				    {"line", f.line},
				    {"column", f.column},
				    {"function", f.function},
				    {"key", f.key},
				    {"reasons", f.reasons}});
	nlohmann::json j = {{"ok", r.ok()},
			    {"errors", r.errors},
			    {"sites", r.sites},
			    {"proven", r.proven},
			    {"refused", r.sites - r.proven},
			    {"share", share(r)},
			    {"refusals", refusals}};
	return j.dump(2) + "\n";
}

} // namespace hetmig::check

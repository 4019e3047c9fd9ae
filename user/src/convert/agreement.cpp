// SPDX-License-Identifier: GPL-2.0
#include "convert/agreement.h"

#include <algorithm>

#include "convert/places.h"
#include "convert/registers.h"

namespace hetmig::convert {

std::string converter_refuses(const program::Program &from, const program::Program &to,
			      const std::string &key)
{
	const program::CallSite *s = from.call_site_by_key(key);
	const program::CallSite *d = to.call_site_by_key(key);
	if (!s || !d)
		return "the call site exists in one build only";
	const program::Function *fn = from.function_at(s->return_address);
	std::string where = strf("%s:%d in %s", s->file.c_str(), s->line,
				 fn ? fn->name.c_str() : "?");
	auto vars = frame_variables(from, to, s->return_address, d->return_address, where);
	if (!vars)
		return vars.error().describe();
	// A nominal frame: addresses matter to the converter only as sums.
	constexpr uint64_t kCfa = 0x7ffff0000000ull, kFp = kCfa - 16;
	RegisterHomes src_homes(from.isa()), dst_homes(to.isa());
	const FrameAt src{from.isa(), kCfa, kFp, src_homes};
	const FrameAt dst{to.isa(), kCfa, kFp, dst_homes};
	for (const auto &vp : *vars)
		if (auto places = places_of(vp, src, dst, where); !places)
			return places.error().describe();
	return {};
}

check::Report verify_pair(const program::Program &a, const program::Program &b)
{
	check::Report rep = check::verify(a, b);
	std::vector<std::string> proven;
	for (const auto &key : rep.proven_keys) {
		std::string why = converter_refuses(a, b, key);
		if (why.empty())
			why = converter_refuses(b, a, key);
		if (why.empty()) {
			proven.push_back(key);
			continue;
		}
		const program::CallSite *c = a.call_site_by_key(key);
		const program::Function *fn = c ? a.function_at(c->return_address) : nullptr;
		check::Refusal r;
		r.key = key;
		if (c) {
			r.file = c->file;
			r.line = c->line;
			r.column = c->column;
		}
		r.function = fn ? fn->name : "";
		r.reasons.push_back("the converter refuses it: " + why);
		rep.refusals.push_back(std::move(r));
	}
	// In verify()'s order: by site key.
	std::stable_sort(rep.refusals.begin(), rep.refusals.end(),
			 [](const check::Refusal &x, const check::Refusal &y) { return x.key < y.key; });
	rep.proven = proven.size();
	rep.proven_keys = std::move(proven);
	return rep;
}

} // namespace hetmig::convert

// SPDX-License-Identifier: GPL-2.0
#include "convert/places.h"

#include <cerrno>

#include "check/verifier.h"
#include "convert/frames.h"
#include "program/insn.h"

namespace hetmig::convert {

using program::Isa;

Result<std::vector<VariablePair>> match_variables(const std::vector<program::Variable> &src,
						  const std::vector<program::Variable> &dst,
						  const std::string &where)
{
	std::vector<VariablePair> pairs;
	std::vector<bool> used(dst.size());
	for (const auto &s : src) {
		size_t i = 0;
		for (; i < dst.size(); i++)
			if (!used[i] && dst[i].name == s.name && dst[i].decl_line == s.decl_line &&
			    dst[i].parameter == s.parameter)
				break;
		if (i == dst.size()) {
			if (check::uncarried_artificial(s))
				continue;
			return fail(EPROTO, strf("%s: variable %s has no counterpart in the other "
						 "build", where.c_str(), s.name.c_str()));
		}
		used[i] = true;
		// The verifier's order (check/verifier.cpp, check_variables):
		// constants first, then only a value one side carries matters.
		using K = program::Location::Kind;
		if (s.location.kind == K::constant && dst[i].location.kind == K::constant &&
		    !check::same_constant(s.location.value, dst[i].location.value, s.type.size))
			return fail(EPROTO, strf("%s: %s is the constant %#llx here and %#llx "
						 "there", where.c_str(), s.name.c_str(),
						 (unsigned long long)s.location.value,
						 (unsigned long long)dst[i].location.value));
		if (!check::needs_carrying(s, dst[i]))
			continue;
		if (!s.type.unsupported.empty())
			return fail(ENOTSUP, strf("%s: %s: %s", where.c_str(), s.name.c_str(),
						  s.type.unsupported.c_str()));
		if (dst[i].type.size != s.type.size)
			return fail(EPROTO, strf("%s: %s is %llu bytes here and %llu there",
						 where.c_str(), s.name.c_str(),
						 (unsigned long long)s.type.size,
						 (unsigned long long)dst[i].type.size));
		if (dst[i].type.pointer_offsets != s.type.pointer_offsets)
			return fail(EPROTO, strf("%s: %s holds pointers at other offsets there",
						 where.c_str(), s.name.c_str()));
		pairs.push_back({s, dst[i]});
	}
	for (size_t i = 0; i < dst.size(); i++)
		if (!used[i] && !check::uncarried_artificial(dst[i]))
			return fail(EPROTO, strf("%s: variable %s exists only in the destination "
						 "build", where.c_str(), dst[i].name.c_str()));
	return pairs;
}

Result<std::vector<VariablePair>> frame_variables(const program::Program &from,
						  const program::Program &to, uint64_t src_ra,
						  uint64_t dst_ra, const std::string &where)
{
	auto sv = from.variables_at(src_ra);
	if (!sv)
		return std::unexpected(sv.error());
	auto dv = to.variables_at(dst_ra);
	if (!dv)
		return std::unexpected(dv.error());
	return match_variables(*sv, *dv, where);
}

Result<std::pair<Place, Place>> places_of(const VariablePair &vp, const FrameAt &src,
					  const FrameAt &dst, const std::string &where)
{
	auto sp = place_of(vp.src, src.isa, src.cfa, src.fp, src.homes, where);
	if (!sp)
		return std::unexpected(sp.error());
	auto dp = place_of(vp.dst, dst.isa, dst.cfa, dst.fp, dst.homes, where);
	if (!dp)
		return std::unexpected(dp.error());
	if (sp->carried() != dp->carried())
		return fail(ENOTSUP, strf("%s: %s is stored in one build only", where.c_str(),
					  vp.src.name.c_str()));
	return std::pair{*sp, *dp};
}

Result<Place> place_of(const program::Variable &v, program::Isa isa, uint64_t cfa, uint64_t fp,
		       const RegisterHomes &homes, const std::string &where)
{
	using K = program::Location::Kind;
	const program::Location &loc = v.location;
	if (loc.kind == K::constant)
		return Place{Place::Kind::constant, 0, 0, {}, 0};
	if (loc.kind == K::optimized_out || loc.kind == K::computed ||
	    loc.kind == K::derived_memory)
		return Place{Place::Kind::optimized_out, 0, 0, {}, 0};
	if (loc.kind != K::reg && loc.kind != K::affine) {
		const unsigned fp_reg = isa == Isa::x86_64 ? 6 : 29;
		auto a = variable_address(v, cfa, fp, fp_reg, where);
		if (!a)
			return std::unexpected(a.error());
		return Place{Place::Kind::memory, *a, 0, {}, 0};
	}
	const auto &carried = resume_registers(isa);
	std::vector<std::pair<unsigned, int>> regs;
	if (loc.kind == K::affine)
		regs = loc.terms;
	else
		regs = {{loc.reg, 1}};
	for (const auto &[reg, sign] : regs)
		if (std::find(carried.begin(), carried.end(), reg) == carried.end())
			return fail(ENOTSUP, strf("%s: %s is %s %s on %s, not a callee-saved "
						  "register the converter carries", where.c_str(),
						  v.name.c_str(),
						  loc.kind == K::affine ? "computed from" : "in",
						  program::register_name(isa, reg),
						  program::isa_name(isa)));
	if (v.type.size > 8)
		return fail(ENOTSUP, strf("%s: %s (%llu bytes) does not fit in %s", where.c_str(),
					  v.name.c_str(), (unsigned long long)v.type.size,
					  program::register_name(isa, loc.reg)));
	if (loc.kind == K::affine) {
		Place place{Place::Kind::linear, 0, loc.reg, {}, loc.offset};
		for (const auto &[reg, sign] : regs) {
			RegisterHome home = homes.home(reg);
			place.terms.push_back({reg, sign, home.in_register, home.slot});
		}
		return place;
	}
	RegisterHome home = homes.home(loc.reg);
	if (home.in_register)
		return Place{Place::Kind::register_file, 0, loc.reg, {}, 0};
	return Place{Place::Kind::save_slot, home.slot, loc.reg, {}, 0};
}

} // namespace hetmig::convert

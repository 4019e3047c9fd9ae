// SPDX-License-Identifier: GPL-2.0
// The rules of Documentation/heterogeneous.md, "Verifier", applied to every
// call site that can be on the stack at a migration point.
#include "check/verifier.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "check/flags.h"
#include "check/reach.h"
#include "program/insn.h"

namespace hetmig::check {

using namespace program;

namespace {

std::string where(const Program &p)
{
	return isa_name(p.isa());
}

// Callee-saved registers other than the frame pointer: a value in them
// survives the call, and the converter carries it (through the save slot
// of an inner frame or the resume record). Argument and scratch registers
// are clobbered by the call.
unsigned frame_pointer(Isa isa) { return isa == Isa::x86_64 ? 6 : 29; }

bool callee_saved(Isa isa, unsigned reg)
{
	return preserved_across_calls(isa, reg) && reg != frame_pointer(isa);
}

std::string location_problem(const Program &p, const Variable &v)
{
	const Location &l = v.location;
	switch (l.kind) {
	case Location::Kind::cfa_offset:
	case Location::Kind::optimized_out:
	case Location::Kind::computed:
	case Location::Kind::derived_memory:
	case Location::Kind::constant:  // compared across the builds by the caller
		return "";
	case Location::Kind::affine:
		for (const auto &[reg, sign] : l.terms)
			if (!callee_saved(p.isa(), reg))
				return strf("variable %s is computed from %s, which the call "
					    "clobbers", v.name.c_str(), register_name(p.isa(), reg));
		if (v.type.size > 8)
			return strf("variable %s (%lu bytes) is computed from registers",
				    v.name.c_str(), (unsigned long)v.type.size);
		return "";
	case Location::Kind::reg:
		if (!callee_saved(p.isa(), l.reg))
			return strf("variable %s is in %s, which the call clobbers",
				    v.name.c_str(), register_name(p.isa(), l.reg));
		if (v.type.size > 8)
			return strf("variable %s (%lu bytes) is in %s, more than one register "
				    "holds", v.name.c_str(), (unsigned long)v.type.size,
				    register_name(p.isa(), l.reg));
		return "";
	case Location::Kind::reg_offset:
		// Memory at fp + N is a frame slot; based on another register it
		// is wherever that register's value points, which the rebuilt
		// frame does not reproduce.
		if (l.reg == frame_pointer(p.isa()))
			return "";
		return strf("variable %s is in memory at %s%+lld, which the converter does "
			    "not follow", v.name.c_str(), register_name(p.isa(), l.reg),
			    (long long)l.offset);
	case Location::Kind::unsupported:
		break;
	}
	return strf("variable %s: location %s is not supported", v.name.c_str(), l.why.c_str());
}

// A computed constant needs nothing carried when the other build computes
// the same value (the low `size` bytes: -1 may be DW_OP_consts on one side
// and DW_OP_constu 0xffffffff on the other). A constant on one side only
// would have to be written into the other's frame, and a round trip back
// could not check it: refused.
std::string constant_problem(const Program &a, const Program &b, const Variable &x,
			     const Variable &y)
{
	bool const_a = x.location.kind == Location::Kind::constant;
	bool const_b = y.location.kind == Location::Kind::constant;
	if (!const_a || !const_b)
		return "";
	if (!same_constant(x.location.value, y.location.value, x.type.size))
		return strf("variable %s is the constant %#llx on %s but %#llx on %s",
			    x.name.c_str(), (unsigned long long)x.location.value,
			    where(a).c_str(), (unsigned long long)y.location.value,
			    where(b).c_str());
	return "";
}

} // namespace

bool carried(const Variable &v)
{
	switch (v.location.kind) {
	case Location::Kind::optimized_out:
	case Location::Kind::constant:
	case Location::Kind::computed:
	case Location::Kind::derived_memory:
		return false;
	default:
		return true;
	}
}

bool uncarried_artificial(const Variable &v)
{
	return v.name.rfind("hetmig.", 0) == 0 && !carried(v);
}

bool unneeded_pair(const Variable &a, const Variable &b)
{
	return (carried(a) && a.dead && !carried(b)) || (carried(b) && b.dead && !carried(a));
}

bool needs_carrying(const Variable &a, const Variable &b)
{
	return (carried(a) || carried(b)) && !unneeded_pair(a, b);
}

namespace {

std::string var_id(const Variable &v)
{
	return strf("%s@%d", v.name.c_str(), v.decl_line);
}

// A parameter passed on the stack lives in the caller's outgoing area,
// and the converter rebuilds that area from it alone: on an ISA that
// passes it on the stack it must be at the call where it came in (gcc -O1+
// on x86_64 loses a stack parameter's location once the frame pointer is
// set, while the code still reads the slot: measured).
void check_stack_parameter(const Program &p, uint64_t ra, const Variable &v,
			   std::vector<std::string> &why)
{
	const Function *f = v.parameter ? p.function_at(ra) : nullptr;
	if (!f)
		return;
	for (const auto &[name, offset] : f->stack_parameters) {
		if (name != v.name)
			continue;
		if (v.location.kind == Location::Kind::cfa_offset && v.location.offset == offset)
			return;
		why.push_back(strf("stack parameter %s (at CFA%+lld on entry, in the caller's "
				   "outgoing area) is %s at the call on %s",
				   v.name.c_str(), (long long)offset,
				   v.location.kind == Location::Kind::optimized_out
					   ? "not described"
					   : "elsewhere",
				   where(p).c_str()));
		return;
	}
}

void check_variables(const Program &a, const Program &b, uint64_t ra_a, uint64_t ra_b,
		     std::vector<std::string> &why)
{
	auto va = a.variables_at(ra_a), vb = b.variables_at(ra_b);
	if (!va || !vb) {
		why.push_back("variables: " + (!va ? va.error() : vb.error()).describe());
		return;
	}
	for (const auto &v : *va)
		check_stack_parameter(a, ra_a, v, why);
	for (const auto &v : *vb)
		check_stack_parameter(b, ra_b, v, why);
	// Saved values that cannot be paired: one reason for all of them.
	auto unpaired = [](const std::vector<Variable> &vars) {
		size_t n = 0;
		for (const auto &v : vars)
			n += is_saved_value(v.name) && v.location.kind == Location::Kind::unsupported;
		return n;
	};
	if (size_t n = std::max(unpaired(*va), unpaired(*vb))) {
		why.push_back(strf("%zu values saved across the call cannot be paired between "
				   "the builds (gcc duplicated the call, by loop versioning, "
				   "unswitching or peeling, or two of them are computed alike)", n));
		return;
	}
	// Paired in order, as the converter pairs them (match_variables): a
	// name declared twice on one line has two entries, each checked.
	std::multimap<std::string, const Variable *> mb;
	for (const auto &v : *vb)
		mb.emplace(var_id(v), &v);
	for (const auto &x : *va) {
		auto it = mb.lower_bound(var_id(x));
		if (it != mb.end() && it->first != var_id(x))
			it = mb.end();
		if (it == mb.end()) {
			if (!uncarried_artificial(x))
				why.push_back(strf("variable %s is in scope on %s only", x.name.c_str(),
						   where(a).c_str()));
			continue;
		}
		const Variable &y = *it->second;
		mb.erase(it);
		if (std::string c = constant_problem(a, b, x, y); !c.empty()) {
			why.push_back(c);
			continue;
		}
		if (!needs_carrying(x, y))
			continue;  // dead, constant or computed on both; or dead on one
		bool kept_a = carried(x), kept_b = carried(y);
		if (kept_a != kept_b) {
			const Variable &gone = kept_a ? y : x;
			why.push_back(strf("variable %s is %s on %s but held on %s", x.name.c_str(),
					   gone.location.kind == Location::Kind::optimized_out
						   ? "optimized out"
						   : gone.location.kind == Location::Kind::constant
							     ? "a computed constant"
						   : gone.location.kind == Location::Kind::derived_memory
							     ? "memory another object holds"
							     : "computed from registers",
					   where(kept_a ? b : a).c_str(), where(kept_a ? a : b).c_str()));
			continue;
		}
		for (const auto *side : {&a, &b}) {
			const Variable &v = side == &a ? x : y;
			std::string p = location_problem(*side, v);
			if (!p.empty())
				why.push_back(p + " on " + where(*side));
			if (!v.type.unsupported.empty()) {
				why.push_back(strf("live %s %s: %s", v.type.name.c_str(),
						   v.name.c_str(), v.type.unsupported.c_str()));
				break;
			}
		}
		if (x.type.size != y.type.size)
			why.push_back(strf("variable %s has %lu bytes on %s, %lu on %s", x.name.c_str(),
					   (unsigned long)x.type.size, where(a).c_str(),
					   (unsigned long)y.type.size, where(b).c_str()));
		else if (x.type.pointer_offsets != y.type.pointer_offsets)
			why.push_back(strf("variable %s: its pointers are at different offsets",
					   x.name.c_str()));
	}
	for (const auto &[id, v] : mb)
		if (!uncarried_artificial(*v))
			why.push_back(strf("variable %s is in scope on %s only", v->name.c_str(),
					   where(b).c_str()));
}

} // namespace

std::vector<unsigned> solve_registers(const std::vector<Variable> &vars,
				      const CallSite &site, std::vector<std::string> *unsolved)
{
	std::set<unsigned> known;
	for (const auto &v : vars)
		if (v.location.kind == Location::Kind::reg)
			known.insert(v.location.reg);
	for (const auto &[reg, value] : site.constant_registers)
		known.insert(reg);
	for (const auto &[reg, offset] : site.frame_registers)
		known.insert(reg);
	for (const auto &[reg, offset] : site.thread_registers)
		known.insert(reg);
	std::vector<bool> done(vars.size(), false);
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < vars.size(); i++) {
			if (vars[i].location.kind != Location::Kind::affine || done[i])
				continue;
			std::vector<unsigned> unknown;
			for (const auto &[reg, sign] : vars[i].location.terms)
				if (!known.count(reg))
					unknown.push_back(reg);
			if (unknown.size() > 1)
				continue;
			known.insert(unknown.begin(), unknown.end());
			done[i] = progress = true;
		}
	}
	if (unsolved)
		for (size_t i = 0; i < vars.size(); i++)
			if (vars[i].location.kind == Location::Kind::affine && !done[i])
				unsolved->push_back(vars[i].name);
	return {known.begin(), known.end()};
}

namespace {

// Registers the converter sets at the site: variables in them, constants,
// and what sums of registers solve for. A live value in them is described.
std::vector<unsigned> described_registers(const Program &p, const CallSite &c,
					  std::vector<std::string> &why)
{
	auto vars = p.variables_at(c.return_address);
	if (!vars)
		return {};
	std::vector<std::string> unsolved;
	auto out = solve_registers(*vars, c, &unsolved);
	for (const auto &name : unsolved)
		why.push_back(strf("variable %s is computed from registers of which more than "
				   "one is set by nothing else (on %s)",
				   name.c_str(), where(p).c_str()));
	return out;
}

void check_frame(const Program &p, const Function &f, const CallSite &c,
		 std::vector<std::string> &why)
{
	auto described = described_registers(p, c, why);
	const FrameLayout &fr = f.frame;
	if (!f.decoded)
		why.push_back("code not decoded on " + where(p) + ": " + f.why_not_decoded);
	if (!fr.known)
		why.push_back("frame layout unknown on " + where(p) + ": " + fr.why_unknown);
	else if (fr.dynamic)
		why.push_back("frame size changes at run time (alloca or a variable-length "
			      "array) on " + where(p));
	// Stack arguments: the callee's parameters at CFA + N describe this
	// frame's outgoing area, and the callee's frame carries them (its
	// sites check that they are there, check_stack_parameters), as long
	// as the area is part of this frame's fixed layout and nothing but
	// named parameters is in it.
	if (c.pushed_arguments)
		why.push_back("arguments pushed on the stack right before the call on " + where(p) +
			      " (sp at the call is not the frame's; hetmig-cc builds x86_64 with "
			      "-maccumulate-outgoing-args)");
	if (f.variadic)
		why.push_back(strf("%s is variadic: what it received beyond its named parameters "
				   "(in its caller's outgoing area or its register save area) is "
				   "described by no DWARF (on %s)", f.name.c_str(),
				   where(p).c_str()));
	const Function *callee = c.callee.empty() ? nullptr : p.function_named(c.callee);
	if (callee && callee->has_debug_info && callee->variadic)
		why.push_back(strf("the callee %s is variadic: its arguments beyond the named "
				   "parameters (on the stack or in registers) are described by no "
				   "DWARF (on %s)", c.callee.c_str(), where(p).c_str()));
	else if (c.stack_arguments && (!callee || !callee->has_debug_info))
		why.push_back(strf("arguments passed on the stack to %s, which has no debug "
				   "information to describe them (on %s)", c.callee.c_str(),
				   where(p).c_str()));
	for (const auto &[lo, hi] : p.undescribed_slots(c.return_address))
		why.push_back(strf("frame slot %s%+lld (%lld bytes) may hold a value across the "
				   "call that no variable describes (on %s)",
				   register_name(p.isa(), frame_pointer(p.isa())), (long long)lo,
				   (long long)(hi - lo), where(p).c_str()));
	for (unsigned r : c.live_registers)
		if (std::find(described.begin(), described.end(), r) == described.end())
			why.push_back(strf("callee-saved register %s may hold a temporary no "
					   "variable describes (on %s)",
					   register_name(p.isa(), r), where(p).c_str()));
}

struct SiteRef {
	const Function *f;
	const CallSite *c;
};

// Sites of functions with debug info by key, and whether each can be on the
// stack at a point.
std::map<std::string, SiteRef> sites_of(const Program &p, std::vector<std::string> &errors)
{
	std::map<std::string, SiteRef> out;
	for (const auto &f : p.functions())
		for (const auto &c : f.calls)
			if (!out.emplace(c.key, SiteRef{&f, &c}).second)
				errors.push_back(strf("call site key %s names two sites on %s (two "
						      "static functions of one name?)",
						      c.key.c_str(), where(p).c_str()));
	return out;
}

Refusal refusal_for(const SiteRef &s)
{
	Refusal r;
	r.file = s.c->file;
	r.line = s.c->line;
	r.column = s.c->column;
	r.function = s.f->name;
	r.key = s.c->key;
	return r;
}

// What keeps one site, present on both builds, from being converted.
void check_pair_of_sites(const Program &a, const Program &b, const SiteRef &x, const SiteRef &y,
			 std::vector<std::string> &why)
{
	if (x.f->low != y.f->low)
		why.push_back(strf("%s is at %#lx on %s, %#lx on %s", x.f->name.c_str(),
				   (unsigned long)x.f->low, where(a).c_str(),
				   (unsigned long)y.f->low, where(b).c_str()));
	std::string libc = Reach::libc_callback(x.c->callee);
	const Function *callee = a.function_named(x.c->callee);
	if (!libc.empty() && callee && !callee->has_debug_info)
		why.push_back(strf("libc frame %s cannot be rebuilt (it calls the program's %s, "
				   "which can reach a migration point)", x.c->callee.c_str(),
				   libc.c_str()));
	check_frame(a, *x.f, *x.c, why);
	check_frame(b, *y.f, *y.c, why);
	check_variables(a, b, x.c->return_address, y.c->return_address, why);
}

// The call site KEY of P and the function holding it, if P has it.
std::optional<SiteRef> site_by_key(const Program &p, const std::string &key)
{
	const CallSite *c = p.call_site_by_key(key);
	if (!c)
		return std::nullopt;
	for (const auto &f : p.functions())
		if (!f.calls.empty() && &f.calls.front() <= c && c <= &f.calls.back())
			return SiteRef{&f, c};
	return std::nullopt;
}

} // namespace

bool same_constant(uint64_t a, uint64_t b, uint64_t size)
{
	uint64_t mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	return (a & mask) == (b & mask);
}

std::vector<std::string> refuse_site(const Program &from, const Program &to,
				     const std::string &key)
{
	auto x = site_by_key(from, key), y = site_by_key(to, key);
	if (!x || !y)
		return {strf("call site %s exists on %s only", key.c_str(),
			     where(x ? from : to).c_str())};
	std::vector<std::string> why;
	check_pair_of_sites(from, to, *x, *y, why);
	return why;
}

Report verify(const Program &a, const Program &b)
{
	Report rep;
	if (a.isa() == b.isa())
		rep.errors.push_back(strf("both builds are for %s", where(a).c_str()));
	if (a.pair_id().empty() || b.pair_id().empty() || a.pair_id() != b.pair_id()) {
		rep.errors.push_back(strf("not a pair: %s has pair id '%s', %s has '%s'",
					  a.path().c_str(), a.pair_id().c_str(), b.path().c_str(),
					  b.pair_id().c_str()));
		return rep;
	}
	for (auto &m : compare_flags(a, b))
		rep.errors.push_back(m);

	// A function whose code the decoder did not understand has no complete
	// list of calls: its frames could be on the stack unchecked.
	for (const auto *p : {&a, &b})
		for (const auto &f : p->functions())
			if (f.has_debug_info && !f.decoded)
				rep.errors.push_back(strf("%s on %s: %s; its calls cannot be checked",
							  f.name.c_str(), where(*p).c_str(),
							  f.why_not_decoded.c_str()));

	Reach reach_a(a), reach_b(b);
	auto sa = sites_of(a, rep.errors), sb = sites_of(b, rep.errors);
	std::set<std::string> keys;
	for (const auto &[k, s] : sa)
		if (reach_a.on_stack(*s.f, *s.c))
			keys.insert(k);
	for (const auto &[k, s] : sb)
		if (reach_b.on_stack(*s.f, *s.c))
			keys.insert(k);

	for (const auto &key : keys) {
		rep.sites++;
		auto ia = sa.find(key), ib = sb.find(key);
		if (ia == sa.end() || ib == sb.end()) {
			const SiteRef &s = ia != sa.end() ? ia->second : ib->second;
			Refusal r = refusal_for(s);
			r.reasons.push_back(strf("call site exists on %s only",
						 where(ia != sa.end() ? a : b).c_str()));
			rep.refusals.push_back(std::move(r));
			continue;
		}
		Refusal r = refusal_for(ia->second);
		check_pair_of_sites(a, b, ia->second, ib->second, r.reasons);
		if (r.reasons.empty()) {
			rep.proven++;
			rep.proven_keys.push_back(key);
		} else
			rep.refusals.push_back(std::move(r));
	}
	if (!rep.errors.empty()) {
		rep.proven = 0;
		rep.proven_keys.clear();
	}
	return rep;
}

} // namespace hetmig::check

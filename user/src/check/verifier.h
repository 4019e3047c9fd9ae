// SPDX-License-Identifier: GPL-2.0
// hetmig check: proves, call site by call site, that the two builds of a
// hetmig-cc program correspond well enough for the converter to rebuild
// every frame that can be on the stack at a migration point
// (Documentation/heterogeneous.md, "Verifier").
#pragma once

#include <string>
#include <vector>

#include "program/program.h"

namespace hetmig::check {

struct Refusal {
	std::string file;
	int line = 0, column = 0;
	std::string function;
	std::string key;
	std::vector<std::string> reasons;
};

struct Report {
	// Problems of the pair as a whole (not a pair, flags differ...): when
	// any is present, no site is proven.
	std::vector<std::string> errors;
	size_t sites = 0;       // call sites that can be on the stack at a point
	size_t proven = 0;
	std::vector<std::string> proven_keys;  // the proven sites' keys
	std::vector<Refusal> refusals;
	bool ok() const { return errors.empty() && refusals.empty(); }
};

Report verify(const program::Program &a, const program::Program &b);

// Why the call site KEY, on the stack at a migration point, cannot be
// converted from FROM to TO (empty: it can); the per-site checks of
// verify() without asking whether the site can be on the stack (it is).
// The converter asks this of every frame: a program built with
// --warn-only reaches refused sites too.
std::vector<std::string> refuse_site(const program::Program &from, const program::Program &to,
				     const std::string &key);

// Whether two computed constants (Location::Kind::constant) give a
// variable of SIZE bytes the same value: their low SIZE bytes agree.
bool same_constant(uint64_t a, uint64_t b, uint64_t size);

// Whether a variable's value is carried: it is stored (a frame slot, a
// register, memory) or one register plus a constant (Kind::affine, whose
// register the converter sets from it); not when optimized out, a constant
// or computed otherwise. Shared by the verifier and the converter.
bool carried(const program::Variable &v);

// The callee-saved registers the converter sets in a frame stopped at
// SITE, whose variables there are VARS: those variables in registers hold,
// the constants the code put there, then one by one the single unknown
// register of each sum-of-registers variable (Location::Kind::affine).
// Sum variables left with two or more unknown registers are named in
// *UNSOLVED. The converter solves in the same way (Converter::set_registers).
std::vector<unsigned> solve_registers(const std::vector<program::Variable> &vars,
				      const program::CallSite &site,
				      std::vector<std::string> *unsolved);

// A name hetmig-cc's plugin gave a compiler temporary (hetmig.v.*, .t.*,
// .m.*) that is not carried here: one build may have dropped it from its
// debug info altogether, which means the same.
bool uncarried_artificial(const program::Variable &v);

// One build holds the variable in a slot the code overwrites after the
// call before reading it (Variable::dead), the other does not carry it:
// neither needs a value, there is nothing to carry. The verifier and the
// converter both skip such a pair.
bool unneeded_pair(const program::Variable &a, const program::Variable &b);

// Whether a variable present in both builds (A here, B there) has a value
// to carry: one of them carries it, and the pair is not an unneeded one.
// Only such pairs must agree in size and pointer layout; a value neither
// build keeps at the call (gcc may compute `level & 7` as an int on one
// ISA and a long on the other) needs nothing. The verifier and the
// converter decide with this one function.
bool needs_carrying(const program::Variable &a, const program::Variable &b);

} // namespace hetmig::check

// SPDX-License-Identifier: GPL-2.0
// Which callee-saved registers hold a value across each call: a register is
// live across a call when a write to it in the function body reaches the
// call and a read after the call can see that value. DWARF describes no such
// value at -O0 (the temporary of `f() + g()`), and at -O1+ only sometimes,
// so the verifier refuses such sites. Liveness is the usual backward
// dataflow over instructions; an indirect jump may go anywhere in the
// function, which only makes the answer more careful.
#include <set>
#include <algorithm>
#include <map>

#include "impl.h"

namespace hetmig::program {

std::optional<size_t> insn_at(const std::vector<Insn> &insns, uint64_t address)
{
	auto it = std::lower_bound(insns.begin(), insns.end(), address,
				   [](const Insn &in, uint64_t a) { return in.address < a; });
	if (it == insns.end() || it->address != address)
		return std::nullopt;
	return size_t(it - insns.begin());
}

bool straight_to_return(const std::vector<Insn> &insns, size_t i)
{
	for (; i < insns.size(); i++) {
		if (insns[i].flow == Insn::Flow::ret)
			return true;
		if (insns[i].flow != Insn::Flow::next)
			return false;
	}
	return false;
}

std::set<uint64_t> calls_that_do_not_return(const Function &f)
{
	// C's functions that never return to their caller. gcc places other
	// code right after a call of one (another error path, the next
	// block), which the call does not reach: following it, liveness found
	// rbx read after CG's make_matrix calls exit() at -O1, and kept it
	// live across every call before.
	static const std::set<std::string> no_return = {
		"exit", "_exit", "_Exit", "quick_exit", "abort", "__assert_fail",
		"__stack_chk_fail", "pthread_exit", "longjmp", "_longjmp", "siglongjmp",
	};
	std::set<uint64_t> out;
	for (const auto &c : f.calls)
		if (no_return.count(c.callee))
			out.insert(c.call_address);
	return out;
}

std::vector<std::vector<size_t>> successors(const std::vector<Insn> &insns,
					    const std::set<uint64_t> &no_return)
{
	std::vector<std::vector<size_t>> succ(insns.size());
	for (size_t i = 0; i < insns.size(); i++) {
		const Insn &in = insns[i];
		auto to = [&](uint64_t addr) {
			if (auto k = insn_at(insns, addr))
				succ[i].push_back(*k);
		};
		switch (in.flow) {
		case Insn::Flow::call:
			if (no_return.count(in.address))
				break;
			[[fallthrough]];
		case Insn::Flow::next:
		case Insn::Flow::call_indirect:
			if (i + 1 < insns.size())
				succ[i].push_back(i + 1);
			break;
		case Insn::Flow::cond_jump:
			if (i + 1 < insns.size())
				succ[i].push_back(i + 1);
			to(in.target);
			break;
		case Insn::Flow::jump:
			to(in.target);  // outside the function: a tail call
			break;
		case Insn::Flow::jump_indirect:
			if (!in.targets.empty()) {
				for (uint64_t t : in.targets)
					to(t);
				break;
			}
			for (size_t j = 0; j < insns.size(); j++)
				succ[i].push_back(j);
			break;
		case Insn::Flow::ret:
		case Insn::Flow::stop:
			break;
		}
	}
	return succ;
}

namespace {

bool is_call(const Insn &in)
{
	return in.flow == Insn::Flow::call || in.flow == Insn::Flow::call_indirect;
}

bool is_instrumentation(const std::string &callee)
{
	return callee == "__cyg_profile_func_enter" || callee == "__cyg_profile_func_exit";
}

// aarch64 gcc -finstrument-functions keeps the function's address and its
// return address in callee-saved registers for the calls to
// __cyg_profile_func_enter/exit (x20 and x19 at -O0, x21 and x22 at -O1).
// A register qualifies when the code writes it (besides an epilogue's
// restore) and every read of a value the code wrote there is a move into
// x0, x1 or x30 whose next call is one of those two, whose arguments the
// runtime ignores: its value at a call does not matter. Reads of the
// caller's value (the prologue's save) and the register's own computing
// (`add x19, x19, #lo12` after adrp) do not count. Which value a read
// sees is decided by REACH_IN (some write of the function's reaches it),
// not by addresses: at -O2 the entry hook's call is out of line at the
// end, and a loop before the first call by address read x19, a global's
// address kept across the loop point (fp.c's newton_sqrt), which this
// rule once took for an instrumentation register and ignored.
std::vector<unsigned> instrumentation_registers(const std::vector<Insn> &insns,
						const Function &f,
						const std::vector<uint64_t> &reach_in)
{
	std::map<uint64_t, std::string> callee;
	for (const auto &c : f.calls)
		callee[c.call_address] = c.callee;
	std::vector<unsigned> out;
	for (unsigned reg = 19; reg <= 28; reg++) {
		uint64_t bit = uint64_t(1) << reg;
		bool defined = false, ok = true;
		for (size_t i = 0; i < insns.size() && ok; i++) {
			const Insn &in = insns[i];
			bool load = (in.raw & 0x0a000000) == 0x08000000;
			// A load from which straight-line code returns: the
			// epilogue's restore of the caller's value.
			if ((in.defs & bit) && !(load && straight_to_return(insns, i)))
				defined = true;
			if (!(in.uses & bit) || !(reach_in[i] & bit))
				continue;  // not a read, or a read of the caller's value
			if (in.defs == bit && !load)
				continue;  // computing it (adrp x19; add x19, x19, #lo12)
			uint32_t d = in.raw & 31;
			bool move = (in.raw & 0xffffffe0) == (0xaa0003e0u | reg << 16) &&
				    (d == 0 || d == 1 || d == 30);
			if (!move) {
				ok = false;
				break;
			}
			size_t j = i + 1;
			while (j < insns.size() && !is_call(insns[j]) &&
			       insns[j].flow == Insn::Flow::next)
				j++;
			ok = j < insns.size() && insns[j].flow == Insn::Flow::call &&
			     is_instrumentation(callee[insns[j].address]);
		}
		if (ok && defined)
			out.push_back(reg);
	}
	return out;
}

// The tracked bits (insn.h) of the registers a call preserves, the frame
// pointer aside: x86_64 rbx, r12-r15; aarch64 x19-x28 and d8-d15.
uint64_t callee_saved_bits(Isa isa)
{
	if (isa == Isa::x86_64)
		return uint64_t(1) << 3 | uint64_t(0xf) << 12;
	return uint64_t(0x3ff) << 19 | uint64_t(0xff) << 40;
}

} // namespace

// aarch64: the callee-saved registers an instruction reads only to pass
// them to -finstrument-functions' hooks (mov x0|x1|x30, xR, with the next
// call in straight-line code a hook), whose arguments the runtime ignores:
// gcc -O1+ keeps the return address for __cyg_profile_func_exit in such a
// register and then reuses the register, which the register-wide rule of
// instrumentation_registers does not allow. Not a use.
uint64_t hook_argument_reads(const std::vector<Insn> &insns, size_t i,
			     const std::map<uint64_t, std::string> &callee)
{
	uint32_t x = insns[i].raw, d = x & 31, r = (x >> 16) & 31;
	if ((x & 0xffe0ffe0) != 0xaa0003e0 || !(d == 0 || d == 1 || d == 30) || r < 19 || r > 28)
		return 0;
	// Nothing between reads the copy: it is the hook's argument only (x30
	// goes through xpaclri and into x0/x1 the same way).
	size_t j = i + 1;
	for (; j < insns.size() && insns[j].flow == Insn::Flow::next; j++) {
		uint32_t y = insns[j].raw;
		if (d == 30) {
			if (y != 0xd50320ff && (y & 0xffffffe0) != 0xaa1e03e0)
				return 0;  // only xpaclri and mov xN, x30
			continue;
		}
		if (insns[j].uses & (uint64_t(1) << d))
			return 0;
		if (insns[j].kills & (uint64_t(1) << d))
			break;  // overwritten unread: the copy is dead
	}
	while (j < insns.size() && insns[j].flow == Insn::Flow::next)
		j++;
	if (j == insns.size() || insns[j].flow != Insn::Flow::call)
		return 0;
	auto it = callee.find(insns[j].address);
	return it != callee.end() && is_instrumentation(it->second) ? uint64_t(1) << r : 0;
}

void compute_liveness(Isa isa, const std::vector<Insn> &insns, Function &f)
{
	size_t n = insns.size();
	auto succ = successors(insns, calls_that_do_not_return(f));
	std::vector<uint64_t> uses(n);
	std::map<uint64_t, std::string> callee;
	for (const auto &c : f.calls)
		callee[c.call_address] = c.callee;
	for (size_t k = 0; k < n; k++) {
		uses[k] = insns[k].uses;
		if (isa == Isa::aarch64)
			uses[k] &= ~hook_argument_reads(insns, k, callee);
	}

	// Two lanes per register: its low byte and the rest. x86_64 -Os keeps
	// a char in r12b: `mov -0x1af(%rbp), %r12b` after a call, `cmp
	// $0x53, %r12b` later. The byte move keeps r12's upper bytes, so a
	// register-wide liveness takes r12 as live across the call, though
	// nothing reads those bytes. (aarch64 and most instructions: both
	// lanes at once.)
	std::vector<uint64_t> low_in(n, 0), high_in(n, 0), low_out(n, 0), high_out(n, 0);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t k = n; k-- > 0;) {
			const Insn &in = insns[k];
			uint64_t lo = 0, hi = 0;
			for (size_t s : succ[k]) {
				lo |= low_in[s];
				hi |= high_in[s];
			}
			uint64_t whole = uses[k] & ~(in.low_uses | in.low_kills);
			uint64_t li = whole | in.low_uses | (lo & ~(in.kills | in.low_kills));
			uint64_t hii = whole | (hi & ~in.kills);
			if (lo != low_out[k] || hi != high_out[k] || li != low_in[k] || hii != high_in[k]) {
				low_out[k] = lo;
				high_out[k] = hi;
				low_in[k] = li;
				high_in[k] = hii;
				changed = true;
			}
		}
	}
	std::vector<uint64_t> live_out(n);
	for (size_t k = 0; k < n; k++)
		live_out[k] = low_out[k] | high_out[k];
	std::vector<uint64_t> reach_in(n, 0);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t k = 0; k < n; k++) {
			uint64_t out = reach_in[k] | insns[k].defs;
			for (size_t s : succ[k])
				if ((reach_in[s] | out) != reach_in[s]) {
					reach_in[s] |= out;
					changed = true;
				}
		}
	}

	uint64_t ignore = 0;
	if (isa == Isa::aarch64) {
		f.frame.instrumentation_registers = instrumentation_registers(insns, f, reach_in);
		for (unsigned r : f.frame.instrumentation_registers) {
			ignore |= uint64_t(1) << r;
			// The copy of the return address: mov xR, x30.
			for (const auto &in : insns)
				if (in.raw == (0xaa1e03e0u | r))
					f.frame.return_address_copy = r;
		}
	}

	for (auto &c : f.calls) {
		auto at = insn_at(insns, c.call_address);
		if (!at)
			continue;
		uint64_t live = reach_in[*at] & live_out[*at] & ~ignore &
				callee_saved_bits(isa);
		for (unsigned bit = 0; bit < 64; bit++) {
			uint64_t b = uint64_t(1) << bit;
			if (live & b)
				c.live_registers.push_back(tracked_dwarf_reg(isa, bit));
			else if ((callee_saved_bits(isa) & b) && !(live_out[*at] & b))
				c.dead_registers.push_back(tracked_dwarf_reg(isa, bit));
		}
	}
}

} // namespace hetmig::program

// SPDX-License-Identifier: GPL-2.0
// Which callee-saved registers hold a value across each call: a register is
// live across a call when a write to it in the function body reaches the
// call and a read after the call can see that value. DWARF describes no such
// value at -O0 (the temporary of `f() + g()`), and at -O1+ only sometimes,
// so the verifier refuses such sites. Liveness is the usual backward
// dataflow over instructions; an indirect jump may go anywhere in the
// function, which only makes the answer more careful.
#include <map>

#include "impl.h"

namespace hetmig::program {

namespace {

std::vector<std::vector<size_t>> successors(const std::vector<Insn> &insns)
{
	std::map<uint64_t, size_t> index;
	for (size_t i = 0; i < insns.size(); i++)
		index[insns[i].address] = i;
	std::vector<std::vector<size_t>> succ(insns.size());
	for (size_t i = 0; i < insns.size(); i++) {
		const Insn &in = insns[i];
		auto to = [&](uint64_t addr) {
			auto it = index.find(addr);
			if (it != index.end())
				succ[i].push_back(it->second);
		};
		switch (in.flow) {
		case Insn::Flow::next:
		case Insn::Flow::call:
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

} // namespace

// The register R of `mov xR, x30` before the first call, if R is written
// only there and by the epilogue's restore, and read only by `mov x30, xR`
// (gcc -finstrument-functions on aarch64; see FrameLayout).
static std::optional<unsigned> return_address_copy(const std::vector<Insn> &insns,
						   const std::vector<uint32_t> &words,
						   uint64_t last_call)
{
	std::optional<size_t> mov_at;
	unsigned reg = 0;
	for (size_t i = 0; i < insns.size() && !mov_at; i++) {
		uint32_t x = words[i];
		if ((x & 0xffffffe0) == 0xaa1e03e0 && (x & 31) >= 19 && (x & 31) <= 28) {
			mov_at = i;
			reg = x & 31;
		}
		if (insns[i].flow == Insn::Flow::call || insns[i].flow == Insn::Flow::call_indirect)
			break;
	}
	if (!mov_at)
		return std::nullopt;
	uint64_t bit = uint64_t(1) << reg;
	for (size_t i = 0; i < insns.size(); i++) {
		uint32_t x = words[i];
		if (i == *mov_at)
			continue;
		if ((insns[i].defs & bit) &&
		    !(insns[i].address > last_call && (x & 0x0a000000) == 0x08000000))
			return std::nullopt;  // written other than by the copy or the restore
		if ((insns[i].uses & bit) && i > *mov_at && x != (0xaa0003feu | reg << 16))
			return std::nullopt;  // read other than back into x30
	}
	return reg;
}

void compute_liveness(Isa isa, const std::vector<Insn> &insns, Function &f)
{
	size_t n = insns.size();
	auto succ = successors(insns);

	std::vector<uint64_t> live_in(n, 0), live_out(n, 0);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t k = n; k-- > 0;) {
			uint64_t out = 0;
			for (size_t s : succ[k])
				out |= live_in[s];
			uint64_t in = insns[k].uses | (out & ~insns[k].kills);
			if (out != live_out[k] || in != live_in[k]) {
				live_out[k] = out;
				live_in[k] = in;
				changed = true;
			}
		}
	}
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
	if (isa == Isa::aarch64 && f.frame.known) {
		std::vector<uint32_t> words;
		for (const auto &in : insns)
			words.push_back(in.raw);
		uint64_t last_call = 0;
		for (const auto &in : insns)
			if (in.flow == Insn::Flow::call || in.flow == Insn::Flow::call_indirect)
				last_call = in.address;
		if (auto r = return_address_copy(insns, words, last_call)) {
			f.frame.return_address_copy = *r;
			ignore = uint64_t(1) << *r;
		}
	}

	std::map<uint64_t, size_t> index;
	for (size_t i = 0; i < n; i++)
		index[insns[i].address] = i;
	for (auto &c : f.calls) {
		auto it = index.find(c.call_address);
		if (it == index.end())
			continue;
		uint64_t live = reach_in[it->second] & live_out[it->second] & ~ignore;
		for (unsigned bit = 0; bit < 64; bit++)
			if (live & (uint64_t(1) << bit))
				c.live_registers.push_back(tracked_dwarf_reg(isa, bit));
	}
}

} // namespace hetmig::program

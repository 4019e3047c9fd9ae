// SPDX-License-Identifier: GPL-2.0
// A function's frame layout at its call sites, from its .eh_frame CFI and
// from decoding the prologue gcc emits (see frame_layout.cpp for the forms).
#pragma once

#include <vector>

#include "handles.h"
#include "insn.h"

namespace hetmig::program {

// The first instruction after the prologue (the frame is complete there).
struct Prologue {
	bool decoded = false;
	std::string why;
	uint64_t end = 0;
	uint64_t cfa_minus_sp = 0, cfa_minus_fp = 0;
	int64_t saved_fp_at = 0, saved_ra_at = 0;
};

Prologue decode_prologue(Isa isa, const std::vector<Insn> &insns,
			 const std::vector<uint8_t> &code, uint64_t low);

// `calls`: addresses of the function's call instructions, where the layout
// must hold (the CFI is read at each). *saved_per_call gets, per call, the
// registers saved there and their slots (CallSite::saved_registers).
FrameLayout frame_layout(Isa isa, Dwarf_CFI *cfi, const std::vector<Insn> &insns,
			 const std::vector<uint8_t> &code, uint64_t low,
			 const std::vector<uint64_t> &calls,
			 std::vector<std::vector<std::pair<unsigned, int64_t>>> *saved_per_call);

// Callee-saved registers other than fp and the return address that the CFI
// says are saved anywhere in [low, high): the ones the code may change
// (the ABI has it save them first). Works for leaves without a frame
// record too.
Result<std::vector<unsigned>> callee_saved_anywhere(Isa isa, Dwarf_CFI *cfi, uint64_t low,
						    uint64_t high);

} // namespace hetmig::program

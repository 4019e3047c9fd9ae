// SPDX-License-Identifier: GPL-2.0
// Just enough instruction decoding to find call sites, decode gcc prologues
// and follow the callee-saved registers through a function (which of them
// hold a value across a call). Not a disassembler: every instruction gets a
// length, a control-flow kind and the callee-saved registers it reads or
// writes; anything the decoder does not know fails the decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "program.h"

namespace hetmig::program {

struct Insn {
	enum class Flow {
		next,           // falls through
		call,           // direct call to `target`
		call_indirect,
		jump,           // unconditional, to `target`
		cond_jump,      // to `target` or falls through
		jump_indirect,  // switch tables, tail calls through a register
		ret,
		stop,           // ud2, hlt, brk: no successor
	};
	uint64_t address = 0;
	unsigned length = 0;
	Flow flow = Flow::next;
	uint64_t target = 0;
	uint32_t raw = 0;     // aarch64: the instruction word
	bool push = false;    // x86_64: pushes onto the stack (push r, imm, r/m)
	// Callee-saved registers, as bits of tracked_bit() below. `uses`: may be
	// read. `defs`: may be written. `kills`: certainly overwritten as a
	// whole without being read first (mov, load, lea...).
	uint64_t uses = 0, defs = 0, kills = 0;
	// x86_64 only, subsets of the above for the liveness pass: registers
	// the instruction reads through their low byte alone (`cmp $0x53,
	// %r12b`), and those whose low byte it overwrites without reading the
	// register (`mov -0x1af(%rbp), %r12b`; such a write keeps the upper
	// bytes, so it is in `uses` too for the other analyses).
	uint64_t low_uses = 0, low_kills = 0;
	// jump_indirect: where a switch's table sends it, when
	// resolve_jump_tables found the table (impl.h); empty: anywhere.
	std::vector<uint64_t> targets;
};

// Bit in Insn::uses/defs/kills for a callee-saved DWARF register, and back.
// x86_64: rbx r12-r15 (DWARF 3, 12-15); aarch64: x19-x28 (19-28) and
// d8-d15 (v8-v15, DWARF 72-79, bits 40-47). Frame pointer and link register
// are handled by the frame layout, not tracked here.
std::optional<unsigned> tracked_bit(Isa isa, unsigned dwarf_reg);
unsigned tracked_dwarf_reg(Isa isa, unsigned bit);
const char *register_name(Isa isa, unsigned dwarf_reg);
// Whether a call preserves DWARF register REG: x86_64 rbx, rbp, r12-r15;
// aarch64 x19-x29 and d8-d15.
bool preserved_across_calls(Isa isa, unsigned dwarf_reg);

std::optional<Insn> decode_x86_64(const uint8_t *code, size_t avail, uint64_t address);
std::optional<Insn> decode_aarch64(const uint8_t *code, size_t avail, uint64_t address);

// Decodes [low, low + code.size()) instruction by instruction; nullopt with
// the failing address in *bad when an instruction is not understood.
std::optional<std::vector<Insn>> decode_function(Isa isa, const std::vector<uint8_t> &code,
						 uint64_t low, uint64_t *bad);

} // namespace hetmig::program

// SPDX-License-Identifier: GPL-2.0
// The targets of a switch's indirect jump, from its table in read-only
// data. Without them every instruction of the function is a successor of
// the jump, and a value the code puts in a callee-saved register before a
// loop looks unknown inside it (expr's lex_next at -O2: a division's magic
// constant in rbx across a loop point, the switch after it).
//
// x86_64 only, the form gcc emits for hetmig-cc's non-PIC builds:
// `jmp *TABLE(,%reg,8)` (FF /4, SIB scale 8, no base, disp32), TABLE an
// array of absolute code addresses. The entries are read from TABLE on
// for as long as each is the start of an instruction of the function:
// a switch's entries all are; reading past its end into another table of
// the function only adds successors, which is safe. aarch64's tables
// (relative offsets, adr + ldrb + add + br) are left unresolved.
#include "impl.h"

namespace hetmig::program {

void resolve_jump_tables(Isa isa, std::vector<Insn> &insns, const std::vector<uint8_t> &code,
			 uint64_t low, const ReadOnlyWord &read_only)
{
	if (isa != Isa::x86_64)
		return;
	for (Insn &in : insns) {
		if (in.flow != Insn::Flow::jump_indirect)
			continue;
		size_t off = size_t(in.address - low);
		if (off + in.length > code.size())
			continue;
		const uint8_t *p = code.data() + off;
		unsigned i = 0, len = in.length;
		while (i < len && (p[i] == 0x3e || (p[i] & 0xf0) == 0x40))  // notrack, REX
			i++;
		if (i + 7 != len || p[i] != 0xff || p[i + 1] != 0x24 || (p[i + 2] >> 6) != 3 ||
		    (p[i + 2] & 7) != 5)
			continue;
		uint64_t table = uint64_t(int64_t(int32_t(uint32_t(p[i + 3]) | uint32_t(p[i + 4]) << 8 |
							  uint32_t(p[i + 5]) << 16 |
							  uint32_t(p[i + 6]) << 24)));
		std::vector<uint64_t> targets;
		for (unsigned k = 0; k < 4096; k++) {
			auto entry = read_only(table + 8 * k, 8);
			if (!entry || !insn_at(insns, *entry))
				break;
			targets.push_back(*entry);
		}
		in.targets = std::move(targets);
	}
}

} // namespace hetmig::program

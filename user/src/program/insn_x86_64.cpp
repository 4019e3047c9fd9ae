// SPDX-License-Identifier: GPL-2.0
// x86_64 instruction lengths and callee-saved register use, for code gcc
// emits for user programs (legacy, 0F, 0F38, 0F3A maps, VEX and EVEX).
#include "insn.h"

namespace hetmig::program {

namespace {

struct Prefixes {
	bool opsize = false, addrsize = false, rep = false;
	uint8_t rex = 0;
	bool rex_w() const { return rex & 8; }
};

// Tracked callee-saved registers by hardware number: rbx=3, r12-r15.
uint64_t gpr_bit(unsigned hw)
{
	return (hw == 3 || (hw >= 12 && hw <= 15)) ? uint64_t(1) << hw : 0;
}

// A byte register operand without REX: 4-7 are ah ch dh bh (bh is in rbx).
uint64_t byte_reg_bit(unsigned hw, const Prefixes &px)
{
	if (!px.rex && hw >= 4 && hw <= 7)
		hw -= 4;
	return gpr_bit(hw);
}

// The same register when the byte operand is its low byte (al..r15b, spl..dil
// with REX), 0 for ah, ch, dh, bh.
uint64_t low_byte_bit(unsigned hw, const Prefixes &px)
{
	return px.rex || hw < 4 ? gpr_bit(hw) : 0;
}

struct ModRm {
	unsigned mod = 0, reg = 0, rm = 0;  // reg and rm include REX.R/REX.B
	uint64_t mem_uses = 0;              // base and index registers
	unsigned length = 0;                // modrm + sib + displacement
	bool rip_relative = false;
};

std::optional<ModRm> decode_modrm(const uint8_t *p, size_t avail, const Prefixes &px)
{
	if (avail < 1)
		return std::nullopt;
	ModRm m;
	m.mod = p[0] >> 6;
	m.reg = ((p[0] >> 3) & 7) | ((px.rex & 4) ? 8 : 0);
	unsigned rm = p[0] & 7;
	m.length = 1;
	if (m.mod == 3) {
		m.rm = rm | ((px.rex & 1) ? 8 : 0);
		return m;
	}
	unsigned disp = m.mod == 1 ? 1 : m.mod == 2 ? 4 : 0;
	if (rm == 4) {
		if (avail < 2)
			return std::nullopt;
		uint8_t sib = p[1];
		m.length = 2;
		unsigned base = sib & 7, index = ((sib >> 3) & 7) | ((px.rex & 2) ? 8 : 0);
		if (index != 4)
			m.mem_uses |= gpr_bit(index);
		if (base == 5 && m.mod == 0)
			disp = 4;
		else
			m.mem_uses |= gpr_bit(base | ((px.rex & 1) ? 8 : 0));
	} else if (rm == 5 && m.mod == 0) {
		disp = 4;
		m.rip_relative = true;
	} else {
		m.mem_uses |= gpr_bit(rm | ((px.rex & 1) ? 8 : 0));
	}
	m.length += disp;
	if (avail < m.length)
		return std::nullopt;
	return m;
}

int32_t rel32(const uint8_t *p)
{
	return int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
		       uint32_t(p[3]) << 24);
}

// One-byte opcodes that take a ModRM byte.
bool has_modrm_1(uint8_t op)
{
	if (op < 0x40)
		return (op & 7) < 4;
	switch (op) {
	case 0x63: case 0x69: case 0x6b:
	case 0xc0: case 0xc1: case 0xc6: case 0xc7:
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
	case 0xf6: case 0xf7: case 0xfe: case 0xff:
		return true;
	}
	return (op >= 0x80 && op <= 0x8f) || (op >= 0xd8 && op <= 0xdf);
}

// Immediate bytes of a one-byte opcode (after ModRM); -1: invalid in 64-bit.
int imm_size_1(uint8_t op, const Prefixes &px, unsigned modrm_reg)
{
	unsigned z = px.opsize ? 2 : 4;
	if (op < 0x40) {
		if ((op & 7) == 4)
			return 1;
		if ((op & 7) == 5)
			return int(z);
		if ((op & 7) >= 6)
			return -1;  // push/pop segment, daa...: invalid in 64-bit mode
		return 0;
	}
	if (op >= 0x70 && op <= 0x7f)
		return 1;
	if (op >= 0xb0 && op <= 0xb7)
		return 1;
	if (op >= 0xb8 && op <= 0xbf)
		return px.rex_w() ? 8 : int(z);
	if (op >= 0xe0 && op <= 0xe7)
		return 1;
	if (op >= 0xa0 && op <= 0xa3)
		return px.addrsize ? 4 : 8;
	switch (op) {
	case 0x6a: case 0x6b: case 0x80: case 0x83: case 0xa8: case 0xc0:
	case 0xc1: case 0xc6: case 0xcd: case 0xeb:
		return 1;
	case 0x68: case 0x69: case 0x81: case 0xa9: case 0xc7: case 0xe8: case 0xe9:
		return int(z);
	case 0xc2: case 0xca:
		return 2;
	case 0xc8:
		return 3;
	case 0xf6:
		return (modrm_reg & 7) < 2 ? 1 : 0;
	case 0xf7:
		return (modrm_reg & 7) < 2 ? int(z) : 0;
	case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f:
	case 0x27: case 0x2f: case 0x37: case 0x3f: case 0x60: case 0x61: case 0x62:
	case 0x82: case 0x9a: case 0xc4: case 0xc5: case 0xce: case 0xd4: case 0xd5:
	case 0xd6: case 0xea:
		return -1;
	}
	return 0;
}

bool byte_operands_1(uint8_t op)
{
	if (op < 0x40)
		return (op & 1) == 0;
	switch (op) {
	case 0x80: case 0x84: case 0x86: case 0x88: case 0x8a: case 0xc0: case 0xc6:
	case 0xd0: case 0xd2: case 0xf6: case 0xfe:
		return true;
	}
	return false;
}

// Register effects of an instruction with a ModRM byte in the one-byte map.
void effects_1(uint8_t op, const ModRm &m, const Prefixes &px, Insn &in)
{
	bool byte = byte_operands_1(op);
	uint64_t reg = byte ? byte_reg_bit(m.reg, px) : gpr_bit(m.reg);
	uint64_t rm = m.mod == 3 ? (byte ? byte_reg_bit(m.rm, px) : gpr_bit(m.rm)) : 0;
	// Byte operands that are a register's low byte, for the liveness
	// pass's two lanes (Insn::low_uses, low_kills).
	uint64_t low_reg = byte ? low_byte_bit(m.reg, px) : 0;
	uint64_t low_rm = byte && m.mod == 3 ? low_byte_bit(m.rm, px) : 0;
	in.uses |= m.mem_uses;
	// 32- and 64-bit register writes replace the whole register.
	bool whole = !byte && !px.opsize;
	switch (op) {
	case 0x8b:  // mov reg, r/m
	case 0x63:  // movsxd
	case 0x8d:  // lea
	case 0x69:  // imul reg, r/m, imm32: reg is the result only
	case 0x6b:  // imul reg, r/m, imm8
		in.uses |= rm;
		in.defs |= reg;
		if (whole)
			in.kills |= reg;
		else
			in.uses |= reg;
		return;
	case 0x89:  // mov r/m, reg
	case 0x88:
		in.uses |= reg;
		in.low_uses |= low_reg;
		in.low_kills |= low_rm & ~low_reg;
		in.defs |= rm;
		if (whole)
			in.kills |= rm;
		else
			in.uses |= rm;
		return;
	case 0x8a:
		in.uses |= rm | reg;
		in.low_uses |= low_rm;
		in.low_kills |= low_reg & ~low_rm;
		in.defs |= reg;
		return;
	case 0xc6:
	case 0xc7:  // mov r/m, imm
		in.low_kills |= low_rm;
		in.defs |= rm;
		if (whole)
			in.kills |= rm;
		else
			in.uses |= rm;
		return;
	case 0x84: case 0x85: case 0x38: case 0x39: case 0x3a: case 0x3b:
		in.uses |= reg | rm;  // test, cmp: read only
		in.low_uses |= low_reg | low_rm;
		return;
	}
	if ((op == 0x31 || op == 0x33 || op == 0x29 || op == 0x2b) && m.mod == 3 &&
	    m.reg == m.rm) {
		in.defs |= reg;  // xor/sub r, r: the zeroing idiom
		if (whole)
			in.kills |= reg;
		return;
	}
	if (op < 0x40 && (op & 7) < 4) {  // add, or, adc, sbb, and, sub, xor
		in.uses |= reg | rm;
		in.defs |= (op & 7) < 2 ? rm : reg;  // op r/m, reg | op reg, r/m
		return;
	}
	if ((op >= 0x80 && op <= 0x83 && (m.reg & 7) == 7) ||
	    ((op == 0xf6 || op == 0xf7) && (m.reg & 7) < 2)) {
		in.uses |= rm;  // cmp r/m, imm; test r/m, imm
		in.low_uses |= low_rm;
		return;
	}
	if ((op == 0xf6 || op == 0xf7) && (m.reg & 7) >= 4) {
		in.uses |= rm;  // mul, imul, div, idiv r/m: rdx:rax are the results
		return;
	}
	if (op == 0xff && (m.reg & 7) == 6) {
		in.uses |= rm;  // push r/m
		return;
	}
	if (op == 0x8f) {
		in.defs |= rm;  // pop r/m
		in.kills |= rm;
		return;
	}
	// Everything else may read and write both operands.
	in.uses |= reg | rm;
	in.defs |= reg | rm;
}

// Which ModRM fields of a 0F-map instruction name general registers: most
// of the map is SSE, whose operands are xmm registers (xmm3 is not rbx).
// map: 1 = 0F, 2 = 0F38, 3 = 0F3A.
struct GpFields {
	bool reg = false, rm = false;
};

GpFields gp_fields(unsigned map, uint8_t op, const Prefixes &px)
{
	if (map == 2)
		return op >= 0xf0 ? GpFields{true, true} : GpFields{};  // movbe, crc32, BMI
	if (map == 3) {
		if ((op >= 0x14 && op <= 0x17) || op == 0x20 || op == 0x22)
			return {false, true};  // pextr*, pinsr*
		return {};
	}
	if ((op >= 0x40 && op <= 0x4f) || op == 0xa3 || op == 0xa4 || op == 0xa5 ||
	    op == 0xab || op == 0xac || op == 0xad || op == 0xaf || op == 0xb0 || op == 0xb1 ||
	    op == 0xb3 || op == 0xbb || op == 0xbc || op == 0xbd || op == 0xb8 || op == 0xc0 ||
	    op == 0xc1)
		return {true, true};
	if (op == 0x2a || op == 0x6e || op == 0xc4 || op == 0xba || op == 0xc7)
		return {false, true};
	if (op == 0x7e)  // movd r/m, xmm; F3 0F 7E is movq xmm, xmm/m64
		return {false, !px.rep};
	if (op == 0x2c || op == 0x2d || op == 0x50 || op == 0xd7 || op == 0xc5)
		return {true, false};
	if (op == 0x00 || op == 0x01)
		return {false, true};
	return {};
}

// Register effects in the 0F maps (and VEX/EVEX).
void effects_0f(unsigned map, uint8_t op, const ModRm &m, const Prefixes &px, Insn &in)
{
	in.uses |= m.mem_uses;
	GpFields g = gp_fields(map, op, px);
	uint64_t reg = g.reg ? gpr_bit(m.reg) : 0;
	uint64_t rm = (g.rm && m.mod == 3) ? gpr_bit(m.rm) : 0;
	if (map == 1) {
		switch (op) {
		case 0xb6: case 0xbe:  // movzx/movsx from a byte
			rm = m.mod == 3 ? byte_reg_bit(m.rm, px) : 0;
			in.low_uses |= m.mod == 3 ? low_byte_bit(m.rm, px) : 0;
			[[fallthrough]];
		case 0xb7: case 0xbf:
			in.uses |= rm;
			reg = gpr_bit(m.reg);
			in.defs |= reg;
			if (!px.opsize)
				in.kills |= reg;
			else
				in.uses |= reg;
			return;
		}
		if (op >= 0x90 && op <= 0x9f) {  // setcc r/m8
			rm = m.mod == 3 ? byte_reg_bit(m.rm, px) : 0;
			in.uses |= rm;
			in.low_kills |= m.mod == 3 ? low_byte_bit(m.rm, px) : 0;
			in.defs |= rm;
			return;
		}
		// Moves and conversions between a general register and an
		// xmm one: the general register is only read (movd/movq to
		// xmm, cvtsi2sd) or only written, whole (movd/movq from xmm
		// zero-extends; cvttsd2si, movmskpd, pmovmskb, pextrw).
		if (op == 0x6e || op == 0x2a) {
			in.uses |= rm;
			return;
		}
		if (op == 0x7e && !px.rep) {
			in.defs |= rm;
			in.kills |= rm;
			return;
		}
		if (op == 0x2c || op == 0x2d || op == 0x50 || op == 0xd7 || op == 0xc5) {
			in.defs |= reg;
			in.kills |= reg;
			return;
		}
		if (op == 0xc7 && (m.reg & 7) == 1)
			in.uses |= gpr_bit(3);  // cmpxchg8b/16b read rbx
		// imul, cmovcc, bsf, bsr, popcnt, lzcnt, tzcnt: reg is the
		// result, r/m only read.
		if (op == 0xaf || (op >= 0x40 && op <= 0x4f) || op == 0xbc || op == 0xbd ||
		    op == 0xb8) {
			in.uses |= reg | rm;
			in.defs |= reg;
			return;
		}
	}
	in.uses |= reg | rm;
	in.defs |= reg | rm;
}

} // namespace

std::optional<Insn> decode_x86_64(const uint8_t *code, size_t avail, uint64_t address)
{
	Insn in;
	in.address = address;
	Prefixes px;
	size_t i = 0;
	for (; i < avail && i < 15; i++) {
		uint8_t b = code[i];
		if (b == 0x66)
			px.opsize = true;
		else if (b == 0x67)
			px.addrsize = true;
		else if (b == 0xf2 || b == 0xf3)
			px.rep = true;
		else if (b == 0xf0 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 ||
			 b == 0x64 || b == 0x65)
			;
		else
			break;
	}
	if (i < avail && (code[i] & 0xf0) == 0x40)
		px.rex = code[i++];
	if (i >= avail)
		return std::nullopt;
	uint8_t op = code[i++];
	auto finish = [&](size_t len) -> std::optional<Insn> {
		if (len > avail || len > 15)
			return std::nullopt;
		in.length = unsigned(len);
		return in;
	};

	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		// VEX (2 or 3 bytes) or EVEX (4 bytes); then opcode, ModRM.
		size_t vlen = op == 0xc5 ? 1 : op == 0xc4 ? 2 : 3;
		if (i + vlen + 2 > avail)
			return std::nullopt;
		unsigned map = op == 0xc5 ? 1 : (code[i] & (op == 0x62 ? 3 : 0x1f));
		uint8_t r = code[i];
		Prefixes vx;
		vx.rex = uint8_t((r & 0x80 ? 0 : 4) | (op != 0xc5 && !(r & 0x40) ? 2 : 0) |
				 (op != 0xc5 && !(r & 0x20) ? 1 : 0));
		i += vlen;
		uint8_t vop = code[i++];
		auto m = decode_modrm(code + i, avail - i, vx);
		if (!m || map < 1 || map > 3)
			return std::nullopt;
		i += m->length;
		if (map == 3)
			i += 1;
		vx.rep = px.rep;
		effects_0f(map, vop, *m, vx, in);
		// BMI forms name a third general register in VEX.vvvv: count
		// every callee-saved register as read and written.
		if (map == 2 && vop >= 0xf0) {
			uint64_t all = gpr_bit(3) | gpr_bit(12) | gpr_bit(13) | gpr_bit(14) |
				       gpr_bit(15);
			in.uses |= all;
			in.defs |= all;
		}
		return finish(i);
	}

	if (op != 0x0f) {
		if (op == 0x6a || op == 0x68)
			in.push = true;
		if ((op >= 0x50 && op <= 0x57)) {  // push r
			in.push = true;
			in.uses |= gpr_bit((op & 7) | ((px.rex & 1) ? 8 : 0));
			return finish(i);
		}
		if (op >= 0x58 && op <= 0x5f) {  // pop r
			uint64_t b = gpr_bit((op & 7) | ((px.rex & 1) ? 8 : 0));
			in.defs |= b;
			in.kills |= b;
			return finish(i);
		}
		if (op >= 0x91 && op <= 0x97) {  // xchg rax, r
			uint64_t b = gpr_bit((op & 7) | ((px.rex & 1) ? 8 : 0));
			in.uses |= b;
			in.defs |= b;
			return finish(i);
		}
		if (op >= 0xb0 && op <= 0xbf) {  // mov r, imm
			unsigned hw = (op & 7) | ((px.rex & 1) ? 8 : 0);
			bool byte = op < 0xb8;
			uint64_t b = byte ? byte_reg_bit(hw, px) : gpr_bit(hw);
			in.defs |= b;
			if (!byte && !px.opsize)
				in.kills |= b;
			else
				in.uses |= b;
		}
		if (op == 0xd7)
			in.uses |= gpr_bit(3);  // xlat reads rbx
		unsigned modrm_reg = 0;
		if (has_modrm_1(op)) {
			auto m = decode_modrm(code + i, avail - i, px);
			if (!m)
				return std::nullopt;
			i += m->length;
			modrm_reg = m->reg;
			effects_1(op, *m, px, in);
			if (op == 0xff) {
				unsigned sub = m->reg & 7;
				if (sub == 2 || sub == 3)
					in.flow = Insn::Flow::call_indirect;
				else if (sub == 4 || sub == 5)
					in.flow = Insn::Flow::jump_indirect;
				else if (sub == 6)
					in.push = true;
				else if (sub == 7)
					return std::nullopt;
			}
		}
		int imm = imm_size_1(op, px, modrm_reg);
		if (imm < 0)
			return std::nullopt;
		i += size_t(imm);
		if (i > avail)
			return std::nullopt;
		switch (op) {
		case 0xe8:
			in.flow = Insn::Flow::call;
			in.target = address + i + int64_t(rel32(code + i - 4));
			break;
		case 0xe9:
			in.flow = Insn::Flow::jump;
			in.target = address + i + int64_t(rel32(code + i - 4));
			break;
		case 0xeb:
			in.flow = Insn::Flow::jump;
			in.target = address + i + int64_t(int8_t(code[i - 1]));
			break;
		case 0xc2: case 0xc3: case 0xca: case 0xcb: case 0xcf:
			in.flow = Insn::Flow::ret;
			break;
		case 0xf4: case 0xcc:
			in.flow = Insn::Flow::stop;
			break;
		}
		if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) {
			in.flow = Insn::Flow::cond_jump;
			in.target = address + i + int64_t(int8_t(code[i - 1]));
		}
		return finish(i);
	}

	// Two-byte map.
	if (i >= avail)
		return std::nullopt;
	uint8_t op2 = code[i++];
	if (op2 == 0x38 || op2 == 0x3a) {
		if (i >= avail)
			return std::nullopt;
		uint8_t op3 = code[i++];
		auto m = decode_modrm(code + i, avail - i, px);
		if (!m)
			return std::nullopt;
		i += m->length + (op2 == 0x3a ? 1 : 0);
		effects_0f(op2 == 0x38 ? 2 : 3, op3, *m, px, in);
		return finish(i);
	}
	if (op2 >= 0x80 && op2 <= 0x8f) {
		i += 4;
		if (i > avail)
			return std::nullopt;
		in.flow = Insn::Flow::cond_jump;
		in.target = address + i + int64_t(rel32(code + i - 4));
		return finish(i);
	}
	if (op2 >= 0xc8 && op2 <= 0xcf) {  // bswap
		uint64_t b = gpr_bit((op2 & 7) | ((px.rex & 1) ? 8 : 0));
		in.uses |= b;
		in.defs |= b;
		return finish(i);
	}
	switch (op2) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x30: case 0x31:
	case 0x32: case 0x33: case 0x34: case 0x35: case 0x77: case 0xa0: case 0xa1:
	case 0xa8: case 0xa9: case 0xaa:
		return finish(i);
	case 0xa2:  // cpuid writes ebx (zero-extended)
		in.defs |= gpr_bit(3);
		in.kills |= gpr_bit(3);
		return finish(i);
	case 0x0b:
		in.flow = Insn::Flow::stop;
		return finish(i);
	}
	auto m = decode_modrm(code + i, avail - i, px);
	if (!m)
		return std::nullopt;
	i += m->length;
	if ((op2 >= 0x70 && op2 <= 0x73) || op2 == 0xa4 || op2 == 0xac || op2 == 0xba ||
	    op2 == 0xc2 || (op2 >= 0xc4 && op2 <= 0xc6))
		i += 1;
	effects_0f(1, op2, *m, px, in);
	return finish(i);
}

} // namespace hetmig::program

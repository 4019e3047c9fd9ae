// SPDX-License-Identifier: GPL-2.0
// aarch64 control flow and callee-saved register use (x19-x28, d8-d15).
// Classes follow the A64 top-level encoding table (op0 = bits 28:25).
#include "insn.h"

namespace hetmig::program {

namespace {

// x0-x28 (bits 0-28): the liveness rule looks at x19-x28 only, the
// constants of constants.cpp follow x0-x18 too, into d8-d15 (fmov d8, x5).
uint64_t gp(uint32_t field)
{
	return field <= 28 ? uint64_t(1) << field : 0;
}

uint64_t fp(uint32_t field)
{
	return (field >= 8 && field <= 15) ? uint64_t(1) << (40 + field - 8) : 0;
}

uint32_t rd(uint32_t x) { return x & 31; }
uint32_t rn(uint32_t x) { return (x >> 5) & 31; }
uint32_t rt2(uint32_t x) { return (x >> 10) & 31; }
uint32_t rm(uint32_t x) { return (x >> 16) & 31; }

int64_t sext(uint64_t v, unsigned bits)
{
	uint64_t m = uint64_t(1) << (bits - 1);
	return int64_t((v ^ m) - m);
}

void use_def_all(Insn &in, uint64_t regs)
{
	in.uses |= regs;
	in.defs |= regs;
}

void data_immediate(uint32_t x, Insn &in)
{
	uint32_t op = (x >> 23) & 7;  // bits 25:23
	uint64_t d = gp(rd(x)), n = gp(rn(x));
	if (op <= 1) {  // adr, adrp
		in.defs |= d;
		in.kills |= d;
		return;
	}
	if (op == 5) {  // move wide: movk keeps the other bits
		if (((x >> 29) & 3) == 3)
			use_def_all(in, d);
		else
			in.defs |= d, in.kills |= d;
		return;
	}
	in.uses |= n;
	if (op == 6 && ((x >> 29) & 3) == 1) {  // bfm reads its destination
		use_def_all(in, d);
		return;
	}
	if (op == 7)  // extr
		in.uses |= gp(rm(x));
	in.defs |= d;
	in.kills |= d;
}

std::optional<Insn> branch_system(uint32_t x, Insn &in)
{
	uint64_t pc = in.address;
	if ((x & 0x7c000000) == 0x14000000) {  // b, bl
		in.flow = (x >> 31) ? Insn::Flow::call : Insn::Flow::jump;
		in.target = pc + uint64_t(sext(x & 0x3ffffff, 26) * 4);
		return in;
	}
	if ((x & 0xff000010) == 0x54000000) {  // b.cond
		in.flow = Insn::Flow::cond_jump;
		in.target = pc + uint64_t(sext((x >> 5) & 0x7ffff, 19) * 4);
		return in;
	}
	if ((x & 0x7e000000) == 0x34000000) {  // cbz, cbnz
		in.flow = Insn::Flow::cond_jump;
		in.target = pc + uint64_t(sext((x >> 5) & 0x7ffff, 19) * 4);
		in.uses |= gp(rd(x));
		return in;
	}
	if ((x & 0x7e000000) == 0x36000000) {  // tbz, tbnz
		in.flow = Insn::Flow::cond_jump;
		in.target = pc + uint64_t(sext((x >> 5) & 0x3fff, 14) * 4);
		in.uses |= gp(rd(x));
		return in;
	}
	if ((x & 0xfe000000) == 0xd6000000) {  // br, blr, ret (and PAC forms)
		in.uses |= gp(rn(x));
		switch ((x >> 21) & 15) {
		case 0: case 8:
			in.flow = Insn::Flow::jump_indirect;
			return in;
		case 1: case 9:
			in.flow = Insn::Flow::call_indirect;
			return in;
		case 2: case 10:
			in.flow = Insn::Flow::ret;
			return in;
		}
		return std::nullopt;
	}
	if ((x & 0xff000000) == 0xd4000000) {  // svc, brk, hlt...
		if (((x >> 21) & 7) != 0)
			in.flow = Insn::Flow::stop;
		else if ((x & 3) == 1)  // svc: the kernel's result in x0
			in.defs |= gp(0), in.kills |= gp(0);
		return in;
	}
	if ((x & 0xffc00000) == 0xd5000000) {  // hints, barriers, msr, mrs, sys
		if (x & (1u << 21)) {
			in.defs |= gp(rd(x));
			in.kills |= gp(rd(x));
		} else {
			in.uses |= gp(rd(x));
		}
		return in;
	}
	return std::nullopt;
}

void load_store(uint32_t x, Insn &in)
{
	bool v = x & (1u << 26);
	auto t = [&](uint32_t f) { return v ? fp(f) : gp(f); };
	uint32_t op29_27 = (x >> 27) & 7;
	uint64_t n = gp(rn(x));
	if (op29_27 == 5) {  // pair: ldp/stp, with optional writeback
		bool load = x & (1u << 22);
		uint64_t regs = t(rd(x)) | t(rt2(x));
		in.uses |= n;
		if (((x >> 23) & 1) == 1)  // pre/post index
			in.defs |= n;
		if (load)
			in.defs |= regs, in.kills |= regs;
		else
			in.uses |= regs;
		return;
	}
	if (op29_27 == 3 && !(x & (1u << 24))) {  // ldr literal, prfm literal
		if (v || ((x >> 30) & 3) != 3)
			in.defs |= t(rd(x)), in.kills |= t(rd(x));
		return;
	}
	if (op29_27 == 7) {
		uint32_t size = x >> 30, opc = (x >> 22) & 3;
		bool imm12 = x & (1u << 24);
		bool regoff = !imm12 && (x & (1u << 21)) && ((x >> 10) & 3) == 2;
		bool atomic = !imm12 && (x & (1u << 21)) && ((x >> 10) & 3) == 0;
		if (atomic) {
			use_def_all(in, gp(rd(x)) | gp(rm(x)) | n);
			return;
		}
		in.uses |= n;
		if (regoff)
			in.uses |= gp(rm(x));
		else if (!imm12 && (((x >> 10) & 3) == 1 || ((x >> 10) & 3) == 3))
			in.defs |= n;  // pre/post index writeback
		bool load = v ? (opc & 1) : opc != 0;
		bool prefetch = !v && size == 3 && opc == 2;
		if (prefetch)
			return;
		if (load)
			in.defs |= t(rd(x)), in.kills |= t(rd(x));
		else
			in.uses |= t(rd(x));
		return;
	}
	// Exclusives, acquire/release, SIMD structure loads: every field.
	use_def_all(in, n | gp(rm(x)) | t(rd(x)) | t(rt2(x)));
}

void data_register(uint32_t x, Insn &in)
{
	in.uses |= gp(rn(x)) | gp(rm(x));
	if (((x >> 24) & 0x1f) == 0x1b)  // three-source: madd, msub...
		in.uses |= gp(rt2(x));
	if (((x >> 21) & 0xff) == 0xd2)  // ccmp, ccmn: no destination
		return;
	in.defs |= gp(rd(x));
	in.kills |= gp(rd(x));
}

// Scalar floating point names its registers in known fields (an immediate
// in bits 20:13 of fmov #imm is not a register); a scalar result replaces
// the whole d register. Other Advanced SIMD forms count every field.
void simd_fp(uint32_t x, Insn &in)
{
	uint64_t d = fp(rd(x)), n = fp(rn(x)), m = fp(rm(x));
	auto write = [&](uint64_t regs) { in.defs |= regs, in.kills |= regs; };
	if ((x & 0x5f20fc00) == 0x1e200000) {
		// Conversions between floating point and general registers, by
		// opcode (bits 18:16) and rmode (20:19): `scvtf d2, w8` reads w8
		// and writes d2 only (FT's main at -O2 with checksum inlined:
		// taken for d8 and d9, the site was refused).
		unsigned opcode = (x >> 16) & 7, rmode = (x >> 19) & 3;
		bool from_general = opcode == 2 || opcode == 3 || opcode == 7;
		if (from_general) {  // scvtf, ucvtf, fmov d|s|v.d[1], x|w
			in.uses |= gp(rn(x));
			if (opcode == 7 && rmode == 1)
				use_def_all(in, d);  // fmov v.d[1], x: the upper half
			else
				write(d);
		} else {  // fcvt[nmpza][su], fmov x|w, d|s|v.d[1], fjcvtzs
			in.uses |= n;
			in.defs |= gp(rd(x)), in.kills |= gp(rd(x));
		}
	} else if ((x & 0x5f201fe0) == 0x1e201000) {  // fmov d, #imm
		write(d);
	} else if ((x & 0x5f207c00) == 0x1e204000) {  // fmov, fabs, fneg, fsqrt, fcvt
		in.uses |= n;
		write(d);
	} else if ((x & 0x5f200c00) == 0x1e200800 ||  // fadd, fmul, fdiv...
		   (x & 0x5f200c00) == 0x1e200c00) {  // fcsel
		in.uses |= n | m;
		write(d);
	} else if ((x & 0x5f203c00) == 0x1e202000 ||  // fcmp
		   (x & 0x5f200c00) == 0x1e200400) {  // fccmp
		in.uses |= n | m;
	} else if ((x & 0x5f000000) == 0x1f000000) {  // fmadd, fmsub...
		in.uses |= n | m | fp(rt2(x));
		write(d);
	} else if ((x & 0x9ff80400) == 0x0f000400) {  // movi
		write(d);
	} else if ((x & 0x9fe08400) == 0x0e000400) {
		// Advanced SIMD copy: dup, ins, umov, smov. Bits 20:16 are imm5
		// (the element), not a register: `dup v1.2d, v1.d[0]` is no
		// write of d8 (fp.c's main at -O2, where d8 held 1.0).
		unsigned imm4 = (x >> 11) & 15;
		bool ins_element = (x >> 29) & 1;
		if (ins_element) {
			use_def_all(in, d | n);  // ins vd.T[i], vn.T[j]: a part of d
		} else if (imm4 == 0) {
			in.uses |= n;  // dup vd.T, vn.T[i]
			write(d);
		} else if (imm4 == 1) {
			in.uses |= gp(rn(x));  // dup vd.T, wn|xn
			write(d);
		} else if (imm4 == 3) {
			in.uses |= gp(rn(x));  // ins vd.T[i], wn|xn
			use_def_all(in, d);
		} else if (imm4 == 5 || imm4 == 7) {
			in.uses |= n;  // smov, umov wd|xd, vn.T[i]
			in.defs |= gp(rd(x)), in.kills |= gp(rd(x));
		} else {
			use_def_all(in, gp(rd(x)) | gp(rn(x)) | d | n);
		}
	} else {
		use_def_all(in, d | n | m | fp(rt2(x)));
	}
}

} // namespace

std::optional<Insn> decode_aarch64(const uint8_t *code, size_t avail, uint64_t address)
{
	if (avail < 4 || (address & 3))
		return std::nullopt;
	uint32_t x = uint32_t(code[0]) | uint32_t(code[1]) << 8 | uint32_t(code[2]) << 16 |
		     uint32_t(code[3]) << 24;
	Insn in;
	in.address = address;
	in.length = 4;
	in.raw = x;
	if ((x >> 16) == 0) {  // udf
		in.flow = Insn::Flow::stop;
		return in;
	}
	uint32_t op0 = (x >> 25) & 15;
	if ((op0 & 0xe) == 0x8)
		data_immediate(x, in);
	else if ((op0 & 0xe) == 0xa)
		return branch_system(x, in);
	else if ((op0 & 0x5) == 0x4)
		load_store(x, in);
	else if ((op0 & 0x7) == 0x5)
		data_register(x, in);
	else if ((op0 & 0x7) == 0x7)
		simd_fp(x, in);
	else
		return std::nullopt;  // reserved, SME, SVE
	return in;
}

bool preserved_across_calls(Isa isa, unsigned r)
{
	if (isa == Isa::x86_64)
		return r == 3 || r == 6 || (r >= 12 && r <= 15);
	return (r >= 19 && r <= 29) || (r >= 72 && r <= 79);
}

std::optional<unsigned> tracked_bit(Isa isa, unsigned r)
{
	if (isa == Isa::x86_64)
		return (r == 3 || (r >= 12 && r <= 15)) ? std::optional(r) : std::nullopt;
	if (r >= 19 && r <= 28)
		return r;
	if (r >= 72 && r <= 79)
		return 40 + r - 72;
	return std::nullopt;
}

unsigned tracked_dwarf_reg(Isa isa, unsigned bit)
{
	if (isa == Isa::aarch64 && bit >= 40)
		return 72 + bit - 40;
	return bit;
}

const char *register_name(Isa isa, unsigned r)
{
	static const char *const x86[] = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi",
					  "rbp", "rsp", "r8",  "r9",  "r10", "r11",
					  "r12", "r13", "r14", "r15", "rip"};
	static const char *const arm[] = {
		"x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
		"x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
		"x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp"};
	static const char *const vregs[] = {"d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15"};
	if (isa == Isa::x86_64)
		return r < 17 ? x86[r] : "?";
	if (r < 32)
		return arm[r];
	if (r >= 72 && r <= 79)
		return vregs[r - 72];
	return "?";
}

std::optional<std::vector<Insn>> decode_function(Isa isa, const std::vector<uint8_t> &code,
						 uint64_t low, uint64_t *bad)
{
	std::vector<Insn> out;
	size_t off = 0;
	while (off < code.size()) {
		auto in = isa == Isa::x86_64
				  ? decode_x86_64(code.data() + off, code.size() - off, low + off)
				  : decode_aarch64(code.data() + off, code.size() - off, low + off);
		if (!in) {
			if (bad)
				*bad = low + off;
			return std::nullopt;
		}
		off += in->length;
		out.push_back(*in);
	}
	return out;
}

} // namespace hetmig::program

// SPDX-License-Identifier: GPL-2.0
// Callee-saved registers that hold a constant at a call: what the function's
// own code put there, the same on every path. gcc -O1+ hoists loop bounds
// (`mov x20, #20000`) and the addresses of globals (`adrp x23, sym; add x23,
// x23, :lo12:sym`, `mov $sym, %r14d`) out of loops into such registers,
// where no variable names them. Their values do not depend on the run, and
// addresses are the same in both builds, so the converter can write them on
// the destination without reading anything on the source.
//
// A forward dataflow over the decoded instructions: a register is a
// constant after an instruction that sets it from an immediate, a
// pc-relative address or another constant register, unknown after any other
// write, and the join of two paths keeps only equal constants. Calls
// preserve callee-saved registers.
#include <array>
#include <map>
#include <cstring>
#include <optional>
#include <vector>

#include "impl.h"

namespace hetmig::program {

namespace {

// What a known value is relative to: nothing (a constant), the frame
// pointer, or the thread pointer.
enum Base : uint8_t { kConstant, kFrame, kThread };

// A known value: a constant, or `v` plus the frame or thread pointer.
struct Val {
	uint64_t v = 0;
	Base base = kConstant;
	bool operator==(const Val &o) const { return v == o.v && base == o.base; }
	bool operator!=(const Val &o) const { return !(*this == o); }
};

using Values = std::array<std::optional<Val>, 64>;
// Frame slots (fp-relative, 8 bytes) known to hold a value.
using Slots = std::map<int64_t, Val>;

// A store of SIZE bytes at fp + AT: the slots it overlaps are unknown.
void forget_slots(Slots &slots, int64_t at, int64_t size)
{
	for (auto it = slots.begin(); it != slots.end();)
		it = (it->first < at + size && at < it->first + 8) ? slots.erase(it) : ++it;
}

// A store of an 8-byte VALUE (unknown if empty) at fp + AT.
void set_slot(Slots &slots, int64_t at, std::optional<Val> value)
{
	forget_slots(slots, at, 8);
	if (value)
		slots[at] = *value;
}

// The frame memory of the function's variables, fp-relative [lo, hi).
using VariableMemory = std::vector<std::pair<int64_t, int64_t>>;

// A store indexed into a frame array (fp + disp + index * scale) writes
// somewhere in the memory of the function's variables, the array's: as a
// store through a pointer (which the dataflow takes to miss the frame's
// spill slots), it cannot reach a slot gcc spilled a register to. Forgets
// the slots that lie in any variable's memory, or all of them when that
// memory is unknown (VARIABLES null). fp.c's main at -O2 keeps 1.0 in a
// spill slot at rbp-0x318 across calls, with stores into `y[i]` at
// rbp-0x120 in between.
void forget_variable_slots(Slots &slots, const VariableMemory *variables)
{
	if (!variables) {
		slots.clear();
		return;
	}
	for (auto it = slots.begin(); it != slots.end();) {
		bool inside = false;
		for (const auto &[lo, hi] : *variables)
			inside |= it->first < hi && lo < it->first + 8;
		it = inside ? slots.erase(it) : ++it;
	}
}

struct Effect {
	unsigned bit;
	std::optional<Val> value;
};

// Where an instruction is relative to the frame setup: fp-relative
// addresses mean the frame only once fp is set; sp-relative ones only when,
// besides, sp equals fp for the rest of the body.
struct FrameContext {
	bool fp_set = false;
	bool sp_is_fp = false;
};

std::optional<Val> konst(uint64_t v) { return Val{v, kConstant}; }
std::optional<Val> framed(int64_t off) { return Val{uint64_t(off), kFrame}; }

int64_t sign_extend(uint64_t v, unsigned bits)
{
	uint64_t m = uint64_t(1) << (bits - 1);
	return int64_t((v ^ m) - m);
}

// x0-x28: the decoder records writes to all of them (insn_aarch64.cpp);
// only x19-x28 survive a call.
bool tracked_x(unsigned r)
{
	return r <= 28;
}

// d8-d15's bits in Values (insn.h's tracked bits).
std::optional<unsigned> tracked_d(unsigned r)
{
	if (r >= 8 && r <= 15)
		return 40 + r - 8;
	return std::nullopt;
}

// VFPExpandImm: fmov's 8-bit immediate as a double's or a float's bits.
uint64_t fp_immediate(unsigned imm8, bool dbl)
{
	uint64_t a = imm8 >> 7, b = (imm8 >> 6) & 1, rest = imm8 & 0x3f;
	if (dbl)
		return a << 63 | (b ^ 1) << 62 | (b ? uint64_t(0xff) : 0) << 54 | rest << 48;
	return a << 31 | (b ^ 1) << 30 | (b ? uint64_t(0x1f) : 0) << 25 | rest << 19;
}

// aarch64: the value of a logical immediate (N:immr:imms, the "bitmask
// immediate" of orr/and/eor), replicated to 64 bits; nullopt if reserved.
std::optional<uint64_t> bitmask_immediate(unsigned n, unsigned immr, unsigned imms)
{
	unsigned combined = (n << 6) | (~imms & 0x3f);
	if (!combined)
		return std::nullopt;
	unsigned len = 31 - __builtin_clz(combined);
	unsigned esize = 1u << len, levels = esize - 1;
	unsigned s = imms & levels, r = immr & levels;
	if (s == levels)
		return std::nullopt;
	uint64_t emask = esize == 64 ? ~uint64_t(0) : (uint64_t(1) << esize) - 1;
	uint64_t elem = (uint64_t(1) << (s + 1)) - 1;
	if (r)
		elem = ((elem >> r) | (elem << (esize - r))) & emask;
	uint64_t out = 0;
	for (unsigned i = 0; i < 64; i += esize)
		out |= elem << i;
	return out;
}

// aarch64: the register an instruction sets to a known value, if any.
std::optional<Effect> effect_aarch64(const Insn &in, const Values &v, FrameContext fc,
				     const ReadOnlyWord &read_only)
{
	uint32_t x = in.raw;
	unsigned rd = x & 31, rn = (x >> 5) & 31;
	bool sf = x >> 31;
	uint64_t width = sf ? ~uint64_t(0) : 0xffffffffu;
	// ldr Xt|Dt|St, [Xn, #imm] from a constant address in read-only data
	// (a double gcc keeps in .rodata: adrp x0, .LC0; ldr d8, [x0, #:lo12:]).
	if ((x & 0xbfc00000) == 0xb9400000 || (x & 0xbfc00000) == 0xbd400000) {
		unsigned size = (x >> 30) & 1 ? 8 : 4;
		bool fp = (x >> 26) & 1;
		std::optional<unsigned> bit = fp ? tracked_d(rd)
						 : (tracked_x(rd) ? std::optional<unsigned>(rd) : std::nullopt);
		if (!bit)
			return std::nullopt;
		uint64_t imm = ((x >> 10) & 0xfff) * size;
		if (rn <= 28 && v[rn] && !v[rn]->base)
			if (auto w = read_only(v[rn]->v + imm, size))
				return Effect{*bit, konst(*w)};
		return Effect{*bit, std::nullopt};
	}
	if (auto d = tracked_d(rd)) {
		if ((x & 0xfffffc00) == 0x9e670000)  // fmov dN, xM
			return Effect{*d, rn <= 28 && v[rn] && !v[rn]->base ? v[rn] : std::nullopt};
		if ((x & 0xfffffc00) == 0x1e270000)  // fmov sN, wM
			return Effect{*d, rn <= 28 && v[rn] && !v[rn]->base
						  ? konst(v[rn]->v & 0xffffffffu)
						  : std::nullopt};
		if ((x & 0xffe01fe0) == 0x1e601000)  // fmov dN, #imm
			return Effect{*d, konst(fp_immediate((x >> 13) & 0xff, true))};
		if ((x & 0xffe01fe0) == 0x1e201000)  // fmov sN, #imm
			return Effect{*d, konst(fp_immediate((x >> 13) & 0xff, false))};
		if ((x & 0xffffffe0) == 0x2f00e400)  // movi dN, #0
			return Effect{*d, konst(0)};
		if ((x & 0xfffffc00) == 0x1e604000) {  // fmov dN, dM
			auto m = tracked_d(rn);
			return Effect{*d, m ? v[*m] : std::nullopt};
		}
		// Not a write of dN: rd is x8-x15 (adrp x11, sym), decoded below.
	}
	// mrs xN, tpidr_el0: the thread pointer. gcc -O1+ keeps the address of
	// a thread-local variable (tp plus its offset) in a callee-saved
	// register across calls (tls.c's visit()).
	if ((x & 0xffffffe0) == 0xd53bd040)
		return Effect{rd, tracked_x(rd) ? std::optional<Val>(Val{0, kThread}) : std::nullopt};
	if ((x & 0x9f000000) == 0x90000000) {  // adrp
		uint64_t imm = ((x >> 29) & 3) | (((x >> 5) & 0x7ffff) << 2);
		if (!tracked_x(rd))
			return std::nullopt;
		return Effect{rd, konst((in.address & ~uint64_t(0xfff)) +
					uint64_t(sign_extend(imm, 21) << 12))};
	}
	if ((x & 0x3f800000) == 0x11000000 && tracked_x(rd)) {  // add, sub (immediate)
		uint64_t imm = ((x >> 10) & 0xfff) << (((x >> 22) & 1) ? 12 : 0);
		bool sub = (x >> 30) & 1, flags = (x >> 29) & 1;
		if (flags)
			return Effect{rd, std::nullopt};
		if (sub)
			imm = uint64_t(0) - imm;
		if (sf && ((rn == 29 && fc.fp_set) || (rn == 31 && fc.sp_is_fp)))
			return Effect{rd, framed(int64_t(imm))};
		if (tracked_x(rn) && v[rn])
			return Effect{rd, Val{v[rn]->base ? v[rn]->v + imm : (v[rn]->v + imm) & width,
					      v[rn]->base}};
		return Effect{rd, std::nullopt};
	}
	unsigned shift = 16 * ((x >> 21) & 3);
	uint64_t imm16 = uint64_t((x >> 5) & 0xffff) << shift;
	if ((x & 0x7f800000) == 0x52800000 && tracked_x(rd))  // movz
		return Effect{rd, konst(imm16 & width)};
	if ((x & 0x7f800000) == 0x12800000 && tracked_x(rd))  // movn
		return Effect{rd, konst(~imm16 & width)};
	if ((x & 0x7f800000) == 0x72800000 && tracked_x(rd)) {  // movk
		if (!v[rd] || v[rd]->base)
			return Effect{rd, std::nullopt};
		return Effect{rd, konst(((v[rd]->v & ~(uint64_t(0xffff) << shift)) | imm16) & width)};
	}
	if ((x & 0x7f8003e0) == 0x320003e0 && tracked_x(rd)) {  // mov (bitmask immediate)
		auto imm = bitmask_immediate((x >> 22) & 1, (x >> 16) & 0x3f, (x >> 10) & 0x3f);
		if (!imm || (!sf && ((x >> 22) & 1)))
			return Effect{rd, std::nullopt};
		return Effect{rd, konst(*imm & width)};
	}
	if ((x & 0x7fe0ffe0) == 0x2a0003e0 && tracked_x(rd)) {  // mov (register)
		unsigned rm = (x >> 16) & 31;
		if (rm == 31)
			return Effect{rd, konst(0)};  // wzr/xzr
		if (rm == 29 && sf && fc.fp_set)
			return Effect{rd, framed(0)};
		if (tracked_x(rm) && v[rm] && (sf || !v[rm]->base))
			return Effect{rd, Val{v[rm]->base ? v[rm]->v : v[rm]->v & width,
					      v[rm]->base}};
		return Effect{rd, std::nullopt};
	}
	return std::nullopt;
}

// x86_64: every general register but rsp and rbp. The decoder records
// writes of the callee-saved ones only (Insn::defs); a caller-saved one
// keeps its value only across the instructions effect_x86_64 models,
// which write nothing else (kScratchGprs): enough for gcc's `lea
// -0x11a(%rbp), %rax; mov %rax, %rbx`.
bool tracked_gpr(unsigned hw)
{
	return hw < 16 && hw != 4 && hw != 5;
}

constexpr unsigned kScratchGprs[] = {0, 1, 2, 6, 7, 8, 9, 10, 11};

uint64_t load_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	std::memcpy(&v, p, n);
	return v;
}

// x86_64's xmm0-15 are bits 16-31 of Values (nothing else uses them on
// x86_64).
constexpr unsigned kXmmBit = 16;

// x86_64: the same, from the instruction's bytes (P, LEN of them).
std::optional<Effect> effect_x86_64(const Insn &in, const uint8_t *p, const Values &v,
				    FrameContext fc, const ReadOnlyWord &read_only)
{
	unsigned i = 0, len = in.length;
	// movq %xmmN, %r64 (66 REX.W 0F 7E, register form): gcc -O2 keeps a
	// double constant in a general register across calls that way (CG's
	// main: a .rodata constant in r12 through its loop).
	if (len == 5 && p[0] == 0x66 && (p[1] & 0xf8) == 0x48 && p[2] == 0x0f && p[3] == 0x7e &&
	    (p[4] >> 6) == 3) {
		unsigned xmm = ((p[4] >> 3) & 7) | ((p[1] & 4) ? 8 : 0),
			 gpr = (p[4] & 7) | ((p[1] & 1) ? 8 : 0);
		if (!tracked_gpr(gpr))
			return std::nullopt;
		return Effect{gpr, v[kXmmBit + xmm]};
	}
	uint8_t rex = 0;
	if (len && (p[0] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= len)
		return std::nullopt;
	bool w = rex & 8;
	uint8_t op = p[i++];
	if (op >= 0xb8 && op <= 0xbf) {  // mov $imm, %reg
		unsigned r = (op & 7) | ((rex & 1) ? 8 : 0);
		if (!tracked_gpr(r))
			return std::nullopt;
		if (w && i + 8 == len)
			return Effect{r, konst(load_le(p + i, 8))};
		if (!w && i + 4 == len)
			return Effect{r, konst(load_le(p + i, 4))};
		return Effect{r, std::nullopt};
	}
	if (i >= len)
		return std::nullopt;
	uint8_t modrm = p[i++];
	unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0),
		 rm = (modrm & 7) | ((rex & 1) ? 8 : 0);
	uint64_t width = w ? ~uint64_t(0) : 0xffffffffu;
	if (op == 0xc7 && mod == 3 && ((modrm >> 3) & 7) == 0 && tracked_gpr(rm) && i + 4 == len) {
		uint64_t imm = load_le(p + i, 4);  // mov $imm32, %r/m
		return Effect{rm, konst(w ? uint64_t(sign_extend(imm, 32)) : imm)};
	}
	if ((op == 0x31 || op == 0x33) && mod == 3 && reg == rm && tracked_gpr(rm))
		return Effect{rm, konst(0)};  // xor %r, %r
	// mov disp(%rip), %r: a constant from read-only data (gcc -O1 loads
	// a double's bits into rbx this way in fp.c's simpson).
	if (op == 0x8b && mod == 0 && (modrm & 7) == 5 && tracked_gpr(reg) && i + 4 == len) {
		uint64_t at = in.address + len + uint64_t(sign_extend(load_le(p + i, 4), 32));
		auto word = read_only(at, w ? 8 : 4);
		return Effect{reg, word ? konst(*word) : std::nullopt};
	}
	if (op == 0x8d && w && mod == 0 && (modrm & 7) == 5 && tracked_gpr(reg) && i + 4 == len)
		return Effect{reg, konst(in.address + len +
					 uint64_t(sign_extend(load_le(p + i, 4), 32)))};
	// lea disp(%rbp), %r: a frame slot's address (no SIB, not r13).
	if (op == 0x8d && w && (mod == 1 || mod == 2) && rm == 5 && tracked_gpr(reg) &&
	    fc.fp_set && i + (mod == 1 ? 1 : 4) == len)
		return Effect{reg, framed(mod == 1 ? sign_extend(p[i], 8)
						   : sign_extend(load_le(p + i, 4), 32))};
	// Arithmetic on a known register with an immediate: gcc -Os builds a
	// mask as `mov $0x7fffff, %ebx; shl $0x17, %rbx` (NPB's lcg_pow).
	// Shifts (C1 /4,5,7 ib; D1 by one) and add, or, and, sub, xor
	// (83 ib, 81 id, sign-extended); a frame address only moves by add
	// and sub. 32-bit forms zero the upper half.
	if ((op == 0xc1 || op == 0xd1 || op == 0x81 || op == 0x83) && mod == 3 && tracked_gpr(rm)) {
		unsigned sub = (modrm >> 3) & 7;
		size_t imm_len = op == 0xd1 ? 0 : op == 0x81 ? 4 : 1;
		if (i + imm_len != len)
			return Effect{rm, std::nullopt};
		bool shift = op == 0xc1 || op == 0xd1;
		if (!shift && sub == 7)
			return std::nullopt;  // cmp writes nothing
		if (!v[rm] || (v[rm]->base && (shift || !w || (sub != 0 && sub != 5))))
			return Effect{rm, std::nullopt};
		uint64_t a = v[rm]->v, out;
		if (shift) {
			unsigned n = (op == 0xd1 ? 1 : p[i]) & (w ? 63 : 31);
			a &= width;
			if (sub == 4 || sub == 6)
				out = a << n;
			else if (sub == 5)
				out = a >> n;
			else if (sub == 7)
				out = w ? uint64_t(int64_t(a) >> n)
					: uint64_t(uint32_t(int32_t(uint32_t(a)) >> n));
			else
				return Effect{rm, std::nullopt};  // rotates
		} else {
			uint64_t imm = uint64_t(sign_extend(load_le(p + i, imm_len), 8 * imm_len));
			switch (sub) {
			case 0: out = a + imm; break;
			case 1: out = a | imm; break;
			case 4: out = a & imm; break;
			case 5: out = a - imm; break;
			case 6: out = a ^ imm; break;
			default: return Effect{rm, std::nullopt};  // adc, sbb
			}
		}
		return Effect{rm, Val{v[rm]->base ? out : out & width, v[rm]->base}};
	}
	if ((op == 0x89 || op == 0x8b) && mod == 3) {  // mov %r, %r
		unsigned dst = op == 0x89 ? rm : reg, src = op == 0x89 ? reg : rm;
		if (!tracked_gpr(dst))
			return std::nullopt;
		if (src == 5 && w && fc.fp_set)
			return Effect{dst, framed(0)};
		if (tracked_gpr(src) && v[src] && (w || !v[src]->base))
			return Effect{dst, Val{v[src]->base ? v[src]->v : v[src]->v & width,
					       v[src]->base}};
		return Effect{dst, std::nullopt};
	}
	return std::nullopt;
}

// x86_64 doubles in xmm registers, and the frame slots they are spilled
// to. gcc -O1+ loads a floating-point constant from .rodata once (movsd
// .LC0(%rip), %xmm7) and, when it must survive a call, spills it to a
// frame slot (movsd %xmm7, -0x318(%rbp)) that no variable describes: the
// slot then holds that constant at the call, which the converter writes.
// xmm0-15 are bits kXmmBit + n of Values; every call clobbers them.

// Whether an instruction that accesses memory through rbp or rsp only
// reads it: the loads and compares gcc uses on spill slots. Anything else
// may write the slot (`add %eax, -8(%rbp)`, setcc, cmpxchg...).
bool pure_load_x86_64(unsigned map, uint8_t op, unsigned reg, bool rep)
{
	if (map == 0) {
		switch (op) {
		case 0x8b: case 0x8a: case 0x63: case 0x85: case 0x84:
		case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x69: case 0x6b:
			return true;
		case 0x80: case 0x81: case 0x83:
			return (reg & 7) == 7;  // cmp $imm
		case 0xf6: case 0xf7:
			return (reg & 7) == 0 || (reg & 7) >= 4;  // test $imm, mul, div
		}
		return false;
	}
	if (map != 1)
		return false;
	if (op >= 0x40 && op <= 0x4f)  // cmov
		return true;
	switch (op) {
	case 0x10: case 0x12: case 0x16: case 0x28: case 0x2a: case 0x2c: case 0x2d:
	case 0x2e: case 0x2f: case 0x51: case 0x54: case 0x55: case 0x56: case 0x57:
	case 0x58: case 0x59: case 0x5a: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
	case 0x6e: case 0x6f: case 0xaf: case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		return true;
	case 0x7e:
		return rep;  // F3 0F 7E: movq m64 -> xmm
	}
	return false;
}

// Its effect on xmm0-15 (bits kXmmBit + n of V) and on the frame slots.
// Conservative: an SSE instruction not followed below forgets its
// destination, a write through rbp or rsp that is not a known store
// forgets the slots near it, and what cannot be bounded forgets them all.
std::optional<Effect> sse_and_slots_x86_64(const Insn &in, const uint8_t *p,
					   const ReadOnlyWord &read_only, FrameContext fc,
					   int64_t sp_to_fp, const VariableMemory *variables,
					   Values &v, Slots &slots)
{
	auto forget_xmm = [&] {
		for (unsigned n = 0; n < 16; n++)
			v[kXmmBit + n].reset();
	};
	if (in.flow == Insn::Flow::call || in.flow == Insn::Flow::call_indirect) {
		forget_xmm();
		return std::nullopt;
	}
	const unsigned len = in.length;
	const X86Prefixes px = x86_prefixes(p, len);
	unsigned i = px.next;
	const bool opsize = px.opsize, rep = px.rep, repne = px.repne;
	const uint8_t rex = px.rex;
	if (i >= len)
		return std::nullopt;
	uint8_t op = p[i++];
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {  // VEX, EVEX: not in the baseline
		forget_xmm();
		slots.clear();
		return std::nullopt;
	}
	if (op >= 0x50 && op <= 0x57) {  // push in the body moves sp
		slots.clear();
		return std::nullopt;
	}
	unsigned map = 0;
	if (op == 0x0f) {
		if (i >= len)
			return std::nullopt;
		op = p[i++];
		map = 1;
		if (op == 0x38 || op == 0x3a) {
			map = op == 0x38 ? 2 : 3;
			if (i >= len)
				return std::nullopt;
			op = p[i++];
		}
	}
	if ((map == 0 && !has_modrm_x86_64(op)) || (map == 1 && !has_modrm_x86_64_0f(op)))
		return std::nullopt;
	if (i >= len) {
		if (map)
			forget_xmm();
		return std::nullopt;
	}
	uint8_t modrm = p[i++];
	unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0),
		 rm = (modrm & 7) | ((rex & 1) ? 8 : 0);
	// The memory operand: rip + disp, fp + at (through rbp or rsp), or
	// elsewhere (another base, or an index: not a spill slot).
	std::optional<uint64_t> rip;
	std::optional<int64_t> at;
	bool indexed_frame = false, indexed_array = false;
	if (mod != 3) {
		int base = -1;
		bool index = false;
		if ((modrm & 7) == 4) {
			if (i >= len)
				return std::nullopt;
			uint8_t sib = p[i++];
			index = (((sib >> 3) & 7) | ((rex & 2) ? 8 : 0)) != 4;
			base = ((sib & 7) == 5 && mod == 0) ? -1 : int((sib & 7) | ((rex & 1) ? 8 : 0));
		} else if ((modrm & 7) == 5 && mod == 0) {
			if (i + 4 <= len)
				rip = in.address + len + uint64_t(sign_extend(load_le(p + i, 4), 32));
		} else {
			base = int(rm);
		}
		int64_t disp = 0;
		if (mod == 1 && i < len)
			disp = int8_t(p[i]);
		else if (mod == 2 && i + 4 <= len)
			disp = sign_extend(load_le(p + i, 4), 32);
		if (base == 5 && fc.fp_set)
			at = disp;
		else if (base == 4 && fc.sp_is_fp)
			at = disp + sp_to_fp;
		if ((base == 5 || base == 4) && (index || !at))
			indexed_frame = true;
		indexed_array = index && at;
	}
	// A general register spilled to a frame slot and reloaded (REX.W 89
	// and 8B): gcc spills a callee-saved register that holds a constant
	// around a cold call (CG's main: r12 around its loop point's call).
	// The reload's value is the caller's to set after the instruction's
	// own writes.
	if (map == 0 && (rex & 8) && at && (op == 0x89 || op == 0x8b)) {
		if (op == 0x89) {
			set_slot(slots, *at, tracked_gpr(reg) ? v[reg] : std::nullopt);
			return std::nullopt;
		}
		auto it = slots.find(*at);
		if (!tracked_gpr(reg) || it == slots.end())
			return std::nullopt;
		return Effect{reg, it->second};
	}
	auto xmm = [&](unsigned n) -> std::optional<Val> & { return v[kXmmBit + n]; };
	// movsd: F2 0F 10 loads, F2 0F 11 stores; movq F3 0F 7E loads, 66 0F D6
	// stores; movapd/movaps 0F 28 copies a register.
	if (map == 1 && op == 0x10 && repne) {
		if (mod == 3)
			xmm(reg) = xmm(rm);
		else if (auto word = rip ? read_only(*rip, 8) : std::nullopt)
			xmm(reg) = konst(*word);
		else if (at && slots.count(*at))
			xmm(reg) = slots[*at];
		else
			xmm(reg).reset();
		return std::nullopt;
	}
	if (map == 1 && ((op == 0x11 && repne) || (op == 0xd6 && opsize))) {
		if (mod == 3)
			xmm(rm) = xmm(reg);
		else if (indexed_array)
			forget_variable_slots(slots, variables);
		else if (at)
			set_slot(slots, *at, xmm(reg));
		else if (indexed_frame)
			slots.clear();
		return std::nullopt;
	}
	if (map == 1 && op == 0x28 && mod == 3) {
		xmm(reg) = xmm(rm);
		return std::nullopt;
	}
	// movq between an xmm and a general register (66 REX.W 0F 6E/7E):
	// 7E writes the general register (effect_x86_64 follows it).
	if (map == 1 && opsize && mod == 3 && (rex & 8) && (op == 0x6e || op == 0x7e)) {
		if (op == 0x6e)
			xmm(reg) = tracked_gpr(rm) ? v[rm] : std::nullopt;
		return std::nullopt;
	}
	if (map == 1 && op == 0xae && mod != 3) {  // fxsave, xsave...: hundreds of bytes
		slots.clear();
		return std::nullopt;
	}
	// SSE writes its ModRM reg operand, but for the store forms, which
	// write the r/m operand (an xmm register when mod is 3).
	if (map == 1 && mod == 3 && (op == 0x11 || op == 0x29 || op == 0x7f || op == 0xd6))
		xmm(rm).reset();
	else if (map)
		xmm(reg).reset();
	if (mod == 3 || pure_load_x86_64(map, op, reg, rep))
		return std::nullopt;
	if (indexed_array) {
		forget_variable_slots(slots, variables);
	} else if (indexed_frame) {
		slots.clear();
	} else if (at) {
		forget_slots(slots, *at, 16);  // the widest baseline store
	}
	return std::nullopt;
}

// aarch64 stores to the frame: str/stp of 64-bit registers through fp or
// sp with an immediate offset set slots; any other store through fp or sp
// (other sizes, register offsets, writeback) forgets them all. Stores
// through other registers do not reach a spill slot (nothing takes its
// address).
void slot_effect_aarch64(const Insn &in, const Values &v, FrameContext fc, int64_t sp_to_fp,
			 Slots &slots)
{
	uint32_t x = in.raw;
	if ((x & 0x0a000000) != 0x08000000)
		return;  // not a load or store
	unsigned rn = (x >> 5) & 31;
	if (rn != 29 && rn != 31)
		return;
	bool load = false;
	if ((x & 0x3a000000) == 0x28000000)
		load = (x >> 22) & 1;
	else if ((x & 0x3b000000) == 0x39000000 || (x & 0x3b200000) == 0x38000000 ||
		 (x & 0x3b200c00) == 0x38200800)
		load = ((x >> 22) & 3) != 0;
	if (load)
		return;
	auto value_of = [&](unsigned t) -> std::optional<Val> {
		if (t == 31)
			return Val{0, kConstant};  // xzr
		if (t <= 28 && v[t])
			return v[t];
		return std::nullopt;
	};
	auto base = [&](int64_t imm) -> std::optional<int64_t> {
		if (rn == 29)
			return fc.fp_set ? std::optional<int64_t>(imm) : std::nullopt;
		return fc.sp_is_fp ? std::optional<int64_t>(imm + sp_to_fp) : std::nullopt;
	};
	// A store where the frame is not known forgets every slot.
	auto set = [&](std::optional<int64_t> at, std::optional<Val> val) {
		if (at)
			set_slot(slots, *at, val);
		else
			slots.clear();
	};
	auto forget = [&](std::optional<int64_t> at, int64_t size) {
		if (at)
			forget_slots(slots, *at, size);
		else
			slots.clear();
	};
	bool vec = (x >> 26) & 1;
	if ((x & 0xffc00000) == 0xf9000000) {  // str xT, [xN, #imm]
		set(base(int64_t((x >> 10) & 0xfff) * 8), value_of(x & 31));
		return;
	}
	if ((x & 0xffc00000) == 0xa9000000) {  // stp xT1, xT2, [xN, #imm]
		int64_t imm = int64_t(int32_t(x << 10) >> 25) * 8;
		auto at = base(imm);
		set(at, value_of(x & 31));
		set(at ? std::optional<int64_t>(*at + 8) : std::nullopt, value_of((x >> 10) & 31));
		return;
	}
	if ((x & 0x3b000000) == 0x39000000) {  // other stores, unsigned offset
		unsigned sz = x >> 30, opc = (x >> 22) & 3;
		int64_t size = (vec && opc >= 2) ? 16 : int64_t(1) << sz;
		forget(base(int64_t((x >> 10) & 0xfff) * size), size);
		return;
	}
	if ((x & 0x3a000000) == 0x28000000 && ((x >> 23) & 3) == 2) {  // other pairs
		unsigned opc = x >> 30;
		int64_t size = vec ? int64_t(4) << opc : (opc >= 2 ? 8 : 4);
		forget(base(int64_t(int32_t(x << 10) >> 25) * size), 2 * size);
		return;
	}
	if ((x & 0x3b200c00) == 0x38000000) {  // stur
		unsigned sz = x >> 30, opc = (x >> 22) & 3;
		int64_t size = (vec && opc >= 2) ? 16 : int64_t(1) << sz;
		forget(base(int64_t(int32_t(x << 11) >> 23)), size);
		return;
	}
	slots.clear();
}

// aarch64 reloads from the frame: ldr xT and ldp xT1, xT2 through fp or sp
// with an immediate offset, from slots known to hold a value. gcc spills a
// register that holds a constant around a call and reloads it after (FT's
// fft_line: the address of __hetmig_pending around a loop point, and
// through a pair around __muldc3). Up to two registers; the caller sets
// them after the instruction's own writes.
std::vector<Effect> reloads_aarch64(const Insn &in, FrameContext fc, int64_t sp_to_fp,
				    const Slots &slots)
{
	uint32_t x = in.raw;
	unsigned rn = (x >> 5) & 31;
	std::vector<Effect> out;
	if (rn != 29 && rn != 31)
		return out;
	std::optional<int64_t> base;
	if (rn == 29 && fc.fp_set)
		base = 0;
	else if (rn == 31 && fc.sp_is_fp)
		base = sp_to_fp;
	if (!base)
		return out;
	auto reload = [&](unsigned t, int64_t at) {
		auto it = slots.find(at);
		if (tracked_x(t) && it != slots.end())
			out.push_back(Effect{t, it->second});
	};
	if ((x & 0xffc00000) == 0xf9400000) {  // ldr xT, [xN, #imm]
		reload(x & 31, *base + int64_t((x >> 10) & 0xfff) * 8);
	} else if ((x & 0xffc00000) == 0xa9400000) {  // ldp xT1, xT2, [xN, #imm]
		int64_t at = *base + int64_t(int32_t(x << 10) >> 25) * 8;
		if ((x & 31) != ((x >> 10) & 31)) {
			reload(x & 31, at);
			reload((x >> 10) & 31, at + 8);
		}
	}
	return out;
}

// Whether instruction P, which writes register R (a bit of Values),
// writes it as a 32-bit value the ISA zero-extends: then a 32-bit
// comparison of R with an immediate gives the whole register.
bool writes_zero_extended(Isa isa, const Insn &in, const std::vector<uint8_t> &code,
			  uint64_t low, unsigned r)
{
	if (isa == Isa::aarch64) {
		uint32_t x = in.raw;
		bool sf = x >> 31;
		if ((x & 31) != r)
			return false;
		// Data processing, immediate (not adr/adrp) and register: sf 0
		// writes wN, whose upper half the ISA clears.
		if (((x >> 26) & 7) == 4 && ((x >> 24) & 0x1f) != 0x10)
			return !sf;
		if (((x >> 25) & 7) == 5)
			return !sf;
		// ldrb, ldrh, ldr wT: unsigned offset, unscaled, pre/post-indexed
		// and register offset (a writeback writes Rn, not checked here).
		unsigned size = x >> 30;
		if ((x & 0x3fc00000) == 0x39400000 || (x & 0x3fe00000) == 0x38400000 ||
		    (x & 0x3fe00c00) == 0x38600800)
			return size != 3;
		return false;
	}
	size_t off = size_t(in.address - low), i = 0, len = in.length;
	if (off + len > code.size())
		return false;
	const uint8_t *p = code.data() + off;
	uint8_t rex = 0;
	if (len && (p[0] & 0xf0) == 0x40)
		rex = p[i++];
	if (i + 1 >= len)
		return false;
	bool w = rex & 8;
	uint8_t op = p[i++];
	if (op >= 0xb8 && op <= 0xbf)  // mov $imm32, %r32
		return !w && ((op & 7) | ((rex & 1) ? 8 : 0)) == r;
	unsigned reg = ((p[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	if (op == 0x8b)  // mov r/m32, %r32
		return !w && reg == r;
	if (op == 0x0f && i + 1 < len && (p[i] == 0xb6 || p[i] == 0xb7))  // movzb, movzw
		return (((p[i + 1] >> 3) & 7) | ((rex & 4) ? 8 : 0)) == r;
	return false;
}

// What a conditional branch tells on one of its edges: register BIT holds
// VALUE on the edge to the target (ON_TARGET) or on the fall-through.
struct EdgeFact {
	unsigned bit;
	uint64_t value;
	bool on_target;
};

// gcc uses a register that a comparison has shown equal to a constant in
// place of the constant: expr.c's parse_factor on aarch64 tests `cmp w20,
// #4; b.eq` and, two calls later, passes T_MINUS as `mov w0, w20`, where
// x86_64 passes $4. Without the fact the register holds an unknown value
// across the calls, live on one ISA only. Recognized: cmp/cmn #imm with
// b.eq or b.ne, cbz/cbnz on aarch64; cmp $imm or test %r, %r with je or jne
// on x86_64; callee-saved registers only. A 32-bit comparison tells the
// whole register only if its last write, on the one path that reaches the
// comparison, zero-extended (PRED: each instruction's only predecessor, or
// none).
std::optional<EdgeFact> branch_fact(Isa isa, const std::vector<Insn> &insns,
				    const std::vector<uint8_t> &code, uint64_t low, size_t k,
				    const std::vector<std::optional<size_t>> &pred)
{
	const Insn &br = insns[k];
	if (br.flow != Insn::Flow::cond_jump)
		return std::nullopt;
	std::optional<unsigned> reg;
	uint64_t value = 0;
	bool wide = false, on_target = false;
	auto narrow_before = [&](size_t at, unsigned r) {
		// The last write of r on the single path into instruction AT.
		for (unsigned steps = 0; steps < 64 && pred[at]; steps++) {
			at = *pred[at];
			if (insns[at].defs & (uint64_t(1) << r))
				return writes_zero_extended(isa, insns[at], code, low, r);
		}
		return false;
	};
	if (isa == Isa::aarch64) {
		uint32_t x = br.raw;
		if ((x & 0x7e000000) == 0x34000000) {  // cbz, cbnz
			reg = x & 31;
			wide = x >> 31;
			on_target = !((x >> 24) & 1);
		} else if ((x & 0xff00001e) == 0x54000000 && k > 0 && pred[k] == k - 1) {
			uint32_t c = insns[k - 1].raw;  // b.eq, b.ne after cmp/cmn
			bool cmp = (c & 0x7f80001f) == 0x7100001f, cmn = (c & 0x7f80001f) == 0x3100001f;
			if (!cmp && !cmn)
				return std::nullopt;
			uint64_t imm = uint64_t((c >> 10) & 0xfff) << (((c >> 22) & 1) ? 12 : 0);
			reg = (c >> 5) & 31;
			wide = c >> 31;
			value = cmn ? uint64_t(0) - imm : imm;
			on_target = (x & 1) == 0;
		}
		if (!reg || !tracked_x(*reg) || *reg < 19 || *reg > 28)
			return std::nullopt;
	} else {
		size_t off = size_t(br.address - low);
		if (off + br.length > code.size() || k == 0 || pred[k] != k - 1)
			return std::nullopt;
		const uint8_t *b = code.data() + off;
		uint8_t cc = br.length == 2 ? b[0] : (br.length == 6 && b[0] == 0x0f ? b[1] - 0x10 : 0);
		if (cc != 0x74 && cc != 0x75)  // je, jne
			return std::nullopt;
		on_target = cc == 0x74;
		const Insn &c = insns[k - 1];
		size_t coff = size_t(c.address - low), i = 0, len = c.length;
		if (coff + len > code.size())
			return std::nullopt;
		const uint8_t *p = code.data() + coff;
		uint8_t rex = 0;
		if (len && (p[0] & 0xf0) == 0x40)
			rex = p[i++];
		if (i + 2 > len)
			return std::nullopt;
		uint8_t op = p[i], modrm = p[i + 1];
		unsigned rm = (modrm & 7) | ((rex & 1) ? 8 : 0);
		unsigned r = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
		wide = rex & 8;
		if ((modrm >> 6) != 3)
			return std::nullopt;
		if (op == 0x83 && ((modrm >> 3) & 7) == 7 && i + 3 == len)  // cmp $imm8
			value = uint64_t(sign_extend(p[i + 2], 8));
		else if (op == 0x81 && ((modrm >> 3) & 7) == 7 && i + 6 == len)  // cmp $imm32
			value = uint64_t(sign_extend(load_le(p + i + 2, 4), 32));
		else if (op == 0x85 && r == rm && i + 2 == len)  // test %r, %r
			value = 0;
		else
			return std::nullopt;
		reg = rm;
		if (!tracked_bit(isa, *reg))
			return std::nullopt;
	}
	if (!wide) {
		if (!narrow_before(isa == Isa::aarch64 && (br.raw & 0x7e000000) == 0x34000000 ? k : k - 1,
				   *reg))
			return std::nullopt;
		value &= 0xffffffffu;
	}
	return EdgeFact{*reg, value, on_target};
}

// Keeps in A what B agrees on; false if nothing changed.
bool join(Values &a, bool &a_reached, const Values &b)
{
	if (!a_reached) {
		a = b;
		a_reached = true;
		return true;
	}
	bool changed = false;
	for (size_t r = 0; r < a.size(); r++)
		if (a[r] && (!b[r] || *b[r] != *a[r])) {
			a[r].reset();
			changed = true;
		}
	return changed;
}

} // namespace

void compute_constant_registers(Isa isa, const std::vector<Insn> &insns,
				const std::vector<uint8_t> &code, uint64_t low,
				const ReadOnlyWord &read_only, Function &f)
{
	size_t n = insns.size();
	if (!n)
		return;
	auto succ = successors(insns, calls_that_do_not_return(f));
	// Each instruction's predecessor when it has exactly one.
	std::vector<std::optional<size_t>> pred(n);
	{
		std::vector<unsigned> count(n, 0);
		for (size_t k = 0; k < n; k++)
			for (size_t s : succ[k])
				if (count[s]++ == 0)
					pred[s] = k;
		for (size_t k = 0; k < n; k++)
			if (count[k] != 1)
				pred[k].reset();
	}
	std::vector<Values> in_state(n);
	std::vector<Slots> in_slots(n);
	int64_t sp_to_fp = int64_t(f.frame.cfa_minus_fp) - int64_t(f.frame.cfa_minus_sp);
	std::vector<bool> reached(n, false);
	reached[0] = true;  // at entry nothing is known
	std::vector<size_t> work{0};
	// Slot kFpSet: the frame pointer has been set up on every path here
	// (the decoder does not track fp itself; the epilogue that restores
	// it leads to a return, not to a call).
	const unsigned kFpSet = 63;
	auto sets_fp = [&](const Insn &in) {
		if (isa == Isa::aarch64)
			return (in.raw & 0xffc003ff) == 0x910003fd;  // mov/add x29, sp(, #imm)
		size_t off = size_t(in.address - low);
		return in.length == 3 && off + 3 <= code.size() && code[off] == 0x48 &&
		       ((code[off + 1] == 0x89 && code[off + 2] == 0xe5) ||
			(code[off + 1] == 0x8b && code[off + 2] == 0xec));  // mov %rsp, %rbp
	};
	bool sp_is_fp = f.frame.known && !f.frame.dynamic &&
			f.frame.cfa_minus_sp == f.frame.cfa_minus_fp;
	std::optional<VariableMemory> variables;
	if (f.variable_memory && f.frame.known) {
		variables.emplace();
		for (const auto &[lo, hi] : *f.variable_memory)
			variables->push_back({lo + int64_t(f.frame.cfa_minus_fp),
					      hi + int64_t(f.frame.cfa_minus_fp)});
	}
	while (!work.empty()) {
		size_t k = work.back();
		work.pop_back();
		Values out = in_state[k];
		Slots out_slots = in_slots[k];
		const Insn &in = insns[k];
		FrameContext fc;
		fc.fp_set = out[kFpSet].has_value();
		fc.sp_is_fp = fc.fp_set && sp_is_fp;
		std::optional<Effect> e;
		std::vector<Effect> reloads;
		if (isa == Isa::aarch64) {
			reloads = reloads_aarch64(in, fc, sp_to_fp, out_slots);
			slot_effect_aarch64(in, out, fc, sp_to_fp, out_slots);
			e = effect_aarch64(in, out, fc, read_only);
		} else {
			size_t off = size_t(in.address - low);
			if (off + in.length <= code.size()) {
				auto reload = sse_and_slots_x86_64(
					in, code.data() + off, read_only, fc, sp_to_fp,
					variables ? &*variables : nullptr, out, out_slots);
				e = effect_x86_64(in, code.data() + off, out, fc, read_only);
				if (!e)
					e = reload;
			} else {
				out_slots.clear();
			}
			if (!e)
				for (unsigned r : kScratchGprs)
					out[r].reset();
		}
		for (unsigned bit = 0; bit < 64; bit++)
			if (in.defs & (uint64_t(1) << bit))
				out[bit].reset();
		// A call clobbers x0-x18 (the decoder records them only as
		// registers the code itself writes).
		if (isa == Isa::aarch64 &&
		    (in.flow == Insn::Flow::call || in.flow == Insn::Flow::call_indirect))
			for (unsigned bit = 0; bit <= 18; bit++)
				out[bit].reset();
		if (e)
			out[e->bit] = e->value;
		for (const Effect &r : reloads)
			out[r.bit] = r.value;
		if (sets_fp(in))
			out[kFpSet] = konst(1);
		auto fact = branch_fact(isa, insns, code, low, k, pred);
		for (size_t s : succ[k]) {
			bool r = reached[s];
			Values edge = out;
			if (fact && insns[k].target != insns[k].address + insns[k].length &&
			    (s != k + 1) == fact->on_target)
				edge[fact->bit] = konst(fact->value);
			bool changed = join(in_state[s], r, edge);
			if (!reached[s]) {
				in_slots[s] = out_slots;
			} else {
				for (auto it = in_slots[s].begin(); it != in_slots[s].end();) {
					auto o = out_slots.find(it->first);
					if (o == out_slots.end() || o->second != it->second) {
						it = in_slots[s].erase(it);
						changed = true;
					} else {
						++it;
					}
				}
			}
			if (changed || !reached[s]) {
				reached[s] = r;
				work.push_back(s);
			}
		}
	}

	for (auto &c : f.calls) {
		auto at = insn_at(insns, c.call_address);
		if (!at || !reached[*at])
			continue;
		size_t k = *at;
		for (unsigned r : c.live_registers) {
			auto bit = tracked_bit(isa, r);
			if (!bit || !in_state[k][*bit])
				continue;
			const Val &val = *in_state[k][*bit];
			if (val.base == kFrame)
				c.frame_registers.push_back({r, int64_t(val.v)});
			else if (val.base == kThread)
				c.thread_registers.push_back({r, int64_t(val.v)});
			else
				c.constant_registers.push_back({r, val.v});
		}
		for (const auto &[lo, hi] : c.live_slots) {
			auto it = in_slots[k].find(lo);
			if (hi - lo != 8 || it == in_slots[k].end())
				continue;
			if (it->second.base == kFrame)
				c.frame_address_slots.push_back({lo, int64_t(it->second.v)});
			else if (it->second.base == kConstant)
				c.constant_slots.push_back({lo, it->second.v});
		}
	}
}

} // namespace hetmig::program

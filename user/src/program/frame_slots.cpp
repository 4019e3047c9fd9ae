// SPDX-License-Identifier: GPL-2.0
// Frame slots that hold nothing the code needs after a call: on every path
// from the call's return, the first access to the slot through the frame
// pointer or the stack pointer stores all of it, or the function returns
// first. gcc -O1+ keeps spilled values in such slots; at a call the plugin
// saves around (tools/hetmig_cc/plugin, "Saved values"), the register
// allocator's slot for a value merged at a loop's head still holds the
// last iteration's copy, and the reload after the call overwrites it.
// DWARF may still place a variable there; the variable is dead at the call
// (CallSite::dead_slots), as one in a register the code never reads again
// is (CallSite::dead_registers).
//
// Accesses through other registers are not looked at: a slot the register
// allocator spills to, or a variable whose address the code never takes,
// is reached through fp or sp only; a variable whose address escapes is in
// memory on both builds at a call, never dead on one side only. An access
// the scanner does not understand (a register index, an unknown size, sp
// moved in the body) makes the slot live.
#include <algorithm>
#include <optional>
#include <map>
#include <set>

#include "impl.h"

namespace hetmig::program {

bool has_modrm_x86_64(uint8_t op)
{
	if (op < 0x40)
		return (op & 7) < 4;  // ALU r/m forms; 4, 5 are al/eax imm
	if ((op >= 0x50 && op <= 0x5f) || (op >= 0x70 && op <= 0x7f) ||
	    (op >= 0x90 && op <= 0x9f) || (op >= 0xb0 && op <= 0xbf) ||
	    (op >= 0xa0 && op <= 0xaf) || (op >= 0xe0 && op <= 0xef) || (op >= 0xc8 && op <= 0xcf))
		return false;
	switch (op) {
	case 0x68: case 0x6a: case 0xc2: case 0xc3: case 0xf4: case 0xf5: case 0xf8: case 0xf9:
	case 0xfa: case 0xfb: case 0xfc: case 0xfd:
		return false;
	}
	return true;
}

bool has_modrm_x86_64_0f(uint8_t op)
{
	// jcc rel32 above all: its displacement, read as a ModRM byte, made
	// CG's `je` at -O2 "read" a spill slot (rbp-1488) the site had not
	// written, and the site was refused.
	if ((op >= 0x80 && op <= 0x8f) || (op >= 0x30 && op <= 0x37) || (op >= 0xc8 && op <= 0xcf))
		return false;
	switch (op) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e:
	case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
		return false;
	}
	return true;
}

X86Prefixes x86_prefixes(const uint8_t *p, unsigned len)
{
	X86Prefixes x;
	unsigned &i = x.next;
	for (; i < len; i++) {
		uint8_t b = p[i];
		if (b == 0x66)
			x.opsize = true;
		else if (b == 0xf3)
			x.rep = true;
		else if (b == 0xf2)
			x.repne = true;
		else if (!(b == 0x2e || b == 0x3e || b == 0x26 || b == 0x36 || b == 0x64 ||
			   b == 0x65 || b == 0x67 || b == 0xf0))
			break;
	}
	if (i < len && (p[i] & 0xf0) == 0x40)
		x.rex = p[i++];
	return x;
}

namespace {

struct Access {
	int64_t lo = 0, hi = 0;  // fp-relative bytes [lo, hi)
	bool store = false;      // writes all of [lo, hi) and reads nothing of it
};

// What one instruction does to the frame, besides control flow.
struct Effect {
	std::vector<Access> accesses;
	// The instruction computes a frame address (lea -N(%rbp), add x1,
	// sp, #N): the slot there may be read through that pointer later.
	std::optional<int64_t> addressed;
	bool addressed_unknown = false;  // a frame address with an index
	bool unknown = false;    // a frame access the scanner cannot bound: live
	// The unknown access is a push or a pre-indexed store through sp: it
	// writes below sp (the prologue's saves, outgoing arguments), never a
	// slot the function stores to through fp or sp otherwise.
	bool pushes = false;
	bool frame_gone = false; // the epilogue: no slot is read after it
};

// x86_64 ---------------------------------------------------------------

Effect x86_effect(const uint8_t *p, unsigned len, int64_t sp_to_fp)
{
	Effect e;
	const X86Prefixes px = x86_prefixes(p, len);
	unsigned i = px.next;
	const bool opsize = px.opsize, rep = px.rep, repne = px.repne;
	const uint8_t rex = px.rex;
	if (i >= len)
		return e;
	if (p[i] == 0xc4 || p[i] == 0xc5) {  // VEX: not in hetmig-cc's baseline
		e.unknown = true;
		return e;
	}
	uint8_t op = p[i++];
	unsigned map = 0;
	uint8_t op2 = 0;
	if (op == 0x0f) {
		if (i >= len)
			return e;
		op2 = p[i++];
		map = 1;
		if (op2 == 0x38 || op2 == 0x3a) {
			if (i >= len)
				return e;
			op2 = p[i++];
			map = 2;
		}
	}
	if (map == 0) {
		if (op == 0xc9 || op == 0x5d) {  // leave, pop %rbp: the epilogue
			e.frame_gone = true;
			return e;
		}
		if (op >= 0x58 && op <= 0x5f) {  // pop: the epilogue's restores
			e.frame_gone = true;
			return e;
		}
		if (op >= 0x50 && op <= 0x57) {  // push moves sp in the body
			e.unknown = e.pushes = true;
			return e;
		}
		if (!has_modrm_x86_64(op))
			return e;
	}
	if (map == 1 && !has_modrm_x86_64_0f(op2))
		return e;
	if (i >= len)
		return e;
	uint8_t modrm = p[i++];
	unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0), rm = modrm & 7;
	// lea/add/sub writing rsp (the epilogue's lea -N(%rbp), %rsp or add $N, %rsp).
	if (map == 0 && ((op == 0x8d && reg == 4) ||
			 ((op == 0x81 || op == 0x83) && mod == 3 && rm == 4 && !(rex & 1)))) {
		e.frame_gone = true;
		return e;
	}
	if (mod == 3)
		return e;
	int base = -1;
	bool index = false;
	if (rm == 4) {
		if (i >= len)
			return e;
		uint8_t sib = p[i++];
		unsigned idx = ((sib >> 3) & 7) | ((rex & 2) ? 8 : 0), b = sib & 7;
		index = idx != 4;
		base = (b == 5 && mod == 0) ? -1 : int(b | ((rex & 1) ? 8 : 0));
	} else if (rm == 5 && mod == 0) {
		return e;  // rip-relative
	} else {
		base = int(rm | ((rex & 1) ? 8 : 0));
	}
	if (base != 5 && base != 4)
		return e;  // not through fp or sp
	int64_t disp = 0;
	if (mod == 1 && i < len)
		disp = int8_t(p[i]);
	else if (mod == 2 && i + 4 <= len)
		disp = int32_t(uint32_t(p[i]) | uint32_t(p[i + 1]) << 8 | uint32_t(p[i + 2]) << 16 |
			       uint32_t(p[i + 3]) << 24);
	int64_t at = disp + (base == 4 ? sp_to_fp : 0);
	// With an index it is an array's element (a slot of its own is never
	// indexed): a read of the object at the displacement, or its address.
	if (index) {
		if (map == 0 && op == 0x8d)
			e.addressed = at;
		else
			e.accesses.push_back({at, at + 1, false});
		return e;
	}
	unsigned size = 0;
	bool store = false;
	if (map == 0) {
		unsigned wide = (rex & 8) ? 8 : opsize ? 2 : 4;
		if (op == 0x88 || (op == 0xc6 && (reg & 7) == 0))
			store = true, size = 1;
		else if (op == 0x89 || (op == 0xc7 && (reg & 7) == 0))
			store = true, size = wide;
		else if (op == 0x8d) {
			e.addressed = at;  // lea computes, reads nothing
			return e;
		}
	} else if (map == 1) {
		if (op2 == 0x11)  // movups/movupd/movss/movsd store
			store = true, size = repne ? 8 : rep ? 4 : 16;
		else if (op2 == 0x29 || op2 == 0x7f)  // movaps/movapd, movdqa/movdqu
			store = true, size = 16;
		else if (op2 == 0xd6 && opsize)  // movq xmm -> m64
			store = true, size = 8;
		else if (op2 == 0x7e && opsize)  // movd/movq xmm -> r/m
			store = true, size = (rex & 8) ? 8 : 4;
	}
	if (store) {
		e.accesses.push_back({at, at + int64_t(size), true});
		return e;
	}
	// Any other access reads; its size, for the instructions gcc uses on
	// spill slots, else up to 32 bytes (nothing in the baseline reads
	// more; a wider guess only makes slots live).
	unsigned wide = (rex & 8) ? 8 : opsize ? 2 : 4;
	unsigned sse = repne ? 8 : rep ? 4 : 16;  // scalar double, scalar float, packed
	unsigned read = 32;
	if (map == 0) {
		// C0-C1, D0-D3: shifts and rotates in place (`sall -212(%rbp)`).
		if (op == 0x8b || op == 0x85 || op == 0x81 || op == 0x83 || op == 0xf7 ||
		    op == 0xff || op == 0x69 || op == 0x6b || (op < 0x40 && (op & 1)) ||
		    op == 0xc1 || op == 0xd1 || op == 0xd3)
			read = wide;
		else if (op == 0x8a || op == 0x84 || op == 0x80 || op == 0xf6 || op == 0xfe ||
			 op == 0xc0 || op == 0xd0 || op == 0xd2 || (op < 0x40 && !(op & 1)))
			read = 1;
		else if (op == 0x63)
			read = 4;
	} else if (map == 1) {
		if (op2 == 0xb6 || op2 == 0xbe)
			read = 1;
		else if (op2 == 0xb7 || op2 == 0xbf)
			read = 2;
		else if (op2 == 0xaf || (op2 >= 0x40 && op2 <= 0x4f))
			read = wide;
		else if (op2 == 0x10 || op2 == 0x51 || op2 == 0x58 || op2 == 0x59 ||
			 op2 == 0x5c || op2 == 0x5d || op2 == 0x5e || op2 == 0x5f)
			read = sse;
		else if (op2 == 0x28 || op2 == 0x6f || op2 == 0x54 || op2 == 0x57)
			read = 16;
		else if (op2 == 0x7e && rep)  // movq m64 -> xmm
			read = 8;
		else if (op2 == 0x6e || op2 == 0x2a)  // movd/movq, cvtsi2sd/ss
			read = (rex & 8) ? 8 : 4;
		else if (op2 == 0x2c || op2 == 0x2d || op2 == 0x5a)
			read = repne ? 8 : rep ? 4 : 16;
		else if (op2 == 0x2e || op2 == 0x2f)  // ucomis, comis
			read = opsize ? 8 : 4;
	}
	e.accesses.push_back({at, at + int64_t(read), false});
	return e;
}

// aarch64 --------------------------------------------------------------

Effect aarch64_effect(uint32_t x, int64_t sp_to_fp)
{
	Effect e;
	if (x == 0x910003bf) {  // mov sp, x29: the epilogue
		e.frame_gone = true;
		return e;
	}
	// add/sub xd, x29|sp, #imm: a frame address (not sp's own moves).
	if ((x & 0x9f000000) == 0x91000000 && (x & 31) != 31 && (x & 31) != 29) {
		unsigned n = (x >> 5) & 31;
		if (n == 29 || n == 31) {
			int64_t imm = int64_t((x >> 10) & 0xfff) << (((x >> 22) & 1) ? 12 : 0);
			if ((x >> 30) & 1)
				imm = -imm;
			e.addressed = imm + (n == 31 ? sp_to_fp : 0);
			return e;
		}
	}
	if ((x & 0xffffffe0) == 0xaa1d03e0) {
		// mov xd, x29 (orr xd, xzr, x29); mov xd, sp is add #0, above.
		e.addressed = 0;
		return e;
	}
	if ((x & 0x0a000000) != 0x08000000)
		return e;  // not a load or store
	unsigned rn = (x >> 5) & 31;
	bool v = (x >> 26) & 1;
	auto base_off = [&](int64_t imm) { return imm + (rn == 31 ? sp_to_fp : 0); };
	if ((x & 0x3a000000) == 0x28000000) {  // ldp/stp (and no-allocate pairs)
		if (rn != 29 && rn != 31)
			return e;
		unsigned opc = x >> 30, mode = (x >> 23) & 3;
		bool load = (x >> 22) & 1;
		unsigned size = v ? 4u << opc : (opc >= 2 ? 8 : 4);
		int64_t imm = int64_t(int32_t(x << 10) >> 25) * size;
		if (mode == 1 || mode == 3) {  // post/pre-index: moves the base
			if (rn == 31 && load && mode == 1)
				e.frame_gone = true;  // ldp x29, x30, [sp], #N
			else
				e.unknown = true, e.pushes = rn == 31 && !load && mode == 3;
			return e;
		}
		int64_t at = base_off(imm);
		// Two slots, one per register.
		e.accesses.push_back({at, at + int64_t(size), !load});
		e.accesses.push_back({at + int64_t(size), at + 2 * int64_t(size), !load});
		return e;
	}
	// A single register's load or store: its size and direction from
	// size, V and opc (128-bit for a q register).
	auto single = [&](int64_t imm_times_size, bool scaled, int64_t imm) {
		unsigned sz = x >> 30, opc = (x >> 22) & 3;
		unsigned size = 1u << sz;
		bool store = opc == 0;
		if (v) {
			if (opc >= 2)
				size = 16;
			store = (opc & 1) == 0;
		}
		int64_t at = base_off(scaled ? imm_times_size * size : imm);
		e.accesses.push_back({at, at + int64_t(size), store});
	};
	if ((x & 0x3b000000) == 0x39000000) {  // ldr/str (unsigned immediate)
		if (rn == 29 || rn == 31)
			single(int64_t((x >> 10) & 0xfff), true, 0);
		return e;
	}
	if ((x & 0x3b200000) == 0x38000000) {  // ldur/stur, pre/post-index
		if (rn != 29 && rn != 31)
			return e;
		unsigned mode = (x >> 10) & 3;
		if (mode == 1 || mode == 3)
			e.unknown = true;
		else
			single(0, false, int64_t(int32_t(x << 11) >> 23));
		return e;
	}
	// Register offsets (an array's element), SIMD structures, atomics: a
	// read of what is at the base, up to 64 bytes.
	if (rn == 29 || rn == 31) {
		int64_t at = base_off(0);
		e.accesses.push_back({at, at + 64, false});
	}
	return e;
}

} // namespace

void compute_dead_slots(Isa isa, const std::vector<Insn> &insns, const std::vector<uint8_t> &code,
			uint64_t low, Function &f)
{
	if (!f.frame.known || f.frame.dynamic || insns.empty())
		return;
	// sp + N is fp + (sp - fp) + N.
	int64_t sp_to_fp = int64_t(f.frame.cfa_minus_fp) - int64_t(f.frame.cfa_minus_sp);
	size_t n = insns.size();
	std::vector<Effect> effects(n);
	std::set<std::pair<int64_t, int64_t>> stores;
	std::vector<int64_t> addressed;
	for (size_t k = 0; k < n; k++) {
		const Insn &in = insns[k];
		size_t off = size_t(in.address - low);
		if (off + in.length > code.size())
			return;
		if (isa == Isa::x86_64) {
			effects[k] = x86_effect(code.data() + off, in.length, sp_to_fp);
		} else {
			effects[k] = aarch64_effect(in.raw, sp_to_fp);
		}
		for (const auto &a : effects[k].accesses)
			if (a.store)
				stores.insert({a.lo, a.hi});
		if (effects[k].addressed_unknown)
			return;  // a frame pointer with an index: any slot may be read
		if (effects[k].addressed)
			addressed.push_back(*effects[k].addressed);
	}
	// A slot whose address the code takes may be read through a pointer.
	auto taken = [&](int64_t lo, int64_t hi) {
		return std::any_of(addressed.begin(), addressed.end(),
				   [&](int64_t a) { return a >= lo && a < hi; });
	};
	// The hidden struct-return pointer's slot: stored from rdi / x8 before
	// the first call, stored to nowhere else.
	if (f.returns_in_memory) {
		std::optional<std::pair<size_t, int64_t>> found;
		for (size_t k = 0; k < n && !found; k++) {
			const Insn &in = insns[k];
			if (in.flow == Insn::Flow::call || in.flow == Insn::Flow::call_indirect)
				break;
			const uint8_t *b = code.data() + (in.address - low);
			if (isa == Isa::x86_64 && in.length >= 4 && b[0] == 0x48 && b[1] == 0x89 &&
			    (b[2] == 0x7d || b[2] == 0xbd)) {  // mov %rdi, disp(%rbp)
				int64_t disp = b[2] == 0x7d ? int64_t(int8_t(b[3]))
							     : int64_t(int32_t(uint32_t(b[3]) |
									       uint32_t(b[4]) << 8 |
									       uint32_t(b[5]) << 16 |
									       uint32_t(b[6]) << 24));
				found = std::make_pair(k, disp);
			}
			uint32_t x = in.raw;
			unsigned rn = (x >> 5) & 31;
			if (isa == Isa::aarch64 && (x & 0xffc0001f) == 0xf9000008 &&
			    (rn == 29 || rn == 31))  // str x8, [x29|sp, #imm]
				found = std::make_pair(k, int64_t((x >> 10) & 0xfff) * 8 +
							       (rn == 31 ? sp_to_fp : 0));
		}
		bool only = found.has_value();
		for (size_t k = 0; k < n && only; k++)
			for (const auto &a : effects[k].accesses)
				if (k != found->first && a.store && a.lo < found->second + 8 &&
				    found->second < a.hi)
					only = false;
		if (only)
			f.frame.return_buffer_slot = found->second;
		// aarch64: mov xR, x8 (R callee-saved) before the first call,
		// xR written by nothing else but the epilogue's restore.
		for (size_t k = 0; k < n && isa == Isa::aarch64 && !only; k++) {
			const Insn &in = insns[k];
			if (in.flow == Insn::Flow::call || in.flow == Insn::Flow::call_indirect)
				break;
			uint32_t x = in.raw;
			unsigned r = x & 31;
			if ((x & 0xffffffe0) != 0xaa0803e0 || r < 19 || r > 28)
				continue;
			bool alone = true;
			for (size_t j = 0; j < n && alone; j++) {
				if (j == k || !(insns[j].defs & (uint64_t(1) << r)))
					continue;
				// The epilogue's ldp/ldr of the caller's value.
				uint32_t y = insns[j].raw;
				bool restore = (y & 0x0a000000) == 0x08000000 && ((y >> 22) & 1) &&
					       (((y >> 5) & 31) == 31 || ((y >> 5) & 31) == 29);
				alone = restore && straight_to_return(insns, j);
			}
			if (alone)
				f.frame.return_buffer_register = r;
			break;
		}
	}
	auto succ = successors(insns, calls_that_do_not_return(f));
	std::vector<size_t> returns;  // each call's return instruction
	for (const auto &c : f.calls) {
		auto from = insn_at(insns, c.return_address);
		returns.push_back(from ? *from : n);
	}
	std::vector<uint64_t> live_in(n), written_in(n);
	const FrameLayout &fr = f.frame;
	for (const auto &[lo, hi] : stores) {
		if (taken(lo, hi)) {
			for (size_t i = 0; i < f.calls.size(); i++)
				if (returns[i] < n)
					f.calls[i].taken_slots.push_back({lo, hi});  // read through a pointer
			continue;
		}
		// The slot's bytes that some path from each instruction reads
		// before a store on it writes them again (a backward liveness
		// over the slot's bytes, one bit each): a load of bytes already
		// written again reads nothing of a call's time (FT's fft_line at
		// -O2 spills w2 to the first half of a slot that holds x3 across
		// another call). Slots wider than 64 bytes are one bit.
		const bool bytewise = hi - lo <= 64;
		auto bytes_of = [&](int64_t a, int64_t b) -> uint64_t {
			if (!bytewise)
				return 1;
			a = std::max(a, lo) - lo;
			b = std::min(b, hi) - lo;
			uint64_t top = b >= 64 ? ~uint64_t(0) : (uint64_t(1) << b) - 1;
			return top & ~((uint64_t(1) << a) - 1);
		};
		const uint64_t whole = bytes_of(lo, hi);
		std::fill(live_in.begin(), live_in.end(), 0);
		// Reverse order first reaches most fixed points in one pass;
		// loops take one more pass per nesting level.
		for (bool changed = true; changed;) {
			changed = false;
			for (size_t k = n; k-- > 0;) {
				const Effect &e = effects[k];
				uint64_t in = 0;
				if (e.unknown) {
					in = whole;
				} else if (!e.frame_gone) {
					uint64_t out = 0;
					// An indirect jump to nowhere known: anything may
					// be read after it.
					if (insns[k].flow == Insn::Flow::jump_indirect &&
					    insns[k].targets.empty())
						out = whole;
					// A jump out of the function (a tail call) has no
					// successor here: the frame is gone.
					for (size_t s : succ[k])
						out |= live_in[s];
					uint64_t read = 0, written = 0;
					for (const auto &a : e.accesses) {
						if (a.hi <= lo || a.lo >= hi)
							continue;
						if (!a.store)
							read |= bytes_of(a.lo, a.hi);
						else if (bytewise || (a.lo <= lo && a.hi >= hi))
							written |= bytes_of(a.lo, a.hi);
					}
					in = read | (out & ~written);
				}
				if (in != live_in[k]) {
					live_in[k] = in;
					changed = true;
				}
			}
		}
		// The slot's bytes that some path from the entry writes before
		// each instruction (a forward pass): a byte no path has written
		// at a call holds nothing of this function's there, whatever a
		// later path reads (gcc reuses a slot for values the function
		// computes later: CG's main at -O2 kept a bool and then a double
		// at rbp-776, "read" after its first sites on paths the program
		// never takes). Only the frame's own bytes: what lies above the
		// CFA is the caller's (arguments on the stack).
		std::fill(written_in.begin(), written_in.end(), 0);
		const bool own = fr.known && hi <= int64_t(fr.cfa_minus_fp);
		for (bool changed = own; changed;) {
			changed = false;
			for (size_t k = 0; k < n; k++) {
				const Effect &e = effects[k];
				uint64_t out = written_in[k];
				if (e.unknown && !e.pushes)
					out = whole;
				for (const auto &a : e.accesses)
					if (a.store && a.lo < hi && lo < a.hi)
						out |= bytes_of(a.lo, a.hi);
				for (size_t s : succ[k])
					if ((written_in[s] | out) != written_in[s]) {
						written_in[s] |= out;
						changed = true;
					}
			}
		}
		for (size_t i = 0; i < f.calls.size(); i++) {
			if (returns[i] >= n)
				continue;
			uint64_t maybe_written = own ? written_in[returns[i]] : whole;
			if (live_in[returns[i]] & whole & maybe_written)
				f.calls[i].live_slots.push_back({lo, hi});
			else
				f.calls[i].dead_slots.push_back({lo, hi});
		}
	}
}

} // namespace hetmig::program

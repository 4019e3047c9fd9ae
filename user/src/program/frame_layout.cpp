// SPDX-License-Identifier: GPL-2.0
// Frame layouts. gcc 12 prologues measured for hetmig-cc's flags
// (Documentation/heterogeneous.md, "Verifier"):
//   x86_64:  [endbr64] push %rbp; mov %rsp,%rbp; [push %rbx/%r12-%r15]...;
//            [sub $N,%rsp]  -> CFA = rbp + 16 everywhere after it.
//   aarch64: stp x29,x30,[sp,#-N]!; mov x29,sp             (N <= 512)
//            sub sp,sp,#N; stp x29,x30,[sp,#M]; add x29,sp,#M (outgoing
//            stack arguments)
//            mov x12,#N; sub sp,sp,x12; stp x29,x30,[sp]; mov x29,sp  and
//            sub sp,sp,#A; sub sp,sp,#B,lsl #12; ...        (large frames)
//            CFA = sp + N, or x29 + N with alloca/VLA.
// The CFI says where CFA, fp and the return address are; the prologue adds
// the register (sp or fp) the CFI does not use.
#include "frame_layout.h"

#include <algorithm>

namespace hetmig::program {

namespace {

constexpr unsigned kX86Rbp = 6, kX86Rsp = 7, kX86Ra = 16;
constexpr unsigned kArmFp = 29, kArmLr = 30, kArmSp = 31;

uint32_t word(const std::vector<uint8_t> &code, size_t off)
{
	return uint32_t(code[off]) | uint32_t(code[off + 1]) << 8 |
	       uint32_t(code[off + 2]) << 16 | uint32_t(code[off + 3]) << 24;
}

// push %rbp; mov %rsp,%rbp first; then, up to the first branch or call,
// pushes and a sub from %rsp, which gcc -O1+ interleaves with argument moves.
Prologue x86_prologue(const std::vector<Insn> &insns, const std::vector<uint8_t> &code,
		      uint64_t low)
{
	Prologue p;
	size_t k = 0;
	auto bytes = [&](size_t idx, std::initializer_list<uint8_t> b) {
		if (idx >= insns.size() || insns[idx].length != b.size())
			return false;
		return std::equal(b.begin(), b.end(), code.begin() + long(insns[idx].address - low));
	};
	if (bytes(k, {0xf3, 0x0f, 0x1e, 0xfa}))  // endbr64
		k++;
	if (!bytes(k, {0x55}))
		return p.why = "no push %rbp at entry", p;
	k++;
	while (k < insns.size() && insns[k].flow == Insn::Flow::next && !insns[k].push &&
	       !bytes(k, {0x48, 0x89, 0xe5}) && !bytes(k, {0x48, 0x8b, 0xec}))
		k++;  // an argument move scheduled before the frame pointer is set
	if (!bytes(k, {0x48, 0x89, 0xe5}) && !bytes(k, {0x48, 0x8b, 0xec}))
		return p.why = "no mov %rsp,%rbp after push %rbp", p;
	k++;
	uint64_t depth = 16;  // return address and saved rbp
	p.end = insns[k - 1].address + insns[k - 1].length;
	for (; k < insns.size() && insns[k].flow == Insn::Flow::next; k++) {
		const Insn &in = insns[k];
		const uint8_t *b = code.data() + (in.address - low);
		bool rexw = in.length >= 3 && b[0] == 0x48;
		if (in.push && (b[0] == 0x53 || (b[0] == 0x41 && b[1] >= 0x54 && b[1] <= 0x57))) {
			depth += 8;  // push %rbx, %r12-%r15
		} else if (rexw && b[1] == 0x83 && b[2] == 0xec && in.length == 4) {
			depth += b[3];  // sub $imm8,%rsp
		} else if (rexw && b[1] == 0x81 && b[2] == 0xec && in.length == 7) {
			depth += uint32_t(b[3]) | uint32_t(b[4]) << 8 | uint32_t(b[5]) << 16 |
				 uint32_t(b[6]) << 24;  // sub $imm32,%rsp
		} else if (rexw && b[1] == 0x83 && b[2] == 0xc4 && in.length == 4 && (b[3] & 0x80)) {
			// add $-128,%rsp: gcc's shorter form of sub $128 (imm8 is
			// signed, so +128 would take an imm32).
			depth += uint64_t(-int64_t(int8_t(b[3])));
		} else if (rexw && b[1] == 0x81 && b[2] == 0xc4 && in.length == 7 && (b[6] & 0x80)) {
			depth += uint64_t(-int64_t(int32_t(uint32_t(b[3]) | uint32_t(b[4]) << 8 |
							   uint32_t(b[5]) << 16 |
							   uint32_t(b[6]) << 24)));  // add $-imm32
		} else if (in.push) {
			break;  // pushing an argument: the frame is complete
		} else {
			continue;  // an argument move scheduled into the prologue
		}
		p.end = in.address + in.length;
	}
	p.decoded = true;
	p.cfa_minus_sp = depth;
	p.cfa_minus_fp = 16;
	p.saved_fp_at = -16;
	p.saved_ra_at = -8;
	return p;
}

Prologue arm_prologue(const std::vector<uint8_t> &code, uint64_t low)
{
	Prologue p;
	int64_t sp = 0;  // relative to the CFA (sp at entry)
	std::optional<int64_t> fp, fp_slot;
	int64_t scratch[32] = {};
	size_t end = 0;
	// gcc -O2 schedules argument moves among these: read up to the first
	// branch or call, skipping instructions that leave sp and x29 alone.
	for (size_t off = 0; off + 4 <= code.size(); off += 4) {
		uint32_t x = word(code, off);
		auto in = decode_aarch64(code.data() + off, 4, low + off);
		if (!in || in->flow != Insn::Flow::next)
			break;
		end = off + 4;
		if ((x & 0xff8003ff) == 0xd10003ff) {  // sub sp, sp, #imm{, lsl #12}
			int64_t imm = (x >> 10) & 0xfff;
			sp -= (x & (1u << 22)) ? imm << 12 : imm;
		} else if ((x & 0xff800000) == 0xd2800000) {  // movz xN, #imm{, lsl}
			scratch[x & 31] = int64_t((x >> 5) & 0xffff) << (16 * ((x >> 21) & 3));
		} else if ((x & 0xff800000) == 0xf2800000) {  // movk xN, #imm{, lsl}
			unsigned sh = 16 * ((x >> 21) & 3);
			scratch[x & 31] = (scratch[x & 31] & ~(int64_t(0xffff) << sh)) |
					  int64_t((x >> 5) & 0xffff) << sh;
		} else if ((x & 0xffe0ffff) == 0xcb2063ff) {  // sub sp, sp, xN (uxtx)
			sp -= scratch[(x >> 16) & 31];
		} else if ((x & 0xffc07fff) == 0xa9807bfd ||   // stp x29, x30, [sp, #i]!
			   (x & 0xffc07fff) == 0xa9007bfd) {   // stp x29, x30, [sp, #i]
			int64_t imm = (int64_t(int32_t(x << 10) >> 25)) * 8;
			if (x & (1u << 23)) {
				sp += imm;
				fp_slot = sp;
			} else {
				fp_slot = sp + imm;
			}
		} else if (x == 0x910003fd) {  // mov x29, sp
			fp = sp;
		} else if ((x & 0xffc003ff) == 0x910003fd) {  // add x29, sp, #imm
			fp = sp + int64_t((x >> 10) & 0xfff);
		} else {
			// Data processing writing x29 or sp in another way.
			bool data = ((x >> 25) & 0xe) == 0x8 || ((x >> 25) & 0x7) == 0x5;
			if (data && ((x & 31) == 29 || (x & 31) == 31) && !(x & (1u << 29)))
				return p.why = "sp or x29 set by an instruction not understood", p;
			end -= 4;  // not part of the frame setup
		}
	}
	if (!fp_slot)
		return p.why = "no stp x29, x30 in the prologue", p;
	if (!fp)
		return p.why = "x29 is not set from sp in the prologue", p;
	p.decoded = true;
	p.end = low + end;
	p.cfa_minus_sp = uint64_t(-sp);
	p.cfa_minus_fp = uint64_t(-*fp);
	p.saved_fp_at = *fp_slot;
	p.saved_ra_at = *fp_slot + 8;
	return p;
}

// sp moved by an amount only known at run time (alloca, VLA).
bool moves_sp_dynamically(Isa isa, const std::vector<Insn> &insns,
			  const std::vector<uint8_t> &code, uint64_t low, uint64_t prologue_end)
{
	for (const auto &in : insns) {
		if (in.address < prologue_end)
			continue;
		size_t off = in.address - low;
		if (isa == Isa::aarch64) {
			uint32_t x = word(code, off);
			if ((x & 0xffe003ff) == 0xcb2003ff || (x & 0xff8003ff) == 0xd10003ff)
				return true;  // sub sp, sp, xN / #imm in the body
			continue;
		}
		size_t i = off;
		// REX.B extends the r/m register: rm 4 is then r12, not rsp
		// (gcc -O1 writes `sub %rbx,%r12`).
		bool rex_b = false;
		if (code[i] >= 0x40 && code[i] <= 0x4f)
			rex_b = code[i++] & 1;
		if (i + 2 > off + in.length || rex_b)
			continue;
		if ((code[i] == 0x29 && code[i + 1] >= 0xc0 && (code[i + 1] & 7) == 4) ||
		    ((code[i] == 0x83 || code[i] == 0x81) && code[i + 1] == 0xe4))
			return true;  // sub %reg,%rsp; and $-N,%rsp
	}
	return false;
}

unsigned fp_dwarf(Isa isa)
{
	return isa == Isa::x86_64 ? kX86Rbp : kArmFp;
}

unsigned ra_dwarf(Isa isa)
{
	return isa == Isa::x86_64 ? kX86Ra : kArmLr;
}

struct CfiAt {
	unsigned cfa_reg = 0;
	int64_t cfa_offset = 0;
	std::optional<int64_t> fp_at, ra_at;
	// Callee-saved registers besides fp and ra, and their slots.
	std::vector<std::pair<unsigned, int64_t>> saved;
	// gcc saves some registers only on the paths that use them
	// (shrink-wrapping at -O1+): the frame itself must not change.
	bool same_frame(const CfiAt &o) const
	{
		return cfa_reg == o.cfa_reg && cfa_offset == o.cfa_offset && fp_at == o.fp_at &&
		       ra_at == o.ra_at;
	}
};

// A register's save slot relative to the CFA, if the rule is offset(N).
Result<std::optional<int64_t>> saved_at(Dwarf_Frame *frame, unsigned reg)
{
	Dwarf_Op mem[3], *ops = nullptr;
	size_t nops = 0;
	if (dwarf_frame_register(frame, int(reg), mem, &ops, &nops) != 0)
		return fail(EINVAL, strf("dwarf_frame_register: %s", dwarf_errmsg(-1)));
	// nops == 0: undefined or same value; a callee-saved register the FDE
	// never mentions comes back undefined and is in fact unchanged.
	if (nops == 0)
		return std::optional<int64_t>{};
	int64_t off = 0;
	bool cfa = false;
	for (size_t i = 0; i < nops; i++) {
		switch (ops[i].atom) {
		case DW_OP_call_frame_cfa:
			cfa = true;
			break;
		case DW_OP_plus_uconst:
			off += int64_t(ops[i].number);
			break;
		case DW_OP_consts:
		case DW_OP_constu:
			if (i + 1 < nops && ops[i + 1].atom == DW_OP_plus) {
				off += int64_t(ops[i].number);
				i++;
				break;
			}
			if (i + 1 < nops && ops[i + 1].atom == DW_OP_minus) {
				off -= int64_t(ops[i].number);
				i++;
				break;
			}
			return fail(ENOTSUP, strf("register %u: CFI expression not understood", reg));
		default:
			return fail(ENOTSUP, strf("register %u: CFI rule is not offset(N) (op %#x)",
						  reg, ops[i].atom));
		}
	}
	if (!cfa)
		return fail(ENOTSUP, strf("register %u: CFI rule is not CFA-relative", reg));
	return std::optional<int64_t>{off};
}

Result<CfiAt> cfi_at(Isa isa, Dwarf_CFI *cfi, uint64_t pc)
{
	Dwarf_Frame *raw = nullptr;
	if (dwarf_cfi_addrframe(cfi, pc, &raw) != 0)
		return fail(ENOENT, strf("no CFI at %#lx: %s", (unsigned long)pc, dwarf_errmsg(-1)));
	UniqueFrame frame(raw);
	Dwarf_Op *ops = nullptr;
	size_t nops = 0;
	if (dwarf_frame_cfa(frame.get(), &ops, &nops) != 0 || nops != 1)
		return fail(ENOTSUP, strf("CFA at %#lx is not register + offset", (unsigned long)pc));
	CfiAt c;
	if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		c.cfa_reg = ops[0].atom - DW_OP_breg0;
		c.cfa_offset = int64_t(ops[0].number);
	} else if (ops[0].atom == DW_OP_bregx) {
		c.cfa_reg = unsigned(ops[0].number);
		c.cfa_offset = int64_t(ops[0].number2);
	} else {
		return fail(ENOTSUP, strf("CFA at %#lx is not register + offset", (unsigned long)pc));
	}
	unsigned fp = isa == Isa::x86_64 ? kX86Rbp : kArmFp;
	unsigned ra = isa == Isa::x86_64 ? kX86Ra : kArmLr;
	auto f = saved_at(frame.get(), fp);
	auto r = saved_at(frame.get(), ra);
	if (!f)
		return std::unexpected(f.error());
	if (!r)
		return std::unexpected(r.error());
	c.fp_at = *f;
	c.ra_at = *r;
	if (isa == Isa::x86_64 && !c.ra_at)
		c.ra_at = -8;  // the CIE's rule: the call pushed it at CFA - 8
	static const unsigned x86_saved[] = {3, 12, 13, 14, 15};
	static const unsigned arm_saved[] = {19, 20, 21, 22, 23, 24, 25, 26, 27,
					     28, 72, 73, 74, 75, 76, 77, 78, 79};
	auto check = [&](unsigned reg) -> Result<void> {
		auto s = saved_at(frame.get(), reg);
		if (!s)
			return std::unexpected(s.error());
		if (*s)
			c.saved.push_back({reg, **s});
		return {};
	};
	if (isa == Isa::x86_64) {
		for (unsigned reg : x86_saved)
			if (auto e = check(reg); !e)
				return std::unexpected(e.error());
	} else {
		for (unsigned reg : arm_saved)
			if (auto e = check(reg); !e)
				return std::unexpected(e.error());
	}
	return c;
}

} // namespace

Result<std::vector<unsigned>> callee_saved_anywhere(Isa isa, Dwarf_CFI *cfi, uint64_t low,
						    uint64_t high)
{
	std::vector<unsigned> out;
	for (uint64_t pc = low; pc < high;) {
		auto c = cfi_at(isa, cfi, pc);
		if (!c)
			return std::unexpected(c.error());
		for (const auto &[reg, slot] : c->saved)
			if (std::find(out.begin(), out.end(), reg) == out.end())
				out.push_back(reg);
		// The next CFI row starts where this one ends.
		Dwarf_Frame *raw = nullptr;
		Dwarf_Addr start = 0, end = 0;
		if (dwarf_cfi_addrframe(cfi, pc, &raw) != 0)
			return fail(ENOENT, strf("no CFI at %#lx", (unsigned long)pc));
		UniqueFrame frame(raw);
		if (dwarf_frame_info(frame.get(), &start, &end, nullptr) < 0 || end <= pc)
			return fail(EINVAL, strf("CFI row at %#lx: %s", (unsigned long)pc,
						 dwarf_errmsg(-1)));
		pc = end;
	}
	return out;
}

Prologue decode_prologue(Isa isa, const std::vector<Insn> &insns,
			 const std::vector<uint8_t> &code, uint64_t low)
{
	return isa == Isa::x86_64 ? x86_prologue(insns, code, low) : arm_prologue(code, low);
}

FrameLayout frame_layout(Isa isa, Dwarf_CFI *cfi, const std::vector<Insn> &insns,
			 const std::vector<uint8_t> &code, uint64_t low,
			 const std::vector<uint64_t> &calls,
			 std::vector<std::vector<std::pair<unsigned, int64_t>>> *saved_per_call)
{
	FrameLayout f;
	Prologue p = decode_prologue(isa, insns, code, low);
	if (!p.decoded) {
		// aarch64 leaves get no frame record (-momit-leaf-frame-pointer);
		// without calls they are never below a migration point.
		f.why_unknown = calls.empty() ? "leaf function without a frame record"
					      : "prologue not understood: " + p.why;
		return f;
	}
	if (!cfi) {
		f.why_unknown = "no .eh_frame (build with -fasynchronous-unwind-tables)";
		return f;
	}
	std::vector<uint64_t> points = calls;
	if (points.empty())
		points.push_back(p.end);
	std::optional<CfiAt> first;
	std::vector<unsigned> others;
	for (uint64_t pc : points) {
		if (pc < p.end) {
			f.why_unknown = strf("call at %#lx inside the prologue", (unsigned long)pc);
			return f;
		}
		auto c = cfi_at(isa, cfi, pc);
		if (!c) {
			f.why_unknown = c.error().context;
			return f;
		}
		if (first && !first->same_frame(*c)) {
			f.why_unknown = strf("CFI differs between call sites (%#lx)", (unsigned long)pc);
			return f;
		}
		if (!first)
			first = *c;
		for (auto [reg, at] : c->saved)
			if (std::find(others.begin(), others.end(), reg) == others.end())
				others.push_back(reg);
		if (saved_per_call && !calls.empty()) {
			auto slots = c->saved;
			slots.push_back({fp_dwarf(isa), *c->fp_at});
			slots.push_back({ra_dwarf(isa), *c->ra_at});
			saved_per_call->push_back(std::move(slots));
		}
	}
	const CfiAt &c = *first;
	unsigned sp_reg = isa == Isa::x86_64 ? kX86Rsp : kArmSp;
	unsigned fp_reg = isa == Isa::x86_64 ? kX86Rbp : kArmFp;
	f.dynamic = moves_sp_dynamically(isa, insns, code, low, p.end);
	if (c.cfa_reg == sp_reg) {
		if (f.dynamic) {
			f.why_unknown = "sp moves at run time but the CFA is sp-based";
			return f;
		}
		if (uint64_t(c.cfa_offset) != p.cfa_minus_sp) {
			f.why_unknown = strf("CFI says CFA = sp + %ld, the prologue sp + %lu",
					     (long)c.cfa_offset, (unsigned long)p.cfa_minus_sp);
			return f;
		}
	} else if (c.cfa_reg == fp_reg) {
		if (uint64_t(c.cfa_offset) != p.cfa_minus_fp) {
			f.why_unknown = strf("CFI says CFA = fp + %ld, the prologue fp + %lu",
					     (long)c.cfa_offset, (unsigned long)p.cfa_minus_fp);
			return f;
		}
	} else {
		f.why_unknown = strf("CFA based on register %u", c.cfa_reg);
		return f;
	}
	if (!c.fp_at || *c.fp_at != p.saved_fp_at || !c.ra_at || *c.ra_at != p.saved_ra_at) {
		f.why_unknown = "CFI and prologue disagree on the fp/return-address slots";
		return f;
	}
	f.known = true;
	f.cfa_minus_sp = p.cfa_minus_sp;
	f.cfa_minus_fp = p.cfa_minus_fp;
	f.saved_fp_at = p.saved_fp_at;
	f.saved_ra_at = p.saved_ra_at;
	std::sort(others.begin(), others.end());
	f.other_saved_registers = others;
	return f;
}

} // namespace hetmig::program

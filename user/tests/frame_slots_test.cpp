// SPDX-License-Identifier: GPL-2.0
// Which frame slots may hold a value across a call (program/frame_slots.cpp),
// on hand-assembled code: a slot is live at a call only if some path from
// the return reads a byte of it that no store on that path wrote first.
#include <gtest/gtest.h>

#include <algorithm>

#include "program/impl.h"

namespace hetmig::program {
namespace {

constexpr uint64_t kLow = 0x1000;

struct Assembled {
	std::vector<uint8_t> code;
	std::vector<Insn> insns;
	Function f;
};

// The function's instructions, each one instruction's bytes; the call at
// CALL is f.calls[0]. The frame: fp set up by the first two instructions,
// sp equal to fp in the body.
Assembled assemble(Isa isa, const std::vector<std::vector<uint8_t>> &all, size_t call,
		   uint64_t cfa_minus_fp)
{
	Assembled a;
	for (size_t k = 0; k < all.size(); k++) {
		uint64_t at = kLow + a.code.size();
		auto in = isa == Isa::x86_64 ? decode_x86_64(all[k].data(), all[k].size(), at)
					     : decode_aarch64(all[k].data(), all[k].size(), at);
		EXPECT_TRUE(in && in->length == all[k].size()) << "instruction " << k;
		if (!in)
			return a;
		a.insns.push_back(*in);
		if (k == call) {
			CallSite c;
			c.call_address = at;
			c.return_address = at + in->length;
			a.f.calls.push_back(c);
		}
		a.code.insert(a.code.end(), all[k].begin(), all[k].end());
	}
	a.f.low = kLow;
	a.f.high = kLow + a.code.size();
	a.f.decoded = true;
	a.f.frame.known = true;
	a.f.frame.cfa_minus_fp = cfa_minus_fp;
	a.f.frame.cfa_minus_sp = cfa_minus_fp;
	compute_dead_slots(isa, a.insns, a.code, kLow, a.f);
	return a;
}

// push %rbp; mov %rsp,%rbp; BODY; call; TAIL; leave; ret.
Assembled x86(const std::vector<std::vector<uint8_t>> &body,
	      const std::vector<std::vector<uint8_t>> &tail)
{
	std::vector<std::vector<uint8_t>> all = {{0x55}, {0x48, 0x89, 0xe5}};
	all.insert(all.end(), body.begin(), body.end());
	size_t call = all.size();
	all.push_back({0xe8, 0, 0, 0, 0});
	all.insert(all.end(), tail.begin(), tail.end());
	all.push_back({0xc9});
	all.push_back({0xc3});
	return assemble(Isa::x86_64, all, call, 16);
}

std::vector<uint8_t> word(uint32_t x)
{
	return {uint8_t(x), uint8_t(x >> 8), uint8_t(x >> 16), uint8_t(x >> 24)};
}

// stp x29, x30, [sp, #-32]!; mov x29, sp; BODY; bl; TAIL;
// ldp x29, x30, [sp], #32; ret.
Assembled arm(const std::vector<uint32_t> &body, const std::vector<uint32_t> &tail)
{
	std::vector<std::vector<uint8_t>> all = {word(0xa9be7bfd), word(0x910003fd)};
	for (uint32_t x : body)
		all.push_back(word(x));
	size_t call = all.size();
	all.push_back(word(0x94000000));
	for (uint32_t x : tail)
		all.push_back(word(x));
	all.push_back(word(0xa8c27bfd));
	all.push_back(word(0xd65f03c0));
	return assemble(Isa::aarch64, all, call, 32);
}

bool has(const std::vector<std::pair<int64_t, int64_t>> &v, int64_t lo, int64_t hi)
{
	return std::find(v.begin(), v.end(), std::make_pair(lo, hi)) != v.end();
}

const std::vector<uint8_t> kSpillR12 = {0x4c, 0x89, 0x65, 0xf0};  // mov %r12,-0x10(%rbp)

TEST(FrameSlotsX86, AHalfStoredAgainBeforeItIsReadIsDead)
{
	// FT's fft_line at -O1: an 8-byte spill slot whose first half later
	// carries an int around another call.
	auto a = x86({kSpillR12}, {{0x89, 0x45, 0xf0},    // mov %eax,-0x10(%rbp)
				   {0x8b, 0x45, 0xf0}});  // mov -0x10(%rbp),%eax
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].dead_slots, -16, -8));
	EXPECT_FALSE(has(a.f.calls[0].live_slots, -16, -8));
}

TEST(FrameSlotsX86, TheOtherHalfReadAfterAHalfStoreIsLive)
{
	auto a = x86({kSpillR12}, {{0x89, 0x45, 0xf0},    // mov %eax,-0x10(%rbp)
				   {0x8b, 0x45, 0xf4}});  // mov -0xc(%rbp),%eax
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].live_slots, -16, -8));
}

TEST(FrameSlotsX86, AShiftInPlaceReadsItsOperandOnly)
{
	// shll -0x20(%rbp) reads 4 bytes, not the 32 an unknown read is
	// taken to cover (which made the slot at -0x10 live).
	auto a = x86({kSpillR12}, {{0xd1, 0x65, 0xe0}});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].dead_slots, -16, -8));
}

TEST(FrameSlotsX86, AReloadAfterTheCallIsLive)
{
	auto a = x86({kSpillR12}, {{0x4c, 0x8b, 0x65, 0xf0}});  // mov -0x10(%rbp),%r12
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].live_slots, -16, -8));
}

TEST(FrameSlotsAarch64, AHalfStoredAgainBeforeItIsReadIsDead)
{
	// FT's fft_line at -O2: x3 spilled to [sp, 120] around one call,
	// w2 through the same slot's first half around another.
	auto a = arm({0xf9000bb3},                  // str x19, [x29, #16]
		     {0xb90013a2, 0xb94013a2});      // str w2, [x29, #16]; ldr w2, [x29, #16]
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].dead_slots, 16, 24));
	EXPECT_FALSE(has(a.f.calls[0].live_slots, 16, 24));
}

TEST(FrameSlotsAarch64, AWholeReloadIsLive)
{
	auto a = arm({0xf9000bb3}, {0xb90013a2, 0xf9400bb3});  // ...; ldr x19, [x29, #16]
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].live_slots, 16, 24));
}

} // namespace
} // namespace hetmig::program

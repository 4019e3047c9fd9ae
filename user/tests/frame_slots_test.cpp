// SPDX-License-Identifier: GPL-2.0
// Which frame slots may hold a value across a call (program/frame_slots.cpp),
// on hand-assembled code: a slot is live at a call only if some path from
// the return reads a byte of it that no store on that path wrote first.
#include <gtest/gtest.h>

#include <algorithm>

#include "assembled.h"
#include "program/impl.h"

namespace hetmig::program {
namespace {

// The dead slots of a function assembled by assembled.h.
testing::Assembled x86(const std::vector<testing::Bytes> &body,
		       const std::vector<testing::Bytes> &tail)
{
	auto a = testing::x86_64_function(body, tail);
	compute_dead_slots(Isa::x86_64, a.insns, a.code, a.f.low, a.f);
	return a;
}

testing::Assembled arm(const std::vector<uint32_t> &body, const std::vector<uint32_t> &tail)
{
	auto a = testing::aarch64_function(body, tail);
	compute_dead_slots(Isa::aarch64, a.insns, a.code, a.f.low, a.f);
	return a;
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

TEST(FrameSlotsX86, AJumpsDisplacementIsNoOperand)
{
	// je rel32 whose displacement starts 45 f0: read as a ModRM byte it
	// was `test %al, -0x10(%rbp)`, and CG's main at -O2 had a site
	// refused for a slot written again after it.
	auto a = x86({kSpillR12}, {{0x0f, 0x84, 0x45, 0xf0, 0x00, 0x00},  // je .+0xf045
				   {0x48, 0x89, 0x45, 0xf0},              // mov %rax,-0x10(%rbp)
				   {0x48, 0x8b, 0x45, 0xf0}});            // mov -0x10(%rbp),%rax
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].dead_slots, -16, -8));
	EXPECT_FALSE(has(a.f.calls[0].live_slots, -16, -8));
}

TEST(FrameSlotsX86, ASlotNoPathWroteBeforeTheCallIsDead)
{
	// Read after the call on a path that stored nothing there before it
	// (CG's main at -O2: a slot its later code reuses, "read" on paths the
	// program never takes): nothing of the call's time is in it.
	auto a = x86({}, {{0x4c, 0x8b, 0x65, 0xf0},    // mov -0x10(%rbp),%r12
			  kSpillR12});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].dead_slots, -16, -8));
	EXPECT_FALSE(has(a.f.calls[0].live_slots, -16, -8));
}

TEST(FrameSlotsAarch64, ASlotNoPathWroteBeforeTheCallIsDead)
{
	auto a = arm({}, {0xf9400bb3, 0xf9000bb3});  // ldr x19, [x29, #16]; str x19, [x29, #16]
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].dead_slots, 16, 24));
	auto b = arm({0xf9000bb4}, {0xf9400bb3, 0xf9000bb3});  // str x20, [x29, #16] first
	ASSERT_EQ(b.f.calls.size(), 1u);
	EXPECT_TRUE(has(b.f.calls[0].live_slots, 16, 24));
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

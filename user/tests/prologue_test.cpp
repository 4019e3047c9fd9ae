// SPDX-License-Identifier: GPL-2.0
// The x86_64 prologue decoder (program/frame_layout.cpp): how far below
// the CFA gcc's prologues put sp.
#include <gtest/gtest.h>

#include "assembled.h"
#include "program/frame_layout.h"

namespace hetmig::program {
namespace {

uint64_t depth_after(const std::vector<testing::Bytes> &body)
{
	auto a = testing::x86_64_function(body, {});
	Prologue p = decode_prologue(Isa::x86_64, a.insns, a.code, testing::kCodeAt);
	EXPECT_TRUE(p.decoded) << p.why;
	return p.cfa_minus_sp;
}

TEST(PrologueX86, SubtractsFromRsp)
{
	EXPECT_EQ(depth_after({{0x48, 0x83, 0xec, 0x20}}), 16u + 0x20);  // sub $0x20,%rsp
	EXPECT_EQ(depth_after({{0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00}}), 16u + 0x100);
}

TEST(PrologueX86, AddsANegativeNumberToRsp)
{
	// gcc writes sub $128 as add $-128 (an imm8; +128 needs an imm32):
	// churn.c's step at -O0 once its leaf was inlined.
	EXPECT_EQ(depth_after({{0x48, 0x83, 0xc4, 0x80}}), 16u + 128);
	EXPECT_EQ(depth_after({{0x48, 0x81, 0xc4, 0x00, 0xff, 0xff, 0xff}}), 16u + 256);
}

TEST(PrologueX86, PushesOfCalleeSavedRegisters)
{
	EXPECT_EQ(depth_after({{0x53}, {0x41, 0x54}, {0x48, 0x83, 0xec, 0x10}}), 16u + 16 + 16);
}

} // namespace
} // namespace hetmig::program

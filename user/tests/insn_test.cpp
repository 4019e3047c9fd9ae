// SPDX-License-Identifier: GPL-2.0
// The instruction decoder on encodings gcc emits (checked with objdump).
#include <gtest/gtest.h>

#include "program/insn.h"

namespace hetmig::program {
namespace {

std::optional<Insn> x86(std::vector<uint8_t> b, uint64_t at = 0x1000)
{
	return decode_x86_64(b.data(), b.size(), at);
}

std::optional<Insn> arm(uint32_t w, uint64_t at = 0x1000)
{
	uint8_t b[4] = {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)};
	return decode_aarch64(b, 4, at);
}

TEST(InsnX86, CallRel32)
{
	auto in = x86({0xe8, 0x10, 0x00, 0x00, 0x00});
	ASSERT_TRUE(in);
	EXPECT_EQ(in->length, 5u);
	EXPECT_EQ(in->flow, Insn::Flow::call);
	EXPECT_EQ(in->target, 0x1015u);
}

TEST(InsnX86, CallIndirect)
{
	auto in = x86({0xff, 0xd0});  // call *%rax
	ASSERT_TRUE(in);
	EXPECT_EQ(in->length, 2u);
	EXPECT_EQ(in->flow, Insn::Flow::call_indirect);
	auto mem = x86({0xff, 0x55, 0xf8});  // call *-0x8(%rbp)
	ASSERT_TRUE(mem);
	EXPECT_EQ(mem->length, 3u);
	EXPECT_EQ(mem->flow, Insn::Flow::call_indirect);
}

TEST(InsnX86, LengthsAndRbx)
{
	auto mov = x86({0x89, 0xc3});  // mov %eax,%ebx: rbx overwritten
	ASSERT_TRUE(mov);
	EXPECT_EQ(mov->kills, uint64_t(1) << 3);
	auto add = x86({0x01, 0xd8});  // add %ebx,%eax: rbx read
	ASSERT_TRUE(add);
	EXPECT_EQ(add->uses, uint64_t(1) << 3);
	auto movabs = x86({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8});
	ASSERT_TRUE(movabs);
	EXPECT_EQ(movabs->length, 10u);
	auto sse = x86({0xf2, 0x0f, 0x10, 0x45, 0xe8});  // movsd -0x18(%rbp),%xmm0
	ASSERT_TRUE(sse);
	EXPECT_EQ(sse->length, 5u);
	auto r12 = x86({0x41, 0x54});  // push %r12: read only
	ASSERT_TRUE(r12);
	EXPECT_EQ(r12->uses, uint64_t(1) << 12);
	EXPECT_EQ(r12->defs, 0u);
}

TEST(InsnX86, ThreeOperandImulWritesItsDestinationOnly)
{
	// imul $0xfa0,%r13,%r14: stdio.c's `lines = 4000 * scale`, computed
	// again after a call, was taken to read r14 too.
	constexpr uint64_t kR13 = uint64_t(1) << 13, kR14 = uint64_t(1) << 14;
	auto imul32 = x86({0x4d, 0x69, 0xf5, 0xa0, 0x0f, 0x00, 0x00});
	ASSERT_TRUE(imul32);
	EXPECT_EQ(imul32->length, 7u);
	EXPECT_EQ(imul32->uses, kR13);
	EXPECT_EQ(imul32->kills, kR14);
	auto imul8 = x86({0x4d, 0x6b, 0xf5, 0x03});  // imul $3,%r13,%r14
	ASSERT_TRUE(imul8);
	EXPECT_EQ(imul8->uses, kR13);
	EXPECT_EQ(imul8->kills, kR14);
}

// Moves between general and xmm registers: the general register is read
// only, or written whole.
TEST(InsnX86, GeneralAndXmmRegisterMoves)
{
	auto to_gpr = x86({0x66, 0x49, 0x0f, 0x7e, 0xdc});  // movq %xmm3,%r12
	ASSERT_TRUE(to_gpr);
	EXPECT_EQ(to_gpr->uses, 0u);
	EXPECT_EQ(to_gpr->defs, uint64_t(1) << 12);
	EXPECT_EQ(to_gpr->kills, uint64_t(1) << 12);
	auto from_gpr = x86({0x66, 0x49, 0x0f, 0x6e, 0xc4});  // movq %r12,%xmm0
	ASSERT_TRUE(from_gpr);
	EXPECT_EQ(from_gpr->uses, uint64_t(1) << 12);
	EXPECT_EQ(from_gpr->defs, 0u);
	auto cvt = x86({0xf2, 0x0f, 0x2c, 0xd8});  // cvttsd2si %xmm0,%ebx
	ASSERT_TRUE(cvt);
	EXPECT_EQ(cvt->uses, 0u);
	EXPECT_EQ(cvt->kills, uint64_t(1) << 3);
	auto from_int = x86({0xf2, 0x48, 0x0f, 0x2a, 0xc3});  // cvtsi2sd %rbx,%xmm0
	ASSERT_TRUE(from_int);
	EXPECT_EQ(from_int->uses, uint64_t(1) << 3);
	EXPECT_EQ(from_int->defs, 0u);
}

TEST(InsnAarch64, BranchesAndCalls)
{
	auto bl = arm(0x94000004);  // bl .+16
	ASSERT_TRUE(bl);
	EXPECT_EQ(bl->flow, Insn::Flow::call);
	EXPECT_EQ(bl->target, 0x1010u);
	auto blr = arm(0xd63f0000);  // blr x0
	ASSERT_TRUE(blr);
	EXPECT_EQ(blr->flow, Insn::Flow::call_indirect);
	auto ret = arm(0xd65f03c0);
	ASSERT_TRUE(ret);
	EXPECT_EQ(ret->flow, Insn::Flow::ret);
	auto bcond = arm(0x54ffffe1);  // b.ne .-4
	ASSERT_TRUE(bcond);
	EXPECT_EQ(bcond->flow, Insn::Flow::cond_jump);
	EXPECT_EQ(bcond->target, 0xffcu);
}

TEST(InsnAarch64, CalleeSaved)
{
	auto mov = arm(0x2a0003f4);  // mov w20, w0
	ASSERT_TRUE(mov);
	EXPECT_EQ(mov->kills, uint64_t(1) << 20);
	auto add = arm(0x0b000280);  // add w0, w20, w0: x0-x18 are followed too
	ASSERT_TRUE(add);
	EXPECT_EQ(add->uses, (uint64_t(1) << 20) | 1);
	EXPECT_EQ(add->kills, 1u);
	auto fmov = arm(0x9e6700a8);  // fmov d8, x5
	ASSERT_TRUE(fmov);
	EXPECT_TRUE(fmov->uses & (uint64_t(1) << 5));
	EXPECT_TRUE(fmov->defs & (uint64_t(1) << 40));
	auto svc = arm(0xd4000001);  // svc #0
	ASSERT_TRUE(svc);
	EXPECT_EQ(svc->defs, 1u);
	auto stp = arm(0xa90153f3);  // stp x19, x20, [sp, #16]: a store reads
	ASSERT_TRUE(stp);
	EXPECT_EQ(stp->uses, (uint64_t(1) << 19) | (uint64_t(1) << 20));
	EXPECT_EQ(stp->defs, 0u);
	auto ldp = arm(0xa94153f3);  // ldp x19, x20, [sp, #16]
	ASSERT_TRUE(ldp);
	EXPECT_EQ(ldp->kills, (uint64_t(1) << 19) | (uint64_t(1) << 20));
}

TEST(InsnAarch64, SimdCopiesNameTheirRegistersOnly)
{
	constexpr uint64_t kD8 = uint64_t(1) << 40, kX19 = uint64_t(1) << 19;
	// dup v1.2d, v1.d[0]: its imm5 (0b01000) is no d8 (fp.c at -O2).
	auto dup = arm(0x4e080421);
	ASSERT_TRUE(dup);
	EXPECT_EQ(dup->defs & kD8, 0u);
	EXPECT_EQ(dup->defs & 2, 0u) << "nor x1";
	auto dup_gp = arm(0x4e080e68);  // dup v8.2d, x19
	ASSERT_TRUE(dup_gp);
	EXPECT_EQ(dup_gp->uses, kX19);
	EXPECT_EQ(dup_gp->kills, kD8);
	auto umov = arm(0x4e183d13);  // umov x19, v8.d[1]
	ASSERT_TRUE(umov);
	EXPECT_EQ(umov->uses, kD8);
	EXPECT_EQ(umov->kills, kX19);
	auto ins = arm(0x4e181c28);  // ins v8.d[1], x1: a part of d8
	ASSERT_TRUE(ins);
	EXPECT_EQ(ins->defs, kD8);
	EXPECT_EQ(ins->kills, 0u);
	EXPECT_TRUE(ins->uses & kD8);
}

TEST(InsnAarch64, ConversionsReadOneFileWriteTheOther)
{
	constexpr uint64_t kD8 = uint64_t(1) << 40, kD9 = uint64_t(1) << 41;
	constexpr uint64_t kX8 = uint64_t(1) << 8, kX19 = uint64_t(1) << 19;
	auto scvtf = arm(0x1e620102);  // scvtf d2, w8: no d8 (FT's main at -O2)
	ASSERT_TRUE(scvtf);
	EXPECT_EQ(scvtf->uses, kX8);
	EXPECT_EQ(scvtf->defs & (kD8 | kD9), 0u);
	auto ucvtf = arm(0x9e630269);  // ucvtf d9, x19
	ASSERT_TRUE(ucvtf);
	EXPECT_EQ(ucvtf->uses, kX19);
	EXPECT_EQ(ucvtf->kills, kD9);
	auto fcvtzs = arm(0x1e780113);  // fcvtzs w19, d8
	ASSERT_TRUE(fcvtzs);
	EXPECT_EQ(fcvtzs->uses, kD8);
	EXPECT_EQ(fcvtzs->kills, kX19);
	auto to_x = arm(0x9e660113);  // fmov x19, d8
	ASSERT_TRUE(to_x);
	EXPECT_EQ(to_x->uses, kD8);
	EXPECT_EQ(to_x->kills, kX19);
	auto upper = arm(0x9eaf0268);  // fmov v8.d[1], x19: a part of d8
	ASSERT_TRUE(upper);
	EXPECT_TRUE(upper->uses & kX19);
	EXPECT_TRUE(upper->uses & kD8);
	EXPECT_EQ(upper->defs, kD8);
	EXPECT_EQ(upper->kills, 0u);
}

} // namespace
} // namespace hetmig::program

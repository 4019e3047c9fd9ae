// SPDX-License-Identifier: GPL-2.0
// The x86_64 constant dataflow (program/constants.cpp) on hand-assembled
// code: what gcc -O2 did in NPB CG's main, where a double constant from
// .rodata went through an xmm register into r12 and stayed there across
// the loop's calls.
#include <gtest/gtest.h>

#include "assembled.h"
#include "program/impl.h"

namespace hetmig::program {
namespace {

constexpr uint64_t kLow = testing::kCodeAt, kConstant = 0x2000;
constexpr uint64_t kOne = 0x3ff0000000000000ull;  // 1.0

using testing::Assembled;

// Read-only data: a double 1.0 at kConstant.
std::optional<uint64_t> one_at_constant(uint64_t address, unsigned size)
{
	if (address == kConstant && size == 8)
		return kOne;
	return std::nullopt;
}

// x86_64's frame around BODY, the call and TAIL (sp below fp); liveness and
// the constants as the program model computes them, a double 1.0 at
// kConstant in read-only data.
Assembled assemble(const std::vector<std::vector<uint8_t>> &body,
		   const std::vector<std::vector<uint8_t>> &call_tail)
{
	Assembled a = testing::x86_64_function(body, call_tail, 32);
	compute_liveness(Isa::x86_64, a.insns, a.f);
	compute_constant_registers(
		Isa::x86_64, a.insns, a.code, kLow,
		one_at_constant, a.f);
	return a;
}

// movsd disp(%rip),%xmm3 at kLow + 4, reading kConstant.
std::vector<uint8_t> load_constant_into_xmm3()
{
	uint32_t disp = uint32_t(kConstant - (kLow + 4 + 8));
	return {0xf2, 0x0f, 0x10, 0x1d, uint8_t(disp), uint8_t(disp >> 8), uint8_t(disp >> 16),
		uint8_t(disp >> 24)};
}

const std::vector<uint8_t> kMovqXmm3ToR12 = {0x66, 0x49, 0x0f, 0x7e, 0xdc};
const std::vector<uint8_t> kMovqR12ToXmm0 = {0x66, 0x49, 0x0f, 0x6e, 0xc4};

std::optional<uint64_t> constant_in(const CallSite &c, unsigned reg)
{
	for (const auto &[r, value] : c.constant_registers)
		if (r == reg)
			return value;
	return std::nullopt;
}

TEST(ConstantsX86, DoubleConstantMovedIntoAGeneralRegister)
{
	auto a = assemble({load_constant_into_xmm3(), kMovqXmm3ToR12}, {kMovqR12ToXmm0});
	ASSERT_EQ(a.f.calls.size(), 1u);
	const CallSite &c = a.f.calls[0];
	ASSERT_EQ(c.live_registers, std::vector<unsigned>{12}) << "r12 is read after the call";
	EXPECT_EQ(constant_in(c, 12), kOne);
}

TEST(ConstantsX86, GeneralRegisterSpilledToTheFrameAndReloaded)
{
	auto a = assemble({load_constant_into_xmm3(), kMovqXmm3ToR12,
			   {0x4c, 0x89, 0x65, 0xf0},  // mov %r12,-0x10(%rbp)
			   {0x45, 0x31, 0xe4},        // xor %r12d,%r12d
			   {0x4c, 0x8b, 0x65, 0xf0}}, // mov -0x10(%rbp),%r12
			  {kMovqR12ToXmm0});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 12), kOne);
}

TEST(ConstantsX86, AStoreOverTheSlotForgetsIt)
{
	auto a = assemble({load_constant_into_xmm3(), kMovqXmm3ToR12,
			   {0x4c, 0x89, 0x65, 0xf0},  // mov %r12,-0x10(%rbp)
			   {0x89, 0x45, 0xf4},        // mov %eax,-0xc(%rbp)
			   {0x4c, 0x8b, 0x65, 0xf0}}, // mov -0x10(%rbp),%r12
			  {kMovqR12ToXmm0});
	ASSERT_EQ(a.f.calls.size(), 1u);
	ASSERT_EQ(a.f.calls[0].live_registers, std::vector<unsigned>{12});
	EXPECT_FALSE(constant_in(a.f.calls[0], 12).has_value());
}

TEST(ConstantsX86, ReadingR12IntoXmmDoesNotWriteIt)
{
	// movq %r12,%xmm0 between the load and the call: r12 keeps its
	// constant (the decoder once counted it as written).
	auto a = assemble({load_constant_into_xmm3(), kMovqXmm3ToR12, kMovqR12ToXmm0},
			  {kMovqR12ToXmm0});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 12), kOne);
}

TEST(ConstantsX86, AMaskBuiltByAShift)
{
	// NPB's lcg_pow at -Os: mov $0x7fffff, %ebx; shl $0x17, %rbx; rbx
	// read after the loop's calls.
	auto a = assemble({{0xbb, 0xff, 0xff, 0x7f, 0x00}, {0x48, 0xc1, 0xe3, 0x17}},
			  {{0x48, 0x89, 0xd8}});  // mov %rbx,%rax
	ASSERT_EQ(a.f.calls.size(), 1u);
	ASSERT_EQ(a.f.calls[0].live_registers, std::vector<unsigned>{3});
	EXPECT_EQ(constant_in(a.f.calls[0], 3), uint64_t(0x7fffff) << 23);
}

TEST(ConstantsX86, AGeneralRegisterLoadedFromReadOnlyData)
{
	// fp.c's simpson at -O1: mov .LC(%rip), %rbx (a double's bits).
	uint32_t disp = uint32_t(kConstant - (kLow + 4 + 7));
	auto a = assemble({{0x48, 0x8b, 0x1d, uint8_t(disp), uint8_t(disp >> 8),
			    uint8_t(disp >> 16), uint8_t(disp >> 24)}},
			  {{0x48, 0x89, 0xd8}});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 3), kOne);
}

TEST(ConstantsX86, AFrameAddressThroughAScratchRegister)
{
	// pointers.c's main at -Os: lea -0x11a(%rbp), %rax; mov %rax, %rbx.
	auto a = assemble({{0x48, 0x8d, 0x45, 0xf0}, {0x48, 0x89, 0xc3}}, {{0x48, 0x89, 0xd8}});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(a.f.calls[0].frame_registers,
		  (std::vector<std::pair<unsigned, int64_t>>{{3, -0x10}}));
}

TEST(ConstantsX86, AScratchRegisterForgetsAtAnInstructionNotModelled)
{
	// add %rcx, %rax between them: rax is no longer the frame address
	// (the decoder records no write of rax; the dataflow forgets every
	// caller-saved register at an instruction it does not model).
	auto a = assemble({{0x48, 0x8d, 0x45, 0xf0}, {0x48, 0x01, 0xc8}, {0x48, 0x89, 0xc3}},
			  {{0x48, 0x89, 0xd8}});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(a.f.calls[0].frame_registers.empty());
	EXPECT_FALSE(constant_in(a.f.calls[0], 3).has_value());
}

TEST(ConstantsX86, ArithmeticOnAnUnknownRegisterIsUnknown)
{
	auto a = assemble({{0x48, 0x83, 0xc3, 0x10}},  // add $0x10, %rbx
			  {{0x48, 0x89, 0xd8}});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_FALSE(constant_in(a.f.calls[0], 3).has_value());
}

// aarch64's frame around BODY, the call and TAIL; liveness, dead slots and
// constants as the program model computes them.
Assembled assemble_aarch64(const std::vector<uint32_t> &body, const std::vector<uint32_t> &tail)
{
	Assembled a = testing::aarch64_function(body, tail);
	compute_liveness(Isa::aarch64, a.insns, a.f);
	compute_dead_slots(Isa::aarch64, a.insns, a.code, kLow, a.f);
	compute_constant_registers(
		Isa::aarch64, a.insns, a.code, kLow,
		[](uint64_t, unsigned) -> std::optional<uint64_t> { return std::nullopt; }, a.f);
	return a;
}

// adrp x19, kLow + 0x1000; add x19, x19, #0x10: a global's address.
const std::vector<uint32_t> kAddressIntoX19 = {0xb0000013, 0x91004273};
constexpr uint64_t kGlobal = kLow + 0x1000 + 0x10;
constexpr uint32_t kClobberX19 = 0xd2800013;  // mov x19, #0
constexpr uint32_t kReadX19 = 0xaa1303e0;     // mov x0, x19

TEST(ConstantsAarch64, ReloadedThroughAPairFromItsSlot)
{
	// gcc saves a register holding a global's address around a call with
	// stp and restores it with ldp (FT's fft_line around __muldc3).
	auto body = kAddressIntoX19;
	body.insert(body.end(), {0xa9014fe0, kClobberX19, 0xa9414fe0});  // stp x0, x19, [sp, #16]; ...; ldp
	auto a = assemble_aarch64(body, {kReadX19});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 19), kGlobal);
}

TEST(ConstantsAarch64, ReloadedWithLdrFromItsSlot)
{
	auto body = kAddressIntoX19;
	body.insert(body.end(), {0xf9000fb3, kClobberX19, 0xf9400fb3});  // str x19, [x29, #24]; ...; ldr
	auto a = assemble_aarch64(body, {kReadX19});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 19), kGlobal);
}

TEST(ConstantsAarch64, AReloadFromAnUnknownSlotIsUnknown)
{
	auto body = kAddressIntoX19;
	body.insert(body.end(), {kClobberX19, 0xf9400fb3});  // ldr x19, [x29, #24]
	auto a = assemble_aarch64(body, {kReadX19});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_FALSE(constant_in(a.f.calls[0], 19).has_value());
}

TEST(ConstantsAarch64, ASpilledAddressIsAConstantSlotAtTheCall)
{
	// FT's fft_line: str x3, [sp, #120] before a loop point, ldr after.
	auto body = kAddressIntoX19;
	body.push_back(0xf9000fb3);  // str x19, [x29, #24]
	auto a = assemble_aarch64(body, {0xf9400fb3, kReadX19});
	ASSERT_EQ(a.f.calls.size(), 1u);
	bool found = false;
	for (const auto &[slot, value] : a.f.calls[0].constant_slots)
		found |= slot == 24 && value == kGlobal;
	EXPECT_TRUE(found);
}

TEST(ConstantsAarch64, AnAddressBuiltInX8ToX15IsAConstant)
{
	// callbacks.c's main at -O2 with corpus_rand inlined: adrp x11, sym;
	// add x25, x11, #lo12. x8-x15 share their numbers with d8-d15, which
	// the dataflow also tracks: an integer write to x11 is still x11's.
	auto a = assemble_aarch64({0xb000000b, 0x91004173}, {kReadX19});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 19), kGlobal);
}

TEST(ConstantsAarch64, NoPathContinuesAfterExit)
{
	// IS's full_verify at -Os: x19 = &sym + 0x3e8 on the way into a loop
	// of calls; an error path calls exit(), and gcc put the loop's body
	// right after that call. Falling through it would bring x19 = &sym
	// into the loop and make the register unknown at the loop's calls.
	using testing::word;
	std::vector<testing::Bytes> all = {
		word(0xa9be7bfd), word(0x910003fd),
		word(0xb0000013),  // adrp x19, kLow + 0x1000
		word(0xb40000c0),  // cbz x0, the exit() call
		word(0x91004273),  // add x19, x19, #0x10
		word(0x94000000),  // bl: the call under test
		word(kReadX19),
		word(0xa8c27bfd), word(0xd65f03c0),
		word(0x94000000),  // bl exit
		word(0x17fffffb),  // b back to the call
	};
	Assembled a = testing::assemble(Isa::aarch64, all, 5, 32, 32);
	CallSite exit_call;
	exit_call.call_address = kLow + 9 * 4;
	exit_call.return_address = exit_call.call_address + 4;
	exit_call.callee = "exit";
	a.f.calls.push_back(exit_call);
	compute_liveness(Isa::aarch64, a.insns, a.f);
	compute_constant_registers(
		Isa::aarch64, a.insns, a.code, kLow,
		[](uint64_t, unsigned) -> std::optional<uint64_t> { return std::nullopt; }, a.f);
	EXPECT_EQ(constant_in(a.f.calls[0], 19), kGlobal);
}

TEST(ConstantsAarch64, AThreadLocalAddressIsThreadPointerRelative)
{
	// tls.c's visit at -O2: mrs x19, tpidr_el0; add x19, x19, #0x40, then
	// x19 read after the call: the thread pointer plus 0x40, which only
	// the destination's runtime can complete; never a constant.
	auto a = assemble_aarch64({0xd53bd053, 0x91010273}, {kReadX19});
	ASSERT_EQ(a.f.calls.size(), 1u);
	const CallSite &c = a.f.calls[0];
	EXPECT_FALSE(constant_in(c, 19).has_value());
	EXPECT_EQ(c.thread_registers, (std::vector<std::pair<unsigned, int64_t>>{{19, 0x40}}));
}

// fp.c's main at -O2: 1.0 spilled to a frame slot, then a store indexed
// into a local array, `movsd %xmm0,-0x40(%rbp,%rax,8)`, then the call; the
// slot is read after it. The store lands in the array (VARIABLES, the
// variables' memory, CFA-relative: fp is CFA - 16), not in the slot.
std::optional<uint64_t> slot_constant_across_indexed_store(
	std::optional<std::vector<std::pair<int64_t, int64_t>>> variables)
{
	Assembled a = testing::x86_64_function(
		{load_constant_into_xmm3(), {0xf2, 0x0f, 0x11, 0x5d, 0xf0} /* movsd %xmm3,-0x10(%rbp) */,
		 {0xf2, 0x0f, 0x11, 0x44, 0xc5, 0xc0} /* movsd %xmm0,-0x40(%rbp,%rax,8) */},
		{{0xf2, 0x0f, 0x10, 0x45, 0xf0} /* movsd -0x10(%rbp),%xmm0 */}, 32);
	a.f.variable_memory = std::move(variables);
	compute_liveness(Isa::x86_64, a.insns, a.f);
	compute_dead_slots(Isa::x86_64, a.insns, a.code, kLow, a.f);
	compute_constant_registers(
		Isa::x86_64, a.insns, a.code, kLow,
		one_at_constant, a.f);
	EXPECT_EQ(a.f.calls.size(), 1u);
	for (const auto &[slot, value] : a.f.calls.at(0).constant_slots)
		if (slot == -0x10)
			return value;
	return std::nullopt;
}

TEST(ConstantsX86, AStoreIndexedIntoAnArrayKeepsTheSpillSlots)
{
	// The array y[4] at fp-0x40..-0x20, i.e. CFA-0x50..-0x30.
	EXPECT_EQ(slot_constant_across_indexed_store({{{-0x50, -0x30}}}), kOne);
	// Variables' memory unknown (a VLA): every slot is forgotten.
	EXPECT_FALSE(slot_constant_across_indexed_store(std::nullopt).has_value());
	// A variable's memory covering the slot: that slot is forgotten.
	EXPECT_FALSE(slot_constant_across_indexed_store({{{-0x50, -0x30}, {-0x20, -0x18}}})
			     .has_value());
}

// Branch conditions (constants.cpp, branch_fact): expr's parse_factor at
// -O2 on aarch64 compares the token it loaded with `cmp w20, #4; b.eq` and
// passes w20 for the constant 4 two calls later.
constexpr uint32_t kLdrW20 = 0xb9401014;   // ldr w20, [x0, #16]
constexpr uint32_t kLdrX20 = 0xf9400814;   // ldr x20, [x0, #16]
constexpr uint32_t kCmpW20 = 0x7100129f;   // cmp w20, #4
constexpr uint32_t kCmpX20 = 0xf100129f;   // cmp x20, #4
constexpr uint32_t kReadW20 = 0x2a1403e0;  // mov w0, w20
constexpr uint32_t kBneOverCall = 0x54000061;  // b.ne to the epilogue

TEST(ConstantsAarch64, AComparisonTellsTheRegisterOnTheEqualEdge)
{
	auto a = assemble_aarch64({kLdrW20, kCmpW20, kBneOverCall}, {kReadW20});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 20), 4u);
}

TEST(ConstantsAarch64, AThirtyTwoBitComparisonOfAWideValueTellsNothing)
{
	// ldr x20 may leave bits in the upper half that cmp w20 does not see.
	auto a = assemble_aarch64({kLdrX20, kCmpW20, kBneOverCall}, {kReadW20});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_FALSE(constant_in(a.f.calls[0], 20).has_value());
	a = assemble_aarch64({kLdrX20, kCmpX20, kBneOverCall}, {kReadW20});
	EXPECT_EQ(constant_in(a.f.calls[0], 20), 4u);
}

TEST(ConstantsAarch64, CbnzTellsZeroOnTheFallThrough)
{
	auto a = assemble_aarch64({kLdrW20, 0x35000054 /* cbnz w20, to the epilogue */},
				  {kReadW20});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 20), 0u);
}

TEST(ConstantsAarch64, AFactOnOnePathOnlyIsLostAtTheJoin)
{
	// b.ne goes to the call itself: one path knows x20 is 4, one does not.
	auto a = assemble_aarch64({kLdrW20, kCmpW20, 0x54000041, 0xd503201f /* nop */},
				  {kReadW20});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_FALSE(constant_in(a.f.calls[0], 20).has_value());
}

TEST(ConstantsX86, AComparisonTellsTheRegisterOnTheEqualEdge)
{
	const std::vector<uint8_t> jne_over_call = {0x75, 0x07}, read_ebx = {0x89, 0xdf};
	auto a = assemble({{0x8b, 0x5f, 0x10} /* mov 0x10(%rdi),%ebx */,
			   {0x83, 0xfb, 0x04} /* cmp $4,%ebx */, jne_over_call},
			  {read_ebx});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_EQ(constant_in(a.f.calls[0], 3), 4u);
	// A 64-bit load compared on 32 bits: the upper half is unknown.
	a = assemble({{0x48, 0x8b, 0x5f, 0x10}, {0x83, 0xfb, 0x04}, jne_over_call}, {read_ebx});
	EXPECT_FALSE(constant_in(a.f.calls[0], 3).has_value());
	// Compared on 64 bits (cmp $4,%rbx): known.
	a = assemble({{0x48, 0x8b, 0x5f, 0x10}, {0x48, 0x83, 0xfb, 0x04}, jne_over_call}, {read_ebx});
	EXPECT_EQ(constant_in(a.f.calls[0], 3), 4u);
}

} // namespace
} // namespace hetmig::program

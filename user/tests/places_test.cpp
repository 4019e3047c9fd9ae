// SPDX-License-Identifier: GPL-2.0
// The converter pairs a frame's variables with the verifier's rules
// (check::needs_carrying): only a value one build carries must agree in
// size; one neither keeps needs nothing. Found by the -O2 demo: gcc kept
// the plugin's value `level & 7` as an 8-byte long on x86_64 and as a
// 4-byte int on aarch64, carried by neither at the call; hetmig check
// proved the site and the converter refused it for the sizes.
#include <gtest/gtest.h>

#include "check/verifier.h"
#include "convert/places.h"
#include "program/impl.h"

namespace {

using hetmig::convert::match_variables;
using hetmig::program::Location;
using hetmig::program::Variable;

Variable value(Location::Kind kind, uint64_t size, bool dead = false)
{
	Variable v;
	v.name = "hetmig.v.34.46.9b99e7dd";
	v.decl_line = 34;
	v.location.kind = kind;
	v.location.offset = -24;
	v.type.size = size;
	v.dead = dead;
	return v;
}

TEST(MatchVariables, AValueNeitherBuildKeepsNeedsNoAgreement)
{
	auto out = value(Location::Kind::optimized_out, 8);
	auto narrow = value(Location::Kind::optimized_out, 4);
	EXPECT_FALSE(hetmig::check::needs_carrying(out, narrow));
	auto pairs = match_variables({out}, {narrow}, "here");
	ASSERT_TRUE(pairs) << pairs.error().describe();
	EXPECT_TRUE(pairs->empty());
}

TEST(MatchVariables, ADeadSlotAgainstNothingNeedsNoAgreement)
{
	auto dead = value(Location::Kind::cfa_offset, 8, true);
	auto out = value(Location::Kind::optimized_out, 4);
	EXPECT_FALSE(hetmig::check::needs_carrying(dead, out));
	auto pairs = match_variables({dead}, {out}, "here");
	ASSERT_TRUE(pairs) << pairs.error().describe();
	EXPECT_TRUE(pairs->empty());
}

TEST(MatchVariables, ACarriedValueMustHaveOneSize)
{
	auto wide = value(Location::Kind::cfa_offset, 8);
	auto narrow = value(Location::Kind::cfa_offset, 4);
	EXPECT_TRUE(hetmig::check::needs_carrying(wide, narrow));
	auto pairs = match_variables({wide}, {narrow}, "here");
	ASSERT_FALSE(pairs);
	EXPECT_NE(pairs.error().describe().find("is 8 bytes here and 4 there"), std::string::npos)
		<< pairs.error().describe();
	auto same = match_variables({wide}, {wide}, "here");
	ASSERT_TRUE(same);
	EXPECT_EQ(same->size(), 1u);
}

TEST(MatchVariables, CarriedPointersMustBeAtTheSameOffsets)
{
	auto a = value(Location::Kind::cfa_offset, 16), b = a;
	a.type.pointer_offsets = {0};
	b.type.pointer_offsets = {8};
	auto pairs = match_variables({a}, {b}, "here");
	ASSERT_FALSE(pairs);
	EXPECT_NE(pairs.error().describe().find("pointers at other offsets"), std::string::npos);
}

// A value in memory another object holds (FT's fft_dimension at -O2: the
// plugin's stride_of[a] described as memory at fbreg + 8 * a on x86_64,
// optimized out on aarch64, where a was in a register the call clobbers):
// nothing of its own to carry, so no agreement is needed with a build that
// keeps nothing; one that stores it still must carry it.
TEST(MatchVariables, MemoryAnotherObjectHoldsIsNotCarried)
{
	auto element = value(Location::Kind::derived_memory, 8);
	auto out = value(Location::Kind::optimized_out, 8);
	EXPECT_FALSE(hetmig::check::carried(element));
	EXPECT_FALSE(hetmig::check::needs_carrying(element, out));
	auto pairs = match_variables({element}, {out}, "here");
	ASSERT_TRUE(pairs) << pairs.error().describe();
	EXPECT_TRUE(pairs->empty());
	auto slot = value(Location::Kind::cfa_offset, 8);
	EXPECT_TRUE(hetmig::check::needs_carrying(element, slot));
}

TEST(LocationKinds, AddressArithmeticIsDerivedMemory)
{
	using hetmig::program::address_arithmetic;
	auto op = [](uint8_t atom, uint64_t n = 0) {
		Dwarf_Op o{};
		o.atom = atom;
		o.number = n;
		return o;
	};
	// stride_of[a]: fbreg -256; deref_size 4; sign-extend; << 3; + fbreg 0; - 0x60
	std::vector<Dwarf_Op> element = {
		op(DW_OP_fbreg, uint64_t(-256)), op(DW_OP_deref_size, 4), op(DW_OP_const1u, 32),
		op(DW_OP_shl), op(DW_OP_const1u, 32), op(DW_OP_shra), op(DW_OP_lit3),
		op(DW_OP_shl), op(DW_OP_fbreg, 0), op(DW_OP_plus), op(DW_OP_const1u, 0x60),
		op(DW_OP_minus)};
	EXPECT_TRUE(address_arithmetic(element.data(), element.size()));
	// names[f] in .rodata: a static address plus an index.
	std::vector<Dwarf_Op> global = {op(DW_OP_breg3, 0), op(DW_OP_lit3), op(DW_OP_shl),
					op(DW_OP_addr, 0x41ef40), op(DW_OP_plus)};
	EXPECT_TRUE(address_arithmetic(global.data(), global.size()));
	// A value (stack_value), a register, a piece: not memory of another's.
	auto value_of = element;
	value_of.push_back(op(DW_OP_stack_value));
	EXPECT_FALSE(address_arithmetic(value_of.data(), value_of.size()));
	std::vector<Dwarf_Op> in_reg = {op(DW_OP_reg3)};
	EXPECT_FALSE(address_arithmetic(in_reg.data(), in_reg.size()));
	std::vector<Dwarf_Op> pieces = {op(DW_OP_fbreg, 16), op(DW_OP_piece, 8)};
	EXPECT_FALSE(address_arithmetic(pieces.data(), pieces.size()));
}

} // namespace

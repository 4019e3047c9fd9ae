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

} // namespace

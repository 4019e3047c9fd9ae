// SPDX-License-Identifier: GPL-2.0
// A switch's indirect jump and its table (program/jump_tables.cpp): its
// successors are the table's entries, not the whole function.
#include <gtest/gtest.h>

#include <map>

#include "assembled.h"
#include "program/impl.h"

namespace hetmig::program {
namespace {

using testing::Bytes;

constexpr uint64_t kTable = 0x2000;

// jmp *kTable(,%rcx,8)
const Bytes kSwitchJump = {0xff, 0x24, 0xcd, 0x00, 0x20, 0x00, 0x00};

// Body: the switch; tail: two cases (mov $1,%eax; mov $2,%eax), each one
// instruction. Returns the function with its instructions' addresses.
testing::Assembled switch_function()
{
	return testing::x86_64_function({}, {kSwitchJump, {0xb8, 1, 0, 0, 0}, {0xb8, 2, 0, 0, 0}});
}

size_t index_of(const testing::Assembled &a, const Bytes &first_bytes)
{
	for (size_t k = 0; k < a.insns.size(); k++) {
		size_t off = size_t(a.insns[k].address - a.f.low);
		if (std::equal(first_bytes.begin(), first_bytes.end(), a.code.begin() + off))
			return k;
	}
	return a.insns.size();
}

TEST(JumpTables, TheTablesEntriesAreTheSuccessors)
{
	auto a = switch_function();
	size_t jump = index_of(a, kSwitchJump);
	ASSERT_LT(jump, a.insns.size());
	// Two entries, the two cases, then a word that is no instruction of
	// the function: the table ends there.
	std::map<uint64_t, uint64_t> rodata = {{kTable, a.insns[jump + 1].address},
					       {kTable + 8, a.insns[jump + 2].address},
					       {kTable + 16, 0x12345}};
	resolve_jump_tables(Isa::x86_64, a.insns, a.code, a.f.low,
			    [&](uint64_t addr, unsigned n) -> std::optional<uint64_t> {
				    auto it = rodata.find(addr);
				    if (n != 8 || it == rodata.end())
					    return std::nullopt;
				    return it->second;
			    });
	EXPECT_EQ(a.insns[jump].targets.size(), 2u);
	auto succ = successors(a.insns);
	EXPECT_EQ(succ[jump], (std::vector<size_t>{jump + 1, jump + 2}));
}

TEST(JumpTables, AnUnreadableTableLeavesEveryInstructionASuccessor)
{
	auto a = switch_function();
	size_t jump = index_of(a, kSwitchJump);
	ASSERT_LT(jump, a.insns.size());
	resolve_jump_tables(Isa::x86_64, a.insns, a.code, a.f.low,
			    [](uint64_t, unsigned) -> std::optional<uint64_t> { return std::nullopt; });
	EXPECT_TRUE(a.insns[jump].targets.empty());
	EXPECT_EQ(successors(a.insns)[jump].size(), a.insns.size());
}

} // namespace
} // namespace hetmig::program

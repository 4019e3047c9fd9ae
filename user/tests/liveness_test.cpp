// SPDX-License-Identifier: GPL-2.0
// Callee-saved register liveness (program/liveness.cpp) on hand-assembled
// x86_64 code: a call of exit() does not fall through into the code gcc
// placed after it.
#include <gtest/gtest.h>

#include <algorithm>

#include "program/impl.h"

namespace hetmig::program {
namespace {

constexpr uint64_t kLow = 0x1000;
constexpr unsigned kRbx = 3;  // DWARF and hardware number alike

struct Assembled {
	std::vector<Insn> insns;
	Function f;
};

// CALLEES names the calls in order.
Assembled assemble(const std::vector<std::vector<uint8_t>> &code,
		   const std::vector<std::string> &callees)
{
	Assembled a;
	uint64_t at = kLow;
	size_t call = 0;
	for (const auto &bytes : code) {
		auto in = decode_x86_64(bytes.data(), bytes.size(), at);
		EXPECT_TRUE(in && in->length == bytes.size());
		if (!in)
			return a;
		if (in->flow == Insn::Flow::call) {
			CallSite c;
			c.call_address = at;
			c.return_address = at + in->length;
			c.callee = callees.at(call++);
			a.f.calls.push_back(c);
		}
		a.insns.push_back(*in);
		at += in->length;
	}
	a.f.low = kLow;
	a.f.high = at;
	a.f.decoded = true;
	compute_liveness(Isa::x86_64, a.insns, a.f);
	return a;
}

bool has(const std::vector<unsigned> &regs, unsigned r)
{
	return std::find(regs.begin(), regs.end(), r) != regs.end();
}

// rbx holds a value across work(); after it, one path overwrites rbx
// before reading it, the other calls exit(), and the bytes after that
// call (another block, reached by nothing) read rbx.
const std::vector<std::vector<uint8_t>> kCode = {
	{0x55},                  // push %rbp
	{0x48, 0x89, 0xe5},      // mov %rsp,%rbp
	{0x48, 0x89, 0xc3},      // mov %rax,%rbx
	{0xe8, 0, 0, 0, 0},      // call work
	{0x85, 0xc0},            // test %eax,%eax
	{0x74, 0x08},            // je .Lfail
	{0x48, 0x89, 0xc3},      // mov %rax,%rbx: overwritten
	{0x48, 0x89, 0xd8},      // mov %rbx,%rax
	{0xc9},                  // leave
	{0xc3},                  // ret
	{0xe8, 0, 0, 0, 0},      // .Lfail: call exit / report
	{0x48, 0x89, 0xd8},      // mov %rbx,%rax
	{0xc9},                  // leave
	{0xc3},                  // ret
};

TEST(LivenessX86, NothingAfterACallOfExit)
{
	auto a = assemble(kCode, {"work", "exit"});
	ASSERT_EQ(a.f.calls.size(), 2u);
	EXPECT_FALSE(has(a.f.calls[0].live_registers, kRbx));
	EXPECT_TRUE(has(a.f.calls[0].dead_registers, kRbx))
		<< "rbx is overwritten on every path work() returns to";
}

TEST(LivenessX86, AnOrdinaryCallReturns)
{
	auto a = assemble(kCode, {"work", "report"});
	ASSERT_EQ(a.f.calls.size(), 2u);
	EXPECT_TRUE(has(a.f.calls[0].live_registers, kRbx))
		<< "after report() returns, rbx is read";
}

} // namespace
} // namespace hetmig::program

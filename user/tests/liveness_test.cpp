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

// EP's main at -Os: a char kept in r12b, written after the call from a
// frame slot and compared, never read whole. The byte move keeps r12's
// upper bytes, but nothing reads them: r12 holds nothing across the call.
// TAIL follows `mov $5,%r12d; call work; mov -0x10(%rbp),%r12b`.
Assembled byte_register_after_call(const std::vector<std::vector<uint8_t>> &tail)
{
	std::vector<std::vector<uint8_t>> code = {
		{0x55}, {0x48, 0x89, 0xe5},             // push %rbp; mov %rsp,%rbp
		{0x41, 0xbc, 0x05, 0x00, 0x00, 0x00},   // mov $5,%r12d
		{0xe8, 0, 0, 0, 0},                     // call work
		{0x44, 0x8a, 0x65, 0xf0},               // mov -0x10(%rbp),%r12b
	};
	code.insert(code.end(), tail.begin(), tail.end());
	code.push_back({0xc9});
	code.push_back({0xc3});
	return assemble(code, {"work"});
}

TEST(LivenessX86, AByteWrittenAndReadAsAByteIsNoLiveRegister)
{
	constexpr unsigned kR12 = 12;
	auto a = byte_register_after_call({{0x41, 0x80, 0xfc, 0x53}});  // cmp $0x53,%r12b
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_FALSE(has(a.f.calls[0].live_registers, kR12));
	EXPECT_TRUE(has(a.f.calls[0].dead_registers, kR12));
	// The whole register read after the byte move: its upper bytes are
	// the ones from before the call.
	a = byte_register_after_call({{0x4c, 0x89, 0xe0}});  // mov %r12,%rax
	EXPECT_TRUE(has(a.f.calls[0].live_registers, kR12));
	// A byte read before the byte move reads the value from before it.
	a = assemble({{0x55}, {0x48, 0x89, 0xe5}, {0x41, 0xbc, 0x05, 0x00, 0x00, 0x00},
		      {0xe8, 0, 0, 0, 0}, {0x41, 0x80, 0xfc, 0x53}, {0xc9}, {0xc3}},
		     {"work"});
	EXPECT_TRUE(has(a.f.calls[0].live_registers, kR12));
}

TEST(LivenessX86, BhIsNotRbxsLowByte)
{
	// mov -0x10(%rbp),%bh then cmp $0x53,%bl: bl is rbx's, from before.
	auto a = assemble({{0x55}, {0x48, 0x89, 0xe5}, {0xbb, 0x05, 0x00, 0x00, 0x00},
			   {0xe8, 0, 0, 0, 0}, {0x8a, 0x7d, 0xf0}, {0x80, 0xfb, 0x53}, {0xc9}, {0xc3}},
			  {"work"});
	ASSERT_EQ(a.f.calls.size(), 1u);
	EXPECT_TRUE(has(a.f.calls[0].live_registers, kRbx));
}

} // namespace
} // namespace hetmig::program

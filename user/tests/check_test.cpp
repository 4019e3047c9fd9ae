// SPDX-License-Identifier: GPL-2.0
// The verifier accepts a clean -O0 program and refuses each rule breaker
// with the right reason.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "check/flags.h"
#include "check/report.h"
#include "check/verifier.h"
#include "fixture.h"

namespace hetmig::check {
namespace {

using program::Program;
using testing::open_fixture;

Report check(const char *x86, const char *arm)
{
	return verify(open_fixture(x86), open_fixture(arm));
}

bool any_reason(const Report &r, const std::string &needle, const std::string &fn = "")
{
	for (const auto &f : r.refusals)
		for (const auto &why : f.reasons)
			if (why.find(needle) != std::string::npos && (fn.empty() || f.function == fn))
				return true;
	return false;
}

bool any_error(const Report &r, const std::string &needle)
{
	for (const auto &e : r.errors)
		if (e.find(needle) != std::string::npos)
			return true;
	return false;
}

TEST(Verifier, AcceptsCleanO0)
{
	Report r = check("clean.x86_64", "clean.aarch64");
	EXPECT_TRUE(r.ok());
	EXPECT_GT(r.sites, 5u);
	EXPECT_EQ(r.proven, r.sites);
	for (const auto &f : r.refusals)
		ADD_FAILURE() << f.key << ": " << f.reasons.front();
}

// hetmig-cc links with --gc-sections: the DWARF of a function the linker
// dropped (address 0) describes no code and is no reason to refuse.
TEST(Verifier, IgnoresFunctionsTheLinkerDropped)
{
	for (const char *file : {"discarded.x86_64", "discarded.aarch64"}) {
		Program p = open_fixture(file);
		EXPECT_EQ(p.function_named("unused"), nullptr) << file;
		ASSERT_NE(p.function_named("main"), nullptr) << file;
		for (const auto &f : p.functions())
			EXPECT_GE(f.low, 0x400000u) << file << ": " << f.name;
	}
	Report r = check("discarded.x86_64", "discarded.aarch64");
	EXPECT_TRUE(r.ok());
	EXPECT_GT(r.sites, 2u);
	EXPECT_EQ(r.proven, r.sites);
	for (const auto &e : r.errors)
		ADD_FAILURE() << e;
}

TEST(Verifier, RefusesTemporaryAcrossCall)
{
	Report r = check("temp.x86_64", "temp.aarch64");
	EXPECT_FALSE(r.ok());
	ASSERT_EQ(r.refusals.size(), 1u);
	EXPECT_EQ(r.refusals[0].function, "main");
	EXPECT_EQ(r.refusals[0].line, 15);  // int x = f() + g();
	EXPECT_TRUE(any_reason(r, "callee-saved register rbx may hold a temporary"));
	EXPECT_TRUE(any_reason(r, "callee-saved register x20 may hold a temporary"));
}

TEST(Verifier, RefusesLiveLongDouble)
{
	Report r = check("longdouble.x86_64", "longdouble.aarch64");
	EXPECT_FALSE(r.ok());
	EXPECT_TRUE(any_reason(r, "live long double acc", "main"));
}

TEST(Verifier, RefusesLibcCallback)
{
	Report r = check("callback.x86_64", "callback.aarch64");
	EXPECT_FALSE(r.ok());
	EXPECT_TRUE(any_reason(r, "libc frame qsort cannot be rebuilt", "main"));
}

TEST(Verifier, RefusesPushedArgumentsAndDynamicFrames)
{
	// frames.c is built without -maccumulate-outgoing-args: x86_64 pushes
	// ten()'s stack arguments, aarch64 stores them in its fixed frame.
	Report r = check("frames.x86_64", "frames.aarch64");
	EXPECT_TRUE(any_reason(r, "arguments pushed on the stack right before the call on "
				  "x86_64", "outgoing"));
	EXPECT_FALSE(any_reason(r, "arguments pushed on the stack right before the call on "
				   "aarch64"));
	EXPECT_TRUE(any_reason(r, "frame size changes at run time", "vla"));
	EXPECT_TRUE(any_reason(r, "frame size changes at run time", "with_alloca"));
	EXPECT_FALSE(any_reason(r, "", "small"));
	EXPECT_FALSE(any_reason(r, "", "huge"));
}

const Refusal *refusal_of(const Report &r, const std::string &key_prefix)
{
	for (const auto &f : r.refusals)
		if (f.key.rfind(key_prefix, 0) == 0)
			return &f;
	return nullptr;
}

// hetmig-cc's build (-maccumulate-outgoing-args on x86_64): calls of the
// 10- and 18-argument functions, and every site inside them, the entry
// point included (their stack parameters still in main's outgoing area),
// are proven; only the variadic callee's are refused, at its caller and in
// itself.
TEST(Verifier, AcceptsStackParametersOfDescribedCallees)
{
	Program a = open_fixture("stackargs-O0.x86_64"), b = open_fixture("stackargs-O0.aarch64");
	Report r = verify(a, b);
	EXPECT_TRUE(r.errors.empty());
	for (const char *fn : {"main|ten|", "main|eighteen|", "ten|", "eighteen|"}) {
		const Refusal *f = refusal_of(r, fn);
		EXPECT_EQ(f, nullptr) << fn << ": " << (f ? f->reasons.front() : "");
	}
	for (const char *key : {"main|ten|57:6|0", "main|eighteen|58:6|0", "ten|callee|22:6|0",
				"eighteen|callee|33:6|0",
				// Stopped at its own entry point.
				"ten|__cyg_profile_func_enter|entry|0",
				"eighteen|__cyg_profile_func_enter|entry|0"}) {
		EXPECT_NE(a.call_site_by_key(key), nullptr) << key;
		EXPECT_TRUE(refuse_site(a, b, key).empty()) << key;
		EXPECT_TRUE(refuse_site(b, a, key).empty()) << key;
	}
	// Refused: main's call of vsum and vsum's own site, nothing else.
	EXPECT_EQ(r.refusals.size(), 2u);
	EXPECT_EQ(r.proven + 2, r.sites);
}

TEST(Verifier, RefusesVariadicCallee)
{
	Report r = check("stackargs-O0.x86_64", "stackargs-O0.aarch64");
	const Refusal *call = refusal_of(r, "main|vsum|");
	ASSERT_NE(call, nullptr);
	EXPECT_TRUE(any_reason(r, "the callee vsum is variadic", "main"));
	EXPECT_TRUE(any_reason(r, "described by no DWARF (on x86_64)", "main"));
	EXPECT_TRUE(any_reason(r, "described by no DWARF (on aarch64)", "main"));
	EXPECT_TRUE(any_reason(r, "vsum is variadic: what it received", "vsum"));
}

// gcc -O1 on x86_64 ends a stack parameter's location list once the frame
// pointer is set, while the code still reads the slot: the callee's sites
// are refused (the converter would not rebuild that part of the outgoing
// area), not guessed.
TEST(Verifier, StackParametersMustBeWhereTheyCameIn)
{
	Report r = check("stackargs-O1.x86_64", "stackargs-O1.aarch64");
	EXPECT_TRUE(any_reason(r, "stack parameter g (at CFA+0 on entry, in the caller's outgoing "
				  "area) is not described at the call on x86_64", "ten"));
	EXPECT_TRUE(any_reason(r, "stack parameter check (at CFA+72 on entry", "eighteen"));
	// aarch64 describes them where they came in.
	EXPECT_FALSE(any_reason(r, "is not described at the call on aarch64"));
	EXPECT_FALSE(any_reason(r, "pushed"));
}

TEST(Verifier, RefusesMismatchedFlags)
{
	Report r = check("clean.x86_64", "clean-O1.aarch64");
	EXPECT_FALSE(r.ok());
	EXPECT_EQ(r.proven, 0u);
	EXPECT_TRUE(any_error(r, "compiler flags differ"));
	EXPECT_TRUE(any_error(r, "-O1"));
}

TEST(Verifier, PluginsCompareByFileName)
{
	EXPECT_EQ(portable_flags("GNU C17 12.2.0 -O0 -fplugin=/b/plugin/x86_64/hetmig_plugin.so -g"),
		  "GNU C17 12.2.0 -O0 -fplugin=hetmig_plugin.so -g");
	EXPECT_EQ(portable_flags("GNU C17 12.2.0 -fplugin=/b/plugin/aarch64/hetmig_plugin.so "
				 "-mno-outline-atomics"),
		  portable_flags("GNU C17 12.2.0 -fplugin=/b/plugin/x86_64/hetmig_plugin.so"));
	EXPECT_NE(portable_flags("GNU C17 12.2.0 -fplugin=/b/x86_64/hetmig_plugin.so"),
		  portable_flags("GNU C17 12.2.0 -fplugin=/b/aarch64/other.so"));
	EXPECT_NE(portable_flags("GNU C17 12.2.0 -fplugin=/b/x86_64/hetmig_plugin.so"),
		  portable_flags("GNU C17 12.2.0"));
}

TEST(Verifier, RefusesNotAPair)
{
	Report r = check("clean.x86_64", "clean-other.aarch64");
	EXPECT_FALSE(r.ok());
	EXPECT_TRUE(any_error(r, "not a pair"));
	Report same = check("clean.x86_64", "clean.x86_64");
	EXPECT_TRUE(any_error(same, "both builds are for x86_64"));
}

TEST(Verifier, JsonReport)
{
	Report r = check("temp.x86_64", "temp.aarch64");
	auto j = nlohmann::json::parse(to_json(r));
	EXPECT_EQ(j["ok"], false);
	EXPECT_EQ(j["sites"], r.sites);
	EXPECT_EQ(j["refused"], 1);
	EXPECT_EQ(j["refusals"][0]["function"], "main");
	EXPECT_EQ(j["refusals"][0]["line"], 15);
}

} // namespace
} // namespace hetmig::check

namespace hetmig::check {
namespace {

// gcc -O1 keeps leaf's address and return address in x19 and x21 for the
// __cyg_profile_func_* calls only: not a refusal. What is refused at -O1 is
// the constant-valued variables (DW_OP_lit1; DW_OP_stack_value).
TEST(Verifier, O1InstrumentationRegistersAreNotTemporaries)
{
	auto arm = open_fixture("clean-O1.aarch64");
	const program::Function *leaf = arm.function_named("leaf");
	ASSERT_NE(leaf, nullptr);
	EXPECT_EQ(leaf->frame.instrumentation_registers, (std::vector<unsigned>{19, 21}));
	EXPECT_EQ(leaf->frame.return_address_copy, std::optional<unsigned>(21));
	Report r = check("clean-O1.x86_64", "clean-O1.aarch64");
	EXPECT_TRUE(r.errors.empty());
	EXPECT_GT(r.proven, 0u);
	EXPECT_FALSE(any_reason(r, "callee-saved register"));
	// `local` is computed from another register (breg; lit1; shl): no
	// constant.
	EXPECT_TRUE(any_reason(r, "location DW_OP_lit1 is not supported"));
}

// walk()'s loop comes before its only call (point(), out of line) by
// address and keeps &table and &pending in x19-x28 across that call. An
// instrumentation register was once any register written and read before
// the first call by address: these were taken for ones, ignored at the
// call, and not set by the converter (fp.c's newton_sqrt at -O2 then
// faulted on aarch64 reading its pending flag through x19 = 0). Which
// write a read sees is what decides now.
TEST(Verifier, RegistersReadBeforeTheFirstCallByAddressAreLive)
{
	auto arm = open_fixture("framed.aarch64");
	const program::Function *walk = arm.function_named("walk");
	ASSERT_NE(walk, nullptr);
	EXPECT_TRUE(walk->frame.instrumentation_registers.empty());
	auto table = arm.symbol("table"), pending = arm.symbol("pending");
	ASSERT_TRUE(table && pending);
	bool seen = false;
	for (const auto &c : walk->calls) {
		if (c.callee != "point")
			continue;
		seen = true;
		std::set<uint64_t> constants;
		for (const auto &[reg, value] : c.constant_registers)
			if (std::count(c.live_registers.begin(), c.live_registers.end(), reg))
				constants.insert(value);
		EXPECT_TRUE(constants.count(*table)) << "&table live and constant at the call";
		EXPECT_TRUE(constants.count(*pending)) << "&pending live and constant at the call";
	}
	EXPECT_TRUE(seen);
}

TEST(Verifier, ConstantsMustAgree)
{
	auto x86 = open_fixture("constant.x86_64"), arm = open_fixture("constant.aarch64");
	for (const auto *p : {&x86, &arm}) {
		const program::Function *f = p->function_named("agrees");
		ASSERT_NE(f, nullptr);
		bool seen = false;
		for (const auto &c : f->calls) {
			auto vars = p->variables_at(c.return_address);
			ASSERT_TRUE(vars.has_value());
			for (const auto &v : *vars)
				if (v.name == "same" && v.location.kind == program::Location::Kind::constant) {
					EXPECT_EQ(v.location.value, 7u);
					seen = true;
				}
		}
		EXPECT_TRUE(seen) << program::isa_name(p->isa());
	}
	Report r = verify(x86, arm);
	// agrees's second call is refused for its parameter (an entry value),
	// never for `same`.
	EXPECT_FALSE(any_reason(r, "same"));
	EXPECT_FALSE(any_reason(r, "constant", "agrees"));
	EXPECT_TRUE(any_reason(r, "variable per_isa is the constant 0x3 on x86_64 but 0x4 on "
				  "aarch64", "differs"));
	EXPECT_FALSE(any_reason(r, "", "main"));
}

// A parameter past its last use is described by its entry value only
// (DW_OP_entry_value; DW_OP_stack_value), or still by a register nothing
// reads again: dead either way, not a refusal. Before, every -O1 main was
// refused for argc and argv so.
TEST(Verifier, EntryValuesAreDead)
{
	auto x86 = open_fixture("entry.x86_64"), arm = open_fixture("entry.aarch64");
	for (const auto *p : {&x86, &arm}) {
		const program::Function *f = p->function_named("main");
		ASSERT_NE(f, nullptr);
		int entry = 0, unread = 0;
		for (const auto &c : f->calls) {
			auto vars = p->variables_at(c.return_address);
			ASSERT_TRUE(vars.has_value());
			for (const auto &v : *vars) {
				if ((v.name != "argc" && v.name != "argv") ||
				    v.location.kind != program::Location::Kind::optimized_out)
					continue;
				entry += v.location.why.find("function entry") != std::string::npos;
				unread += v.location.why.find("not read after the call") !=
					  std::string::npos;
			}
		}
		// x86_64: argc and argv were in rdi/rsi, clobbered: entry values.
		// aarch64: argc stays in x20 after its last use, never read.
		if (p->isa() == program::Isa::x86_64) {
			EXPECT_GE(entry, 2);
		} else {
			EXPECT_GE(entry, 1);
			EXPECT_GE(unread, 1);
		}
	}
	Report r = verify(x86, arm);
	EXPECT_TRUE(r.errors.empty());
	EXPECT_FALSE(any_reason(r, "entry_value"));
	EXPECT_FALSE(any_reason(r, "argc"));
	EXPECT_FALSE(any_reason(r, "", "main"));
	for (const auto &f : r.refusals)
		ADD_FAILURE() << f.key << ": " << f.reasons.front();
}

// gcc -O2 keeps what its loop needs in callee-saved registers no variable
// names: aarch64 holds &total (adrp/add) and the bound 20000 in x21 and
// x22 across step(); x86_64 has already counted i up when step() returns,
// describing i as rbx - 1. Constants and one-register values are carried,
// so every site of sum() is proven.
TEST(Verifier, HoistedConstantsAndAffineValuesAreCarried)
{
	auto x86 = open_fixture("hoisted.x86_64"), arm = open_fixture("hoisted.aarch64");
	auto total = arm.symbol("total");
	ASSERT_TRUE(total.has_value());
	const program::Function *sum = arm.function_named("sum");
	ASSERT_NE(sum, nullptr);
	bool address = false, bound = false;
	for (const auto &c : sum->calls) {
		if (c.callee != "step")
			continue;
		for (const auto &[reg, value] : c.constant_registers) {
			address |= value == *total;
			bound |= value == 20000;
		}
	}
	EXPECT_TRUE(address) << "&total in a register at sum's call of step";
	EXPECT_TRUE(bound) << "20000 in a register at sum's call of step";

	const program::Function *xsum = x86.function_named("sum");
	ASSERT_NE(xsum, nullptr);
	bool affine = false;
	for (const auto &c : xsum->calls) {
		if (c.callee != "step")
			continue;
		auto vars = x86.variables_at(c.return_address);
		ASSERT_TRUE(vars.has_value());
		for (const auto &v : *vars)
			if (v.name == "i" && v.location.kind == program::Location::Kind::affine) {
				EXPECT_EQ(v.location.terms,
					  (std::vector<std::pair<unsigned, int>>{{3, 1}}));  // rbx
				EXPECT_EQ(v.location.offset, -1);
				affine = true;
			}
	}
	EXPECT_TRUE(affine) << "i as rbx - 1 on x86_64";

	Report r = verify(x86, arm);
	EXPECT_FALSE(any_reason(r, "", "sum"));
	for (const auto &f : r.refusals)
		if (f.function == "sum")
			ADD_FAILURE() << f.key << ": " << f.reasons.front();
}

TEST(Verifier, ConstantsCompareTheVariablesBytesOnly)
{
	EXPECT_TRUE(same_constant(~0ull, 0xffffffff, 4));  // -1 as consts and as constu
	EXPECT_FALSE(same_constant(~0ull, 0xffffffff, 8));
	EXPECT_TRUE(same_constant(0x1ff, 0xff, 1));
	EXPECT_FALSE(same_constant(3, 4, 4));
}

// gcc -O2 keeps scale()'s local array's address (aarch64: add x21, sp,
// #0x60, sp being fp) and the constant 2^-12 (mov x0, #...; fmov d10, x0)
// in callee-saved registers across its calls to next(); x86_64 keeps the
// 64-bit mask (movabs). The array's address is a frame register: the
// destination's fp plus the offset of the same array in its own frame.
TEST(Verifier, FrameAddressesAndFloatingPointConstantsAreCarried)
{
	auto x86 = open_fixture("framed.x86_64"), arm = open_fixture("framed.aarch64");
	const program::Function *scale = arm.function_named("scale");
	ASSERT_NE(scale, nullptr);
	bool array = false, factor = false;
	for (const auto &c : scale->calls) {
		if (c.callee != "next")
			continue;
		auto vars = arm.variables_at(c.return_address);
		ASSERT_TRUE(vars.has_value());
		std::optional<int64_t> buf;
		for (const auto &v : *vars)
			if (v.name == "buf" && v.location.kind == program::Location::Kind::cfa_offset)
				buf = v.location.offset + int64_t(scale->frame.cfa_minus_fp);
		ASSERT_TRUE(buf.has_value());
		for (const auto &[reg, offset] : c.frame_registers)
			array |= offset == *buf;
		for (const auto &[reg, value] : c.constant_registers)
			factor |= reg >= 72 && reg <= 79 && value == 0x3f30000000000000ull;
	}
	EXPECT_TRUE(array) << "&buf as fp + offset at scale's call of next";
	EXPECT_TRUE(factor) << "2^-12 in d8-d15 at scale's call of next";

	const program::Function *xscale = x86.function_named("scale");
	ASSERT_NE(xscale, nullptr);
	bool mask = false;
	for (const auto &c : xscale->calls)
		for (const auto &[reg, value] : c.constant_registers)
			mask |= c.callee == "next" && value == 0x6666666666666666ull;
	EXPECT_TRUE(mask) << "movabs of the mask at scale's call of next";
}

// gcc -O2 keeps scale()'s `acc` (a double) in a frame slot across its
// calls to next() on x86_64: stored before, loaded after (no xmm register
// survives a call). The slot is live at the call, and described: DWARF
// places acc there. With the variable dropped it would be undescribed.
TEST(Verifier, SpilledValuesAcrossACallAreLiveFrameSlots)
{
	auto x86 = open_fixture("framed.x86_64");
	const program::Function *scale = x86.function_named("scale");
	ASSERT_NE(scale, nullptr);
	bool seen = false;
	for (const auto &c : scale->calls) {
		if (c.callee != "next")
			continue;
		seen = true;
		bool live = false;
		for (const auto &[lo, hi] : c.live_slots)
			live |= lo == -0xa8 && hi == -0xa0;
		EXPECT_TRUE(live) << "acc's slot at rbp-0xa8 is read after the call";
		EXPECT_TRUE(x86.undescribed_slots(c.return_address).empty());
		auto vars = x86.variables_at(c.return_address);
		ASSERT_TRUE(vars.has_value());
		bool acc = false;
		for (const auto &v : *vars)
			acc |= v.name == "acc" && v.location.kind == program::Location::Kind::cfa_offset;
		EXPECT_TRUE(acc) << "acc is described in its slot";
	}
	EXPECT_TRUE(seen);
}

// gcc -O2 spills newton()'s constant 0.5 from an xmm register to a frame
// slot before its call of point() on x86_64 (movsd .LC(%rip), %xmm3 on
// both paths into the loop, movsd %xmm3, -0x28(%rbp) before the call);
// no variable describes the slot. It is a constant slot (the converter
// writes it), not an undescribed one; without the xmm dataflow it was
// undescribed and the site refused. (x and g, spilled beside it, are
// named by the plugin's saved values in a hetmig-cc build, not here.)
TEST(Verifier, FloatingPointConstantsSpilledFromXmmAreConstantSlots)
{
	auto x86 = open_fixture("framed.x86_64");
	const program::Function *newton = x86.function_named("newton");
	ASSERT_NE(newton, nullptr);
	bool seen = false;
	for (const auto &c : newton->calls) {
		if (c.callee != "point")
			continue;
		seen = true;
		std::optional<int64_t> half;
		for (const auto &[slot, value] : c.constant_slots)
			if (value == 0x3fe0000000000000ull)
				half = slot;
		ASSERT_TRUE(half.has_value()) << "0.5 in a constant slot at newton's call of point";
		bool live = false;
		for (const auto &[lo, hi] : c.live_slots)
			live |= lo == *half;
		EXPECT_TRUE(live) << "the constant's slot is read after the call";
		for (const auto &[lo, hi] : x86.undescribed_slots(c.return_address))
			EXPECT_FALSE(lo <= *half && *half < hi) << "the constant's slot is undescribed";
	}
	EXPECT_TRUE(seen);
}

} // namespace
} // namespace hetmig::check

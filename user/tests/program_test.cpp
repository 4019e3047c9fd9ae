// SPDX-License-Identifier: GPL-2.0
// The program model on the fixtures. Expected frame layouts are the gcc 12
// prologues of fixtures/program/frames.c, read from objdump -d:
//   x86_64  small:    push %rbp; mov %rsp,%rbp; push %rbx; sub $0x28,%rsp
//           large:    ... push %rbx; sub $0x13a8,%rsp
//           huge:     ... push %rbx; sub $0x11198,%rsp
//   aarch64 small:    stp x29, x30, [sp, #-64]!; mov x29, sp
//           large:    mov x12, #0x13c0; sub sp, sp, x12; stp x29, x30, [sp]
//           huge:     sub sp, sp, #0x190; sub sp, sp, #0x11, lsl #12; stp ...
//           outgoing: sub sp, sp, #0x50; stp x29, x30, [sp, #16];
//                     add x29, sp, #0x10
#include <sys/mman.h>

#include <set>

#include "fixture.h"

namespace hetmig::program {
namespace {

using testing::open_fixture;

struct Expected {
	const char *function;
	uint64_t cfa_minus_sp, cfa_minus_fp;
	int64_t saved_fp_at, saved_ra_at;
};

void expect_frames(const Program &p, std::initializer_list<Expected> want)
{
	for (const auto &w : want) {
		SCOPED_TRACE(w.function);
		const Function *f = p.function_named(w.function);
		ASSERT_NE(f, nullptr);
		ASSERT_TRUE(f->frame.known) << f->frame.why_unknown;
		EXPECT_FALSE(f->frame.dynamic);
		EXPECT_EQ(f->frame.cfa_minus_sp, w.cfa_minus_sp);
		EXPECT_EQ(f->frame.cfa_minus_fp, w.cfa_minus_fp);
		EXPECT_EQ(f->frame.saved_fp_at, w.saved_fp_at);
		EXPECT_EQ(f->frame.saved_ra_at, w.saved_ra_at);
	}
}

TEST(ProgramFrames, X86_64)
{
	Program p = open_fixture("frames.x86_64");
	EXPECT_EQ(p.isa(), Isa::x86_64);
	// CFA = rbp + 16 always; sp = 16 + 8 per pushed register + the sub.
	expect_frames(p, {{"small", 16 + 8 + 0x28, 16, -16, -8},
			  {"large", 16 + 8 + 0x13a8, 16, -16, -8},
			  {"huge", 16 + 8 + 0x11198, 16, -16, -8},
			  {"outgoing", 16 + 8 + 0x28, 16, -16, -8}});
	// -finstrument-functions keeps the return value in rbx across
	// __cyg_profile_func_exit: rbx is saved in every function returning one.
	EXPECT_EQ(p.function_named("small")->frame.other_saved_registers,
		  std::vector<unsigned>{3});
	EXPECT_FALSE(p.function_named("small")->frame.return_address_copy);
	EXPECT_TRUE(p.function_named("vla")->frame.dynamic);
	EXPECT_TRUE(p.function_named("with_alloca")->frame.dynamic);
}

TEST(ProgramFrames, Aarch64)
{
	Program p = open_fixture("frames.aarch64");
	EXPECT_EQ(p.isa(), Isa::aarch64);
	expect_frames(p, {{"small", 64, 64, -64, -56},
			  {"large", 5056, 5056, -5056, -5048},
			  {"huge", 70064, 70064, -70064, -70056},
			  {"outgoing", 80, 64, -64, -56}});
	const Function *small = p.function_named("small");
	EXPECT_EQ(small->frame.other_saved_registers, (std::vector<unsigned>{19, 20}));
	// mov x19, x30 after the prologue, for __cyg_profile_func_*'s argument.
	EXPECT_EQ(small->frame.return_address_copy, std::optional<unsigned>(19));
	EXPECT_EQ(small->frame.instrumentation_registers, std::vector<unsigned>{19});
	// x20 keeps the return value across __cyg_profile_func_exit only.
	for (const auto &c : small->calls)
		EXPECT_EQ(c.live_registers, c.callee == "__cyg_profile_func_exit"
						    ? std::vector<unsigned>{20}
						    : std::vector<unsigned>{})
			<< c.key;
	// The CFI's save slots at each call, fp and return address included.
	const auto &slots = small->calls.front().saved_registers;
	auto slot = [&](unsigned reg) {
		for (auto [r, at] : slots)
			if (r == reg)
				return at;
		return int64_t(1);
	};
	EXPECT_EQ(slot(29), -64);
	EXPECT_EQ(slot(30), -56);
	EXPECT_EQ(slot(19), -48);
	EXPECT_TRUE(p.function_named("vla")->frame.dynamic);
	EXPECT_TRUE(p.function_named("with_alloca")->frame.dynamic);
}

TEST(ProgramFrames, StackArguments)
{
	for (const char *name : {"frames.x86_64", "frames.aarch64"}) {
		Program p = open_fixture(name);
		const Function *f = p.function_named("outgoing");
		ASSERT_NE(f, nullptr);
		bool to_ten = false;
		// frames.c is built without -maccumulate-outgoing-args: x86_64
		// pushes the stack arguments right before the call.
		const bool pushes = p.isa() == Isa::x86_64;
		for (const auto &c : f->calls)
			if (c.callee == "ten") {
				to_ten = true;
				EXPECT_TRUE(c.stack_arguments) << name;
				EXPECT_EQ(c.pushed_arguments, pushes) << name;
			} else {
				EXPECT_FALSE(c.stack_arguments) << name << " " << c.key;
				EXPECT_FALSE(c.pushed_arguments) << name << " " << c.key;
			}
		EXPECT_TRUE(to_ten);
	}
}

// stackargs.c as hetmig-cc builds it (x86_64 with
// -maccumulate-outgoing-args): the callees' stack parameters, at CFA + N on
// entry, and the caller's outgoing area, inside its fixed frame below
// everything else the frame holds.
TEST(ProgramFrames, StackParametersAndOutgoingArea)
{
	using Params = std::vector<std::pair<std::string, int64_t>>;
	auto slots = [](std::initializer_list<const char *> names) {
		Params out;
		int64_t at = 0;
		for (const char *n : names)
			out.push_back({n, (at += 8) - 8});
		return out;
	};
	for (const char *name : {"stackargs-O0.x86_64", "stackargs-O0.aarch64"}) {
		SCOPED_TRACE(name);
		Program p = open_fixture(name);
		const bool x86 = p.isa() == Isa::x86_64;
		const Function *ten = p.function_named("ten");
		const Function *eighteen = p.function_named("eighteen");
		const Function *vsum = p.function_named("vsum");
		const Function *main_fn = p.function_named("main");
		ASSERT_TRUE(ten && eighteen && vsum && main_fn);
		// x86_64: 6 integer registers, aarch64: 8; t and mops go in
		// floating-point registers on both.
		EXPECT_EQ(ten->stack_parameters,
			  x86 ? slots({"g", "h", "i", "j"}) : slots({"i", "j"}));
		EXPECT_EQ(eighteen->stack_parameters,
			  x86 ? slots({"optype", "verified", "version", "date", "cc", "clink",
				       "clib", "cinc", "cflags", "check"})
			      : slots({"version", "date", "cc", "clink", "clib", "cinc",
				       "cflags", "check"}));
		EXPECT_TRUE(vsum->variadic);
		EXPECT_TRUE(vsum->stack_parameters.empty());
		EXPECT_FALSE(ten->variadic);
		ASSERT_TRUE(main_fn->frame.known) << main_fn->frame.why_unknown;
		EXPECT_FALSE(main_fn->frame.dynamic);

		// Below main's variables and saved registers (CFA-relative).
		int64_t lowest = std::min(main_fn->frame.saved_fp_at, main_fn->frame.saved_ra_at);
		for (const auto &c : main_fn->calls) {
			EXPECT_FALSE(c.pushed_arguments) << c.key;
			for (auto [reg, at] : c.saved_registers)
				lowest = std::min(lowest, at);
			auto vars = p.variables_at(c.return_address);
			ASSERT_TRUE(vars.has_value());
			for (const auto &v : *vars) {
				if (v.location.kind == Location::Kind::cfa_offset)
					lowest = std::min(lowest, v.location.offset);
				else if (v.location.kind == Location::Kind::reg_offset)
					lowest = std::min(lowest, v.location.offset -
									  int64_t(main_fn->frame.cfa_minus_fp));
			}
		}
		const int64_t sp = -int64_t(main_fn->frame.cfa_minus_sp);
		int calls_with_stack_arguments = 0;
		for (const auto &c : main_fn->calls) {
			const Function *callee = p.function_named(c.callee);
			EXPECT_EQ(c.stack_arguments, callee == ten || callee == eighteen) << c.key;
			if (!c.stack_arguments)
				continue;
			calls_with_stack_arguments++;
			// The callee's CFA is main's sp at the call: its stack
			// parameters fit between that sp and main's lowest slot.
			for (const auto &[param, at] : callee->stack_parameters)
				EXPECT_LE(sp + at + 8, lowest) << c.callee << " " << param;
		}
		EXPECT_EQ(calls_with_stack_arguments, 2);
	}
}

const CallSite *site(const Program &p, const char *fn, const char *callee)
{
	const Function *f = p.function_named(fn);
	if (!f)
		return nullptr;
	for (const auto &c : f->calls)
		if (c.callee == callee)
			return &c;
	return nullptr;
}

TEST(ProgramCallSites, KeysEqualAcrossIsas)
{
	Program a = open_fixture("clean.x86_64"), b = open_fixture("clean.aarch64");
	std::set<std::string> ka, kb;
	for (const auto &f : a.functions())
		for (const auto &c : f.calls)
			ka.insert(c.key);
	for (const auto &f : b.functions())
		for (const auto &c : f.calls)
			kb.insert(c.key);
	EXPECT_EQ(ka, kb);
	EXPECT_TRUE(ka.count("work|work|28:7|0"));
	EXPECT_TRUE(ka.count("main|work|41:6|0"));
	const CallSite *c = a.call_site_by_key("work|work|28:7|0");
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(a.call_site_returning_to(c->return_address), c);
	EXPECT_EQ(a.function_at(c->call_address)->name, "work");
	EXPECT_EQ(c->return_address - c->call_address, 5u);  // call rel32
	EXPECT_EQ(b.call_site_by_key("work|work|28:7|0")->return_address -
			  b.call_site_by_key("work|work|28:7|0")->call_address,
		  4u);
}

std::map<std::string, Variable> vars(const Program &p, uint64_t pc)
{
	auto v = p.variables_at(pc);
	EXPECT_TRUE(v.has_value());
	std::map<std::string, Variable> out;
	if (v)
		for (auto &x : *v)
			out[x.name] = x;
	return out;
}

TEST(ProgramVariables, SlotsAtRecursiveCall)
{
	// x86_64: work stores n with mov %rdi,-0x58(%rbp), rbp = CFA - 16.
	// aarch64: str x0, [sp, #40] with sp = CFA - 112.
	struct {
		const char *file;
		int64_t n_at;
	} cases[] = {{"clean.x86_64", -16 - 0x58}, {"clean.aarch64", -112 + 40}};
	for (const auto &cs : cases) {
		SCOPED_TRACE(cs.file);
		Program p = open_fixture(cs.file);
		const CallSite *c = site(p, "work", "work");
		ASSERT_NE(c, nullptr);
		auto v = vars(p, c->return_address);
		// inner's block contains the recursive call; pr and local are locals.
		for (const char *name : {"n", "depth", "local", "pr", "r", "inner"})
			ASSERT_TRUE(v.count(name)) << name;
		EXPECT_TRUE(v["n"].parameter);
		EXPECT_FALSE(v["local"].parameter);
		for (const auto &[name, x] : v)
			EXPECT_EQ(x.location.kind, Location::Kind::cfa_offset) << name;
		EXPECT_EQ(v["n"].location.offset, cs.n_at);
		EXPECT_EQ(v["n"].type.name, "struct node *");
		// The call to leaf in the else branch has no `inner` in scope.
		const Function *work = p.function_named("work");
		const CallSite *other = nullptr;
		for (const auto &x : work->calls)
			if (x.callee == "leaf" && x.line == 31)
				other = &x;
		ASSERT_NE(other, nullptr);
		EXPECT_FALSE(vars(p, other->return_address).count("inner"));
	}
}

TEST(ProgramVariables, PointerOffsets)
{
	for (const char *file : {"clean.x86_64", "clean.aarch64"}) {
		SCOPED_TRACE(file);
		Program p = open_fixture(file);
		const CallSite *c = site(p, "work", "work");
		ASSERT_NE(c, nullptr);
		auto v = vars(p, c->return_address);
		EXPECT_EQ(v["pr"].type.name, "struct pair");
		EXPECT_EQ(v["pr"].type.size, 40u);
		EXPECT_EQ(v["pr"].type.pointer_offsets, (std::vector<uint64_t>{8, 16, 24}));
		EXPECT_EQ(v["pr"].type.unsupported, "");  // a bit-field is fine
		EXPECT_EQ(v["n"].type.pointer_offsets, std::vector<uint64_t>{0});
		const CallSite *m = site(p, "main", "work");
		ASSERT_NE(m, nullptr);
		auto mv = vars(p, m->return_address);
		EXPECT_EQ(mv["n"].type.pointer_offsets, (std::vector<uint64_t>{8, 16}));
		EXPECT_TRUE(mv["v"].type.pointer_offsets.empty());
	}
}

TEST(ProgramVariables, LongDoubleUnsupported)
{
	for (const char *file : {"longdouble.x86_64", "longdouble.aarch64"}) {
		Program p = open_fixture(file);
		const CallSite *c = site(p, "main", "step");
		ASSERT_NE(c, nullptr);
		auto v = vars(p, c->return_address);
		EXPECT_EQ(v["acc"].type.size, 16u) << file;
		EXPECT_NE(v["acc"].type.unsupported.find("long double"), std::string::npos);
	}
}

TEST(ProgramElf, PairNoteAndSymbols)
{
	Program a = open_fixture("clean.x86_64"), b = open_fixture("clean.aarch64");
	EXPECT_EQ(a.pair_id(), std::string(32, '1'));
	EXPECT_EQ(a.pair_id(), b.pair_id());
	EXPECT_EQ(a.symbol("main"), b.symbol("main"));
	EXPECT_EQ(a.function_named("main")->low, *a.symbol("main"));
	EXPECT_TRUE(a.function_named("main")->has_debug_info);
	EXPECT_FALSE(a.function_named("qsort")->has_debug_info);
	EXPECT_NE(a.producer().find("-O0"), std::string::npos);
	auto bytes = a.initial_bytes(*a.symbol("main"), 4);
	EXPECT_EQ(bytes.size(), 4u);
	EXPECT_EQ(bytes[0], 0x55);  // push %rbp
	EXPECT_TRUE(a.initial_bytes(0x10, 4).empty());
	// The text segment in mmap's terms: read and execute.
	bool text = false;
	for (const auto &seg : a.segments())
		if (seg.vaddr <= *a.symbol("main") && *a.symbol("main") < seg.vaddr + seg.memsz)
			text = seg.prot == (PROT_READ | PROT_EXEC) ||
			       seg.prot == (PROT_READ | PROT_WRITE | PROT_EXEC);
	EXPECT_TRUE(text);
	EXPECT_FALSE(Program::open("/nonexistent").has_value());
}

} // namespace
} // namespace hetmig::program

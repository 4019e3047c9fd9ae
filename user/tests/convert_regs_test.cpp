// SPDX-License-Identifier: GPL-2.0
// The converter on states of regs.c built with -O1 (fixtures/states,
// README.md there), recorded in real guests of both ISAs: gcc keeps each
// descend() frame's `depth`, `mark` and `half` in callee-saved registers
// (or, for `half` on x86_64, which has none for doubles, in the frame)
// across its call. Every value is read back as the frame's code will find
// it: a register from the save slot of the nearest inner frame that saved
// it, else from the thread's registers (source) or the resume record
// (destination). The reader here is written from DWARF and hetmig.h,
// apart from the converter's own.
#include <gtest/gtest.h>
#include <linux/hetmig.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <elf.h>
#include <functional>
#include <memory>
#include <optional>

#include "convert/convert.h"
#include "convert/frames.h"
#include "convert/memory.h"
#include "convert/resume.h"
#include "hetmig.h"
#include "image.h"
#include "reparked.h"

namespace hetmig::convert {
namespace {

using program::Isa;
using testing::memory_of;
using program::Location;
using program::Program;

constexpr long kDepth = 5;  // regs-5.ISA.img
long mark_of(long depth) { return 0x5eed0000L + 17 * depth; }  // regs.c's MARK()

std::string state_file(const std::string &name)
{
	return std::string(HETMIG_STATE_FIXTURES) + "/" + name;
}

Isa other(Isa isa) { return isa == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64; }

const Program &build(Isa isa)
{
	static std::unique_ptr<Program> builds[2];
	auto &b = builds[isa == Isa::x86_64 ? 0 : 1];
	if (!b) {
		auto p = Program::open(state_file(std::string("regs.") + program::isa_name(isa)));
		if (!p) {
			ADD_FAILURE() << p.error().describe();
			std::abort();
		}
		b = std::make_unique<Program>(std::move(*p));
	}
	return *b;
}

Image load_state(Isa isa)
{
	auto img = load_image(state_file(strf("regs-%ld.%s.img", kDepth, program::isa_name(isa))));
	EXPECT_TRUE(img.has_value()) << img.error().describe();
	return img ? std::move(*img) : Image{};
}

uint64_t word_at(const std::vector<uint8_t> &bytes, size_t off)
{
	uint64_t v = 0;
	std::memcpy(&v, bytes.data() + off, std::min<size_t>(8, bytes.size() - off));
	return v;
}

// A callee-saved register by DWARF number, where no frame saved it.
using RegisterFile = std::function<std::optional<uint64_t>(unsigned)>;

RegisterFile thread_registers(const ThreadState &t, Isa isa)
{
	return [&t, isa](unsigned reg) -> std::optional<uint64_t> {
		auto at = [&](uint32_t note, size_t off) -> std::optional<uint64_t> {
			auto it = t.regsets.find(note);
			if (it == t.regsets.end() || it->second.size() < off + 8)
				return std::nullopt;
			return word_at(it->second, off);
		};
		if (isa == Isa::x86_64) {
			// struct user_regs_struct: r15, r14, r13, r12, rbp, rbx
			static const std::map<unsigned, size_t> index = {
				{15, 0}, {14, 1}, {13, 2}, {12, 3}, {3, 5}};
			auto i = index.find(reg);
			return i == index.end() ? std::nullopt : at(NT_PRSTATUS, 8 * i->second);
		}
		if (reg <= 30)
			return at(NT_PRSTATUS, 8 * reg);
		if (reg >= 64 && reg < 96)
			return at(NT_PRFPREG, 16 * (reg - 64));  // low half of v0..v31
		return std::nullopt;
	};
}

// hetmig.h: callee_saved[] is x86_64 rbx, r12-r15; aarch64 x19-x28, d8-d15.
RegisterFile record_registers(const hetmig_resume &r, Isa isa)
{
	std::array<uint64_t, HETMIG_RESUME_REGS> regs;
	std::copy(std::begin(r.callee_saved), std::end(r.callee_saved), regs.begin());
	return [regs, isa](unsigned reg) -> std::optional<uint64_t> {
		if (isa == Isa::x86_64) {
			if (reg == 3)
				return regs[0];
			if (reg >= 12 && reg <= 15)
				return regs[1 + reg - 12];
		} else {
			if (reg >= 19 && reg <= 28)
				return regs[reg - 19];
			if (reg >= 72 && reg <= 79)
				return regs[10 + reg - 72];
		}
		return std::nullopt;
	};
}

// A parked stack as a debugger sees it.
struct Stack {
	AddressSpace mem;
	std::vector<Frame> frames;
	RegisterFile registers;
	hetmig_resume record{};  // a converted stack's
};

void walk(Stack &s, const Program &prog, const ParkState &park)
{
	auto frames = parked_frames(prog, park, [&](uint64_t a) { return s.mem.read_u64(a); });
	ASSERT_TRUE(frames.has_value()) << frames.error().describe();
	s.frames = std::move(*frames);
}

Stack source_stack(const Image &img, const Program &prog)
{
	Stack s{memory_of(img), {}, thread_registers(img.threads.at(0), prog.isa())};
	RuntimeLayout rt{};
	EXPECT_TRUE(s.mem.read(*prog.symbol(kRuntimeSymbol),
			       {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)}).has_value());
	walk(s, prog, {rt.park_ra, rt.park_cfa, rt.park_fp});
	return s;
}

Stack converted_stack(const Image &img, const Program &prog)
{
	Stack s{memory_of(img), {}, {}};
	const auto &regs = img.threads.at(0).regsets.at(NT_PRSTATUS);
	uint64_t record = word_at(regs, prog.isa() == Isa::x86_64 ? 8 * 14 : 0);  // rdi / x0
	EXPECT_TRUE(s.mem.read(record, {reinterpret_cast<uint8_t *>(&s.record),
					sizeof(s.record)}).has_value());
	s.registers = record_registers(s.record, prog.isa());
	walk(s, prog, {s.record.pc, s.record.sp, s.record.fp});
	return s;
}

// Frame I's variable NAME as the frame's code finds it, and where DWARF
// says it is.
struct Value {
	Location::Kind kind = Location::Kind::unsupported;
	std::vector<uint8_t> bytes;
	bool found = false;
};

Value value_of(const Stack &s, const Program &prog, size_t i, const std::string &name)
{
	Value out;
	const Frame &f = s.frames.at(i);
	auto vars = prog.variables_at(f.resume_pc);
	EXPECT_TRUE(vars.has_value()) << vars.error().describe();
	if (!vars)
		return out;
	for (const auto &v : *vars) {
		if (v.name != name)
			continue;
		out.kind = v.location.kind;
		out.bytes.assign(v.type.size, 0);
		std::optional<uint64_t> reg;
		switch (v.location.kind) {
		case Location::Kind::constant:
			std::memcpy(out.bytes.data(), &v.location.value, std::min<size_t>(8, v.type.size));
			out.found = true;
			return out;
		case Location::Kind::computed:
			// A register the site's own code sets (descend's `depth`
			// at depth 0, known from `if (depth == 0)`): the value is
			// the site's, which the converter writes.
			for (const auto &[r, value] : f.site->constant_registers)
				if (r == v.location.reg) {
					std::memcpy(out.bytes.data(), &value,
						    std::min<size_t>(8, v.type.size));
					out.found = true;
				}
			return out;
		case Location::Kind::reg:
			for (size_t j = i; j-- > 0 && !reg;)
				for (const auto &[r, off] : s.frames[j].site->saved_registers)
					if (r == v.location.reg)
						reg = s.mem.read_u64(s.frames[j].cfa + uint64_t(off))
							      .value_or(0xbad);
			if (!reg)
				reg = s.registers(v.location.reg);
			if (!reg)
				return out;
			std::memcpy(out.bytes.data(), &*reg, std::min<size_t>(8, v.type.size));
			out.found = true;
			return out;
		default: {
			auto addr = variable_address(v, f.cfa, f.fp, prog.isa() == Isa::x86_64 ? 6 : 29,
						     name);
			if (!addr)
				return out;
			out.found = s.mem.read(*addr, out.bytes).has_value();
			return out;
		}
		}
	}
	return out;
}

long long_of(const Stack &s, const Program &prog, size_t i, const std::string &name)
{
	Value v = value_of(s, prog, i, name);
	EXPECT_TRUE(v.found) << "frame " << i << ": " << name;
	return long(word_at(v.bytes, 0));
}

double double_of(const Stack &s, const Program &prog, size_t i, const std::string &name)
{
	Value v = value_of(s, prog, i, name);
	EXPECT_TRUE(v.found) << "frame " << i << ": " << name;
	double d = 0;
	std::memcpy(&d, v.bytes.data(), std::min<size_t>(8, v.bytes.size()));
	return d;
}

// __cyg_profile_func_enter, leaf (at its entry point), descend x
// (kDepth + 1), main: every value regs.c put there.
void expect_regs_values(const Stack &s, const Program &prog)
{
	ASSERT_EQ(s.frames.size(), size_t(kDepth) + 4);
	EXPECT_EQ(s.frames[1].function->name, "leaf");
	EXPECT_EQ(long_of(s, prog, 1, "x"), mark_of(0)) << "leaf's x";
	for (long depth = 0; depth <= kDepth; depth++) {
		size_t i = size_t(depth) + 2;
		SCOPED_TRACE(strf("descend(%ld), frame %zu", depth, i));
		ASSERT_EQ(s.frames[i].function->name, "descend");
		EXPECT_EQ(long_of(s, prog, i, "depth"), depth);
		EXPECT_EQ(long_of(s, prog, i, "mark"), mark_of(depth));
		EXPECT_EQ(double_of(s, prog, i, "half"), double(depth) / 2);
	}
	EXPECT_EQ(s.frames.back().function->name, "main");
	// main reads nothing of `depth` after its call: dead there, whatever
	// register the location list still names.
	Value depth = value_of(s, prog, s.frames.size() - 1, "depth");
	EXPECT_FALSE(depth.found) << "main's depth is dead at its call";
}

Image convert(const Image &src, Isa from)
{
	auto out = convert_image(src, build(from), build(other(from)));
	EXPECT_TRUE(out.has_value()) << out.error().describe();
	return out ? std::move(*out) : Image{};
}

class RegsState : public ::testing::TestWithParam<Isa> {
protected:
	Isa from() const { return GetParam(); }
	Isa to() const { return other(from()); }
};

// The fixture is what the tests need: values in callee-saved registers,
// found where DWARF and the CFI say, on the source.
TEST_P(RegsState, SourceKeepsValuesInCalleeSavedRegisters)
{
	Image src = load_state(from());
	Stack s = source_stack(src, build(from()));
	expect_regs_values(s, build(from()));
	for (long depth = 0; depth <= kDepth; depth++) {
		size_t i = size_t(depth) + 2;
		EXPECT_EQ(value_of(s, build(from()), i, "mark").kind, Location::Kind::reg) << i;
		// At depth 0 the call is under `if (depth == 0)`: the register
		// is known to hold 0 there (a branch condition), so `depth` is
		// computed from the site, not read.
		EXPECT_EQ(value_of(s, build(from()), i, "depth").kind,
			  depth == 0 ? Location::Kind::computed : Location::Kind::reg)
			<< i;
		EXPECT_EQ(value_of(s, build(from()), i, "unit").kind, Location::Kind::constant)
			<< i;
	}
	// aarch64 keeps the double in d8; x86_64 has no callee-saved vector
	// register and keeps it in the frame.
	EXPECT_EQ(value_of(s, build(from()), 2, "half").kind,
		  from() == Isa::aarch64 ? Location::Kind::reg : Location::Kind::cfa_offset);
}

TEST_P(RegsState, ConvertedFramesHoldTheValues)
{
	Image src = load_state(from());
	Image out = convert(src, from());
	ASSERT_FALSE(out.pages.empty());
	Stack d = converted_stack(out, build(to()));
	expect_regs_values(d, build(to()));
	for (long depth = 0; depth <= kDepth; depth++)
		EXPECT_EQ(long_of(d, build(to()), size_t(depth) + 2, "unit"), 1);
}

// Values no inner destination frame saves are set by __hetmig_resume from
// the record: descend(0)'s `mark`, which leaf does not save on either ISA.
TEST_P(RegsState, InnermostValuesGoIntoTheResumeRecord)
{
	Image out = convert(load_state(from()), from());
	ASSERT_FALSE(out.pages.empty());
	Stack d = converted_stack(out, build(to()));
	bool in_record = false;
	for (uint64_t v : d.record.callee_saved)
		in_record |= v == uint64_t(mark_of(0));
	EXPECT_TRUE(in_record);
}

// A converted image as it is once __hetmig_jump ran and the process parked
// again at the same point: the thread's callee-saved registers hold the
// record's (hetmig.h order), the runtime block records the record's
// caller, the TLS block lies in a fresh mapping.
Image reparked(const Image &converted, const Program &prog)
{
	Image img = converted;
	Stack d = converted_stack(converted, prog);
	const auto &regs = img.threads.at(0).regsets.at(NT_PRSTATUS);
	uint64_t record = word_at(regs, prog.isa() == Isa::x86_64 ? 8 * 14 : 0);
	testing::repark(img, d.mem, prog, record);
	ThreadState &t = img.threads.at(0);

	auto set = [&](uint32_t note, size_t size, size_t off, uint64_t v) {
		auto &bytes = t.regsets[note];
		bytes.resize(std::max(bytes.size(), size));
		std::memcpy(bytes.data() + off, &v, 8);
	};
	const uint64_t *cs = d.record.callee_saved;
	if (prog.isa() == Isa::x86_64) {
		// struct user_regs_struct: r15, r14, r13, r12, rbp, rbx
		const size_t index[] = {5, 3, 2, 1, 0};  // rbx, r12..r15
		for (size_t i = 0; i < 5; i++)
			set(NT_PRSTATUS, 27 * 8, 8 * index[i], cs[i]);
	} else {
		for (unsigned r = 19; r <= 28; r++)
			set(NT_PRSTATUS, 34 * 8, 8 * r, cs[r - 19]);
		for (unsigned v = 8; v <= 15; v++)  // struct user_fpsimd_state
			set(NT_PRFPREG, 32 * 16 + 8, 16 * v, cs[10 + v - 8]);
	}

	img.pages = d.mem.to_pages();
	return img;
}

// Back again: the values the destination's registers and save slots held
// are read as the source's and come out right on the first ISA.
TEST_P(RegsState, RoundTripGivesBackTheValues)
{
	Image there = convert(load_state(from()), from());
	ASSERT_FALSE(there.pages.empty());
	Image parked = reparked(there, build(to()));
	auto back = convert_image(parked, build(to()), build(from()));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	Stack b = converted_stack(*back, build(from()));
	expect_regs_values(b, build(from()));
}

INSTANTIATE_TEST_SUITE_P(Recorded, RegsState, ::testing::Values(Isa::x86_64, Isa::aarch64),
			 [](const auto &info) {
				 return std::string("from_") + program::isa_name(info.param);
			 });

} // namespace
} // namespace hetmig::convert

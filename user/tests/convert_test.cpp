// SPDX-License-Identifier: GPL-2.0
// The converter on states recorded in real guests of both ISAs
// (fixtures/states, README.md there): states.c parked DEPTH + 1 frames
// deep in descend(), with pointers to callers' locals, a heap node and a
// global pointing at main's local, and a TLS variable with a known value.
// Each converted image is read back the way the destination would run it:
// its frames are walked from the resume record with the destination build,
// and every variable is compared with the source's.
#include <gtest/gtest.h>
#include <linux/hetmig.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "convert/convert.h"
#include "convert/frames.h"
#include "convert/memory.h"
#include "convert/resume.h"
#include "fixture.h"
#include "hetmig.h"
#include "image.h"
#include "reparked.h"

namespace hetmig::convert {
namespace {

using program::Isa;
using testing::memory_of;
using program::Program;

// What states.c stores (its TLS_MARK, HEAP_MARK, ANCHOR_MARK).
constexpr uint64_t kTlsMark = 0x715c0ffee715c0ffull;
constexpr uint64_t kHeapMark = 0x4ea9;
constexpr uint64_t kAnchorMark = 0x1234abcd;
constexpr uint64_t kTlsAnchorValue = 0x434e41534c544d48ull;  // __hetmig_tls_anchor
constexpr int kDepths[] = {5, 50, 500};

std::string state_file(const std::string &name)
{
	return std::string(HETMIG_STATE_FIXTURES) + "/" + name;
}

const char *suffix(Isa isa) { return program::isa_name(isa); }
Isa other(Isa isa) { return isa == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64; }
unsigned fp_register(Isa isa) { return isa == Isa::x86_64 ? 6 : 29; }

// Both recorded builds, opened once (reading their DWARF takes a while).
class Builds {
public:
	static const Program &of(Isa isa)
	{
		static Builds b;
		return isa == Isa::x86_64 ? *b.x86_64_ : *b.aarch64_;
	}

private:
	Builds()
	{
		for (Isa isa : {Isa::x86_64, Isa::aarch64}) {
			auto p = Program::open(state_file(std::string("states.") + suffix(isa)));
			if (!p) {
				ADD_FAILURE() << p.error().describe();
				std::abort();
			}
			(isa == Isa::x86_64 ? x86_64_ : aarch64_) =
				std::make_unique<Program>(std::move(*p));
		}
	}
	std::unique_ptr<Program> x86_64_, aarch64_;
};

Image load_state(const std::string &name)
{
	auto img = load_image(state_file(name));
	if (!img)
		ADD_FAILURE() << name << ": " << img.error().describe();
	return img ? std::move(*img) : Image{};
}

std::string state_name(int depth, Isa isa)
{
	return strf("states-%d.%s.img", depth, suffix(isa));
}

uint64_t read_u64(const AddressSpace &mem, uint64_t addr)
{
	auto v = mem.read_u64(addr);
	EXPECT_TRUE(v.has_value()) << v.error().describe();
	return v.value_or(0);
}

RuntimeLayout runtime_block(const AddressSpace &mem, const Program &prog)
{
	RuntimeLayout rt{};
	auto r = mem.read(*prog.symbol(kRuntimeSymbol),
			  {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)});
	EXPECT_TRUE(r.has_value()) << r.error().describe();
	return rt;
}

// The registers a converted image starts with.
struct Entry {
	uint64_t pc = 0, sp = 0, arg0 = 0;
};

Entry entry_of(const Image &img, Isa isa)
{
	const auto &regs = img.threads.at(0).regsets.at(1 /* NT_PRSTATUS */);
	auto reg = [&](size_t i) {
		uint64_t v;
		std::memcpy(&v, regs.data() + 8 * i, 8);
		return v;
	};
	if (isa == Isa::x86_64)
		return {reg(16), reg(19), reg(14)};  // rip, rsp, rdi
	return {reg(32), reg(31), reg(0)};
}

hetmig_resume resume_record(const AddressSpace &mem, uint64_t addr)
{
	hetmig_resume r{};
	auto ok = mem.read(addr, {reinterpret_cast<uint8_t *>(&r), sizeof(r)});
	EXPECT_TRUE(ok.has_value()) << ok.error().describe();
	return r;
}

// A state as the destination would see it: memory, and frames walked with
// one build from a parked caller (the runtime block of a recorded image,
// the resume record of a converted one).
struct View {
	AddressSpace mem;
	std::vector<Frame> frames;
	uint64_t stack_start = 0, stack_end = 0;
};

View view(const Image &img, const Program &prog, const ParkState &park)
{
	View v{memory_of(img), {}, 0, 0};
	for (const auto &m : img.mappings)
		if (park.cfa >= m.start && park.cfa < m.end)
			v.stack_start = m.start, v.stack_end = m.end;
	auto frames = parked_frames(prog, park, [&](uint64_t a) { return v.mem.read_u64(a); });
	EXPECT_TRUE(frames.has_value()) << frames.error().describe();
	if (frames)
		v.frames = std::move(*frames);
	return v;
}

View source_view(const Image &img, const Program &prog)
{
	auto mem = memory_of(img);
	RuntimeLayout rt = runtime_block(mem, prog);
	return view(img, prog, {rt.park_ra, rt.park_cfa, rt.park_fp});
}

View converted_view(const Image &img, const Program &prog)
{
	auto mem = memory_of(img);
	hetmig_resume rec = resume_record(mem, entry_of(img, prog.isa()).arg0);
	return view(img, prog, {rec.pc, rec.sp, rec.fp});
}

// One located variable of one frame.
struct Slot {
	program::Variable var;
	uint64_t addr = 0;
	std::vector<uint8_t> bytes;
};

// Frame I's variables by "name:line".
std::map<std::string, Slot> slots(const View &v, const Program &prog, size_t i)
{
	std::map<std::string, Slot> out;
	const Frame &f = v.frames.at(i);
	auto vars = prog.variables_at(f.resume_pc);
	EXPECT_TRUE(vars.has_value()) << vars.error().describe();
	if (!vars)
		return out;
	for (const auto &var : *vars) {
		auto addr = variable_address(var, f.cfa, f.fp, fp_register(prog.isa()),
					     f.function->name);
		EXPECT_TRUE(addr.has_value()) << addr.error().describe();
		if (!addr)
			continue;
		Slot s{var, *addr, std::vector<uint8_t>(var.type.size)};
		auto r = v.mem.read(*addr, s.bytes);
		EXPECT_TRUE(r.has_value()) << r.error().describe();
		out[strf("%s:%d", var.name.c_str(), var.decl_line)] = std::move(s);
	}
	return out;
}

uint64_t word(const std::vector<uint8_t> &bytes, uint64_t off)
{
	uint64_t v = 0;
	std::memcpy(&v, bytes.data() + off, 8);
	return v;
}

// Where a source stack address should be in the destination: inside a
// variable, the same offset in that variable's destination slot; above
// main's frame, moved with the block above main; anything else is not a
// stack address and stays.
class Relocation {
public:
	Relocation(const View &src, const Program &from, const View &dst, const Program &to)
		: src_(src)
	{
		for (size_t i = 0; i < src.frames.size() && i < dst.frames.size(); i++) {
			auto s = slots(src, from, i), d = slots(dst, to, i);
			for (const auto &[key, slot] : s)
				if (auto it = d.find(key); it != d.end())
					spans_.push_back({slot.addr, slot.var.type.size,
							  it->second.addr});
		}
		main_delta_ = dst.frames.back().cfa - src.frames.back().cfa;
	}
	uint64_t map(uint64_t p) const
	{
		for (const auto &s : spans_)
			if (p >= s.src && p < s.src + s.len)
				return s.dst + (p - s.src);
		if (p >= src_.frames.back().cfa && p < src_.stack_end)
			return p + main_delta_;
		return p;
	}

private:
	struct Span { uint64_t src, len, dst; };
	const View &src_;
	std::vector<Span> spans_;
	uint64_t main_delta_ = 0;
};

// Every frame of DST matches SRC's (function, call site), and every
// variable holds the source's value, stack pointers mapped to their
// targets' new places.
void expect_same_frames_and_values(const View &src, const Program &from, const View &dst,
				   const Program &to)
{
	ASSERT_EQ(dst.frames.size(), src.frames.size());
	Relocation reloc(src, from, dst, to);
	for (size_t i = 0; i < src.frames.size(); i++) {
		const Frame &s = src.frames[i], &d = dst.frames[i];
		SCOPED_TRACE(strf("frame %zu (%s)", i, s.function->name.c_str()));
		EXPECT_EQ(d.function->name, s.function->name);
		EXPECT_EQ(d.site->key, s.site->key);
		EXPECT_EQ(d.site->line, s.site->line);
		auto sv = slots(src, from, i), dv = slots(dst, to, i);
		ASSERT_EQ(dv.size(), sv.size());
		for (const auto &[key, slot] : sv) {
			auto it = dv.find(key);
			ASSERT_NE(it, dv.end()) << key << " is missing in the destination frame";
			std::vector<uint8_t> want = slot.bytes;
			for (uint64_t off : slot.var.type.pointer_offsets) {
				uint64_t p = reloc.map(word(want, off));
				std::memcpy(want.data() + off, &p, 8);
			}
			EXPECT_EQ(it->second.bytes, want) << key;
		}
	}
}

struct Conversion {
	Image image;
	Report report;
};

Conversion convert_state(const Image &src, Isa from)
{
	Conversion c;
	auto out = convert_image(src, Builds::of(from), Builds::of(other(from)), &c.report);
	EXPECT_TRUE(out.has_value()) << out.error().describe();
	if (out)
		c.image = std::move(*out);
	return c;
}

class ConvertState : public ::testing::TestWithParam<std::tuple<int, Isa>> {
protected:
	int depth() const { return std::get<0>(GetParam()); }
	Isa from() const { return std::get<1>(GetParam()); }
	Isa to() const { return other(from()); }
	const Program &from_build() const { return Builds::of(from()); }
	const Program &to_build() const { return Builds::of(to()); }
};

TEST_P(ConvertState, RecordedStateIsParkedWhereExpected)
{
	Image src = load_state(state_name(depth(), from()));
	View v = source_view(src, from_build());
	// __cyg_profile_func_enter (the point), leaf, descend x DEPTH + 1, main.
	ASSERT_EQ(v.frames.size(), size_t(depth()) + 4);
	EXPECT_EQ(v.frames[0].function->name, "__cyg_profile_func_enter");
	EXPECT_EQ(v.frames[1].function->name, "leaf");
	for (int i = 0; i <= depth(); i++)
		EXPECT_EQ(v.frames[2 + i].function->name, "descend");
	EXPECT_EQ(v.frames.back().function->name, "main");
}

TEST_P(ConvertState, SameFramesAndValues)
{
	Image src = load_state(state_name(depth(), from()));
	Conversion c = convert_state(src, from());
	ASSERT_FALSE(c.image.pages.empty());
	EXPECT_EQ(c.image.arch, to() == Isa::x86_64 ? 1u : 2u);
	View s = source_view(src, from_build());
	View d = converted_view(c.image, to_build());
	expect_same_frames_and_values(s, from_build(), d, to_build());

	// The report names the same frames, innermost first.
	ASSERT_EQ(d.frames.size(), s.frames.size());
	ASSERT_EQ(c.report.frames.size(), s.frames.size());
	for (size_t i = 0; i < s.frames.size(); i++) {
		EXPECT_EQ(c.report.frames[i].function, s.frames[i].function->name);
		EXPECT_EQ(c.report.frames[i].line, s.frames[i].site->line);
		EXPECT_EQ(c.report.frames[i].source_cfa, s.frames[i].cfa);
		EXPECT_EQ(c.report.frames[i].dest_cfa, d.frames[i].cfa);
	}
}

TEST_P(ConvertState, StackPointersFollowTheirTargets)
{
	Image src = load_state(state_name(depth(), from()));
	Conversion c = convert_state(src, from());
	View d = converted_view(c.image, to_build());
	ASSERT_EQ(d.frames.size(), size_t(depth()) + 4);
	// Each descend's `up` is its caller's `&here` (main's `&anchor` for
	// the outermost), at the caller's destination address.
	for (size_t i = 2; i + 1 < d.frames.size(); i++) {
		auto mine = slots(d, to_build(), i), caller = slots(d, to_build(), i + 1);
		auto up = std::find_if(mine.begin(), mine.end(),
				       [](auto &kv) { return kv.second.var.name == "up"; });
		ASSERT_NE(up, mine.end());
		const char *target = i + 2 == d.frames.size() ? "anchor" : "here";
		auto t = std::find_if(caller.begin(), caller.end(),
				      [&](auto &kv) { return kv.second.var.name == target; });
		ASSERT_NE(t, caller.end());
		EXPECT_EQ(word(up->second.bytes, 0), t->second.addr) << "frame " << i;
	}
	// main's anchor, reached from the heap and from .bss.
	auto main_vars = slots(d, to_build(), d.frames.size() - 1);
	uint64_t anchor = 0, heap = 0;
	for (const auto &[key, s] : main_vars) {
		if (s.var.name == "anchor") {
			anchor = s.addr;
			EXPECT_EQ(word(s.bytes, 0), kAnchorMark);
		}
		if (s.var.name == "heap")
			heap = word(s.bytes, 0);
	}
	ASSERT_NE(anchor, 0u);
	ASSERT_NE(heap, 0u);
	EXPECT_EQ(read_u64(d.mem, heap), anchor) << "heap->slot";
	EXPECT_EQ(read_u64(d.mem, heap + 8), kHeapMark) << "heap->value";
	EXPECT_EQ(read_u64(d.mem, *to_build().symbol("global_slot")), anchor) << "global_slot";
	// Counted by the converter: each descend's `outer` and `up`, main's
	// `argv` (into the block above main); in memory heap->slot and
	// global_slot, and libc's own pointers to argv, environ and auxv.
	EXPECT_EQ(c.report.pointers_in_variables, 2 * (size_t(depth()) + 1) + 1);
	EXPECT_GE(c.report.pointers_in_memory, 2u);
	// A pointer to a string literal is no stack pointer: unchanged.
	uint64_t greeting = *to_build().symbol("greeting");
	View s = source_view(src, from_build());
	EXPECT_EQ(read_u64(d.mem, greeting), read_u64(s.mem, greeting));
}

TEST_P(ConvertState, ResumeRecordAndRegisters)
{
	Image src = load_state(state_name(depth(), from()));
	Conversion c = convert_state(src, from());
	ASSERT_EQ(c.image.threads.size(), 1u);
	auto mem = memory_of(c.image);
	Entry e = entry_of(c.image, to());
	EXPECT_EQ(e.pc, *to_build().symbol(kResumeSymbol));
	EXPECT_EQ(e.sp % 16, 0u);
	EXPECT_LT(e.sp, e.arg0);
	hetmig_resume rec = resume_record(mem, e.arg0);
	EXPECT_EQ(rec.magic, HETMIG_RESUME_MAGIC);
	EXPECT_EQ(rec.retval, to() == Isa::x86_64 ? HETMIG_ON_X86_64 : HETMIG_ON_AARCH64);
	// It returns into the caller of __hetmig_park: the destination's call
	// site with the source's key, in __cyg_profile_func_enter.
	View s = source_view(src, from_build());
	const program::CallSite *site = to_build().call_site_returning_to(rec.pc);
	ASSERT_NE(site, nullptr);
	EXPECT_EQ(site->key, s.frames[0].site->key);
	EXPECT_EQ(site->callee, "__hetmig_park");
	EXPECT_EQ(rec.sp % 16, 0u);
	EXPECT_LT(e.arg0 + sizeof(rec) + rec.tls_len, rec.sp) << "the record lies below the frames";
	// The stack mapping covers the scratch area of __hetmig_resume.
	bool covered = false;
	for (const auto &m : c.image.mappings)
		covered |= m.start <= e.sp - kResumeStackRoom / 2 && rec.sp < m.end;
	EXPECT_TRUE(covered);
	// Nothing is pending on the destination.
	RuntimeLayout rt = runtime_block(mem, to_build());
	EXPECT_EQ(rt.pending, 0u);
	EXPECT_EQ(rt.parked, 0u);
	// The destination build is what runs now.
	EXPECT_EQ(c.image.program.path, to_build().path());
	EXPECT_EQ(c.image.program.converted_from, suffix(from()));
}

TEST_P(ConvertState, TlsBlockIsCarried)
{
	Image src = load_state(state_name(depth(), from()));
	Conversion c = convert_state(src, from());
	auto mem = memory_of(c.image);
	uint64_t record = entry_of(c.image, to()).arg0;
	hetmig_resume rec = resume_record(mem, record);
	auto tls = to_build().tls();
	ASSERT_TRUE(tls.has_value());
	ASSERT_EQ(rec.tls_len, tls->mem_size);
	EXPECT_EQ(rec.tls_anchor_off, *to_build().symbol(kTlsAnchorSymbol));
	std::vector<uint8_t> block(rec.tls_len);
	ASSERT_TRUE(mem.read(record + sizeof(rec), block).has_value());
	auto mark = to_build().symbol("tls_mark");
	ASSERT_TRUE(mark.has_value());
	EXPECT_EQ(word(block, *mark), kTlsMark);
	EXPECT_EQ(word(block, rec.tls_anchor_off), kTlsAnchorValue);
}

// A converted image as it would be once __hetmig_resume ran and the
// process parked again at the same point: the runtime block records the
// resume record's caller, and the TLS block lies where musl's layout puts
// it for a thread pointer in a fresh mapping.
Image reparked(const Image &converted, const Program &build)
{
	Image img = converted;
	auto mem = memory_of(img);
	testing::repark(img, mem, build, entry_of(img, build.isa()).arg0);
	img.pages = mem.to_pages();
	return img;
}

TEST_P(ConvertState, RoundTripGivesBackTheValues)
{
	Image src = load_state(state_name(depth(), from()));
	Conversion there = convert_state(src, from());
	Image parked = reparked(there.image, to_build());
	Conversion back = convert_state(parked, to());
	ASSERT_FALSE(back.image.pages.empty());
	View s = source_view(src, from_build());
	View b = converted_view(back.image, from_build());
	// The values, stack pointers mapped; an x86_64 stack never moves, an
	// aarch64 one moves once (above x86_64's limit) and stays moved.
	expect_same_frames_and_values(s, from_build(), b, from_build());
	for (size_t i = 0; i < s.frames.size() && i < b.frames.size(); i++)
		EXPECT_EQ(b.frames[i].cfa, s.frames[i].cfa + uint64_t(there.report.stack_moved_by));
	EXPECT_EQ(back.report.stack_moved_by, 0);
	if (from() == Isa::x86_64)
		EXPECT_EQ(there.report.stack_moved_by, 0);
	else
		EXPECT_NE(there.report.stack_moved_by, 0);
	auto mem = memory_of(back.image);
	uint64_t record = entry_of(back.image, from()).arg0;
	hetmig_resume rec = resume_record(mem, record);
	std::vector<uint8_t> block(rec.tls_len);
	ASSERT_TRUE(mem.read(record + sizeof(rec), block).has_value());
	EXPECT_EQ(word(block, *from_build().symbol("tls_mark")), kTlsMark);
}

INSTANTIATE_TEST_SUITE_P(Recorded, ConvertState,
			 ::testing::Combine(::testing::ValuesIn(kDepths),
					    ::testing::Values(Isa::x86_64, Isa::aarch64)),
			 [](const auto &info) {
				 return strf("depth%d_from_%s", std::get<0>(info.param),
					     suffix(std::get<1>(info.param)));
			 });

// --- refusals ------------------------------------------------------------

std::string refusal(const Image &img, const Program &from, const Program &to)
{
	auto out = convert_image(img, from, to);
	EXPECT_FALSE(out.has_value()) << "converted, but should have been refused";
	return out ? std::string() : out.error().describe();
}

// Writes one word of an image's memory.
void poke(Image &img, uint64_t addr, uint64_t value)
{
	auto mem = memory_of(img);
	mem.write_u64(addr, value);
	img.pages = mem.to_pages();
}

TEST(ConvertRefusal, BuildsOfAnotherProgram)
{
	Image src = load_state(state_name(5, Isa::x86_64));
	// The verifier's fixtures are a pair of their own: not states.c.
	auto other_x86 = testing::open_fixture("clean.x86_64");
	auto other_arm = testing::open_fixture("clean.aarch64");
	std::string why = refusal(src, Builds::of(Isa::x86_64), other_arm);
	EXPECT_NE(why.find("are not a pair"), std::string::npos) << why;
	why = refusal(src, other_x86, other_arm);
	EXPECT_NE(why.find("does not run"), std::string::npos) << why;
}

TEST(ConvertRefusal, BuildOfTheOtherIsa)
{
	Image src = load_state(state_name(5, Isa::aarch64));
	std::string why = refusal(src, Builds::of(Isa::x86_64), Builds::of(Isa::aarch64));
	EXPECT_NE(why.find("the image is of aarch64"), std::string::npos) << why;
}

TEST(ConvertRefusal, CorruptedReturnAddress)
{
	for (Isa isa : {Isa::x86_64, Isa::aarch64}) {
		SCOPED_TRACE(suffix(isa));
		Image src = load_state(state_name(5, isa));
		View v = source_view(src, Builds::of(isa));
		ASSERT_GT(v.frames.size(), 4u);
		// The return address the third descend frame will return to.
		const Frame &f = v.frames[4];
		uint64_t slot = f.cfa + uint64_t(f.function->frame.saved_ra_at);
		ASSERT_EQ(read_u64(v.mem, slot), v.frames[5].resume_pc);
		Image bad = src;
		// Inside descend, but after no call.
		poke(bad, slot, f.function->low + 1);
		std::string why = refusal(bad, Builds::of(isa), Builds::of(other(isa)));
		EXPECT_NE(why.find("is not after a call"), std::string::npos) << why;
		// Outside the program.
		poke(bad, slot, 0x1234);
		why = refusal(bad, Builds::of(isa), Builds::of(other(isa)));
		EXPECT_NE(why.find("no function of"), std::string::npos) << why;
	}
}

TEST(ConvertRefusal, ProcessNotParked)
{
	for (Isa isa : {Isa::x86_64, Isa::aarch64}) {
		SCOPED_TRACE(suffix(isa));
		Image src = load_state(strf("unparked.%s.img", suffix(isa)));
		std::string why = refusal(src, Builds::of(isa), Builds::of(other(isa)));
		EXPECT_NE(why.find("not parked at a migration point"), std::string::npos) << why;
	}
}

TEST(ConvertRefusal, ConvertedImageIsNotParkedAgain)
{
	Image src = load_state(state_name(5, Isa::x86_64));
	Conversion c = convert_state(src, Isa::x86_64);
	std::string why = refusal(c.image, Builds::of(Isa::aarch64), Builds::of(Isa::x86_64));
	EXPECT_NE(why.find("not parked at a migration point"), std::string::npos) << why;
}

} // namespace
} // namespace hetmig::convert

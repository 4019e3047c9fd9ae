// SPDX-License-Identifier: GPL-2.0
// A multi-threaded process parked with every thread (fixtures/states,
// threads.c; issue 17), recorded in a guest of each ISA: what the
// converter will need of each thread is there and reads as expected. Each
// parked thread's slot leads to its frames, out to its start routine (the
// frame musl's `start` called) or to main; its descriptor, found from its
// thread pointer, is musl's, with its tid and errno, and translates to the
// other ISA; its TLS block holds its own value.
#include <gtest/gtest.h>
#include <linux/hetmig.h>

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <map>
#include <set>

#include "convert/convert.h"
#include "convert/frames.h"
#include "convert/memory.h"
#include "convert/musl_thread.h"
#include "convert/resume.h"
#include "convert/thread_parking.h"
#include "hetmig.h"
#include "image.h"
#include "reparked.h"

namespace hetmig::convert {
namespace {

using program::Isa;
using program::Program;

std::string state_file(const std::string &name)
{
	return std::string(HETMIG_STATE_FIXTURES) + "/" + name;
}

struct Recorded {
	Program prog;
	Image img;
	AddressSpace mem;
};

const Recorded &recorded(Isa isa)
{
	static std::map<Isa, std::unique_ptr<Recorded>> cache;
	auto &r = cache[isa];
	if (!r) {
		std::string suffix = program::isa_name(isa);
		auto prog = Program::open(state_file("threads." + suffix));
		auto img = load_image(state_file("threads." + suffix + ".img"));
		if (!prog || !img) {
			ADD_FAILURE() << (prog ? img.error().describe() : prog.error().describe());
			std::abort();
		}
		auto mem = testing::memory_of(*img);
		r = std::make_unique<Recorded>(
			Recorded{std::move(*prog), std::move(*img), std::move(mem)});
	}
	return *r;
}

hetmig_threads table_of(const Recorded &r)
{
	hetmig_threads t{};
	auto at = r.prog.symbol("__hetmig_threads");
	EXPECT_TRUE(at.has_value());
	auto ok = r.mem.read(*at, {reinterpret_cast<uint8_t *>(&t), sizeof(t)});
	EXPECT_TRUE(ok.has_value());
	return t;
}

class ConvertThreads : public ::testing::TestWithParam<Isa> {};

TEST_P(ConvertThreads, EveryThreadOfTheImageIsParked)
{
	const Recorded &r = recorded(GetParam());
	auto parked = parked_threads(table_of(r));
	std::vector<pid_t> tasks;
	for (const auto &t : r.img.threads)
		tasks.push_back(pid_t(t.tid));
	EXPECT_EQ(r.img.threads.size(), 4u);
	EXPECT_EQ(parked.size(), 4u);
	EXPECT_TRUE(unparked(tasks, parked).empty());
}

// Outermost function first, innermost last, for each thread.
TEST_P(ConvertThreads, EachThreadsFramesEndAtItsStartRoutineOrMain)
{
	const Recorded &r = recorded(GetParam());
	auto read = [&](uint64_t a) { return r.mem.read_u64(a); };
	std::map<std::string, std::vector<std::string>> stacks;
	std::map<std::string, int32_t> errnos;
	for (const auto &t : parked_threads(table_of(r))) {
		auto frames = parked_frames(r.prog, {t.ra, t.cfa, t.fp}, read, true);
		ASSERT_TRUE(frames) << "thread " << t.tid << ": " << frames.error().describe();
		std::vector<std::string> names;
		for (auto it = frames->rbegin(); it != frames->rend(); ++it)
			names.push_back(it->function->name);
		stacks[names.front()] = names;
		errnos[names.front()] = t.errno_val;
		// A worker's start routine returns into musl's start; main's
		// frame is the last of the main thread's.
		const Frame &outer = frames->back();
		if (outer.function->name != "main") {
			auto ra = read(outer.cfa + outer.function->frame.saved_ra_at);
			ASSERT_TRUE(ra);
			EXPECT_TRUE(in_thread_start(r.prog, *ra)) << outer.function->name;
		}
	}
	using V = std::vector<std::string>;
	EXPECT_EQ(stacks["main"], (V{"main", "__wrap_usleep", "__wrap_nanosleep"}));
	EXPECT_EQ(stacks["worker_a"], (V{"worker_a", "descend", "descend", "descend", "descend",
					 "__wrap_pthread_cond_wait"}));
	EXPECT_EQ(stacks["worker_b"], (V{"worker_b", "__wrap_read", "wait_ready"}));
	EXPECT_EQ(stacks["worker_c"], (V{"worker_c", "__wrap_usleep", "__wrap_nanosleep"}));
	EXPECT_EQ(errnos["worker_a"], 11);
	EXPECT_EQ(errnos["worker_b"], 22);
	EXPECT_EQ(errnos["worker_c"], 33);
}

// Without THREAD the walk goes on into musl's start, which has no
// debug information: what the converter refuses today.
TEST_P(ConvertThreads, AWorkerWalkedAsMainRunsIntoLibc)
{
	const Recorded &r = recorded(GetParam());
	auto read = [&](uint64_t a) { return r.mem.read_u64(a); };
	int refused = 0;
	for (const auto &t : parked_threads(table_of(r))) {
		auto frames = parked_frames(r.prog, {t.ra, t.cfa, t.fp}, read);
		if (!frames) {
			refused++;
			EXPECT_NE(frames.error().describe().find("start has no debug information"),
				  std::string::npos) << frames.error().describe();
		}
	}
	EXPECT_EQ(refused, 3);
}

TEST_P(ConvertThreads, DescriptorsAndTlsAreEachThreadsOwn)
{
	const Recorded &r = recorded(GetParam());
	Isa isa = GetParam(), other = isa == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64;
	const DescriptorLayout &l = descriptor_layout(isa);
	auto tls = r.prog.tls();
	auto mark = r.prog.symbol("mark");
	ASSERT_TRUE(tls && mark);
	std::vector<uint64_t> marks;
	for (const auto &t : r.img.threads) {
		uint64_t self = t.thread_pointer - l.tp_offset;
		std::vector<uint8_t> d(l.size);
		ASSERT_TRUE(r.mem.read(self, d));
		uint32_t tid;
		std::memcpy(&tid, d.data() + l.common + musl_field::kTid, 4);
		EXPECT_EQ(tid, t.tid);
		// musl registers the robust list with the kernel only once a
		// robust mutex is locked; then it is the descriptor's own head.
		if (t.robust_list)
			EXPECT_EQ(t.robust_list, self + l.common + musl_field::kRobustHead);
		auto moved = translate_descriptor(d, isa, self, other, 0x10000000);
		ASSERT_TRUE(moved) << moved.error().describe();
		auto value = r.mem.read_u64(tls_block_address(isa, t.thread_pointer, *tls) + *mark);
		ASSERT_TRUE(value);
		marks.push_back(*value);
	}
	std::sort(marks.begin(), marks.end());
	EXPECT_EQ(marks, (std::vector<uint64_t>{0x600d, 0xaaaa, 0xbbbb, 0xcccc}));
}

// Each worker's area planned for the other ISA below its own tsd: the
// source's stack top is where musl's tls_size says; the main thread's
// descriptor is musl's static one, no area of pthread_create's.
TEST_P(ConvertThreads, EachWorkersAreaIsPlannedForTheOtherIsa)
{
	const Recorded &r = recorded(GetParam());
	Isa isa = GetParam(), other = isa == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64;
	const DescriptorLayout &l = descriptor_layout(isa);
	auto tls = r.prog.tls();
	ASSERT_TRUE(tls);
	int planned = 0, main_refused = 0;
	for (const auto &t : r.img.threads) {
		uint64_t self = t.thread_pointer - l.tp_offset;
		std::vector<uint8_t> d(l.size);
		ASSERT_TRUE(r.mem.read(self, d));
		auto plan = plan_thread_area(d, isa, self, other, *tls);
		if (t.tid == r.img.pid) {
			EXPECT_FALSE(plan);
			main_refused += !plan;
			continue;
		}
		ASSERT_TRUE(plan) << plan.error().describe();
		planned++;
		EXPECT_LE(plan->area.hi, plan->tsd);
		EXPECT_EQ(plan->lower_stack_by, isa == Isa::x86_64 ? 64u : 0u);
		EXPECT_EQ(plan->area.tls_block % tls->align, 0u);
	}
	EXPECT_EQ(planned, 3);
	EXPECT_EQ(main_refused, 1);
}

// worker_d's descriptor: a word that points to itself, in a mapping its
// map_base and map_size name (what pthread_create made), of no task.
uint64_t ended_descriptor(const Recorded &r, const DescriptorLayout &l)
{
	std::set<uint64_t> live;
	for (const auto &t : r.img.threads)
		live.insert(t.thread_pointer - l.tp_offset);
	for (const auto &run : r.img.pages)
		for (uint64_t off = 0; off + 8 <= run.data.size(); off += 8) {
			uint64_t a = run.addr + off, v;
			std::memcpy(&v, run.data.data() + off, 8);
			if (v != a || live.contains(a))
				continue;
			auto base = r.mem.read_u64(a + l.common + musl_field::kMapBase);
			auto size = r.mem.read_u64(a + l.common + musl_field::kMapSize);
			if (base && size && *base && *base % 4096 == 0 && a > *base &&
			    a < *base + *size)
				return a;
		}
	return 0;
}

// Where the process holds each thread's descriptor address (pthread_t is
// that address in musl): every aligned word of the image's memory equal
// to one, outside the descriptors themselves, named by the symbol or the
// thread stack it lies in. This is what a move must map to the moved
// descriptors (Documentation/heterogeneous.md, issue 17's "left" item 3).
TEST_P(ConvertThreads, DescriptorAddressesAreHeldWhereExpected)
{
	const Recorded &r = recorded(GetParam());
	const DescriptorLayout &l = descriptor_layout(GetParam());
	std::map<uint64_t, std::string> self_of;  // descriptor -> thread
	for (const auto &t : r.img.threads)
		self_of[t.thread_pointer - l.tp_offset] = t.tid == r.img.pid ? "main" : "worker";
	uint64_t ended = ended_descriptor(r, l);
	ASSERT_NE(ended, 0u);
	self_of[ended] = "ended";
	auto name_of = [&](uint64_t a) -> std::string {
		for (const auto &[self, who] : self_of)
			if (a >= self && a < self + l.size)
				return strf("%s descriptor +%llu", who.c_str(),
					    (unsigned long long)(a - self));
		for (const auto &s : r.prog.symbols())
			if (!s.function && !s.tls && a >= s.value && a < s.value + s.size)
				return s.name;
		for (const auto &[self, who] : self_of)
			if (who != "main" && a < self && a + 0x40000 > self)
				return "a worker's stack";
		return a >= 0x7f0000000000 ? "the main stack" : "elsewhere";
	};
	std::map<std::string, int> holders;
	for (const auto &run : r.img.pages)
		for (uint64_t off = 0; off + 8 <= run.data.size(); off += 8) {
			uint64_t v;
			std::memcpy(&v, run.data.data() + off, 8);
			if (self_of.count(v))
				holders[name_of(run.addr + off) + " -> " + self_of[v]]++;
		}
	std::string all;
	for (const auto &[h, n] : holders)
		all += strf("%s x%d; ", h.c_str(), n);
	// Each descriptor points to itself (self); the thread list links them
	// (prev, next: main's and the workers'); main holds its three
	// pthread_t on its stack; no global of the program or of libc holds
	// one. (aarch64 also leaves main's in worker_a's stack below its
	// parked sp, dead bytes of an earlier libc call.)
	EXPECT_EQ(holders["main descriptor +0 -> main"], 1) << all;
	EXPECT_EQ(holders["worker descriptor +0 -> worker"], 3) << all;
	int elsewhere = 0;
	for (const auto &[h, n] : holders)
		if (h.find("descriptor") == std::string::npos && h.find("stack") == std::string::npos)
			elsewhere += n;
	EXPECT_EQ(elsewhere, 0) << all;
	EXPECT_EQ(holders["the main stack -> worker"], 3) << all;
	// worker_d ended: its descriptor still points to itself, main's `d`
	// to it; nothing else does (musl unlinked it from the list).
	EXPECT_EQ(holders["ended descriptor +0 -> ended"], 1) << all;
	EXPECT_EQ(holders["the main stack -> ended"], 1) << all;
}

uint64_t thread_pointer_of(Isa isa, const ThreadState &t)
{
	uint64_t tp = 0;
	if (isa == Isa::x86_64) {
		auto it = t.regsets.find(NT_PRSTATUS);
		if (it != t.regsets.end() && it->second.size() >= 22 * 8)
			std::memcpy(&tp, it->second.data() + 21 * 8, 8);
	} else {
		auto it = t.regsets.find(0x401);  // NT_ARM_TLS
		if (it != t.regsets.end() && it->second.size() >= 8)
			std::memcpy(&tp, it->second.data(), 8);
	}
	return tp;
}

uint64_t pc_of(Isa isa, const ThreadState &t)
{
	uint64_t pc = 0;
	auto it = t.regsets.find(NT_PRSTATUS);
	if (it != t.regsets.end())
		std::memcpy(&pc, it->second.data() + (isa == Isa::x86_64 ? 16 : 32) * 8, 8);
	return pc;
}

// The whole process converted: each worker's descriptor, TLS block and
// dtv where the destination's musl would have put them for its mapping,
// with its tid, errno and __thread value; each starts at
// __hetmig_resume_thread with its own thread pointer, robust list head
// and the kernel's thread-list lock as clear_child_tid; the thread list's
// links and main's pthread_t follow the moved descriptors; the main
// thread's record tells its runtime to link musl's new descriptor in.
TEST_P(ConvertThreads, EveryThreadMovesToTheOtherIsa)
{
	Isa isa = GetParam(), other = isa == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64;
	const Recorded &r = recorded(isa), &o = recorded(other);
	Report report;
	auto out = convert_image(r.img, r.prog, o.prog, &report);
	ASSERT_TRUE(out) << out.error().describe();
	ASSERT_EQ(out->threads.size(), r.img.threads.size());
	auto mem = testing::memory_of(*out);
	const DescriptorLayout &fl = descriptor_layout(isa), &tl = descriptor_layout(other);
	auto tls = o.prog.tls();
	auto mark = o.prog.symbol("mark");
	ASSERT_TRUE(tls && mark);

	std::map<uint64_t, uint64_t> moved;  // source descriptor -> destination's
	std::vector<uint64_t> marks;
	std::set<int32_t> errnos;
	for (size_t i = 0; i < out->threads.size(); i++) {
		const ThreadState &s = r.img.threads[i], &d = out->threads[i];
		EXPECT_EQ(d.tid, s.tid);
		if (s.tid == r.img.pid) {
			EXPECT_EQ(pc_of(other, d), *o.prog.symbol(kResumeSymbol));
			continue;
		}
		EXPECT_EQ(pc_of(other, d), *o.prog.symbol(kResumeThreadSymbol));
		uint64_t tp = thread_pointer_of(other, d);
		ASSERT_NE(tp, 0u);
		EXPECT_EQ(tp, d.thread_pointer);
		uint64_t self = tp - tl.tp_offset;
		moved[s.thread_pointer - fl.tp_offset] = self;
		std::vector<uint8_t> desc(tl.size);
		ASSERT_TRUE(mem.read(self, desc));
		auto at = [&](uint64_t off) {
			uint64_t v;
			std::memcpy(&v, desc.data() + off, 8);
			return v;
		};
		EXPECT_EQ(at(tl.self), self);
		uint32_t tid;
		int32_t err;
		std::memcpy(&tid, desc.data() + tl.common + musl_field::kTid, 4);
		std::memcpy(&err, desc.data() + tl.common + musl_field::kErrno, 4);
		EXPECT_EQ(tid, s.tid);
		errnos.insert(err);
		uint64_t block = tls_block_address(other, tp, *tls);
		EXPECT_EQ(block % tls->align, 0u);
		EXPECT_EQ(at(tl.dtv) ? *mem.read_u64(at(tl.dtv) + 8) : 0, block);
		EXPECT_EQ(*mem.read_u64(at(tl.dtv)), 1u);
		marks.push_back(*mem.read_u64(block + *mark));
		// The kernel's view of the thread follows its descriptor.
		if (s.robust_list)
			EXPECT_EQ(d.robust_list, self + tl.common + musl_field::kRobustHead);
		EXPECT_EQ(d.clear_child_tid, s.clear_child_tid);
		EXPECT_EQ(d.clear_child_tid, *o.prog.symbol("__thread_list_lock"));
	}
	std::sort(marks.begin(), marks.end());
	EXPECT_EQ(marks, (std::vector<uint64_t>{0xaaaa, 0xbbbb, 0xcccc}));
	EXPECT_EQ(errnos, (std::set<int32_t>{11, 22, 33}));

	// The list of threads: each worker's links lead to a moved worker or
	// to main's new descriptor, an offset from its thread pointer.
	const uint64_t main_word = uint64_t(-int64_t(tl.tp_offset));
	std::set<uint64_t> news;
	for (auto [from, to] : moved)
		news.insert(to);
	int to_main = 0;
	for (uint64_t self : news)
		for (uint64_t field : {tl.prev, tl.next}) {
			uint64_t v = *mem.read_u64(self + field);
			EXPECT_TRUE(news.contains(v) || v == main_word) << std::hex << v;
			to_main += v == main_word;
		}
	EXPECT_EQ(to_main, 2);  // main's next's prev, and its prev's next
	// main's three pthread_t, on its rebuilt stack, name the new ones.
	const uint64_t main_src = r.img.threads.front().thread_pointer - fl.tp_offset;
	int held = 0, stale = 0;
	for (const auto &run : out->pages)
		for (uint64_t off = 0; off + 8 <= run.data.size(); off += 8) {
			uint64_t v;
			std::memcpy(&v, run.data.data() + off, 8);
			uint64_t a = run.addr + off;
			bool in_desc = std::any_of(news.begin(), news.end(), [&](uint64_t s) {
				return a >= s && a < s + tl.size;
			});
			if (!in_desc && news.contains(v))
				held++;
			// The source's main descriptor is left behind (musl makes
			// another); nothing else may still name an old one.
			if (a >= main_src && a < main_src + fl.size)
				continue;
			stale += moved.contains(v) && !news.contains(v);
		}
	// main's a, b and c, and the two links its record stores.
	EXPECT_EQ(held, 3 + 2);
	EXPECT_EQ(stale, 0);
	// worker_d ended, unjoined: pthread_join on the destination reads its
	// descriptor as that ISA lays it out, with its result, a pointer to
	// main's `kept`, pointing where `kept` is now.
	EXPECT_EQ(report.exited_threads, 1u);
	uint64_t ended = ended_descriptor(r, fl);
	ASSERT_NE(ended, 0u);
	std::vector<uint8_t> old_desc(fl.size);
	ASSERT_TRUE(r.mem.read(ended, old_desc));
	auto area = plan_thread_area(old_desc, isa, ended, other, *r.prog.tls());
	ASSERT_TRUE(area) << area.error().describe();
	EXPECT_EQ(*mem.read_u64(area->area.self + tl.self), area->area.self);
	auto result = mem.read_u64(area->area.self + tl.common + musl_field::kResult);
	ASSERT_TRUE(result);
	EXPECT_NE(*result, *r.mem.read_u64(ended + fl.common + musl_field::kResult));
	EXPECT_EQ(*mem.read_u64(*result), 0x4du);

	// Main's record: the fixups of the words that held its descriptor,
	// then three stores (prev, next, tsd), found from its registers.
	uint64_t record = 0;
	{
		const auto &regs = out->threads.front().regsets.at(NT_PRSTATUS);
		std::memcpy(&record, regs.data() + (other == Isa::x86_64 ? 14 : 0) * 8, 8);
	}
	hetmig_resume rec{};
	ASSERT_TRUE(mem.read(record, {reinterpret_cast<uint8_t *>(&rec), sizeof(rec)}));
	EXPECT_EQ(rec.magic, HETMIG_RESUME_MAGIC);
	EXPECT_EQ(rec.flags >> 16, 3u);  // tsd, prev, next
	EXPECT_GE(rec.flags & 0xffff, 2u);
	// No thread parks again on arrival: the others wait for main, which
	// clears `pending`.
	RuntimeLayout rt{};
	ASSERT_TRUE(mem.read(*o.prog.symbol(kRuntimeSymbol),
			     {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)}));
	EXPECT_EQ(rt.pending, 1u);
	EXPECT_EQ(rt.parked, 0u);
}

// A program built before threads moved (runtime version 3) is refused
// with what to do, not moved wrong.
TEST_P(ConvertThreads, AnOlderRuntimeIsRefused)
{
	Isa isa = GetParam(), other = isa == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64;
	const Recorded &r = recorded(isa), &o = recorded(other);
	Image img = r.img;
	auto mem = testing::memory_of(img);
	mem.write_u64(*r.prog.symbol(kRuntimeSymbol), uint64_t(3) << 32 | HETMIG_RT_MAGIC);
	img.pages = mem.to_pages();
	auto out = convert_image(img, r.prog, o.prog);
	ASSERT_FALSE(out);
	EXPECT_NE(out.error().describe().find("4 threads, and its runtime (version 3) cannot "
					      "resume them"), std::string::npos)
		<< out.error().describe();
}

// A converted image starts with no slot taken: the threads leave their
// park on the destination without freeing them, and the slots carried
// would fill the table after 64 moves.
TEST(ConvertThreadsTable, TheDestinationKeepsItsOwnEmptyTable)
{
	EXPECT_TRUE(is_isa_local("__hetmig_threads"));
	EXPECT_TRUE(is_isa_local("__hetmig_unproven"));
	EXPECT_FALSE(is_isa_local("__hetmig_rt"));
}

INSTANTIATE_TEST_SUITE_P(Isas, ConvertThreads, ::testing::Values(Isa::x86_64, Isa::aarch64),
			 [](const auto &info) { return std::string(program::isa_name(info.param)); });

} // namespace
} // namespace hetmig::convert

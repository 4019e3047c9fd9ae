// SPDX-License-Identifier: GPL-2.0
// Post-copy bookkeeping (postcopy.h): which pages an image leaves for
// later, the plan on the wire, the sender's account of what went and the
// receiver's of what it still waits for, through mremap, munmap and fork.
#include <gtest/gtest.h>
#include <cstring>
#include <elf.h>
#include <linux/hetmig.h>
#include <map>
#include <random>
#include <set>

#include "postcopy.h"

namespace {

using namespace hetmig;
constexpr uint64_t kPage = 4096;

Mapping anon(uint64_t start, uint64_t pages, uint32_t kind = HETMIG_VMA_ANON)
{
	Mapping m;
	m.start = start;
	m.end = start + pages * kPage;
	m.kind = kind;
	m.prot = HETMIG_PROT_READ | HETMIG_PROT_WRITE;
	return m;
}

ThreadState thread_at(uint64_t sp)
{
	ThreadState t;
	t.arch = HETMIG_ARCH_X86_64;
	std::vector<uint8_t> regs(27 * 8);
	std::memcpy(regs.data() + 19 * 8, &sp, 8);	// rsp
	t.regsets[NT_PRSTATUS] = regs;
	return t;
}

// heap 0x100000 (8 pages), anon 0x200000 (4) next to anon 0x204000 (4),
// a thread stack 0x300000 (4, SP inside), a signal stack 0x400000 (2), a
// shared mapping 0x500000 (2), an empty anon 0x600000 (2).
Image sample()
{
	Image img;
	img.page_size = kPage;
	img.mappings.push_back(anon(0x100000, 8, HETMIG_VMA_HEAP));
	img.mappings.push_back(anon(0x200000, 4));
	img.mappings.push_back(anon(0x204000, 4));
	img.mappings.push_back(anon(0x300000, 4));
	img.mappings.push_back(anon(0x400000, 2));
	Mapping shared = anon(0x500000, 2);
	shared.flags = HETMIG_VMA_F_SHARED;
	shared.shared = 0;
	img.mappings.push_back(shared);
	img.mappings.push_back(anon(0x600000, 2));
	img.threads.push_back(thread_at(0x302000));
	img.threads.back().rseq = 0x101020;	// in the heap, as a static glibc has it
	ThreadState alt = thread_at(0x303ff0);
	alt.altstack_sp = 0x400000;
	alt.altstack_size = 2 * kPage;
	img.threads.push_back(alt);
	// Runs as a capture lists them: one crosses from 0x200000 into
	// 0x204000.
	img.pages = {{0x100000, 2 * kPage, {}}, {0x106000, kPage, {}},
		     {0x202000, 4 * kPage, {}}, {0x300000, 4 * kPage, {}},
		     {0x400000, kPage, {}}, {0x500000, 2 * kPage, {}}};
	return img;
}

TEST(PlanLazy, LeavesHeapAndAnonymousMemoryNotStacksRseqOrSharedMemory)
{
	Image img = sample();
	LazyPlan plan = plan_lazy(img);
	std::vector<AddressRange> mappings = {
		{0x100000, 0x108000}, {0x200000, 0x204000}, {0x204000, 0x208000}};
	EXPECT_EQ(plan.mappings, mappings);
	// The crossing run is cut at the mappings' border.
	// The rseq area's page is cut out: the kernel writes it as soon as
	// the thread runs a syscall for the restore.
	std::vector<AddressRange> pages = {{0x100000, 0x101000}, {0x106000, 0x107000},
					   {0x202000, 0x204000}, {0x204000, 0x206000}};
	EXPECT_EQ(plan.pages, pages);
	EXPECT_EQ(plan.bytes(), 6 * kPage);
	ASSERT_EQ(img.pages.size(), 4u);
	EXPECT_EQ(img.pages[0].addr, 0x101000u);	// the rseq area
	EXPECT_EQ(img.pages[0].len, kPage);
	EXPECT_EQ(img.pages[1].addr, 0x300000u);	// the stack SP is in
	EXPECT_EQ(img.pages[2].addr, 0x400000u);	// the signal stack
	EXPECT_EQ(img.pages[3].addr, 0x500000u);	// shared memory
	EXPECT_TRUE(check_lazy_plan(plan, img));
}

TEST(PlanLazy, LockedAndWipedOnForkMemoryGoesWithTheImage)
{
	Image img = sample();
	img.mappings[1].flags = HETMIG_VMA_F_LOCKED;		// 0x200000
	img.mappings[2].flags = HETMIG_VMA_F_WIPEONFORK;	// 0x204000
	LazyPlan plan = plan_lazy(img);
	EXPECT_EQ(plan.mappings, (std::vector<AddressRange>{{0x100000, 0x108000}}));
	EXPECT_TRUE(run_overlapping(img.pages, 0x202000, kPage));
	EXPECT_TRUE(run_overlapping(img.pages, 0x204000, kPage));
}

TEST(PlanLazy, DisabledSignalStackIsNoStack)
{
	Image img = sample();
	img.threads[1].altstack_flags = 2;  // SS_DISABLE
	LazyPlan plan = plan_lazy(img);
	EXPECT_EQ(plan.pages.back(), (AddressRange{0x400000, 0x401000}));
}

TEST(PlanLazy, AConvertedImageKeepsItsBytesAndHandsOverTheRest)
{
	Image img = sample();
	for (auto &run : img.pages) {
		run.data.resize(run.len);
		for (uint64_t i = 0; i < run.len; i++)
			run.data[i] = uint8_t((run.addr + i) / kPage);
	}
	auto lazy = std::make_shared<std::vector<PageRun>>();
	LazyPlan plan = plan_lazy(img, lazy.get());
	for (const auto &run : img.pages) {
		ASSERT_EQ(run.data.size(), run.len);
		EXPECT_EQ(run.data.front(), uint8_t(run.addr / kPage));
	}
	// The reader gives each page of the plan, across the runs it was cut
	// from (0x202000-0x206000 was one run, two in the plan), and nothing
	// else.
	PageReader read = runs_reader(lazy);
	for (const auto &[s, e] : plan.pages) {
		std::vector<uint8_t> got(e - s);
		ASSERT_TRUE(read(s, got));
		for (uint64_t a = s; a < e; a += kPage)
			EXPECT_EQ(got[a - s], uint8_t(a / kPage));
	}
	std::vector<uint8_t> across(4 * kPage);
	ASSERT_TRUE(read(0x202000, across));
	EXPECT_EQ(across[3 * kPage], uint8_t(0x205));
	std::vector<uint8_t> one(kPage);
	EXPECT_FALSE(read(0x101000, one));	// the rseq page went with the image
	EXPECT_FALSE(read(0x300000, one));
}

TEST(LazyPlanWire, RoundTripsAndRefusesEveryCut)
{
	Image img = sample();
	LazyPlan plan = plan_lazy(img);
	// A tree's: the root's plan, an empty one, the root's again.
	auto bytes = encode_lazy_plans({plan, LazyPlan{}, plan});
	auto back = decode_lazy_plans(bytes, kPage);
	ASSERT_TRUE(back) << back.error().describe();
	ASSERT_EQ(back->size(), 3u);
	EXPECT_EQ((*back)[0].mappings, plan.mappings);
	EXPECT_EQ((*back)[0].pages, plan.pages);
	EXPECT_TRUE((*back)[1].mappings.empty());
	EXPECT_EQ((*back)[2].pages, plan.pages);
	for (size_t n = 0; n < bytes.size(); n++)
		EXPECT_FALSE(decode_lazy_plans({bytes.data(), n}, kPage)) << n;
	bytes.push_back(0);
	EXPECT_FALSE(decode_lazy_plans(bytes, kPage));	// a byte after the plans
}

TEST(LazyPlanWire, RefusesPlansThatAreNotWellFormed)
{
	auto refused = [](LazyPlan p) { return !decode_lazy_plans(encode_lazy_plans({p}), kPage); };
	EXPECT_TRUE(refused({{{0x1000, 0x3000}}, {{0x4000, 0x5000}}}));	// page outside
	EXPECT_TRUE(refused({{{0x1000, 0x3000}}, {{0x1800, 0x2000}}}));	// misaligned
	EXPECT_TRUE(refused({{{0x4000, 0x5000}, {0x1000, 0x2000}}, {}}));	// unsorted
	EXPECT_TRUE(refused({{{0x1000, 0x3000}, {0x2000, 0x4000}}, {}}));	// overlapping
	EXPECT_TRUE(refused({{{0x1000, 0x1000}}, {}}));			// empty
	EXPECT_FALSE(refused({{{0x1000, 0x3000}}, {{0x2000, 0x3000}}}));
}

TEST(LazyPlanWire, ChecksTheMappingsAgainstTheImage)
{
	Image img = sample();
	LazyPlan plan = plan_lazy(img);
	LazyPlan wrong = plan;
	wrong.mappings[0].second += kPage;	// not the mapping exactly
	EXPECT_FALSE(check_lazy_plan(wrong, img));
	wrong = plan;
	wrong.mappings.push_back({0x500000, 0x502000});	// shared memory
	EXPECT_FALSE(check_lazy_plan(wrong, img));
	// An image that carries a page post-copy fills.
	img.pages.insert(img.pages.begin(), {0x100000, kPage, {}});
	EXPECT_FALSE(check_lazy_plan(plan, img));
}

TEST(LazySource, PushesEveryPageOnceInOrder)
{
	LazySource s({{0x10000, 0x10000 + 5 * kPage}, {0x40000, 0x40000 + 2 * kPage}}, kPage);
	EXPECT_EQ(s.pages_left(), 7u);
	std::vector<AddressRange> got;
	while (auto r = s.next_push(2))
		got.push_back(*r);
	std::vector<AddressRange> want = {{0x10000, 0x12000}, {0x12000, 0x14000},
					  {0x14000, 0x15000}, {0x40000, 0x42000}};
	EXPECT_EQ(got, want);
	EXPECT_TRUE(s.all_sent());
}

TEST(LazySource, AnswersAFaultWithWhatFollowsAndNeverSendsAPageTwice)
{
	LazySource s({{0x10000, 0x10000 + 8 * kPage}}, kPage);
	// A fault in the middle of a page: that page and two after it.
	EXPECT_EQ(s.answer(0x12010, 2), (AddressRange{0x12000, 0x15000}));
	EXPECT_FALSE(s.answer(0x13000, 2));	// on its way already
	EXPECT_FALSE(s.answer(0x90000, 2));	// no page of the plan
	// Prefetch stops at a page that went.
	EXPECT_EQ(s.answer(0x11000, 4), (AddressRange{0x11000, 0x12000}));
	std::set<uint64_t> pushed;
	while (auto r = s.next_push(64))
		for (uint64_t a = r->first; a < r->second; a += kPage)
			pushed.insert(a);
	EXPECT_EQ(pushed, (std::set<uint64_t>{0x10000, 0x15000, 0x16000, 0x17000}));
	EXPECT_TRUE(s.all_sent());
}

TEST(LazyLedger, FaultsAskForTheSourcePageUntilItIsIn)
{
	LazyLedger l({{0x10000, 0x10000 + 4 * kPage}}, kPage);
	EXPECT_EQ(l.waiting(), 4u);
	EXPECT_EQ(l.source_of(0x11abc), 0x11000u);
	EXPECT_FALSE(l.source_of(0x20000));	// a zero page
	l.filled(0x11000);
	EXPECT_FALSE(l.source_of(0x11000));
	EXPECT_FALSE(l.place_of(0x11000));
	EXPECT_EQ(l.waiting(), 3u);
}

TEST(LazyLedger, DroppedPagesAreWaitedForNoMore)
{
	LazyLedger l({{0x10000, 0x10000 + 4 * kPage}}, kPage);
	l.dropped(0x11000, 0x13000);	// MADV_DONTNEED: zeros now
	EXPECT_FALSE(l.place_of(0x11000));
	EXPECT_FALSE(l.place_of(0x12000));
	EXPECT_EQ(l.place_of(0x13000), 0x13000u);
	l.dropped(0, UINT64_MAX & ~(kPage - 1));	// all of it, walked by what waits
	EXPECT_EQ(l.waiting(), 0u);
}

TEST(LazyLedger, FollowsMremapAndForks)
{
	LazyLedger l({{0x10000, 0x10000 + 4 * kPage}, {0x80000, 0x81000}}, kPage);
	l.filled(0x10000);
	// The first mapping moves over the second: what waited there is gone.
	l.moved(0x10000, 0x80000 - kPage, 4 * kPage);
	EXPECT_EQ(l.place_of(0x11000), 0x80000u);
	EXPECT_EQ(l.place_of(0x13000), 0x82000u);
	EXPECT_FALSE(l.place_of(0x10000));	// filled before the move
	EXPECT_EQ(l.source_of(0x80000), 0x11000u);	// no longer the old 0x80000
	EXPECT_FALSE(l.source_of(0x11000));
	// A fork's child waits for the same pages, apart from its parent.
	LazyLedger child = l;
	child.filled(0x80000);
	EXPECT_EQ(l.place_of(0x11000), 0x80000u);
	EXPECT_FALSE(child.place_of(0x11000));
}

// The ledger against a page-by-page model of it, through random fills,
// drops and moves (mremap: disjoint, page-aligned ranges), asked about
// every page after each step.
TEST(LazyLedger, AgreesWithAPageByPageModel)
{
	constexpr uint64_t kBase = 0x100000, kSpace = 96;
	std::mt19937_64 rng(7);
	auto any = [&](uint64_t n) { return uint64_t(rng() % n); };
	for (int round = 0; round < 40; round++) {
		std::vector<AddressRange> runs;
		std::map<uint64_t, uint64_t> model;	// place -> source
		for (uint64_t p = 0; p < 48;) {
			uint64_t len = 1 + any(8), gap = any(4);
			runs.push_back({kBase + (p + gap) * kPage, kBase + (p + gap + len) * kPage});
			for (uint64_t i = 0; i < len; i++)
				model[kBase + (p + gap + i) * kPage] = kBase + (p + gap + i) * kPage;
			p += gap + len;
		}
		LazyLedger l(runs, kPage);
		for (int step = 0; step < 30; step++) {
			uint64_t a = kBase + any(kSpace) * kPage;
			switch (any(3)) {
			case 0:
				l.filled(a);
				model.erase(a);
				break;
			case 1: {
				uint64_t end = a + (1 + any(10)) * kPage;
				l.dropped(a, end);
				model.erase(model.lower_bound(a), model.lower_bound(end));
				break;
			}
			default: {
				uint64_t len = (1 + any(8)) * kPage;
				uint64_t to = kBase + any(kSpace) * kPage;
				if (to < a + len && a < to + len)
					continue;	// mremap's ranges never overlap
				l.moved(a, to, len);
				std::map<uint64_t, uint64_t> next;
				for (const auto &[place, src] : model)
					if (place >= a && place < a + len)
						next[place - a + to] = src;
					else if (place < to || place >= to + len)
						next[place] = src;
				model = std::move(next);
			}
			}
			ASSERT_EQ(l.waiting(), model.size()) << round << "/" << step;
			for (uint64_t p = 0; p < 2 * kSpace; p++) {
				uint64_t place = kBase + p * kPage;
				auto m = model.find(place);
				auto got = l.source_of(place + 5);
				ASSERT_EQ(got.has_value(), m != model.end()) << round << "/" << step;
				if (got) {
					ASSERT_EQ(*got, m->second);
					ASSERT_EQ(l.place_of(m->second), place);
				}
			}
		}
	}
}

} // namespace

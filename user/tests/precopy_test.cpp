// SPDX-License-Identifier: GPL-2.0
// Pre-copy bookkeeping (precopy.h): the sender's ledger and when rounds
// stop, the receiver's store and how the final image takes its pages, a
// round's records on their own; and the dirty trackers (dirty_tracking.h)
// on a child that writes pages when told.
#include <algorithm>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <sys/mman.h>
#include <unistd.h>

#include "dirty_tracking.h"
#include "precopy.h"
#include "reaped_child.h"

namespace {

using namespace hetmig;
constexpr uint64_t kPage = 4096;

std::vector<uint64_t> pages(std::initializer_list<uint64_t> numbers)
{
	std::vector<uint64_t> out;
	for (uint64_t n : numbers)
		out.push_back(0x10000 + n * kPage);
	return out;
}

std::vector<PageState> states(const std::vector<uint64_t> &addrs,
			      std::initializer_list<uint64_t> dirty = {})
{
	std::vector<PageState> out;
	for (uint64_t a : addrs)
		out.push_back({a, std::find(dirty.begin(), dirty.end(), a) != dirty.end()});
	return out;
}

PageRun filled(uint64_t addr, uint64_t npages, uint8_t byte)
{
	return {addr, npages * kPage, std::vector<uint8_t>(npages * kPage, byte)};
}

TEST(PrecopyRuns, ContiguousPagesJoinAndSplitBack)
{
	auto p = pages({0, 1, 2, 5, 7, 8});
	auto runs = runs_of(p, kPage);
	ASSERT_EQ(runs.size(), 3u);
	EXPECT_EQ(runs[0].addr, p[0]);
	EXPECT_EQ(runs[0].len, 3 * kPage);
	EXPECT_EQ(runs[1].len, kPage);
	EXPECT_EQ(runs[2].addr, p[4]);
	EXPECT_EQ(pages_of(runs, kPage), p);
	EXPECT_TRUE(runs_of({}, kPage).empty());
}

TEST(PrecopyLedger, ARoundSendsDirtyPagesAndPagesNotHeld)
{
	PrecopyLedger ledger(kPage);
	auto all = pages({0, 1, 2, 3});
	EXPECT_EQ(ledger.to_send(states(all)), all);  // nothing held yet
	for (uint64_t a : all)
		ledger.sent(a, a * 7);
	EXPECT_TRUE(ledger.to_send(states(all)).empty());
	// Page 2 written, page 9 new (a mapping that appeared).
	auto now = pages({0, 1, 2, 3, 9});
	auto dirty = pages({2})[0];
	EXPECT_EQ(ledger.to_send(states(now, {dirty})), pages({2, 9}));
	EXPECT_EQ(ledger.held(pages({1})[0]), pages({1})[0] * 7);
	EXPECT_FALSE(ledger.held(pages({9})[0]));
	ledger.forget(pages({1})[0]);
	EXPECT_EQ(ledger.to_send(states(now)), pages({1, 9}));
}

TEST(PrecopyLedger, TheFinalRoundKeepsCleanHeldPagesAndForgetsUnmappedOnes)
{
	PrecopyLedger ledger(kPage);
	for (uint64_t a : pages({0, 1, 2, 3, 4, 5}))
		ledger.sent(a);
	// Pages 4 and 5 were unmapped, 1 written, 6 is new.
	auto f = ledger.finish(states(pages({0, 1, 2, 3, 6}), {pages({1})[0]}));
	EXPECT_EQ(f.send, pages({1, 6}));
	EXPECT_EQ(f.kept, pages({0, 2, 3}));
}

TEST(PrecopyRounds, TheFinalRoundIsEstimatedAtTheRoundsRate)
{
	// 64 MiB sent in 2 s: 32 MiB/s; 16 MiB left for the final round.
	auto ms = final_round_ms(16 << 20, 64 << 20, 2000);
	ASSERT_TRUE(ms);
	EXPECT_DOUBLE_EQ(*ms, 500);
	EXPECT_DOUBLE_EQ(*final_round_ms(0, 64 << 20, 2000), 0);
	// Nothing sent, or not timed: no estimate.
	EXPECT_FALSE(final_round_ms(16 << 20, 0, 2000));
	EXPECT_FALSE(final_round_ms(16 << 20, 64 << 20, 0));
}

TEST(PrecopyRounds, TheFirstRoundAlwaysGoes)
{
	EXPECT_FALSE(rounds_end({64 << 20}, 0, {}));
	EXPECT_FALSE(rounds_end({0}, 0, {}));
}

TEST(PrecopyRounds, ASmallDirtySetIsLeftToTheFinalRound)
{
	auto end = rounds_end({64 << 20, 4 << 20}, 64 << 20, {});
	ASSERT_TRUE(end);
	EXPECT_FALSE(end->gave_up);
	EXPECT_NE(end->why.find("converged"), std::string::npos);
}

TEST(PrecopyRounds, ADirtySetThatNoLongerShrinksGivesUp)
{
	EXPECT_FALSE(rounds_end({64 << 20, 16 << 20}, 64 << 20, {}));
	auto end = rounds_end({64 << 20, 16 << 20, 16 << 20}, 80 << 20, {});
	ASSERT_TRUE(end);
	EXPECT_TRUE(end->gave_up);
	EXPECT_NE(end->why.find("no longer shrinks"), std::string::npos);
	// Dirtying the whole memory again within the first round.
	EXPECT_TRUE(rounds_end({64 << 20, 64 << 20}, 64 << 20, {}));
}

TEST(PrecopyRounds, TheBoundsEndTheRounds)
{
	RoundBounds b;
	b.max_rounds = 2;
	EXPECT_FALSE(rounds_end({64 << 20, 32 << 20}, 64 << 20, b));
	auto end = rounds_end({64 << 20, 32 << 20, 16 << 20}, 96 << 20, b);
	ASSERT_TRUE(end);
	EXPECT_TRUE(end->gave_up);
	EXPECT_NE(end->why.find("--max-rounds"), std::string::npos);
	b.max_rounds = 8;
	b.max_bytes = 100 << 20;
	end = rounds_end({64 << 20, 32 << 20, 16 << 20}, 96 << 20, b);
	ASSERT_TRUE(end);
	EXPECT_NE(end->why.find("--max-precopy"), std::string::npos);
}

TEST(PrecopyStore, LaterRoundsReplacePagesAndTheImageTakesOnlyWhatItNames)
{
	PrecopyStore store(kPage);
	auto p = pages({0, 1, 2, 3, 4});
	std::vector<PageRun> round1{filled(p[0], 5, 0x11)};
	ASSERT_TRUE(store.apply(std::move(round1)));
	std::vector<PageRun> round2{filled(p[1], 1, 0x22), filled(p[4], 1, 0x44)};
	ASSERT_TRUE(store.apply(std::move(round2)));
	EXPECT_EQ(store.bytes(), 5 * kPage);

	// The final image: page 2 sent again, 0-1 kept, 3 dropped (unmapped),
	// 4 kept.
	Image img;
	img.pages.push_back(filled(p[2], 1, 0x33));
	img.precopied = {{p[0], 2 * kPage}, {p[4], kPage}};
	auto r = store.complete(img);
	ASSERT_TRUE(r) << r.error().describe();
	ASSERT_EQ(img.pages.size(), 3u);
	EXPECT_EQ(img.pages[0].addr, p[0]);
	EXPECT_EQ(img.pages[0].data[0], 0x11);
	EXPECT_EQ(img.pages[0].data[kPage], 0x22);
	EXPECT_EQ(img.pages[1].addr, p[2]);
	EXPECT_EQ(img.pages[1].data[0], 0x33);
	EXPECT_EQ(img.pages[2].addr, p[4]);
	EXPECT_EQ(img.pages[2].data[kPage - 1], 0x44);
	EXPECT_TRUE(img.precopied.empty());
	EXPECT_EQ(store.bytes(), 0u);
}

TEST(PrecopyStore, WholeRecordsAreTakenAsTheyCameAndPartsCopied)
{
	PrecopyStore store(kPage);
	const uint64_t per = kPageRecordMax / kPage, base = 0x400000;
	// Three records as a round brings them, and one page more.
	std::vector<PageRun> round1;
	for (uint64_t i = 0; i < 3; i++)
		round1.push_back(filled(base + i * kPageRecordMax, per, uint8_t(i + 1)));
	round1.push_back(filled(base + 3 * kPageRecordMax, 1, 4));
	ASSERT_TRUE(store.apply(std::move(round1)));
	// A later round's page replaces the held one in place.
	ASSERT_TRUE(store.apply({filled(base + kPage, 1, 0x77)}));
	EXPECT_EQ(store.bytes(), (3 * per + 1) * kPage);

	// The final image keeps all but the third record's first page.
	Image img;
	img.precopied = {{base, 2 * kPageRecordMax},
			 {base + 2 * kPageRecordMax + kPage, kPageRecordMax}};
	img.pages.push_back(filled(base + 2 * kPageRecordMax, 1, 9));
	auto r = store.complete(img);
	ASSERT_TRUE(r) << r.error().describe();
	ASSERT_EQ(img.pages.size(), 5u);
	EXPECT_EQ(img.pages[0].addr, base);
	EXPECT_EQ(img.pages[0].len, kPageRecordMax);
	EXPECT_EQ(img.pages[0].data[0], 1);
	EXPECT_EQ(img.pages[0].data[kPage], 0x77);
	EXPECT_EQ(img.pages[1].data[0], 2);
	EXPECT_EQ(img.pages[2].data[0], 9);	// sent in the final image
	EXPECT_EQ(img.pages[3].addr, base + 2 * kPageRecordMax + kPage);
	EXPECT_EQ(img.pages[3].len, kPageRecordMax - kPage);	// a part, copied
	EXPECT_EQ(img.pages[3].data[0], 3);
	EXPECT_EQ(img.pages[4].addr, base + 3 * kPageRecordMax);
	EXPECT_EQ(img.pages[4].data[0], 4);
	uint64_t total = 0;
	for (const auto &run : img.pages) {
		EXPECT_EQ(run.data.size(), run.len);
		total += run.len;
	}
	EXPECT_EQ(total, (3 * per + 1) * kPage);
}

TEST(PrecopyStore, APageNamedTwiceIsRefused)
{
	PrecopyStore store(kPage);
	ASSERT_TRUE(store.apply({filled(0x10000, 4, 1)}));
	Image img;
	img.precopied = {{0x10000, 2 * kPage}, {0x10000 + kPage, kPage}};
	EXPECT_FALSE(store.complete(img));
}

TEST(PrecopyStore, APageNamedButNeverSentIsRefused)
{
	PrecopyStore store(kPage);
	auto p = pages({0, 1});
	ASSERT_TRUE(store.apply({filled(p[0], 1, 1)}));
	Image img;
	img.precopied = {{p[0], 2 * kPage}};
	auto r = store.complete(img);
	ASSERT_FALSE(r);
	EXPECT_NE(r.error().describe().find("no round sent it"), std::string::npos);
}

TEST(PrecopyStore, APageBothPrecopiedAndSentIsRefused)
{
	PrecopyStore store(kPage);
	auto p = pages({0});
	ASSERT_TRUE(store.apply({filled(p[0], 1, 1)}));
	Image img;
	img.pages.push_back(filled(p[0], 1, 2));
	img.precopied = {{p[0], kPage}};
	EXPECT_FALSE(store.complete(img));
}

TEST(PrecopyStore, RunsThatAreNotWholePagesAreRefused)
{
	PrecopyStore store(kPage);
	EXPECT_FALSE(store.apply({PageRun{0x10010, kPage, std::vector<uint8_t>(kPage)}}));
	EXPECT_FALSE(store.apply({PageRun{0x10000, 100, std::vector<uint8_t>(100)}}));
}

TEST(PrecopyRecords, ARoundsRecordsComeBackAsWritten)
{
	std::vector<PageRun> runs{filled(0x10000, 3, 7), filled(0x400000, 300, 9)};
	std::vector<uint8_t> bytes;
	WriteOptions opts;
	opts.compress = true;
	ASSERT_TRUE(write_page_records(runs, [&](std::span<const uint8_t> b) -> Result<void> {
		bytes.insert(bytes.end(), b.begin(), b.end());
		return {};
	}, opts));
	size_t pos = 0;
	std::vector<PageRun> back;
	auto r = read_page_records([&](std::span<uint8_t> out) -> Result<void> {
		if (pos + out.size() > bytes.size())
			return fail(EBADMSG, "truncated");
		std::memcpy(out.data(), bytes.data() + pos, out.size());
		pos += out.size();
		return {};
	}, kImageFormatVersion, back);
	ASSERT_TRUE(r) << r.error().describe();
	EXPECT_EQ(pos, bytes.size());
	EXPECT_EQ(pages_of(back, kPage), pages_of(runs, kPage));
	// A flipped byte in the data fails its checksum.
	bytes[200] ^= 1;
	pos = 0;
	back.clear();
	EXPECT_FALSE(read_page_records([&](std::span<uint8_t> out) -> Result<void> {
		std::memcpy(out.data(), bytes.data() + pos, out.size());
		pos += out.size();
		return {};
	}, kImageFormatVersion, back));
}

// A child with REGION pages of its own at the address of ours; it writes
// page N when sent N over a pipe and answers when done.
struct Writer {
	static constexpr int kPages = 8;
	static constexpr char kDropAndRead = 0x40;	// | N: MADV_DONTNEED page N, read it
	char *region;
	int cmd[2], ack[2];
	std::unique_ptr<hetmig::testing::ReapedChild> child;

	Writer()
	{
		region = static_cast<char *>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		madvise(region, kPages * kPage, MADV_NOHUGEPAGE);
		for (int i = 0; i < kPages; i++)
			region[i * kPage] = char(i);
		if (pipe(cmd) || pipe(ack))
			abort();
		pid_t pid = fork();
		if (pid == 0) {
			char n;
			while (read(cmd[0], &n, 1) == 1) {
				if (n & kDropAndRead) {
					// Back to the zero page, without a write.
					char *p = region + (n & ~kDropAndRead) * kPage;
					madvise(p, kPage, MADV_DONTNEED);
					(void)*static_cast<volatile char *>(p);
				} else {
					region[n * kPage + 1]++;
				}
				if (write(ack[1], &n, 1) != 1)
					_exit(1);
			}
			_exit(0);
		}
		child = std::make_unique<hetmig::testing::ReapedChild>(pid);
	}
	~Writer()
	{
		child.reset();
		munmap(region, kPages * kPage);
		for (int fd : {cmd[0], cmd[1], ack[0], ack[1]})
			close(fd);
	}
	void write_page(char n)
	{
		char got;
		ASSERT_EQ(write(cmd[1], &n, 1), 1);
		ASSERT_EQ(read(ack[0], &got, 1), 1);
	}
	uint64_t page(int n) const { return uint64_t(region) + uint64_t(n) * kPage; }
	bool has(const std::vector<uint64_t> &v, int n) const
	{
		return std::find(v.begin(), v.end(), page(n)) != v.end();
	}
};

// Every page of TO_SEND "sent": read through the recording reader.
void send_all(PrecopySender &pre, const std::vector<uint64_t> &to_send)
{
	auto read = pre.recording_reader();
	std::vector<uint8_t> buf(kPage);
	for (uint64_t a : to_send)
		ASSERT_TRUE(read(a, buf));
}

void tracks_writes(DirtyTracking tracking)
{
	if (sysconf(_SC_PAGESIZE) != long(kPage))
		GTEST_SKIP() << "4 KiB pages assumed";
	Writer w;
	auto pre = PrecopySender::open(w.child->pid, tracking);
	ASSERT_TRUE(pre) << pre.error().describe();
	auto first = pre->scan_running();
	ASSERT_TRUE(first) << first.error().describe();
	for (int i = 0; i < Writer::kPages; i++)
		EXPECT_TRUE(w.has(*first, i)) << "page " << i;
	send_all(*pre, *first);
	w.write_page(3);
	auto second = pre->scan_running();
	ASSERT_TRUE(second) << second.error().describe();
	EXPECT_TRUE(w.has(*second, 3));
	for (int i : {0, 1, 2, 4, 5, 6, 7})
		EXPECT_FALSE(w.has(*second, i)) << "page " << i;
	send_all(*pre, *second);

	// A scan finds page 4 written, and the rounds end before it is sent:
	// the final round must send it, though its bit was cleared.
	w.write_page(4);
	auto third = pre->scan_running();
	ASSERT_TRUE(third) << third.error().describe();
	EXPECT_TRUE(w.has(*third, 4));

	// The final round: pages 0-7 captured, page 6 written since, page 1
	// dropped and read (the zero page, which no write made dirty).
	w.write_page(6);
	w.write_page(Writer::kDropAndRead | 1);
	Image img;
	img.pages.push_back({w.page(0), Writer::kPages * kPage, {}});
	ASSERT_TRUE(pre->finish(img));
	ASSERT_EQ(img.pages.size(), 3u);
	EXPECT_EQ(img.pages[0].addr, w.page(1));
	EXPECT_EQ(img.pages[0].len, kPage);
	EXPECT_EQ(img.pages[1].addr, w.page(4));
	EXPECT_EQ(img.pages[2].addr, w.page(6));
	std::vector<std::pair<uint64_t, uint64_t>> kept{{w.page(0), kPage},
							 {w.page(2), 2 * kPage},
							 {w.page(5), kPage},
							 {w.page(7), kPage}};
	EXPECT_EQ(img.precopied, kept);
}

TEST(DirtyTracking, SoftDirtyBitsFindTheWrittenPages)
{
	if (!soft_dirty_works())
		GTEST_SKIP() << "this kernel keeps no soft-dirty bits";
	tracks_writes(DirtyTracking::kSoftDirty);
}

TEST(DirtyTracking, PageHashesFindTheWrittenPages)
{
	tracks_writes(DirtyTracking::kHash);
}

TEST(DirtyTracking, NamesParse)
{
	EXPECT_EQ(parse_tracking("soft-dirty"), DirtyTracking::kSoftDirty);
	EXPECT_EQ(parse_tracking("hash"), DirtyTracking::kHash);
	EXPECT_FALSE(parse_tracking("uffd"));
	EXPECT_STREQ(tracking_name(DirtyTracking::kHash), "hash");
}

} // namespace

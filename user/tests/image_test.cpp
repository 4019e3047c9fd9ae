// SPDX-License-Identifier: GPL-2.0
// The image format: what is written reads back the same, and every cut,
// flipped byte or foreign version is refused with the right message.
#include <cstring>
#include <map>
#include <linux/hetmig.h>

#include <gtest/gtest.h>
#include <zlib.h>

#include "image.h"

namespace hetmig {
namespace {

Image sample()
{
	Image img;
	img.arch = HETMIG_ARCH_X86_64;
	img.page_size = 4096;
	img.kernel_release = "6.1.0-test";
	img.pid = 1234;
	img.uid = 1000;
	img.cwd = "/home/u";
	img.vdso_size = 8192;
	img.vdso_digest = "abcd";
	ThreadState t;
	t.tid = 1234;
	t.arch = HETMIG_ARCH_X86_64;
	t.sigmask = 0x800;
	t.rseq = 0x7f0000001000;
	t.regsets[1] = std::vector<uint8_t>(216, 7);
	img.threads = {t};
	img.mm.brk = 0x600000;
	img.mm.auxv = {33, 0x7fff0000, 0, 0};
	Mapping m;
	m.start = 0x400000;
	m.end = 0x402000;
	m.kind = HETMIG_VMA_FILE;
	m.path = "/bin/prog";
	img.mappings = {m};
	img.signals = {{10, 0x401000, 0x14000000, 0, 0x401100}};
	img.files = {{3, "/tmp/in", 0100000, 42, 65536, 1700000000000000000, false, "", -1, false, 0}};
	img.files.push_back({5, "/srv/spool", 0200000, 0x7ffe1234, 4096, 1700000000000000001,
			     false, "", -1, true, 7777});
	img.rlimits = {{~0ull, ~0ull}, {8 << 20, ~0ull}, {200, 4096}};
	img.oom_score_adj = -300;
	// Three runs: compressible, random-ish, and one larger than a record.
	img.pages.push_back({0x10000, 8192, std::vector<uint8_t>(8192, 0)});
	std::vector<uint8_t> noise(4096);
	for (size_t i = 0; i < noise.size(); i++)
		noise[i] = uint8_t(i * 2654435761u >> 13);
	img.pages.push_back({0x20000, noise.size(), noise});
	img.pages.push_back({0x100000, kPageRecordMax + 4096,
			     std::vector<uint8_t>(kPageRecordMax + 4096, 9)});
	return img;
}

std::vector<uint8_t> encode(const Image &img, bool compress, PageReader reader = {})
{
	std::vector<uint8_t> out;
	auto r = write_image(img, [&](std::span<const uint8_t> b) -> Result<void> {
		out.insert(out.end(), b.begin(), b.end());
		return {};
	}, {.compress = compress, .reader = reader});
	EXPECT_TRUE(r.has_value());
	return out;
}

// Address -> byte, over every run: records may split runs differently.
std::map<uint64_t, uint8_t> memory_of(const Image &img)
{
	std::map<uint64_t, uint8_t> m;
	for (const auto &run : img.pages)
		for (size_t i = 0; i < run.data.size(); i++)
			m[run.addr + i] = run.data[i];
	return m;
}

Result<Image> decode(const std::vector<uint8_t> &bytes)
{
	size_t pos = 0;
	return read_image([&](std::span<uint8_t> b) -> Result<void> {
		if (bytes.size() - pos < b.size())
			return fail(EBADMSG, "truncated image");
		std::memcpy(b.data(), bytes.data() + pos, b.size());
		pos += b.size();
		return {};
	});
}

class ImageRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(ImageRoundTrip, ReadsBackWhatWasWritten)
{
	Image img = sample();
	auto back = decode(encode(img, GetParam()));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_EQ(back->pid, 1234u);
	EXPECT_EQ(back->cwd, "/home/u");
	ASSERT_EQ(back->threads.size(), 1u);
	EXPECT_EQ(back->threads[0].regsets, img.threads[0].regsets);
	EXPECT_EQ(back->threads[0].rseq, img.threads[0].rseq);
	EXPECT_EQ(back->mm.auxv, img.mm.auxv);
	EXPECT_EQ(back->mappings[0].path, "/bin/prog");
	EXPECT_EQ(back->signals[0].restorer, 0x401100u);
	EXPECT_EQ(back->files[0].mtime_ns, img.files[0].mtime_ns);
	EXPECT_EQ(back->rlimits, img.rlimits);
	EXPECT_EQ(back->oom_score_adj, -300);
	ASSERT_EQ(back->files.size(), 2u);
	EXPECT_FALSE(back->files[0].directory);
	EXPECT_TRUE(back->files[1].directory);
	EXPECT_EQ(back->files[1].inode, 7777u);
	EXPECT_EQ(back->files[1].offset, 0x7ffe1234u);
	EXPECT_EQ(back->files[1].flags, 0200000);
	EXPECT_EQ(memory_of(*back), memory_of(img));
	EXPECT_EQ(back->page_bytes(), img.page_bytes());
}

// stdout and stderr sharing one open file (2>&1): the sharing reads
// back; a share with an fd the image lacks, or files out of fd order, is
// a corrupted image.
TEST(Image, SharedDescriptions)
{
	Image img = sample();
	img.files = {{1, "/var/log/d.log", 01, 100, 100, 5, false, "", -1, false, 0},
		     {2, "/var/log/d.log", 01, 100, 100, 5, false, "", 1, false, 0}};
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->files.size(), 2u);
	EXPECT_EQ(back->files[0].dup_of, -1);
	EXPECT_EQ(back->files[1].dup_of, 1);

	img.files[1].dup_of = 7;
	auto lacking = decode(encode(img, false));
	ASSERT_FALSE(lacking.has_value());
	EXPECT_NE(lacking.error().describe().find("corrupted image"), std::string::npos);
	img.files[1].dup_of = -1;
	std::swap(img.files[0], img.files[1]);
	EXPECT_FALSE(decode(encode(img, false)).has_value());
}

// oom_score_adj: an image written before it was carried has none (and
// the restore leaves the value alone); one out of the kernel's range is
// not an image we wrote.
TEST(Image, OomScoreAdj)
{
	Image img = sample();
	img.oom_score_adj.reset();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_FALSE(older->oom_score_adj.has_value());

	img.oom_score_adj = 1000;
	auto most = decode(encode(img, false));
	ASSERT_TRUE(most.has_value()) << most.error().describe();
	EXPECT_EQ(most->oom_score_adj, 1000);

	img.oom_score_adj = -1001;
	auto bad = decode(encode(img, false));
	ASSERT_FALSE(bad.has_value());
	EXPECT_NE(bad.error().describe().find("oom_score_adj out of range"), std::string::npos)
		<< bad.error().describe();
}

// Timers: an image written before they were carried has none (the restore
// makes none); POSIX timers out of id order are not an image we wrote.
TEST(Image, Timers)
{
	Image img = sample();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_FALSE(older->timers.has_value());

	Timers t;
	t.itimers = {{{200000, 150000}, {0, 0}, {1000, 999}}};
	t.posix = {{0, 0, 0, 1, 0, 0, 999000000000},
		   {2, 1, 10, 4, 0xfffffffffffffff0, 100000000, 3}};
	t.slack_ns = 123456;
	img.timers = t;
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_TRUE(back->timers.has_value());
	EXPECT_EQ(back->timers->itimers, t.itimers);
	EXPECT_EQ(back->timers->slack_ns, 123456u);
	ASSERT_EQ(back->timers->posix.size(), 2u);
	const PosixTimer &p = back->timers->posix[1];
	EXPECT_EQ(p.id, 2);
	EXPECT_EQ(p.clock, 1);
	EXPECT_EQ(p.signal, 10);
	EXPECT_EQ(p.notify, 4);
	EXPECT_EQ(p.value, 0xfffffffffffffff0);
	EXPECT_EQ(p.interval_ns, 100000000u);
	EXPECT_EQ(p.remaining_ns, 3u);

	std::swap(img.timers->posix[0], img.timers->posix[1]);
	auto bad = decode(encode(img, false));
	ASSERT_FALSE(bad.has_value());
	EXPECT_NE(bad.error().describe().find("POSIX timer 0 out of order"), std::string::npos)
		<< bad.error().describe();
}

// Runs without data are read through the reader while the image is written.
TEST(Image, PagesReadWhileWriting)
{
	Image img = sample();
	for (auto &run : img.pages)
		run.data.clear();
	auto reader = [](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		for (size_t i = 0; i < out.size(); i++)
			out[i] = uint8_t((addr + i) * 7 >> 3);
		return {};
	};
	auto back = decode(encode(img, true, reader));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	for (const auto &[addr, byte] : memory_of(*back))
		ASSERT_EQ(byte, uint8_t(addr * 7 >> 3)) << std::hex << addr;
	EXPECT_EQ(back->page_bytes(), img.page_bytes());
	// A run without data and no reader is refused.
	EXPECT_FALSE(write_image(img, [](std::span<const uint8_t>) -> Result<void> {
		return {};
	}).has_value());
}

INSTANTIATE_TEST_SUITE_P(RawAndZstd, ImageRoundTrip, ::testing::Bool());

TEST(Image, CompressionShrinksZeroPages)
{
	Image img = sample();
	EXPECT_LT(encode(img, true).size() * 4, encode(img, false).size());
}

TEST(Image, EveryCutIsRefused)
{
	auto bytes = encode(sample(), true);
	for (size_t len = 0; len < bytes.size(); len += 1 + len / 8) {
		std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(len));
		auto r = decode(cut);
		ASSERT_FALSE(r.has_value()) << "cut at " << len << " was accepted";
	}
}

TEST(Image, EveryFlippedByteIsRefused)
{
	auto bytes = encode(sample(), true);
	for (size_t at = 0; at < bytes.size(); at += 1 + at / 16) {
		auto bad = bytes;
		bad[at] ^= 0x40;
		auto r = decode(bad);
		ASSERT_FALSE(r.has_value()) << "flip at " << at << " was accepted";
		EXPECT_EQ(r.error().code, at < 8 ? EBADMSG : r.error().code);
	}
}

// Every byte of the format, not only those the sampling above reaches:
// the reserved words of the record headers and of the trailer are outside
// their checksums (a flip there was once accepted).
TEST(Image, EveryFlippedByteOfASmallImageIsRefused)
{
	Image img = sample();
	img.pages = {{0x10000, 4096, std::vector<uint8_t>(4096, 3)}};
	auto bytes = encode(img, false);
	for (size_t at = 0; at < bytes.size(); at++) {
		auto bad = bytes;
		bad[at] ^= 0x01;
		ASSERT_FALSE(decode(bad).has_value()) << "flip at " << at << " of "
							 << bytes.size() << " was accepted";
	}
}

TEST(Image, ForeignVersionIsNamed)
{
	auto bytes = encode(sample(), false);
	uint32_t v = 7;
	std::memcpy(bytes.data() + 8, &v, 4);
	// A well-formed header of another version: its CRC made anew.
	uint32_t crc = uint32_t(crc32(0, bytes.data(), 28));
	std::memcpy(bytes.data() + 28, &crc, 4);
	auto r = decode(bytes);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, EPROTO);
	EXPECT_NE(r.error().describe().find("format version 7 is not supported"),
		  std::string::npos) << r.error().describe();
}

TEST(Image, NotAnImage)
{
	std::vector<uint8_t> text(100, 'x');
	auto r = decode(text);
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("not a hetmig image"), std::string::npos);
}

} // namespace
} // namespace hetmig

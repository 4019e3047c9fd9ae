// SPDX-License-Identifier: GPL-2.0
// An image to bytes in memory and back, for the tests of image.h's codec.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>
#include <zlib.h>

#include <linux/hetmig.h>

#include "image.h"

namespace hetmig::testing {

inline std::vector<uint8_t> encode(const Image &img, bool compress, PageReader reader = {},
				   unsigned threads = 0)
{
	std::vector<uint8_t> out;
	auto r = write_image(img, [&](std::span<const uint8_t> b) -> Result<void> {
		out.insert(out.end(), b.begin(), b.end());
		return {};
	}, {.compress = compress, .threads = threads, .reader = reader});
	EXPECT_TRUE(r.has_value());
	return out;
}

// BYTES as a ByteSource, read from POS on (which it advances): fails with
// EBADMSG "truncated image" where they end too early.
inline ByteSource source_of(const std::vector<uint8_t> &bytes, size_t &pos)
{
	return [&bytes, &pos](std::span<uint8_t> b) -> Result<void> {
		if (bytes.size() - pos < b.size())
			return fail(EBADMSG, "truncated image");
		std::memcpy(b.data(), bytes.data() + pos, b.size());
		pos += b.size();
		return {};
	};
}

inline Result<Image> decode(const std::vector<uint8_t> &bytes)
{
	size_t pos = 0;
	return read_image(source_of(bytes, pos));
}

// BYTES read as `hetmig recv` reads them (read_image_streamed): the
// metadata, then each of its PROCESSES' records to their end, then the
// trailer. The records of each process, in order, or the first error.
inline Result<std::vector<std::vector<PageRun>>> stream(const std::vector<uint8_t> &bytes,
							 size_t processes = 1)
{
	size_t pos = 0;
	auto streamed = read_image_streamed(source_of(bytes, pos));
	if (!streamed)
		return std::unexpected(streamed.error());
	std::vector<std::vector<PageRun>> runs(processes);
	for (size_t p = 0; p < processes; p++)
		for (;;) {
			auto run = streamed->second.next(p);
			if (!run)
				return std::unexpected(run.error());
			if (!*run)
				break;
			runs[p].push_back(std::move(**run));
		}
	if (auto r = streamed->second.finish(); !r)
		return std::unexpected(r.error());
	return runs;
}

// The format version in an image's header.
inline uint32_t version_of(const std::vector<uint8_t> &bytes)
{
	uint32_t v;
	std::memcpy(&v, bytes.data() + 8, 4);
	return v;
}

// BYTES with the header's version rewritten and a fresh CRC, as a
// mistaken writer would.
inline std::vector<uint8_t> relabelled(std::vector<uint8_t> bytes, uint32_t version)
{
	std::memcpy(bytes.data() + 8, &version, 4);
	uint32_t crc = uint32_t(crc32(0, bytes.data(), 28));
	std::memcpy(bytes.data() + 28, &crc, 4);
	return bytes;
}

// A process of one thread and nothing else, for images built in a test.
inline Image one_process(uint32_t pid)
{
	Image img;
	img.arch = HETMIG_ARCH_X86_64;
	img.page_size = 4096;
	img.kernel_release = "6.1.0-test";
	img.pid = pid;
	img.cwd = "/";
	ThreadState th;
	th.tid = pid;
	th.arch = HETMIG_ARCH_X86_64;
	img.threads = {th};
	return img;
}

// The file of IMG at FD, or nullptr.
inline const OpenFile *fd_of(const Image &img, int fd)
{
	for (const auto &f : img.files)
		if (f.fd == fd)
			return &f;
	return nullptr;
}

// IMG, written (relabelled VERSION when not 0) and read back, is refused
// as corrupted, saying WHY.
inline void expect_refused(const Image &img, const char *why, uint32_t version = 0)
{
	auto bytes = encode(img, false);
	if (version)
		bytes = relabelled(bytes, version);
	auto r = decode(bytes);
	ASSERT_FALSE(r.has_value()) << why;
	EXPECT_EQ(r.error().code, EBADMSG);
	EXPECT_NE(r.error().describe().find(why), std::string::npos) << r.error().describe();
}

} // namespace hetmig::testing

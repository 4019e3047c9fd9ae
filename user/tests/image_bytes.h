// SPDX-License-Identifier: GPL-2.0
// An image to bytes in memory and back, for the tests of image.h's codec.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>
#include <zlib.h>

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

// Fails with EBADMSG "truncated image" where BYTES end too early.
inline Result<Image> decode(const std::vector<uint8_t> &bytes)
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

} // namespace hetmig::testing

// SPDX-License-Identifier: GPL-2.0
// Shared by the converter's tests on recorded states: an image's memory,
// and a converted image parked again as its runtime would park it, so
// that it can be converted back (round trips).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "convert/memory.h"
#include "convert/resume.h"
#include "hetmig.h"
#include "image.h"
#include "program/program.h"

namespace hetmig::testing {

inline convert::AddressSpace memory_of(const Image &img)
{
	auto mem = convert::AddressSpace::from_pages(img.pages);
	EXPECT_TRUE(mem.has_value()) << mem.error().describe();
	return mem ? std::move(*mem) : convert::AddressSpace{};
}

// IMG was converted for PROG and resumes through the record at RECORD.
// As the destination's runtime would: the record's TLS bytes go into a
// fresh TLS mapping with the thread pointer at it (libc builds one
// there), and the runtime block names the record's pc, sp and fp, parked
// with a move pending. MEM is IMG's memory; the caller sets any registers
// it needs and then writes MEM back (img.pages = mem.to_pages()).
inline void repark(Image &img, convert::AddressSpace &mem, const program::Program &prog, uint64_t record)
{
	using namespace convert;
	hetmig_resume rec{};
	EXPECT_TRUE(mem.read(record, {reinterpret_cast<uint8_t *>(&rec), sizeof(rec)}).has_value());
	std::vector<uint8_t> tls(rec.tls_len);
	EXPECT_TRUE(mem.read(record + sizeof(rec), tls).has_value());

	constexpr uint64_t kTlsMapping = 0x10000000, kThreadPointer = kTlsMapping + 0x800;
	Mapping m;
	m.start = kTlsMapping;
	m.end = kTlsMapping + 0x2000;
	m.prot = 3;  // PROT_READ | PROT_WRITE
	m.kind = HETMIG_VMA_ANON;
	img.mappings.push_back(m);
	mem.write(kTlsMapping, std::vector<uint8_t>(0x2000));
	mem.write(tls_block_address(prog.isa(), kThreadPointer, *prog.tls()), tls);
	img.threads.at(0).thread_pointer = kThreadPointer;

	uint64_t block = *prog.symbol(kRuntimeSymbol);
	RuntimeLayout rt{};
	EXPECT_TRUE(mem.read(block, {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)}).has_value());
	rt.pending = 1;
	rt.parked = 1;
	rt.park_ra = rec.pc;
	rt.park_cfa = rec.sp;
	rt.park_fp = rec.fp;
	mem.write(block, {reinterpret_cast<const uint8_t *>(&rt), sizeof(rt)});
}

} // namespace hetmig::testing

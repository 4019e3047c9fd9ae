// SPDX-License-Identifier: GPL-2.0
// musl's thread descriptor and thread area on each ISA
// (convert/musl_thread.h), against descriptors read from a thread of a
// hetmig-cc build (musl 1.2.3; tid 0x15f5 / 0x1605, errno 77, a
// pthread_key value set, PT_TLS 64 bytes aligned to 64 at 0x42ffc0): x86_64
// natively, aarch64 under qemu-aarch64 (its addresses are qemu's).
#include <gtest/gtest.h>

#include <cstring>

#include "convert/musl_thread.h"

namespace {

using namespace hetmig::convert;
using hetmig::program::Isa;

constexpr uint64_t kX86Self = 0x7fd92adf9b00, kA64Self = 0x5500825a78;

const std::vector<uint64_t> kX86Words = {
	0x7fd92adf9b00, 0x7fd92adf9aa8, 0x7fd92adfa080, 0x7fd92adfa080, 0,
	0xcfae5b3551ea000d, 0x4d000015f5, 0x2, 0x10000, 0x7fd92add7000,
	0x23000, 0x7fd92adf9aa8, 0x20aa8, 0x2000, 0,
	0, 0x7fd92adf9c00, 0x7fd92adf9b88, 0, 0,
	0, 0x4f6918, 0, 0, 0,
};
const std::vector<uint64_t> kA64Words = {
	0x5500825a78, 0x5500802038, 0x5500802038, 0, 0x4d00001605,
	0x2, 0x10000, 0x5500803000, 0x23000, 0x5500825a68,
	0x20a68, 0x2000, 0, 0, 0x5500825c00,
	0x5500825af0, 0, 0, 0, 0x4f6918,
	0, 0, 0, 0x10e2aca2147f003e, 0x5500825bf0,
};

std::vector<uint8_t> bytes_of(const std::vector<uint64_t> &w)
{
	std::vector<uint8_t> b(w.size() * 8);
	std::memcpy(b.data(), w.data(), b.size());
	return b;
}

uint64_t at(const std::vector<uint8_t> &b, uint64_t off)
{
	uint64_t v;
	std::memcpy(&v, b.data() + off, 8);
	return v;
}

TEST(MuslThread, LayoutsMatchWhatMuslWrote)
{
	auto x = bytes_of(kX86Words), a = bytes_of(kA64Words);
	const auto &lx = descriptor_layout(Isa::x86_64), &la = descriptor_layout(Isa::aarch64);
	using namespace musl_field;
	EXPECT_EQ(at(x, lx.self), kX86Self);
	EXPECT_EQ(at(a, la.self), kA64Self);
	EXPECT_EQ(at(x, lx.common + kTid) & 0xffffffff, 0x15f5u);
	EXPECT_EQ(at(a, la.common + kTid) & 0xffffffff, 0x1605u);
	EXPECT_EQ(at(x, lx.common + kTid) >> 32, 77u);  // errno
	EXPECT_EQ(at(x, lx.common + kMapSize), 0x23000u);
	EXPECT_EQ(at(a, la.common + kMapSize), 0x23000u);
	EXPECT_EQ(at(x, lx.common + kLocale), 0x4f6918u);
	EXPECT_EQ(at(a, la.common + kLocale), 0x4f6918u);
	// An empty robust list: its head points to itself.
	EXPECT_EQ(at(x, lx.common + kRobustHead), kX86Self + lx.common + kRobustHead);
	EXPECT_EQ(at(a, la.common + kRobustHead), kA64Self + la.common + kRobustHead);
	// dtv: at the area's start on x86_64 (the stack's top), its end on aarch64.
	EXPECT_EQ(at(x, lx.dtv), at(x, lx.common + kStack));
	EXPECT_EQ(at(a, la.dtv), at(a, la.common + kTsd) - 16);
	// The thread pointer is the descriptor on x86_64, its end on aarch64.
	EXPECT_EQ(lx.tp_offset, 0u);
	EXPECT_EQ(la.tp_offset, la.size);
}

TEST(MuslThread, ADescriptorMovesFieldByField)
{
	const uint64_t to = 0x7fd92adf9a78;
	auto r = translate_descriptor(bytes_of(kX86Words), Isa::x86_64, kX86Self, Isa::aarch64, to);
	ASSERT_TRUE(r) << r.error().describe();
	const auto &la = descriptor_layout(Isa::aarch64);
	using namespace musl_field;
	EXPECT_EQ(at(*r, la.self), to);
	EXPECT_EQ(at(*r, la.prev), 0x7fd92adfa080u);
	EXPECT_EQ(at(*r, la.next), 0x7fd92adfa080u);
	EXPECT_EQ(at(*r, la.canary), 0xcfae5b3551ea000du);
	EXPECT_EQ(at(*r, la.dtv), 0u);  // the caller's
	EXPECT_EQ(at(*r, la.common + kTid), 0x4d000015f5u);
	EXPECT_EQ(at(*r, la.common + kMapBase), 0x7fd92add7000u);
	EXPECT_EQ(at(*r, la.common + kTsd), 0x7fd92adf9c00u);
	EXPECT_EQ(at(*r, la.common + kRobustHead), to + la.common + kRobustHead);
	// Every field aarch64's musl wrote that is no address reads the same.
	auto a = bytes_of(kA64Words);
	for (uint64_t f : {kDetachState, kMapSize, kGuardSize, kLocale})
		EXPECT_EQ(at(*r, la.common + f), at(a, la.common + f)) << f;
}

TEST(MuslThread, ARoundTripGivesTheDescriptorBack)
{
	auto a = bytes_of(kA64Words);
	auto x = translate_descriptor(a, Isa::aarch64, kA64Self, Isa::x86_64, 0x7f0000001000);
	ASSERT_TRUE(x);
	auto back = translate_descriptor(*x, Isa::x86_64, 0x7f0000001000, Isa::aarch64, kA64Self);
	ASSERT_TRUE(back);
	const auto &la = descriptor_layout(Isa::aarch64);
	auto want = a;
	std::memset(want.data() + la.dtv, 0, 8);
	EXPECT_EQ(*back, want);
}

TEST(MuslThread, NotADescriptorOrCleanupHandlersAreRefused)
{
	auto x = bytes_of(kX86Words);
	auto wrong = translate_descriptor(x, Isa::x86_64, kX86Self + 8, Isa::aarch64, 0);
	ASSERT_FALSE(wrong);
	EXPECT_EQ(wrong.error().code, EPROTO);
	const auto &lx = descriptor_layout(Isa::x86_64);
	uint64_t buf = 0x7fd92adf9000;
	std::memcpy(x.data() + lx.common + musl_field::kCancelBuf, &buf, 8);
	auto cleanup = translate_descriptor(x, Isa::x86_64, kX86Self, Isa::aarch64, 0);
	ASSERT_FALSE(cleanup);
	EXPECT_EQ(cleanup.error().code, ENOTSUP);
	EXPECT_NE(cleanup.error().describe().find("cleanup handlers"), std::string::npos);
	std::vector<uint8_t> short_one(64);
	EXPECT_FALSE(translate_descriptor(short_one, Isa::x86_64, 0, Isa::aarch64, 0));
}

// Laid out from the top of the stack, as musl did for the threads above.
TEST(MuslThread, TheAreaIsWhereMuslPutsIt)
{
	hetmig::program::TlsInfo tls{0x42ffc0, 0x40, 0x40, 0x40};
	auto x = lay_out_thread_area(Isa::x86_64, 0x7fd92adf9aa8, tls);
	EXPECT_EQ(x.self, kX86Self);
	EXPECT_EQ(x.tp, kX86Self);
	EXPECT_EQ(x.tls_block, kX86Self - 64);  // &tvar - tp was -64
	EXPECT_EQ(x.dtv, 0x7fd92adf9aa8u);
	EXPECT_EQ(x.hi, kX86Self + 200);
	auto a = lay_out_thread_area(Isa::aarch64, 0x5500825a68, tls);
	EXPECT_EQ(a.self, kA64Self);
	EXPECT_EQ(a.tp, kA64Self + 200);
	EXPECT_EQ(a.tls_block, kA64Self + 200 + 64);  // &tvar - tp was 64
	EXPECT_EQ(a.tp % 64, 0u);
	EXPECT_LE(a.hi, 0x5500825c00u);  // below its tsd
	// The same stack top needs more room on aarch64: 64 bytes here,
	// which is why a thread's area cannot be rebuilt in place.
	auto a_at_x = lay_out_thread_area(Isa::aarch64, 0x7fd92adf9aa8, tls);
	EXPECT_GT(a_at_x.hi - a_at_x.lo, x.hi - x.lo);
}

TEST(MuslThread, TlsSizeIsMuslsOnEachIsa)
{
	// tsd - stack of the threads above: what libc.tls_size was.
	hetmig::program::TlsInfo tls{0x42ffc0, 0x40, 0x40, 0x40};
	EXPECT_EQ(musl_tls_size(Isa::x86_64, tls), 0x7fd92adf9c00u - 0x7fd92adf9aa8u);
	EXPECT_EQ(musl_tls_size(Isa::aarch64, tls), 0x5500825c00u - 0x5500825a68u);
}

TEST(MuslThread, AnAreaPlannedBelowTheSameTsd)
{
	hetmig::program::TlsInfo tls{0x42ffc0, 0x40, 0x40, 0x40};
	// x86_64 -> aarch64: 64 bytes more than the stack's top leaves.
	auto xa = plan_thread_area(bytes_of(kX86Words), Isa::x86_64, kX86Self, Isa::aarch64, tls);
	ASSERT_TRUE(xa) << xa.error().describe();
	EXPECT_EQ(xa->src_lo, 0x7fd92adf9aa8u);
	EXPECT_EQ(xa->tsd, 0x7fd92adf9c00u);
	EXPECT_EQ(xa->area.lo, 0x7fd92adf9c00u - 408);
	EXPECT_EQ(xa->area.self, 0x7fd92adf9a78u);
	EXPECT_EQ(xa->area.tp % 64, 0u);
	EXPECT_LE(xa->area.hi, xa->tsd);
	EXPECT_EQ(xa->lower_stack_by, 64u);
	// aarch64 -> x86_64: it fits above the stack's top, which stays.
	auto ax = plan_thread_area(bytes_of(kA64Words), Isa::aarch64, kA64Self, Isa::x86_64, tls);
	ASSERT_TRUE(ax) << ax.error().describe();
	EXPECT_EQ(ax->src_lo, 0x5500825a68u);
	EXPECT_EQ(ax->area.lo, 0x5500825c00u - 344);
	EXPECT_EQ(ax->area.self % 64, 0u);
	EXPECT_EQ(ax->area.hi, ax->area.self + 200);
	EXPECT_LE(ax->area.hi, ax->tsd);
	EXPECT_EQ(ax->lower_stack_by, 0u);
}

TEST(MuslThread, AStackTheProgramGaveIsRefused)
{
	hetmig::program::TlsInfo tls{0x42ffc0, 0x40, 0x40, 0x40};
	auto x = bytes_of(kX86Words);
	const auto &lx = descriptor_layout(Isa::x86_64);
	uint64_t elsewhere = 0x7fd900001000;
	std::memcpy(x.data() + lx.common + musl_field::kStack, &elsewhere, 8);
	auto r = plan_thread_area(x, Isa::x86_64, kX86Self, Isa::aarch64, tls);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ENOTSUP);
}

} // namespace

// SPDX-License-Identifier: GPL-2.0
#include "convert/musl_thread.h"

#include <cstring>

#include "convert/resume.h"

namespace hetmig::convert {

namespace {

uint64_t word(const std::vector<uint8_t> &b, uint64_t off)
{
	uint64_t v;
	std::memcpy(&v, b.data() + off, 8);
	return v;
}

void set_word(std::vector<uint8_t> &b, uint64_t off, uint64_t v)
{
	std::memcpy(b.data() + off, &v, 8);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

} // namespace

const DescriptorLayout &descriptor_layout(program::Isa isa)
{
	// musl src/internal/pthread_impl.h: self, then (variant II only) dtv,
	// prev, next, sysinfo, (variant II only) canary, the common run, then
	// (variant I only) canary and dtv.
	static const DescriptorLayout x86_64{200, 0, 0, 8, 16, 24, 32, 40, 48};
	static const DescriptorLayout aarch64{200, 200, 0, 192, 8, 16, 24, 184, 32};
	return isa == program::Isa::x86_64 ? x86_64 : aarch64;
}

Result<std::vector<uint8_t>> translate_descriptor(const std::vector<uint8_t> &bytes,
						  program::Isa from, uint64_t from_self,
						  program::Isa to, uint64_t to_self)
{
	const DescriptorLayout &f = descriptor_layout(from), &t = descriptor_layout(to);
	if (bytes.size() != f.size)
		return fail(EINVAL, strf("a thread descriptor is %llu bytes, not %zu",
					 (unsigned long long)f.size, bytes.size()));
	if (word(bytes, f.self) != from_self)
		return fail(EPROTO, strf("the thread descriptor at 0x%llx does not point to "
					 "itself (self 0x%llx)", (unsigned long long)from_self,
					 (unsigned long long)word(bytes, f.self)));
	using namespace musl_field;
	if (word(bytes, f.common + kCancelBuf))
		return fail(ENOTSUP, strf("the thread of descriptor 0x%llx has cleanup handlers "
					  "(pthread_cleanup_push), which musl keeps on its stack",
					  (unsigned long long)from_self));
	std::vector<uint8_t> out(t.size, 0);
	set_word(out, t.self, to_self);
	set_word(out, t.prev, word(bytes, f.prev));
	set_word(out, t.next, word(bytes, f.next));
	set_word(out, t.sysinfo, word(bytes, f.sysinfo));
	set_word(out, t.canary, word(bytes, f.canary));
	std::memcpy(out.data() + t.common, bytes.data() + f.common, kCommonLen);
	// An empty robust list is its head pointing to itself; a pending entry
	// may point there too. Entries of locked robust mutexes are the
	// program's memory and stay.
	for (uint64_t field : {kRobustHead, kRobustPending})
		if (word(bytes, f.common + field) == from_self + f.common + kRobustHead)
			set_word(out, t.common + field, to_self + t.common + kRobustHead);
	return out;
}

ThreadArea lay_out_thread_area(program::Isa isa, uint64_t lo, const program::TlsInfo &tls)
{
	const DescriptorLayout &d = descriptor_layout(isa);
	uint64_t align = tls.align > 8 ? tls.align : 8;
	ThreadArea a;
	a.lo = lo;
	if (isa == program::Isa::x86_64) {
		// dtv first, then the TLS block, then the descriptor at the
		// thread pointer, aligned as the block needs.
		a.dtv = align_up(lo, 8);
		uint64_t block_size = tls_block_address(isa, 0x100000000ull, tls);
		block_size = 0x100000000ull - block_size;  // the block's size below tp
		a.self = align_up(a.dtv + 16 + block_size, align);
		a.tp = a.self;
		a.tls_block = tls_block_address(isa, a.tp, tls);
		a.hi = a.self + d.size;
	} else {
		// The descriptor, the thread pointer right after it (aligned),
		// the TCB gap and the block, then the dtv.
		a.self = align_up(lo + d.size, align) - d.size;
		a.tp = a.self + d.tp_offset;
		a.tls_block = tls_block_address(isa, a.tp, tls);
		a.dtv = align_up(a.tls_block + tls.mem_size, 8);
		a.hi = a.dtv + 16;
	}
	return a;
}

uint64_t musl_tls_size(program::Isa isa, const program::TlsInfo &tls)
{
	// musl 1.2.3 src/env/__init_tls.c, static_init_tls: the block's size
	// rounded so that its start keeps the image's alignment; on variant I
	// the TCB gap and its padding (the block's offset from the thread
	// pointer) too; 2 words of dtv, the descriptor, an alignment's slack,
	// rounded to MIN_TLS_ALIGN (8: struct builtin_tls's descriptor offset).
	constexpr uint64_t kMinTlsAlign = 8, kGapAboveTp = 16;
	uint64_t align = tls.align ? tls.align : 1;
	uint64_t size = tls.mem_size + ((-tls.mem_size - tls.vaddr) & (align - 1));
	uint64_t offset = 0;
	if (isa == program::Isa::aarch64)
		offset = kGapAboveTp + ((-kGapAboveTp + tls.vaddr) & (align - 1));
	if (align < kMinTlsAlign)
		align = kMinTlsAlign;
	uint64_t n = 2 * 8 + descriptor_layout(isa).size + offset + size + align;
	return (n + kMinTlsAlign - 1) & ~(kMinTlsAlign - 1);
}

Result<ThreadAreaPlan> plan_thread_area(const std::vector<uint8_t> &descriptor,
					program::Isa from, uint64_t self, program::Isa to,
					const program::TlsInfo &tls)
{
	const DescriptorLayout &f = descriptor_layout(from);
	if (descriptor.size() != f.size || word(descriptor, f.self) != self)
		return fail(EPROTO, strf("no thread descriptor at 0x%llx", (unsigned long long)self));
	using namespace musl_field;
	ThreadAreaPlan p;
	p.tsd = word(descriptor, f.common + kTsd);
	p.src_lo = word(descriptor, f.common + kStack);
	uint64_t map = word(descriptor, f.common + kMapBase);
	uint64_t map_end = map + word(descriptor, f.common + kMapSize);
	if (!map || p.tsd < map || p.tsd > map_end || p.src_lo != p.tsd - musl_tls_size(from, tls) ||
	    self < p.src_lo || self >= p.tsd)
		return fail(ENOTSUP, strf("the thread of descriptor 0x%llx has a stack or thread "
					  "area pthread_create did not lay out (pthread_attr_setstack?)",
					  (unsigned long long)self));
	p.area = lay_out_thread_area(to, p.tsd - musl_tls_size(to, tls), tls);
	if (p.area.hi > p.tsd || p.area.lo < map)
		return fail(ENOSPC, strf("the thread of descriptor 0x%llx: the %s thread area does "
					 "not fit below its tsd", (unsigned long long)self,
					 program::isa_name(to)));
	if (p.area.lo < p.src_lo)
		p.lower_stack_by = (p.src_lo - p.area.lo + 15) & ~uint64_t(15);
	return p;
}

} // namespace hetmig::convert

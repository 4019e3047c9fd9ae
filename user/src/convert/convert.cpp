// SPDX-License-Identifier: GPL-2.0
// From the image of a parked process built by hetmig-cc for one ISA to the
// image of the same process for the other ISA. What changes and why is in
// Documentation/heterogeneous.md; in short: the binary's mappings, the
// stack (rebuilt frame by frame from DWARF), the registers, the thread
// pointer (rebuilt on the destination by musl itself, see
// __hetmig_resume) and a few ISA-local libc words. Everything else is the
// same bytes at the same addresses, which hetmig-cc's layout guarantees.
#include "convert/convert.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <elf.h>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <signal.h>
#include <sys/mman.h>
#include <linux/hetmig.h>

#include "check/verifier.h"
#include "convert/frames.h"
#include "convert/memory.h"
#include "convert/musl_thread.h"
#include "convert/places.h"
#include "convert/registers.h"
#include "convert/resume.h"
#include "convert/thread_parking.h"
#include "program/insn.h"

namespace hetmig::convert {

using program::Isa;
using program::Program;

namespace {

constexpr uint64_t kPage = 4096;
uint64_t page_down(uint64_t v) { return v & ~(kPage - 1); }
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

// The highest user address + 1 on each ISA (x86_64 4-level paging; arm64
// Debian kernels use 48-bit user addresses).
uint64_t user_limit(Isa isa)
{
	return isa == Isa::x86_64 ? 0x7ffffffff000ull : 1ull << 48;
}

// Where a stack that does not fit the destination goes: far below the
// x86_64 kernel's own choice for stacks and the vdso (0x7ffc... and up),
// so a restorer's vdso never sits there.
constexpr uint64_t kRelocatedStackEnd = 0x7ff000000000ull;

uint32_t image_arch(Isa isa)
{
	return isa == Isa::x86_64 ? HETMIG_ARCH_X86_64 : HETMIG_ARCH_AARCH64;
}

std::string hex(uint64_t v) { return strf("0x%llx", (unsigned long long)v); }

// A copy of the source stack, read before the destination frames are
// written over the same addresses.
struct StackSnapshot {
	uint64_t base = 0;
	std::vector<uint8_t> bytes;
	bool contains(uint64_t a, uint64_t n) const
	{
		return a >= base && a + n <= base + bytes.size();
	}
	Result<void> read(uint64_t a, std::span<uint8_t> out) const
	{
		if (!contains(a, out.size()))
			return fail(EFAULT, strf("0x%llx is outside the stack",
						 (unsigned long long)a));
		std::memcpy(out.data(), bytes.data() + (a - base), out.size());
		return {};
	}
};

// Source stack addresses that live on in the destination: each live
// variable, and the block above main (arguments, environment, auxv).
class StackMap {
public:
	void add(uint64_t src, uint64_t len, uint64_t dst) { spans_[src] = {len, dst}; }
	// Maps an address inside a span (or one past its end, as a pointer
	// past the end of an array may be). Spans do not overlap; a deep
	// stack has thousands, and every stack word is looked up.
	std::optional<uint64_t> map(uint64_t addr) const
	{
		auto it = spans_.upper_bound(addr);
		if (it == spans_.begin())
			return std::nullopt;
		--it;
		const auto &[src, span] = *it;
		if (addr <= src + span.len)
			return span.dst + (addr - src);
		return std::nullopt;
	}

private:
	struct Span { uint64_t len, dst; };
	std::map<uint64_t, Span> spans_;  // by source address
};

// The bits of struct hetmig_runtime the converter reads and resets.
struct Runtime {
	uint64_t address = 0;
	uint32_t parked = 0;
	int32_t park_errno = 0;
	ParkState park;
	uint32_t version = 0;
};

Result<Runtime> read_runtime(const Program &from, const AddressSpace &mem)
{
	auto addr = from.symbol(kRuntimeSymbol);
	if (!addr)
		return fail(ENOTSUP, strf("%s has no %s: not built by hetmig-cc",
					  from.path().c_str(), kRuntimeSymbol));
	RuntimeLayout rt;
	if (auto r = mem.read(*addr, {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)}); !r)
		return std::unexpected(r.error());
	if (rt.magic != kRuntimeMagic)
		return fail(EPROTO, "the process's hetmig runtime block has a foreign magic");
	if (rt.version < kRuntimeVersionOldest || rt.version > kRuntimeVersion)
		return fail(EPROTO, strf("hetmig runtime version %u, this hetmig knows %u-%u",
					 rt.version, kRuntimeVersionOldest, kRuntimeVersion));
	return Runtime{*addr, rt.parked, rt.park_errno, {rt.park_ra, rt.park_cfa, rt.park_fp},
		       rt.version};
}

// The ELF header fields the auxv needs, read from the build's first page.
struct ElfEntry {
	uint64_t phdr = 0, phnum = 0, entry = 0;
};

Result<ElfEntry> elf_entry(const Program &p)
{
	for (const auto &seg : p.segments()) {
		if (seg.offset != 0)
			continue;
		auto bytes = p.initial_bytes(seg.vaddr, sizeof(Elf64_Ehdr));
		if (bytes.size() < sizeof(Elf64_Ehdr))
			break;
		Elf64_Ehdr eh;
		std::memcpy(&eh, bytes.data(), sizeof(eh));
		return ElfEntry{seg.vaddr + eh.e_phoff, eh.e_phnum, eh.e_entry};
	}
	return fail(ENOEXEC, p.path() + ": the ELF header is not in a loaded segment");
}

bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

// One destination frame as planned: where it goes, what it holds.
struct Planned {
	Frame src;
	const program::Function *dst_fn;
	const program::CallSite *dst_site;
	uint64_t cfa, fp, sp;
	const std::vector<VariablePair> *vars;  // in Converter::matched_
	std::vector<Place> src_places, dst_places;  // vars[i]'s
	// Constants the destination's code put in callee-saved registers
	// before this call (CallSite::constant_registers), with their homes.
	std::vector<std::pair<Place, uint64_t>> dst_constants;
	// And thread-local addresses there (CallSite::thread_registers):
	// the thread pointer plus an offset.
	std::vector<std::pair<Place, int64_t>> dst_thread;
};

// One thread's stack on its way: the main thread's (the process's stack
// mapping, moved as a whole when it does not fit the destination) or
// another's (the stack pthread_create mapped, below the thread's area,
// which the destination lays out anew: Documentation/heterogeneous.md,
// "Threads").
struct ThreadJob {
	const ThreadState *state = nullptr;
	bool main = false;
	ParkState park;
	int32_t park_errno = 0;
	const Mapping *mapping = nullptr;  // holding the stack
	// The stack rebuilt: [lo, hi); for the main thread its whole mapping,
	// for another from the mapping's start to the top of its stack.
	uint64_t lo = 0, hi = 0;
	StackSnapshot old;
	std::vector<Frame> frames;
	int64_t delta = 0;  // how far the stack's contents move
	// Another thread's descriptor (source address and bytes) and area.
	uint64_t self = 0;
	std::vector<uint8_t> descriptor;
	ThreadAreaPlan area;
	std::vector<Planned> plan;  // outermost first
	uint64_t lowest_dst_sp = 0;
	// The innermost destination frame, where __hetmig_park "returns".
	uint64_t resume_pc = 0, resume_sp = 0, resume_fp = 0;
	// Callee-saved registers no inner destination frame restores: the
	// jump out of __hetmig_resume sets them (resume_registers() order).
	std::array<uint64_t, HETMIG_RESUME_REGS> resume_registers{};
	// Main thread: where the runtime adds the destination's thread
	// pointer (ResumeRecord::tp_words, tp_registers), and what it stores
	// relative to it (ResumeRecord::tp_stores).
	std::vector<uint64_t> tp_words;
	std::vector<size_t> tp_registers;
	std::vector<std::pair<int64_t, uint64_t>> tp_stores;
	bool contains(uint64_t a) const { return a >= lo && a < hi; }
};

class Converter {
public:
	Converter(const Image &src, const Program &from, const Program &to, Report &report)
		: src_(src), from_(from), to_(to), report_(report) {}
	Result<Image> run();

private:
	Result<void> check_pair();
	Result<void> check_runs_build();
	Result<void> plan_stack();
	Result<ThreadJob> plan_thread(const ThreadState &t, const ParkState &park, int32_t err);
	void plan_thread_areas();
	void follow_pointers(std::vector<uint8_t> &desc, uint64_t common, uint64_t at);
	Result<void> build_frames();
	Result<void> plan_frames(ThreadJob &job);
	Result<void> write_frames(ThreadJob &job);
	Result<void> fix_memory_pointers();
	Result<void> relink_threads();
	Result<void> binary_mappings();
	Result<void> tls_and_resume();
	Result<void> thread_records();
	ResumeRecord resume_record(const ThreadJob &job) const;
	ThreadState destination_thread(const ThreadState &t) const;
	Result<void> signals_and_threads();
	const ThreadJob *stack_of(uint64_t addr) const;
	// Offsets in BYTES that became offsets from the main thread's pointer
	// go to TP_RELATIVE.
	void translate_pointers(std::vector<uint8_t> &bytes, const program::Variable &v,
				bool entry_point, std::vector<uint64_t> &tp_relative);
	Result<CarriedValue> read_source(const Place &place, const program::Variable &v,
					 const std::string &where);
	void write_destination(const Place &place, const CarriedValue &value);
	// A callee-saved register's value on the source, from its home.
	Result<uint64_t> read_register(unsigned reg, bool in_register, uint64_t slot,
				       const std::string &what);
	// Writes V into register REG's home on the destination.
	void write_register(unsigned reg, bool in_register, uint64_t slot, uint64_t v);
	Result<void> set_registers(const std::vector<Place> &places,
				   const std::vector<CarriedValue> &values,
				   const std::vector<std::pair<Place, uint64_t>> &constants,
				   const std::string &where);

	const Image &src_;
	const Program &from_, &to_;
	Report &report_;
	Image out_;
	AddressSpace mem_;
	Runtime rt_;
	// Every thread's, the main thread's first; cur_ is the one whose
	// frames are being written.
	std::vector<ThreadJob> jobs_;
	ThreadJob *cur_ = nullptr;
	StackMap map_;
	// Pointers into the other threads' areas (TLS blocks, the common part
	// of their descriptors: errno), which the converter lays out again.
	StackMap areas_;
	// Each other thread's descriptor (ended ones included), source address
	// to destination's: what musl's thread list links.
	std::map<uint64_t, uint64_t> descriptors_;
	// The main thread's TLS block, which musl makes anew at an address
	// known on the destination only: a pointer into it becomes an offset
	// from the thread pointer, completed by the runtime (tp_words).
	uint64_t main_tls_lo_ = 0, main_tls_hi_ = 0, main_tls_dst_ = 0;
	// The main thread's old descriptor and dtv, which musl makes anew
	// (dtv[1] points into the old block: no fixup may land there).
	std::pair<uint64_t, uint64_t> main_self_ = {0, 0}, main_dtv_ = {0, 0};
	// Threads ended, not joined: their descriptors, laid out again.
	struct Exited {
		uint64_t self;
		ThreadAreaPlan area;
		std::vector<uint8_t> bytes;
	};
	std::vector<Exited> exited_;
	bool in_old_main_area(uint64_t addr) const
	{
		return (addr >= main_self_.first && addr < main_self_.second) ||
		       (addr >= main_dtv_.first && addr < main_dtv_.second);
	}
	// A pointer WORD to a thread's area, as the destination has it; TP is
	// set when the result is an offset from the main thread's pointer.
	std::optional<uint64_t> map_area(uint64_t word, bool *tp) const;
	// Variables matched per call site, by the source's return address.
	std::map<uint64_t, std::vector<VariablePair>> matched_;
	bool checked_park_registers_ = false;
};

Result<void> Converter::check_pair()
{
	if (src_.arch != image_arch(from_.isa()))
		return fail(EINVAL, strf("the image is of %s, the build %s is for %s",
					 arch_name(src_.arch), from_.path().c_str(),
					 program::isa_name(from_.isa())));
	if (from_.isa() == to_.isa())
		return fail(EINVAL, "both builds are for the same ISA");
	if (auto r = check_runs_build(); !r)
		return r;
	if (from_.pair_id().empty())
		return fail(ENOTSUP, from_.path() + " was not built by hetmig-cc (no pair note)");
	if (to_.pair_id() != from_.pair_id())
		return fail(EINVAL, strf("%s and %s are not a pair (pair ids %s and %s)",
					 from_.path().c_str(), to_.path().c_str(),
					 from_.pair_id().c_str(),
					 to_.pair_id().empty() ? "none" : to_.pair_id().c_str()));
	// Every thread moves: its frames, musl descriptor and TLS block
	// (hetmig send parked each first: Parking's every_thread).
	if (src_.threads.empty() || src_.threads.front().tid != uint32_t(src_.pid))
		return fail(EPROTO, "the image's first thread is not its main thread");
	// The runtime block and resume entry must be at one address: the
	// converter writes the destination's through the source's address.
	for (const char *sym : {kRuntimeSymbol, kResumeSymbol, kMainReturnSymbol})
		if (!from_.symbol(sym) || from_.symbol(sym) != to_.symbol(sym))
			return fail(EPROTO, strf("%s is not at one address in both builds", sym));
	return {};
}

// The image must be of a process running FROM: every loaded segment of
// FROM mapped from a file at its place, and that file of FROM's size.
// With another program's build the stack would be read through the wrong
// frame layouts and DWARF, and the first symptom would be a misleading
// one (a runtime block not where it should be, a frame that is not).
Result<void> Converter::check_runs_build()
{
	auto refuse = [&](const std::string &why) {
		return fail(EINVAL, strf("the image's process does not run %s: %s",
					 from_.path().c_str(), why.c_str()));
	};
	std::error_code ec;
	const uint64_t size = std::filesystem::file_size(from_.path(), ec);
	for (const auto &seg : from_.segments()) {
		if (seg.filesz == 0)
			continue;
		uint64_t start = page_down(seg.vaddr), end = page_up(seg.vaddr + seg.filesz);
		const Mapping *m = mapping_containing(src_, start);
		if (!m || m->kind != HETMIG_VMA_FILE || m->start != start || m->end != end ||
		    m->pgoff != page_down(seg.offset))
			return refuse(strf("its segment at %s is not mapped there from a file "
					   "(%s)", hex(seg.vaddr).c_str(),
					   m ? maps_line(*m).c_str() : "nothing mapped"));
		// A converted image no longer lists the file it runs among the
		// files to check; a captured one does.
		for (const auto &f : src_.mapped_files)
			if (f.path == m->path && !ec && f.size != size)
				return refuse(strf("%s was %llu bytes, this build is %llu",
						   f.path.c_str(), (unsigned long long)f.size,
						   (unsigned long long)size));
	}
	return {};
}

Result<void> Converter::plan_stack()
{
	auto pages = src_.pages;
	auto mem = AddressSpace::from_pages(std::move(pages));
	if (!mem)
		return std::unexpected(mem.error());
	mem_ = std::move(*mem);
	auto rt = read_runtime(from_, mem_);
	if (!rt)
		return std::unexpected(rt.error());
	rt_ = *rt;
	if (!rt_.parked)
		return fail(EAGAIN, "the process is not parked at a migration point");
	if (src_.threads.size() == 1) {
		auto job = plan_thread(src_.threads.front(), rt_.park, rt_.park_errno);
		if (!job)
			return std::unexpected(job.error());
		jobs_.push_back(std::move(*job));
		plan_thread_areas();
		return {};
	}
	// Each thread's record is in its slot of __hetmig_threads.
	if (rt_.version < kRuntimeVersionThreads)
		return fail(ENOTSUP, strf("the process has %zu threads, and its runtime (version "
					  "%u) cannot resume them on the destination: rebuild it "
					  "with this hetmig-cc", src_.threads.size(), rt_.version));
	for (const char *sym : {kThreadReturnSymbol, kResumeThreadSymbol})
		if (!from_.symbol(sym) || from_.symbol(sym) != to_.symbol(sym))
			return fail(EPROTO, strf("the process has %zu threads, but %s is not at one "
						 "address in both builds", src_.threads.size(), sym));
	auto table_at = from_.symbol(kThreadsSymbol);
	hetmig_threads table{};
	if (!table_at || !mem_.read(*table_at, {reinterpret_cast<uint8_t *>(&table),
						sizeof(table)}))
		return fail(EPROTO, strf("%s has no table of parked threads", from_.path().c_str()));
	auto parked = parked_threads(table);
	for (const ThreadState &t : src_.threads) {
		auto slot = std::find_if(parked.begin(), parked.end(), [&](const ParkedThread &p) {
			return p.tid == pid_t(t.tid);
		});
		if (slot == parked.end())
			return fail(EAGAIN, strf("thread %u is not parked", t.tid));
		auto job = plan_thread(t, {slot->ra, slot->cfa, slot->fp}, slot->errno_val);
		if (!job)
			return std::unexpected(job.error());
		jobs_.push_back(std::move(*job));
	}
	plan_thread_areas();
	return {};
}

// Where each thread's descriptor and TLS block go: a pointer to either,
// wherever the program keeps it (pthread_t is the descriptor's address in
// musl; &errno is in the descriptor; a thread-local variable's address),
// follows it. The main thread's are musl's to make on the destination, at
// an address known there only: pointers to them become offsets from the
// thread pointer, which the runtime completes (tp_words).
void Converter::plan_thread_areas()
{
	auto tls = from_.tls();
	if (!tls)
		return;
	using namespace musl_field;
	const DescriptorLayout &fl = descriptor_layout(from_.isa());
	const DescriptorLayout &tl = descriptor_layout(to_.isa());
	const ThreadJob &main = jobs_.front();
	main_tls_lo_ = tls_block_address(from_.isa(), main.state->thread_pointer, *tls);
	main_tls_hi_ = main_tls_lo_ + tls->mem_size;
	main_tls_dst_ = tls_block_address(to_.isa(), 0, *tls);
	const uint64_t self = main.state->thread_pointer - fl.tp_offset;
	main_self_ = {self, self + fl.size};
	if (auto dtv = mem_.read_u64(self + fl.dtv))
		main_dtv_ = {*dtv, *dtv + 16};
	for (const auto &j : jobs_) {
		if (j.main)
			continue;
		uint64_t block = tls_block_address(from_.isa(), j.state->thread_pointer, *tls);
		areas_.add(block, tls->mem_size, j.area.area.tls_block);
		areas_.add(j.self, 0, j.area.area.self);
		areas_.add(j.self + fl.common, kCommonLen, j.area.area.self + tl.common);
		descriptors_[j.self] = j.area.area.self;
	}
	// Threads that ended and were not joined yet: no task, but their
	// descriptor and mapping stay until pthread_join takes the result and
	// unmaps it, reading the descriptor as the destination lays it out
	// (hetero-test's reduce: a join after the move read another field as
	// the thread's state, and crashed). Found by what pthread_create
	// made: a descriptor pointing to itself inside the mapping it names.
	// hetmig-cc links threads.c into a program that creates threads.
	if (!from_.symbol(kThreadReturnSymbol))
		return;
	std::set<uint64_t> known;
	for (const auto &j : jobs_)
		known.insert(j.main ? self : j.self);
	std::vector<uint64_t> candidates;
	for (const auto &m : src_.mappings)
		if ((m.prot & PROT_WRITE) && &m != main.mapping)
			mem_.for_each_word(m.start, m.end, [&](uint64_t addr, uint64_t v) {
				if (v == addr && !known.contains(addr))
					candidates.push_back(addr);
			});
	for (uint64_t at : candidates) {
		std::vector<uint8_t> d(fl.size);
		if (!mem_.read(at, d))
			continue;
		uint64_t base, size;
		std::memcpy(&base, d.data() + fl.common + kMapBase, 8);
		std::memcpy(&size, d.data() + fl.common + kMapSize, 8);
		if (!base || base % kPage || size % kPage || at < base || at >= base + size)
			continue;
		auto area = plan_thread_area(d, from_.isa(), at, to_.isa(), *tls);
		if (!area)
			continue;
		areas_.add(at, 0, area->area.self);
		areas_.add(at + fl.common, kCommonLen, area->area.self + tl.common);
		descriptors_[at] = area->area.self;
		exited_.push_back({at, *area, std::move(d)});
	}
	report_.exited_threads = exited_.size();
}

Result<ThreadJob> Converter::plan_thread(const ThreadState &t, const ParkState &park,
					 int32_t err)
{
	ThreadJob job;
	job.state = &t;
	job.main = t.tid == uint32_t(src_.pid);
	job.park = park;
	job.park_errno = err;
	const std::string who = job.main ? std::string("the main thread")
					 : strf("thread %u", t.tid);
	job.mapping = mapping_containing(src_, park.cfa);
	if (!job.mapping)
		return fail(EFAULT, strf("%s: the parked stack pointer is in no mapping",
					 who.c_str()));
	const Mapping &m = *job.mapping;
	job.lo = m.start;
	job.hi = m.end;
	job.old.base = m.start;
	job.old.bytes.assign(m.end - m.start, 0);
	// Stack pages the image does not hold were never touched: zeros.
	for (uint64_t a = m.start; a < m.end; a += kPage)
		if (mem_.contains(a, kPage))
			(void)mem_.read(a, {job.old.bytes.data() + (a - m.start), kPage});

	if (!job.main) {
		// The thread's descriptor, from its thread pointer, says where
		// its stack ends and its area begins.
		auto tls = from_.tls();
		if (!tls)
			return fail(EPROTO, from_.path() + " has no TLS segment");
		job.self = t.thread_pointer - descriptor_layout(from_.isa()).tp_offset;
		job.descriptor.resize(descriptor_layout(from_.isa()).size);
		if (auto r = mem_.read(job.self, job.descriptor); !r)
			return fail(EFAULT, strf("%s: its descriptor at %s: %s", who.c_str(),
						 hex(job.self).c_str(), r.error().context.c_str()));
		auto area = plan_thread_area(job.descriptor, from_.isa(), job.self, to_.isa(),
					     *tls);
		if (!area)
			return fail(area.error().code, who + ": " + area.error().context);
		job.area = *area;
		if (job.area.src_lo <= park.cfa || job.area.tsd > m.end)
			return fail(EPROTO, strf("%s: its stack top %s is not above its parked "
						 "frame in %s", who.c_str(),
						 hex(job.area.src_lo).c_str(), maps_line(m).c_str()));
		job.hi = job.area.src_lo;
		job.delta = -int64_t(job.area.lower_stack_by);
	} else if (m.end > user_limit(to_.isa())) {
		job.delta = int64_t(kRelocatedStackEnd - m.end);
		report_.stack_moved_by = job.delta;
	}

	auto read = [&job](uint64_t a) -> Result<uint64_t> {
		uint64_t v = 0;
		if (auto r = job.old.read(a, {reinterpret_cast<uint8_t *>(&v), 8}); !r)
			return std::unexpected(r.error());
		return v;
	};
	auto frames = parked_frames(from_, park, read, !job.main);
	if (!frames) {
		if (src_.threads.size() == 1)
			return std::unexpected(frames.error());
		return fail(frames.error().code, who + ": " + frames.error().context);
	}
	job.frames = std::move(*frames);
	return job;
}

const ThreadJob *Converter::stack_of(uint64_t addr) const
{
	for (const auto &j : jobs_)
		if (j.contains(addr))
			return &j;
	return nullptr;
}

// A variable's value on its way (bytes of the source's, pointers into
// the stack mapped to where their targets are in the destination).
std::optional<uint64_t> Converter::map_area(uint64_t word, bool *tp) const
{
	*tp = false;
	if (auto to = areas_.map(word))
		return to;
	const DescriptorLayout &fl = descriptor_layout(from_.isa());
	const DescriptorLayout &tl = descriptor_layout(to_.isa());
	const uint64_t main_self = main_self_.first;
	if (main_self && word == main_self) {
		*tp = true;
		return -tl.tp_offset;
	}
	if (main_self && word >= main_self + fl.common &&
	    word < main_self + fl.common + musl_field::kCommonLen) {
		*tp = true;
		return tl.common - tl.tp_offset + (word - main_self - fl.common);
	}
	if (word >= main_tls_lo_ && word < main_tls_hi_) {
		*tp = true;
		return main_tls_dst_ + (word - main_tls_lo_);
	}
	return std::nullopt;
}

void Converter::translate_pointers(std::vector<uint8_t> &bytes, const program::Variable &v,
				   bool entry_point, std::vector<uint64_t> &tp_relative)
{
	for (uint64_t off : v.type.pointer_offsets) {
		if (off + 8 > bytes.size())
			continue;
		uint64_t value;
		std::memcpy(&value, bytes.data() + off, 8);
		const ThreadJob *stack = stack_of(value);
		bool tp = false;
		if (auto to = stack ? std::nullopt : map_area(value, &tp)) {
			// A thread-local variable's address (x86_64 keeps one in
			// a callee-saved register across calls: pool's my_tasks).
			std::memcpy(bytes.data() + off, &*to, 8);
			report_.pointers_in_variables++;
			if (tp)
				tp_relative.push_back(off);
			continue;
		}
		if (!stack)
			continue;  // code, data or heap: the same on both sides
		if (auto to = map_.map(value)) {
			std::memcpy(bytes.data() + off, &*to, 8);
			report_.pointers_in_variables++;
			continue;
		}
		if (value < stack->frames.front().sp) {
			// Below every live frame: a dangling pointer the program
			// cannot use; it stays dangling.
			report_.stale_stack_words++;
			continue;
		}
		if (!v.parameter && entry_point) {
			// At a function-entry point the locals are not yet
			// initialised: what they hold is no pointer at all.
			report_.stale_stack_words++;
			continue;
		}
		// Into a live frame but no variable of it: no object a program
		// may point to is there. The verifier refuses a site whose frame
		// holds an object no variable describes (Program::
		// undescribed_slots: a slot whose address the code takes is
		// live), and a variable's own bytes are mapped above; what is
		// left is an uninitialised field (NPB CG's `a` while make_matrix
		// fills it in held an old stack address on aarch64). It stays
		// as it is, counted.
		report_.stale_stack_words++;
	}
}

Result<uint64_t> Converter::read_register(unsigned reg, bool in_register, uint64_t slot,
					  const std::string &what)
{
	if (!in_register) {
		uint64_t v = 0;
		if (auto r = cur_->old.read(slot, {reinterpret_cast<uint8_t *>(&v), 8}); !r)
			return fail(EFAULT, strf("%s's save slot: %s", what.c_str(),
						 r.error().context.c_str()));
		return v;
	}
	// The thread is frozen in __hetmig_park (or the raw nanosleep it
	// calls): its registers are its caller's only if those frames leave
	// the callee-saved ones alone, as the -O0 runtime does.
	if (!checked_park_registers_) {
		if (auto why = park_clobbers_registers(from_))
			return fail(ENOTSUP, strf("%s is in a register, but %s", what.c_str(),
						  why->c_str()));
		checked_park_registers_ = true;
	}
	return parked_register(from_.isa(), *cur_->state, reg);
}

Result<CarriedValue> Converter::read_source(const Place &place, const program::Variable &v,
					    const std::string &where)
{
	CarriedValue value;
	value.bytes.resize(v.type.size);
	std::string what = where + ": " + v.name;
	switch (place.kind) {
	case Place::Kind::constant:
	case Place::Kind::optimized_out:
		break;
	case Place::Kind::memory:
		if (auto r = cur_->old.read(place.address, value.bytes); !r)
			return fail(EFAULT, strf("%s: %s", what.c_str(), r.error().context.c_str()));
		break;
	case Place::Kind::save_slot:
	case Place::Kind::register_file: {
		auto reg = read_register(place.reg, place.kind == Place::Kind::register_file,
					 place.address, what);
		if (!reg)
			return std::unexpected(reg.error());
		value.whole_register = *reg;
		break;
	}
	case Place::Kind::linear: {
		uint64_t sum = uint64_t(place.offset);
		for (const auto &t : place.terms) {
			auto reg = read_register(t.reg, t.in_register, t.slot, what);
			if (!reg)
				return std::unexpected(reg.error());
			sum += uint64_t(t.sign) * *reg;
		}
		value.whole_register = sum;
		break;
	}
	}
	if (value.whole_register)
		std::memcpy(value.bytes.data(), &*value.whole_register,
			    std::min<size_t>(value.bytes.size(), 8));
	return value;
}

void Converter::write_register(unsigned reg, bool in_register, uint64_t slot, uint64_t v)
{
	if (!in_register) {
		mem_.write_u64(slot, v);
		return;
	}
	const auto &regs = resume_registers(to_.isa());
	auto i = size_t(std::find(regs.begin(), regs.end(), reg) - regs.begin());
	cur_->resume_registers.at(i) = v;
}

void Converter::write_destination(const Place &place, const CarriedValue &value)
{
	switch (place.kind) {
	case Place::Kind::constant:
	case Place::Kind::optimized_out:
	case Place::Kind::linear:  // build_frames solves for its registers
		break;  // the destination's code computes it, or never reads it
	case Place::Kind::memory:
		mem_.write(place.address, value.bytes);
		break;
	case Place::Kind::save_slot:
	case Place::Kind::register_file:
		write_register(place.reg, place.kind == Place::Kind::register_file, place.address,
			       value.register_value());
		break;
	}
}

// A destination frame's callee-saved registers that no variable holds
// itself: first the constants its code put there, then, one at a time, the
// one register a sum-of-registers variable leaves unknown, from that
// variable's value and the registers known so far (hetmig check proves
// that every such variable gets there: check::solve_registers).
Result<void> Converter::set_registers(const std::vector<Place> &places,
				      const std::vector<CarriedValue> &values,
				      const std::vector<std::pair<Place, uint64_t>> &constants,
				      const std::string &where)
{
	std::map<unsigned, uint64_t> known;
	for (size_t i = 0; i < places.size(); i++)
		if (places[i].kind == Place::Kind::save_slot ||
		    places[i].kind == Place::Kind::register_file)
			known[places[i].reg] = values[i].register_value();
	for (const auto &[place, constant] : constants) {
		write_register(place.reg, place.kind == Place::Kind::register_file, place.address,
			       constant);
		known[place.reg] = constant;
	}
	std::vector<bool> done(places.size(), false);
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < places.size(); i++) {
			const Place &pl = places[i];
			if (pl.kind != Place::Kind::linear || done[i])
				continue;
			uint64_t rest = values[i].register_value() - uint64_t(pl.offset);
			const Place::Term *unknown = nullptr;
			int n_unknown = 0;
			for (const auto &t : pl.terms) {
				auto k = known.find(t.reg);
				if (k != known.end())
					rest -= uint64_t(t.sign) * k->second;
				else
					unknown = &t, n_unknown++;
			}
			if (n_unknown > 1)
				continue;
			done[i] = true;
			progress = true;
			if (!unknown)
				continue;
			uint64_t v = uint64_t(unknown->sign) * rest;
			write_register(unknown->reg, unknown->in_register, unknown->slot, v);
			known[unknown->reg] = v;
		}
	}
	for (size_t i = 0; i < places.size(); i++)
		if (places[i].kind == Place::Kind::linear && !done[i])
			return fail(ENOTSUP, strf("%s: more than one register of a computed value is "
						  "unknown on the destination", where.c_str()));
	return {};
}

// Every thread's frames are planned before any is written: a variable of
// one thread may point into another's stack (a worker's argument on
// main's), and each pointer is mapped to where its target goes.
Result<void> Converter::build_frames()
{
	for (auto &job : jobs_)
		if (auto r = plan_frames(job); !r)
			return r;
	for (auto &job : jobs_)
		if (auto r = write_frames(job); !r)
			return r;
	return {};
}

Result<void> Converter::plan_frames(ThreadJob &job)
{
	const Frame &outer = job.frames.back();
	const uint64_t dst_outer_cfa = outer.cfa + uint64_t(job.delta);

	// The block above the outermost frame (main's arguments, environment
	// and auxv; a thread's start arguments) moves as a whole.
	map_.add(outer.cfa, job.hi - outer.cfa, dst_outer_cfa);

	auto &plan = job.plan;
	uint64_t cfa = dst_outer_cfa;
	// A build made with --warn-only reaches sites hetmig check refuses:
	// their frames hold what no variable describes. Asked once per site.
	std::map<std::string, std::vector<std::string>> refused;
	// Outermost first: each frame's sp is the next inner frame's CFA.
	for (auto it = job.frames.rbegin(); it != job.frames.rend(); ++it) {
		const Frame &f = *it;
		std::string where = strf("%s:%d:%d in %s", f.site->file.c_str(), f.site->line,
					 f.site->column, f.function->name.c_str());
		if (!job.main)
			where += strf(" (thread %u)", job.state->tid);
		auto [why, fresh] = refused.try_emplace(f.site->key);
		if (fresh)
			why->second = check::refuse_site(from_, to_, f.site->key);
		if (!why->second.empty()) {
			std::string reasons;
			for (const auto &r : why->second)
				reasons += (reasons.empty() ? "" : "; ") + r;
			return fail(ENOTSUP, strf("%s: an unsafe call site (hetmig check refuses "
						  "it): %s", where.c_str(), reasons.c_str()));
		}
		const program::Function *dfn = to_.function_named(f.function->name);
		if (!dfn || dfn->low != f.function->low)
			return fail(EPROTO, strf("%s is not at one address in both builds",
						 f.function->name.c_str()));
		if (!dfn->frame.known)
			return fail(ENOTSUP, strf("%s: destination frame: %s", where.c_str(),
						  dfn->frame.why_unknown.c_str()));
		if (dfn->frame.dynamic)
			return fail(ENOTSUP, where + ": the destination frame has a variable size");
		const program::CallSite *dsite = to_.call_site_by_key(f.site->key);
		if (!dsite)
			return fail(EPROTO, strf("%s: the call site %s has no counterpart in %s",
						 where.c_str(), f.site->key.c_str(),
						 to_.path().c_str()));
		// Looking variables up in DWARF was most of a conversion's time
		// (bench/convert.cpp); a recursion has few call sites and many
		// frames, so each site is looked up and matched once.
		auto known = matched_.find(f.resume_pc);
		if (known == matched_.end()) {
			auto vars = frame_variables(from_, to_, f.resume_pc, dsite->return_address,
						    where);
			if (!vars)
				return std::unexpected(vars.error());
			known = matched_.emplace(f.resume_pc, std::move(*vars)).first;
		}
		Planned p{f, dfn, dsite, cfa, cfa - dfn->frame.cfa_minus_fp,
			  cfa - dfn->frame.cfa_minus_sp, &known->second, {}, {}, {}, {}};
		cfa = p.sp;
		plan.push_back(std::move(p));
	}

	// Where each variable is on each side, innermost frame first: a
	// value in a callee-saved register is in the save slot of the nearest
	// inner frame that saved that register at its call, else in the
	// register itself (convert/registers.h).
	RegisterHomes src_homes(from_.isa()), dst_homes(to_.isa());
	for (auto it = plan.rbegin(); it != plan.rend(); ++it) {
		Planned &p = *it;
		std::string where = strf("%s:%d in %s", p.src.site->file.c_str(),
					 p.src.site->line, p.src.function->name.c_str());
		const FrameAt src{from_.isa(), p.src.cfa, p.src.fp, src_homes};
		const FrameAt dst{to_.isa(), p.cfa, p.fp, dst_homes};
		for (const auto &vp : *p.vars) {
			auto places = places_of(vp, src, dst, where);
			if (!places)
				return std::unexpected(places.error());
			const auto &[sp, dp] = *places;
			if (sp.kind == Place::Kind::memory && dp.kind == Place::Kind::memory)
				map_.add(sp.address, vp.src.type.size, dp.address);
			p.src_places.push_back(sp);
			p.dst_places.push_back(dp);
		}
		auto home_of = [&](unsigned reg) {
			RegisterHome home = dst_homes.home(reg);
			return home.in_register ? Place{Place::Kind::register_file, 0, reg, {}}
						: Place{Place::Kind::save_slot, home.slot, reg, {}};
		};
		for (const auto &[reg, value] : p.dst_site->constant_registers)
			p.dst_constants.push_back({home_of(reg), value});
		// The address of a slot of this (destination) frame.
		for (const auto &[reg, offset] : p.dst_site->frame_registers)
			p.dst_constants.push_back({home_of(reg), p.fp + uint64_t(offset)});
		for (const auto &[reg, offset] : p.dst_site->thread_registers)
			p.dst_thread.push_back({home_of(reg), offset});
		src_homes.saved_by(*p.src.site, p.src.cfa);
		dst_homes.saved_by(*p.dst_site, p.cfa);
	}

	// Every byte of the destination frames is written once: frame
	// records, variables and save slots do not overlap. A callee's stack
	// parameters sit in its caller's outgoing area, inside the caller's
	// frame, where no variable or frame record of the caller is.
	struct Span {
		uint64_t start, len;
		std::string what;
	};
	std::vector<Span> spans;
	for (const auto &p : plan) {
		const auto &layout = p.dst_fn->frame;
		spans.push_back({p.cfa + uint64_t(layout.saved_fp_at), 8,
				 p.dst_fn->name + "'s saved frame pointer"});
		spans.push_back({p.cfa + uint64_t(layout.saved_ra_at), 8,
				 p.dst_fn->name + "'s return address"});
		for (size_t i = 0; i < p.vars->size(); i++) {
			const Place &d = p.dst_places[i];
			if (d.kind == Place::Kind::memory)
				spans.push_back({d.address, (*p.vars)[i].dst.type.size,
						 p.dst_fn->name + "'s " + (*p.vars)[i].dst.name});
			else if (d.kind == Place::Kind::save_slot)
				spans.push_back({d.address, 8, "the save slot of " +
						 std::string(program::register_name(to_.isa(),
										    d.reg))});
		}
	}
	std::sort(spans.begin(), spans.end(), [](const Span &x, const Span &y) {
		return std::tie(x.start, x.len) < std::tie(y.start, y.len);
	});
	for (size_t i = 1; i < spans.size(); i++) {
		const Span &x = spans[i - 1], &y = spans[i];
		// One register saved once holds every variable kept in it;
		// two variables DWARF places in the same bytes get the same
		// value twice.
		if (x.start == y.start && x.len == y.len)
			continue;
		if (y.start < x.start + x.len)
			return fail(EPROTO, strf("destination stack: %s and %s overlap at %s",
						 x.what.c_str(), y.what.c_str(),
						 hex(y.start).c_str()));
	}
	return {};
}

Result<void> Converter::write_frames(ThreadJob &job)
{
	cur_ = &job;
	const Frame &outer = job.frames.back();
	const uint64_t dst_outer_cfa = outer.cfa + uint64_t(job.delta);

	// The old stack goes (and another thread's area above it, which
	// relink_threads lays out again); the block above the outermost frame
	// comes back (moved), then the frames are written into the cleared
	// space below it.
	mem_.discard(job.lo, (job.main ? job.hi : job.area.tsd) - job.lo);
	std::vector<uint8_t> above(job.old.bytes.begin() + ptrdiff_t(outer.cfa - job.old.base),
				   job.old.bytes.begin() + ptrdiff_t(job.hi - job.old.base));
	if (job.delta) {
		// Pointers within the block (argv[], envp[], auxv strings) move
		// with it.
		for (size_t off = 0; off + 8 <= above.size(); off += 8) {
			uint64_t v;
			std::memcpy(&v, above.data() + off, 8);
			if (v >= outer.cfa && v < job.hi) {
				v += uint64_t(job.delta);
				std::memcpy(above.data() + off, &v, 8);
			}
		}
	}
	mem_.write(dst_outer_cfa, above);

	// Another thread's thread pointer on the destination is known here:
	// its area is laid out by the converter, not by musl.
	const uint64_t dst_tp = job.main ? 0 : job.area.area.tp;
	uint64_t caller_fp = 0;
	uint64_t caller_resume = *to_.symbol(job.main ? kMainReturnSymbol : kThreadReturnSymbol);
	for (const auto &p : job.plan) {
		const auto &layout = p.dst_fn->frame;
		const auto &vars = *p.vars;
		mem_.write_u64(p.cfa + uint64_t(layout.saved_fp_at), caller_fp);
		mem_.write_u64(p.cfa + uint64_t(layout.saved_ra_at), caller_resume);
		std::string where = strf("%s:%d in %s", p.src.site->file.c_str(),
					 p.src.site->line, p.src.function->name.c_str());
		// Stopped at its own entry point: its locals are not yet set.
		const bool entry_point = p.src.site->callee == kEntryPointHook;
		std::vector<CarriedValue> values;
		for (size_t i = 0; i < vars.size(); i++) {
			const VariablePair &vp = vars[i];
			auto value = read_source(p.src_places[i], vp.src, where);
			if (!value)
				return std::unexpected(value.error());
			std::vector<uint64_t> tp_relative;
			translate_pointers(value->bytes, vp.dst, entry_point, tp_relative);
			write_destination(p.dst_places[i], *value);
			values.push_back(*value);
			const Place &d = p.dst_places[i];
			for (uint64_t off : tp_relative) {
				if (d.kind == Place::Kind::memory) {
					jobs_.front().tp_words.push_back(d.address + off);
				} else if (d.kind == Place::Kind::save_slot) {
					jobs_.front().tp_words.push_back(d.address);
				} else if (d.kind == Place::Kind::register_file && job.main) {
					const auto &regs = resume_registers(to_.isa());
					job.tp_registers.push_back(size_t(
						std::find(regs.begin(), regs.end(), d.reg) -
						regs.begin()));
				} else if (d.kind == Place::Kind::register_file) {
					return fail(ENOTSUP, strf("%s: %s holds the address of a "
								  "thread-local variable of the main "
								  "thread in a register of thread %u",
								  where.c_str(), vp.src.name.c_str(),
								  job.state->tid));
				}
			}
		}
		if (auto r = set_registers(p.dst_places, values, p.dst_constants, where); !r)
			return r;
		// A register a variable is in, or that a sum solved for, got the
		// variable's value.
		for (const auto &[place, offset] : p.dst_thread) {
			auto uses = [reg = place.reg](const Place &d) {
				if (d.kind == Place::Kind::linear)
					return std::any_of(d.terms.begin(), d.terms.end(),
							   [&](const Place::Term &t) { return t.reg == reg; });
				return (d.kind == Place::Kind::register_file ||
					d.kind == Place::Kind::save_slot) && d.reg == reg;
			};
			if (std::any_of(p.dst_places.begin(), p.dst_places.end(), uses))
				continue;
			bool in_register = place.kind == Place::Kind::register_file;
			write_register(place.reg, in_register, place.address,
				       dst_tp + uint64_t(offset));
			if (!job.main)
				continue;
			if (in_register) {
				const auto &regs = resume_registers(to_.isa());
				job.tp_registers.push_back(size_t(
					std::find(regs.begin(), regs.end(), place.reg) - regs.begin()));
			} else {
				job.tp_words.push_back(place.address);
			}
		}
		// Spilled constants and frame addresses of the destination's code
		// (CallSite::constant_slots): its own values, nothing read.
		// A slot a carried variable occupies got that variable's value.
		auto is_variable = [&](uint64_t addr) {
			for (size_t i = 0; i < vars.size(); i++)
				if (p.dst_places[i].kind == Place::Kind::memory &&
				    addr < p.dst_places[i].address + vars[i].dst.type.size &&
				    p.dst_places[i].address < addr + 8)
					return true;
			return false;
		};
		for (const auto &[at, value] : p.dst_site->constant_slots)
			if (!is_variable(p.fp + uint64_t(at)))
				mem_.write_u64(p.fp + uint64_t(at), value);
		for (const auto &[at, offset] : p.dst_site->frame_address_slots)
			if (!is_variable(p.fp + uint64_t(at)))
				mem_.write_u64(p.fp + uint64_t(at), p.fp + uint64_t(offset));
		if (job.main)
			report_.frames.push_back({p.src.function->name, p.src.site->file,
						  p.src.site->line, p.src.site->column, p.src.cfa,
						  p.cfa, vars.size()});
		caller_fp = p.fp;
		caller_resume = p.dst_site->return_address;
		job.resume_pc = p.dst_site->return_address;
		job.resume_sp = p.sp;
		job.resume_fp = p.fp;
	}
	if (job.main)
		std::reverse(report_.frames.begin(), report_.frames.end());
	job.lowest_dst_sp = job.resume_sp;
	return {};
}

// Stack addresses stored outside the stack (a heap node pointing at a
// local array, libc's argv/environ/auxv pointers) follow their targets.
Result<void> Converter::fix_memory_pointers()
{
	std::vector<std::pair<uint64_t, uint64_t>> fixes;
	for (const auto &m : src_.mappings) {
		if (!(m.prot & PROT_WRITE))
			continue;
		// The stacks are rebuilt; above another thread's lies its area
		// (laid out again) and its thread-specific data (scanned).
		uint64_t from = m.start;
		for (const auto &j : jobs_)
			if (j.mapping == &m)
				from = j.main ? m.end : j.area.tsd;
		mem_.for_each_word(from, m.end, [&](uint64_t addr, uint64_t v) {
			bool tp = false;
			if (auto to = stack_of(v) || in_old_main_area(addr) ? std::nullopt
									    : map_area(v, &tp)) {
				fixes.emplace_back(addr, *to);
				if (tp)
					jobs_.front().tp_words.push_back(addr);
				report_.pointers_in_memory++;
				return;
			}
			if (!stack_of(v))
				return;
			if (auto to = map_.map(v)) {
				fixes.emplace_back(addr, *to);
				report_.pointers_in_memory++;
			} else {
				report_.stale_stack_words++;
			}
		});
	}
	for (auto [addr, v] : fixes)
		mem_.write_u64(addr, v);
	return {};
}

// The fields of a translated descriptor (at AT on the destination) that
// may point into a stack or a thread's area follow their targets: the
// result a thread returned (reduce's point to main's stack), its robust
// list's entries (a robust mutex on a stack). Not the others: its own
// stack, mapping and tsd, and a robust list that is empty (pointing to
// its own head, which translate_descriptor set), are no such pointers,
// and may even fall where the source's spans are.
void Converter::follow_pointers(std::vector<uint8_t> &desc, uint64_t common, uint64_t at)
{
	using namespace musl_field;
	for (uint64_t field : {kResult, kRobustHead, kRobustPending}) {
		uint64_t off = common + field, v;
		bool tp = false;
		std::memcpy(&v, desc.data() + off, 8);
		if (v == at + common + kRobustHead)
			continue;
		auto to = stack_of(v) ? map_.map(v) : map_area(v, &tp);
		if (!to)
			continue;
		std::memcpy(desc.data() + off, &*to, 8);
		if (tp)
			jobs_.front().tp_words.push_back(at + off);
	}
}

// The other threads' areas on the destination (descriptor, TLS block,
// dtv), and every word that held a thread's descriptor address (a
// pthread_t, musl's list of threads) pointing at its new one. The main
// thread's descriptor is musl's to build in __hetmig_resume, at an address
// known only there: words that held it become an offset from the thread
// pointer, which the runtime completes (Documentation/heterogeneous.md,
// "Threads").
Result<void> Converter::relink_threads()
{
	// hetmig-cc links threads.c into a program that creates threads.
	if (!from_.symbol(kThreadReturnSymbol))
		return {};
	const auto tls = from_.tls();
	if (!tls)
		return fail(EPROTO, from_.path() + " has no TLS segment");
	const DescriptorLayout &fl = descriptor_layout(from_.isa());
	const DescriptorLayout &tl = descriptor_layout(to_.isa());
	ThreadJob &main = jobs_.front();
	const uint64_t main_self = main_self_.first;  // plan_thread_areas
	std::vector<uint8_t> main_desc(fl.size);
	if (auto r = mem_.read(main_self, main_desc); !r)
		return fail(EFAULT, "the main thread's descriptor: " + r.error().context);
	const uint64_t main_word = uint64_t(-int64_t(tl.tp_offset));

	auto link = [&](uint64_t v, const std::string &who) -> Result<uint64_t> {
		if (v == main_self)
			return main_word;
		auto it = descriptors_.find(v);
		if (it == descriptors_.end())
			return fail(EPROTO, strf("%s is linked to 0x%llx, no thread of the image",
						 who.c_str(), (unsigned long long)v));
		return it->second;
	};
	using namespace musl_field;
	for (auto &j : jobs_) {
		if (j.main)
			continue;
		const std::string who = strf("thread %u's descriptor", j.state->tid);
		const ThreadArea &a = j.area.area;
		auto desc = translate_descriptor(j.descriptor, from_.isa(), j.self, to_.isa(),
						 a.self);
		if (!desc)
			return fail(desc.error().code, strf("thread %u: %s", j.state->tid,
							    desc.error().context.c_str()));
		auto word = [&](uint64_t off) {
			uint64_t v;
			std::memcpy(&v, desc->data() + off, 8);
			return v;
		};
		auto set = [&](uint64_t off, uint64_t v) { std::memcpy(desc->data() + off, &v, 8); };
		for (uint64_t field : {tl.prev, tl.next}) {
			auto to = link(word(field), who);
			if (!to)
				return std::unexpected(to.error());
			set(field, *to);
			if (*to == main_word)
				main.tp_words.push_back(a.self + field);
		}
		set(tl.dtv, a.dtv);
		follow_pointers(*desc, tl.common, a.self);
		// The stack ends where the destination's area begins.
		set(tl.common + kStackSize, word(tl.common + kStackSize) + a.lo - j.area.src_lo);
		set(tl.common + kStack, a.lo);
		mem_.write(a.self, *desc);

		// The TLS block: the thread's own values, stack addresses in it
		// following their targets.
		std::vector<uint8_t> block(tls->mem_size);
		if (auto r = j.old.read(tls_block_address(from_.isa(), j.state->thread_pointer, *tls),
					block); !r)
			return fail(EFAULT, strf("thread %u's TLS block: %s", j.state->tid,
						 r.error().context.c_str()));
		for (size_t off = 0; off + 8 <= block.size(); off += 8) {
			uint64_t v;
			bool tp = false;
			std::memcpy(&v, block.data() + off, 8);
			auto to = stack_of(v) ? map_.map(v) : map_area(v, &tp);
			if (!to)
				continue;
			std::memcpy(block.data() + off, &*to, 8);
			if (tp)
				main.tp_words.push_back(a.tls_block + off);
		}
		mem_.write(a.tls_block, block);
		// musl's dtv of a static program: one module, its block.
		mem_.write_u64(a.dtv, 1);
		mem_.write_u64(a.dtv + 8, a.tls_block);
	}

	// An ended thread's descriptor, for pthread_join: its state, result
	// and mapping; its links are stale (musl unlinked it).
	for (auto &e : exited_) {
		const ThreadArea &a = e.area.area;
		auto desc = translate_descriptor(e.bytes, from_.isa(), e.self, to_.isa(), a.self);
		if (!desc)
			return fail(desc.error().code, strf("an ended thread's descriptor at %s: %s",
							    hex(e.self).c_str(),
							    desc.error().context.c_str()));
		// Its result: reduce's threads return a pointer to main's stack.
		follow_pointers(*desc, tl.common, a.self);
		mem_.discard(e.area.src_lo, e.area.tsd - e.area.src_lo);
		mem_.write(a.self, *desc);
	}

	// What musl's new descriptor for the main thread must have of the
	// old one: its links among the others, its thread-specific data
	// (pthread_create set `tsd` once, for good).
	auto main_word_at = [&](uint64_t off) {
		uint64_t v;
		std::memcpy(&v, main_desc.data() + off, 8);
		return v;
	};
	main.tp_stores.push_back({int64_t(tl.common + kTsd) - int64_t(tl.tp_offset),
				  main_word_at(fl.common + kTsd)});
	if (jobs_.size() == 1)
		return {};
	for (auto [src_field, dst_field] : {std::pair{fl.prev, tl.prev}, {fl.next, tl.next}}) {
		auto to = link(main_word_at(src_field), "the main thread's descriptor");
		if (!to)
			return std::unexpected(to.error());
		if (*to == main_word)
			return fail(EPROTO, "the main thread's descriptor is linked to itself in a "
				    "process of several threads");
		main.tp_stores.push_back({int64_t(dst_field) - int64_t(tl.tp_offset), *to});
	}
	return {};
}

// The binary's own mappings are replaced by the destination build's
// segments; writable segments keep the source's bytes where both builds
// have the same object, and take the destination's initial bytes where
// only it has one.
Result<void> Converter::binary_mappings()
{
	auto in_binary = [&](const Mapping &m) {
		for (const auto &seg : from_.segments())
			if (overlaps(m.start, m.end, page_down(seg.vaddr), page_up(seg.vaddr + seg.memsz)))
				return true;
		return false;
	};
	std::vector<Mapping> kept;
	for (const auto &m : src_.mappings) {
		if (m.kind == HETMIG_VMA_SPECIAL)
			continue;  // the destination keeps its own vdso and vvar
		if (in_binary(m)) {
			// Text pages of the source ISA must not survive.
			if (!(m.prot & PROT_WRITE))
				mem_.discard(m.start, m.end - m.start);
			continue;
		}
		Mapping n = m;
		const ThreadJob &main = jobs_.front();
		if (&m == main.mapping) {
			n.start = m.start + uint64_t(main.delta);
			n.end = m.end + uint64_t(main.delta);
			// Room below the innermost frame for __hetmig_resume.
			uint64_t need = page_down(main.lowest_dst_sp - kResumeStackRoom);
			n.start = std::min(n.start, need);
		}
		for (const auto &j : jobs_)
			if (!j.main && j.mapping == &m &&
			    j.lowest_dst_sp < m.start + kThreadResumeStackRoom)
				return fail(ENOSPC, strf("thread %u: its stack has no room below its "
							 "frames for its resume on the destination",
							 j.state->tid));
		if (n.end > user_limit(to_.isa()))
			return fail(ENOTSUP, strf("the mapping %s-%s %s cannot exist on %s (above "
						  "its user address limit)",
						  hex(m.start).c_str(), hex(m.end).c_str(),
						  m.path.c_str(), program::isa_name(to_.isa())));
		kept.push_back(n);
	}

	std::set<std::tuple<std::string, uint64_t, uint64_t>> from_symbols;
	for (const auto &sym : from_.symbols())
		if (!sym.function && !sym.tls)
			from_symbols.insert({sym.name, sym.value, sym.size});
	std::vector<std::pair<uint64_t, std::vector<uint8_t>>> shared;
	std::vector<Mapping> binary;
	for (const auto &seg : to_.segments()) {
		uint64_t start = page_down(seg.vaddr), file_end = page_up(seg.vaddr + seg.filesz);
		uint64_t end = page_up(seg.vaddr + seg.memsz);
		Mapping fm;
		fm.start = start;
		fm.end = std::max(file_end, start + kPage);
		fm.pgoff = page_down(seg.offset);
		fm.prot = uint32_t(seg.prot);
		fm.kind = HETMIG_VMA_FILE;
		fm.path = to_.path();
		binary.push_back(fm);
		if (end > fm.end) {
			Mapping bss;
			bss.start = fm.end;
			bss.end = end;
			bss.prot = uint32_t(seg.prot);
			bss.kind = HETMIG_VMA_ANON;
			binary.push_back(bss);
		}
		if (!(seg.prot & PROT_WRITE))
			continue;
		// The destination's initial bytes everywhere (its GOT, its
		// ISA-only objects, padding), then the program's and libc's
		// objects both builds share, with the values they have now.
		// A page the source never wrote still holds its initial bytes.
		// The segment is read once for all its objects, not once per
		// object.
		auto init = to_.initial_bytes(seg.vaddr, seg.memsz);
		init.resize(seg.memsz);
		for (const auto &sym : to_.symbols()) {
			if (sym.function || sym.tls || sym.size == 0 || sym.value < seg.vaddr ||
			    sym.value + sym.size > seg.vaddr + seg.memsz || is_isa_local(sym.name))
				continue;
			if (!from_symbols.contains({sym.name, sym.value, sym.size}))
				continue;
			auto first = init.begin() + ptrdiff_t(sym.value - seg.vaddr);
			std::vector<uint8_t> bytes(first, first + ptrdiff_t(sym.size));
			for (uint64_t a = sym.value; a < sym.value + sym.size;) {
				uint64_t next = std::min(page_down(a) + kPage, sym.value + sym.size);
				if (mem_.contains(a, next - a))
					(void)mem_.read(a, {bytes.data() + (a - sym.value), next - a});
				a = next;
			}
			shared.emplace_back(sym.value, std::move(bytes));
		}
	}
	// Whatever the source binary's writable pages held goes: the
	// destination's segments are written afresh.
	for (const auto &seg : from_.segments())
		if (seg.prot & PROT_WRITE)
			mem_.discard(page_down(seg.vaddr),
				     page_up(seg.vaddr + seg.memsz) - page_down(seg.vaddr));
	for (const auto &seg : to_.segments()) {
		if (!(seg.prot & PROT_WRITE))
			continue;
		// The rest of the first and last pages is outside every
		// segment: nothing of the program is there.
		uint64_t start = page_down(seg.vaddr), end = page_up(seg.vaddr + seg.memsz);
		auto init = to_.initial_bytes(seg.vaddr, seg.memsz);
		init.resize(seg.memsz);
		mem_.discard(start, end - start);
		mem_.write(start, std::vector<uint8_t>(end - start));
		mem_.write(seg.vaddr, init);
	}
	for (const auto &[addr, bytes] : shared)
		mem_.write(addr, bytes);
	for (const auto &b : binary)
		for (const auto &k : kept)
			if (overlaps(b.start, b.end, k.start, k.end))
				return fail(EADDRINUSE, strf("%s's segment at %s overlaps the process's "
							     "mapping %s",
							     to_.path().c_str(), hex(b.start).c_str(),
							     maps_line(k).c_str()));
	out_.mappings = std::move(binary);
	out_.mappings.insert(out_.mappings.end(), kept.begin(), kept.end());
	std::sort(out_.mappings.begin(), out_.mappings.end(),
		  [](const Mapping &a, const Mapping &b) { return a.start < b.start; });

	// mm layout: code and data of the destination build, stack moved.
	out_.mm = src_.mm;
	for (const auto &seg : to_.segments()) {
		if (seg.prot & PROT_EXEC) {
			out_.mm.start_code = seg.vaddr;
			out_.mm.end_code = seg.vaddr + seg.filesz;
		} else if (seg.prot & PROT_WRITE) {
			out_.mm.start_data = seg.vaddr;
			out_.mm.end_data = seg.vaddr + seg.filesz;
		}
	}
	const ThreadJob &main = jobs_.front();
	for (uint64_t *f : {&out_.mm.start_stack, &out_.mm.arg_start, &out_.mm.arg_end,
			    &out_.mm.env_start, &out_.mm.env_end})
		*f += uint64_t(main.delta);
	auto entry = elf_entry(to_);
	if (!entry)
		return std::unexpected(entry.error());
	// The receiver puts its own hardware capabilities and vdso address in
	// (they describe its machine); the program headers are the build's.
	for (size_t i = 0; i + 1 < out_.mm.auxv.size(); i += 2) {
		uint64_t &v = out_.mm.auxv[i + 1];
		switch (out_.mm.auxv[i]) {
		case AT_PHDR: v = entry->phdr; break;
		case AT_PHNUM: v = entry->phnum; break;
		case AT_ENTRY: v = entry->entry; break;
		case AT_SYSINFO_EHDR: v = 0; break;
		default:
			if (main.contains(v))
				v += uint64_t(main.delta);
		}
	}
	return {};
}

// What a thread keeps on the destination as it was: its tid, signal mask
// and alternate signal stack (the ISA's own registers come afterwards).
ThreadState Converter::destination_thread(const ThreadState &t) const
{
	ThreadState d;
	d.tid = t.tid;
	d.arch = image_arch(to_.isa());
	d.sigmask = t.sigmask;
	d.altstack_sp = t.altstack_sp;
	d.altstack_size = t.altstack_size;
	d.altstack_flags = t.altstack_flags;
	return d;
}

// Where a thread returns from __hetmig_park on the destination, and with
// which registers.
ResumeRecord Converter::resume_record(const ThreadJob &job) const
{
	ResumeRecord rec;
	rec.pc = job.resume_pc;
	rec.sp = job.resume_sp;
	rec.fp = job.resume_fp;
	rec.retval = to_.isa() == Isa::x86_64 ? kOnX86_64 : kOnAarch64;
	rec.errno_val = job.park_errno;
	rec.callee_saved = job.resume_registers;
	return rec;
}

Result<void> Converter::tls_and_resume()
{
	ThreadJob &main = jobs_.front();
	cur_ = &main;
	const ThreadState &t = *main.state;
	auto tls = from_.tls();
	std::vector<uint8_t> block;
	uint64_t anchor = 0;
	if (tls) {
		auto a_src = from_.symbol(kTlsAnchorSymbol), a_dst = to_.symbol(kTlsAnchorSymbol);
		auto dtls = to_.tls();
		if (!a_src || a_src != a_dst || !dtls || dtls->mem_size != tls->mem_size)
			return fail(EPROTO, "the two builds do not share one TLS layout");
		auto start = tls_block_address(from_.isa(), t.thread_pointer, *tls);
		block.resize(tls->mem_size);
		if (auto r = mem_.read(start, block); !r)
			return fail(EFAULT, "reading the thread's TLS block: " + r.error().context);
		anchor = *a_src;
	}
	// errno lives in musl's thread descriptor, which the destination builds
	// anew; the runtime kept its value when the program parked.
	ResumeRecord rec = resume_record(main);
	rec.tp_words = main.tp_words;
	rec.tp_registers = main.tp_registers;
	rec.tp_stores = main.tp_stores;
	if (rec.tp_words.size() + rec.tp_registers.size() > kMaxTpFixups ||
	    rec.tp_stores.size() > kMaxTpFixups)
		return fail(E2BIG, strf("%zu words hold thread-local or main-thread addresses: "
					"more than a resume record can complete",
					rec.tp_words.size() + rec.tp_registers.size()));
	if (!rec.tp_stores.empty() && rt_.version < kRuntimeVersionThreads)
		return fail(ENOTSUP, strf("the program created threads, and its runtime (version "
					  "%u) cannot give the main thread's new descriptor what the "
					  "old one held: rebuild it with this hetmig-cc",
					  rt_.version));
	if ((!rec.tp_words.empty() || !rec.tp_registers.empty()) &&
	    rt_.version < kRuntimeVersionTpFixups)
		return fail(ENOTSUP, strf("the stack keeps addresses of thread-local variables in "
					  "registers, which the program's runtime (version %u) cannot "
					  "complete on the destination: rebuild it with this "
					  "hetmig-cc", rt_.version));
	auto placed = place_resume_record(mem_, rec, block, anchor, main.lowest_dst_sp);
	// The runtime block: nothing pending any more on the destination; in
	// a process of several threads, the others wait in
	// __hetmig_resume_thread until the main thread's __hetmig_resume
	// clears it.
	RuntimeLayout rt;
	if (auto r = mem_.read(rt_.address, {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)}); !r)
		return r;
	rt.pending = jobs_.size() > 1 ? 1 : 0;
	rt.parked = 0;
	rt.result = 0;
	mem_.write(rt_.address, {reinterpret_cast<const uint8_t *>(&rt), sizeof(rt)});
	// No holder either: the pid of the source machine's companion names
	// nothing (or something else) on the destination.
	mem_.write_u64(rt_.address + offsetof(hetmig_runtime, holder), 0);

	ThreadState d = destination_thread(t);
	d.regsets = entry_registers(to_.isa(), *to_.symbol(kResumeSymbol), placed.sp,
				    placed.record);
	out_.threads = {d};
	return thread_records();
}

// The other threads start at __hetmig_resume_thread with a record of
// their own, their thread pointer set to their rebuilt area's, their
// robust list and clear_child_tid following their descriptor.
Result<void> Converter::thread_records()
{
	using namespace musl_field;
	const DescriptorLayout &fl = descriptor_layout(from_.isa());
	const DescriptorLayout &tl = descriptor_layout(to_.isa());
	for (auto &j : jobs_) {
		if (j.main)
			continue;
		const ThreadState &t = *j.state;
		const ThreadArea &a = j.area.area;
		auto placed = place_resume_record(mem_, resume_record(j), {}, 0, j.lowest_dst_sp);
		// A field of the source's descriptor: the same field of the new.
		auto follow = [&](uint64_t v) {
			if (v >= j.self + fl.common && v < j.self + fl.common + kCommonLen)
				return a.self + tl.common + (v - j.self - fl.common);
			return v;
		};
		ThreadState d = destination_thread(t);
		d.clear_child_tid = follow(t.clear_child_tid);
		d.robust_list = follow(t.robust_list);
		d.thread_pointer = a.tp;
		d.regsets = entry_registers(to_.isa(), *to_.symbol(kResumeThreadSymbol), placed.sp,
					    placed.record);
		set_thread_pointer(to_.isa(), d.regsets, a.tp);
		out_.threads.push_back(std::move(d));
	}
	return {};
}

Result<void> Converter::signals_and_threads()
{
	out_.signals = src_.signals;
	auto restorer = to_.symbol("__restore_rt");
	for (auto &sa : out_.signals) {
		bool handled = sa.handler != uint64_t(SIG_DFL) && sa.handler != uint64_t(SIG_IGN);
		if (to_.isa() == Isa::aarch64 || !handled) {
			// arm64 returns from handlers through the vdso.
			sa.flags &= ~uint64_t(0x04000000);  // SA_RESTORER
			sa.restorer = 0;
		} else {
			if (!restorer)
				return fail(ENOENT, to_.path() + " has no __restore_rt for its "
					    "signal handlers");
			sa.flags |= 0x04000000;
			sa.restorer = *restorer;
		}
	}
	return {};
}

Result<Image> Converter::run()
{
	for (auto step : {&Converter::check_pair, &Converter::plan_stack,
			  &Converter::build_frames, &Converter::fix_memory_pointers,
			  &Converter::relink_threads, &Converter::binary_mappings,
			  &Converter::tls_and_resume,
			  &Converter::signals_and_threads})
		if (auto r = (this->*step)(); !r) {
			report_.refused_at_this_point =
				step == &Converter::plan_stack || step == &Converter::build_frames;
			return std::unexpected(r.error());
		}
	out_.arch = image_arch(to_.isa());
	out_.page_size = src_.page_size;
	out_.kernel_release = src_.kernel_release;
	out_.hostname = src_.hostname;
	out_.comm = src_.comm;
	out_.pid = src_.pid;
	out_.uid = src_.uid;
	out_.gid = src_.gid;
	out_.groups = src_.groups;
	out_.child_subreaper = src_.child_subreaper;
	out_.umask = src_.umask;
	out_.cwd = src_.cwd;
	out_.files = src_.files;
	out_.pipes = src_.pipes;
	out_.unix_pairs = src_.unix_pairs;
	// Socket types and addresses are the same on both ISAs.
	out_.unix_sockets = src_.unix_sockets;
	// Deleted files and memfds are bytes and attributes: the same on both.
	out_.ghosts = src_.ghosts;
	// RLIMIT_* are numbered alike on both ISAs (the generic numbering).
	out_.rlimits = src_.rlimits;
	out_.oom_score_adj = src_.oom_score_adj;
	// Signals and clocks are numbered alike on both ISAs.
	out_.timers = src_.timers;
	// So are siginfo layouts; the one thread keeps its tid.
	out_.pending_signals = src_.pending_signals;
	out_.mapped_files = src_.mapped_files;
	// The source build is no longer mapped; the destination build is, and
	// is checked by its pair note rather than its time stamp.
	std::erase_if(out_.mapped_files, [&](const MappedFile &f) {
		return f.path == from_.path() || f.path == src_.program.path;
	});
	out_.program = {to_.path(), to_.pair_id(), program::isa_name(from_.isa())};
	// Only what lands in a mapping of the new process is carried.
	std::vector<std::pair<uint64_t, uint64_t>> ranges;
	for (const auto &m : out_.mappings)
		ranges.emplace_back(m.start, m.end);
	mem_.keep_only(ranges);
	out_.pages = mem_.to_pages();
	return std::move(out_);
}

} // namespace

std::string sibling_build(const std::string &path, Isa to)
{
	for (const char *suffix : {".x86_64", ".aarch64"})
		if (path.ends_with(suffix))
			return path.substr(0, path.size() - std::strlen(suffix)) + "." +
			       program::isa_name(to);
	return {};
}

Result<Image> convert_image(const Image &src, const Program &from, const Program &to,
			    Report *report)
{
	Report local;
	Converter c(src, from, to, report ? *report : local);
	return c.run();
}

} // namespace hetmig::convert

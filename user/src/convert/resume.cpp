// SPDX-License-Identifier: GPL-2.0
#include "convert/resume.h"

#include <algorithm>
#include <cstring>
#include <elf.h>

namespace hetmig::convert {

PlacedRecord place_resume_record(AddressSpace &mem, const ResumeRecord &rec,
				 std::span<const uint8_t> tls, uint64_t tls_anchor,
				 uint64_t below)
{
	// 128 bytes: the x86_64 red zone of the innermost frame.
	// The thread-pointer fixups follow the TLS bytes, 8-aligned.
	uint64_t fixups_at = (sizeof(hetmig_resume) + tls.size() + 7) & ~uint64_t(7);
	uint64_t n_fixups = rec.tp_words.size() + rec.tp_registers.size();
	uint64_t n_stores = rec.tp_stores.size();
	uint64_t size = fixups_at + 8 * n_fixups + 16 * n_stores;
	uint64_t record = (below - 128 - size) & ~uint64_t(63);
	hetmig_resume r{};
	r.magic = HETMIG_RESUME_MAGIC;
	r.pc = rec.pc;
	r.sp = rec.sp;
	r.fp = rec.fp;
	r.retval = int64_t(rec.retval);
	r.errno_val = rec.errno_val;
	r.tls_len = uint32_t(tls.size());
	r.tls_anchor_off = tls_anchor;
	std::copy(rec.callee_saved.begin(), rec.callee_saved.end(), r.callee_saved);
	r.flags = uint32_t(n_fixups | n_stores << 16);
	std::vector<uint64_t> fixups = rec.tp_words;
	for (size_t i : rec.tp_registers)
		fixups.push_back(record + offsetof(hetmig_resume, callee_saved) + 8 * i);
	for (size_t i = 0; i < fixups.size(); i++)
		mem.write_u64(record + fixups_at + 8 * i, fixups[i]);
	uint64_t stores_at = record + fixups_at + 8 * n_fixups;
	for (size_t i = 0; i < n_stores; i++) {
		mem.write_u64(stores_at + 16 * i, uint64_t(rec.tp_stores[i].first));
		mem.write_u64(stores_at + 16 * i + 8, rec.tp_stores[i].second);
	}
	mem.write(record, {reinterpret_cast<const uint8_t *>(&r), sizeof(r)});
	mem.write(record + sizeof(r), tls);
	return {record, (record - 256) & ~uint64_t(15)};
}

std::map<uint32_t, std::vector<uint8_t>> entry_registers(program::Isa isa, uint64_t entry,
							 uint64_t sp, uint64_t record)
{
	std::map<uint32_t, std::vector<uint8_t>> sets;
	if (isa == program::Isa::x86_64) {
		// struct user_regs_struct
		enum { r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi,
		       orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs, n };
		uint64_t regs[n] = {};
		regs[rip] = entry;
		regs[rsp] = sp;
		regs[rdi] = record;
		regs[orig_rax] = ~0ull;	// not in a system call: nothing to restart
		regs[cs] = 0x33;	// __USER_CS
		regs[ss] = 0x2b;	// __USER_DS
		regs[eflags] = 0x202;	// IF, and the reserved bit 1
		auto *b = reinterpret_cast<const uint8_t *>(regs);
		sets[NT_PRSTATUS].assign(b, b + sizeof(regs));
	} else {
		// struct user_pt_regs: x0..x30, sp, pc, pstate (EL0t)
		uint64_t regs[34] = {};
		regs[0] = record;
		regs[31] = sp;
		regs[32] = entry;
		auto *b = reinterpret_cast<const uint8_t *>(regs);
		sets[NT_PRSTATUS].assign(b, b + sizeof(regs));
		int32_t no_syscall = -1;
		auto *s = reinterpret_cast<const uint8_t *>(&no_syscall);
		sets[0x404 /* NT_ARM_SYSTEM_CALL */].assign(s, s + 4);
	}
	return sets;
}

void set_thread_pointer(program::Isa isa, std::map<uint32_t, std::vector<uint8_t>> &sets,
			uint64_t tp)
{
	if (isa == program::Isa::x86_64) {
		// struct user_regs_struct's fs_base, the 22nd word.
		auto &regs = sets[NT_PRSTATUS];
		regs.resize(std::max<size_t>(regs.size(), 27 * 8));
		std::memcpy(regs.data() + 21 * 8, &tp, 8);
		return;
	}
	auto *b = reinterpret_cast<const uint8_t *>(&tp);
	sets[0x401 /* NT_ARM_TLS */].assign(b, b + 8);
}

uint64_t tls_block_address(program::Isa isa, uint64_t tp, const program::TlsInfo &tls)
{
	uint64_t align = tls.align ? tls.align : 1;
	if (isa == program::Isa::x86_64) {
		// musl: size rounded so the block's start keeps the image's
		// alignment; the block ends at the thread pointer.
		uint64_t size = tls.mem_size + ((-tls.mem_size - tls.vaddr) & (align - 1));
		return tp - size;
	}
	constexpr uint64_t gap = 16;  // GAP_ABOVE_TP: the ABI's TCB
	return tp + gap + ((-gap + tls.vaddr) & (align - 1));
}

bool is_isa_local(const std::string &symbol)
{
	// clock_gettime's cached vdso entry (musl src/time/clock_gettime.c):
	// its initial value makes the destination look its own vdso up.
	// __hetmig_unproven: return addresses of the source build, which mean
	// nothing in the destination's; the next move writes its own.
	// __hetmig_threads: the parked threads' slots, which the threads
	// leave on the destination without freeing them (__hetmig_resume
	// returns past __hetmig_park's end): carried, every move would leave
	// one taken for good, and after 64 no thread could park.
	static const char *const names[] = {"vdso_func", "__hetmig_unproven",
					    "__hetmig_threads"};
	for (const char *n : names)
		if (symbol == n)
			return true;
	return false;
}

} // namespace hetmig::convert

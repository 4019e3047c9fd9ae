// SPDX-License-Identifier: GPL-2.0
// The converter's side of the hetmig-cc runtime (user/runtime/hetmig.h):
// the runtime block it reads and resets, the resume record it leaves for
// __hetmig_resume on the destination, and the registers that start there.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "convert/memory.h"
#include "hetmig.h"
#include "program/program.h"

namespace hetmig::convert {

inline constexpr const char *kRuntimeSymbol = "__hetmig_rt";
inline constexpr const char *kResumeSymbol = "__hetmig_resume";
// The hook -finstrument-functions calls at every function entry: a frame
// calling it is at its entry point.
inline constexpr const char *kEntryPointHook = "__cyg_profile_func_enter";
inline constexpr const char *kMainReturnSymbol = "__hetmig_main_return";
inline constexpr const char *kTlsAnchorSymbol = "__hetmig_tls_anchor";
// Where the other threads of a process start on the destination, and
// where their start routines return (user/runtime/threads.c).
inline constexpr const char *kResumeThreadSymbol = "__hetmig_resume_thread";
inline constexpr const char *kThreadReturnSymbol = "__hetmig_thread_return";
inline constexpr const char *kThreadsSymbol = "__hetmig_threads";
inline constexpr uint32_t kRuntimeMagic = HETMIG_RT_MAGIC;
inline constexpr uint32_t kRuntimeVersion = HETMIG_RT_VERSION;
// Programs built by an older hetmig-cc, whose runtime has no thread-pointer
// fixups, still move where they need none.
inline constexpr uint32_t kRuntimeVersionOldest = HETMIG_RT_VERSION_OLDEST;
inline constexpr uint32_t kRuntimeVersionTpFixups = 3;
// Thread-pointer stores and __hetmig_resume_thread: processes of several
// threads move.
inline constexpr uint32_t kRuntimeVersionThreads = 4;
// Each kind counted in 16 bits of struct hetmig_resume's flags.
inline constexpr size_t kMaxTpFixups = 0xffff;
// What __hetmig_park returns on the destination: where the process now runs.
inline constexpr uint64_t kOnX86_64 = HETMIG_ON_X86_64, kOnAarch64 = HETMIG_ON_AARCH64;
// Stack the destination's __hetmig_resume may use below the frames.
inline constexpr uint64_t kResumeStackRoom = 64 * 1024;
// And another thread's __hetmig_resume_thread, which only waits, in the
// stack it has below its frames.
inline constexpr uint64_t kThreadResumeStackRoom = 8 * 1024;

// struct hetmig_runtime's fixed part, without its volatile qualifiers so
// it can be copied in and out of an image.
struct RuntimeLayout {
	uint32_t magic, version;
	uint32_t pending, parked;
	int32_t result;
	int32_t park_errno;
	uint64_t park_ra, park_cfa, park_fp;
};
static_assert(offsetof(RuntimeLayout, pending) == offsetof(hetmig_runtime, pending));
static_assert(offsetof(RuntimeLayout, result) == offsetof(hetmig_runtime, result));
static_assert(offsetof(RuntimeLayout, park_errno) == offsetof(hetmig_runtime, park_errno));
static_assert(offsetof(RuntimeLayout, park_fp) == offsetof(hetmig_runtime, park_fp));

// What __hetmig_resume needs to finish the move.
struct ResumeRecord {
	uint64_t pc = 0, sp = 0, fp = 0, retval = 0;
	int32_t errno_val = 0;  // the program's errno when it parked
	// The callee-saved registers set on the jump, in the order of
	// resume_registers() (convert/registers.h).
	std::array<uint64_t, HETMIG_RESUME_REGS> callee_saved{};
	// Words that hold an offset from the thread pointer, which the runtime
	// adds once it has the destination thread's: by address, and by their
	// index in callee_saved (the record's own address is chosen later).
	std::vector<uint64_t> tp_words;
	std::vector<size_t> tp_registers;
	// Words at an offset from the new thread pointer that get a value
	// (version 4): the main thread's new descriptor's links to the others.
	std::vector<std::pair<int64_t, uint64_t>> tp_stores;
};

struct PlacedRecord {
	uint64_t record = 0;  // address of struct hetmig_resume
	uint64_t sp = 0;      // initial sp for __hetmig_resume
};

// Writes the record (and the TLS bytes after it) below BELOW, leaving the
// red zone of the innermost frame alone; the thread-pointer fixups after
// them (a runtime of version 3 or later: the caller checks).
PlacedRecord place_resume_record(AddressSpace &mem, const ResumeRecord &rec,
				 std::span<const uint8_t> tls, uint64_t tls_anchor,
				 uint64_t below);

// General registers (and on aarch64 the syscall number) that start the
// thread at ENTRY with its first argument RECORD.
std::map<uint32_t, std::vector<uint8_t>> entry_registers(program::Isa isa, uint64_t entry,
							 uint64_t sp, uint64_t record);

// Sets the thread pointer in register sets made by entry_registers:
// fs_base (x86_64) or tpidr_el0 (aarch64, NT_ARM_TLS).
void set_thread_pointer(program::Isa isa, std::map<uint32_t, std::vector<uint8_t>> &sets,
			uint64_t tp);

// Start of the main thread's TLS block under musl's static TLS layout
// (x86_64: below the thread pointer; aarch64: above a 16-byte gap).
uint64_t tls_block_address(program::Isa isa, uint64_t thread_pointer,
			   const program::TlsInfo &tls);

// libc words that describe the machine, not the program: the destination
// keeps its own build's initial value.
bool is_isa_local(const std::string &symbol);

} // namespace hetmig::convert

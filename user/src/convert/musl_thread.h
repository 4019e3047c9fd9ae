// SPDX-License-Identifier: GPL-2.0
// musl 1.2.3's thread descriptor (struct pthread) and the thread area that
// pthread_create lays out around it, on each ISA: what the destination of a
// move between ISAs must rebuild for every thread but the main one, whose
// descriptor __hetmig_resume has musl build (issue 17).
//
// The descriptor holds the same fields on both ISAs, 200 bytes, but not in
// one order: x86_64 (TLS variant II, the thread pointer at the descriptor,
// the TLS block below it) keeps dtv and the stack canary near the start,
// aarch64 (variant I, the thread pointer right after the descriptor, a
// 16-byte TCB gap, then the TLS block) at the end. Everything from tid to
// stdio_locks is one run of 152 bytes in the same order on both. Measured
// with a thread of a hetmig-cc build on each ISA (the offsets are in
// user/tests/musl_thread_test.cpp with the bytes they were read from).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "program/program.h"

namespace hetmig::convert {

struct DescriptorLayout {
	uint64_t size;		// sizeof(struct pthread)
	uint64_t tp_offset;	// thread pointer - descriptor address
	uint64_t self, dtv, prev, next, sysinfo, canary;
	uint64_t common;	// where the run tid..stdio_locks starts
};

// Offsets inside the common run (add DescriptorLayout::common).
namespace musl_field {
constexpr uint64_t kTid = 0, kErrno = 4, kDetachState = 8, kMapBase = 24, kMapSize = 32,
		   kStack = 40, kStackSize = 48, kGuardSize = 56, kResult = 64, kCancelBuf = 72,
		   kTsd = 80, kRobustHead = 88, kRobustOff = 96, kRobustPending = 104,
		   kLocale = 120, kStdioLocks = 144;
constexpr uint64_t kCommonLen = 152;
} // namespace musl_field

const DescriptorLayout &descriptor_layout(program::Isa isa);

// A thread's descriptor (descriptor_layout(FROM).size bytes at FROM_SELF)
// as the other ISA's musl lays it out at TO_SELF: each field moved to its
// place, `self` set, the pointers into the descriptor itself (the robust
// list's head and pending entry while the list is empty) following it,
// dtv left 0 (it names the destination's TLS block: the caller's). Refused
// when the descriptor is not one musl made for a running thread: a wrong
// `self`, or cleanup handlers (cancelbuf, which points into the stack).
Result<std::vector<uint8_t>> translate_descriptor(const std::vector<uint8_t> &bytes,
						  program::Isa from, uint64_t from_self,
						  program::Isa to, uint64_t to_self);

// Where a thread's descriptor, thread pointer, TLS block and dtv (2 words:
// the module count, 1, and the block's address) lie on ISA, laid out in
// [lo, hi) as musl's __copy_tls would from the area's start LO (the top of
// the thread's stack): the descriptor aligned so that the TLS block keeps
// PT_TLS's alignment.
struct ThreadArea {
	uint64_t self = 0, tp = 0, tls_block = 0, dtv = 0;
	uint64_t lo = 0, hi = 0;	// the bytes the area uses
};
ThreadArea lay_out_thread_area(program::Isa isa, uint64_t lo, const program::TlsInfo &tls);

// musl's libc.tls_size on ISA for a program with this PT_TLS
// (static_init_tls): the bytes pthread_create reserves right below a
// thread's tsd array for its descriptor, TLS block and dtv; the thread's
// stack ends where they begin.
uint64_t musl_tls_size(program::Isa isa, const program::TlsInfo &tls);

// Where a thread's area goes on the destination: laid out as the
// destination's musl would for a thread created with the same mapping,
// below the same tsd (which stays, as does everything above it). The
// source's area starts at its stack's top; the destination's may start
// lower (x86_64 -> aarch64: 64 bytes for a 64-byte aligned PT_TLS), and
// then the thread's frames must move down by LOWER_STACK_BY (a multiple
// of 16) to make room, or higher, and they stay.
struct ThreadAreaPlan {
	ThreadArea area;		// on the destination
	uint64_t src_lo = 0;		// the source's area: its stack's top
	uint64_t tsd = 0;
	uint64_t lower_stack_by = 0;
};

// From the source thread's descriptor (its bytes at SELF on FROM).
// Refused when the area is not where pthread_create puts it (a stack the
// program gave with pthread_attr_setstack, or the main thread's).
Result<ThreadAreaPlan> plan_thread_area(const std::vector<uint8_t> &descriptor,
					program::Isa from, uint64_t self, program::Isa to,
					const program::TlsInfo &tls);

} // namespace hetmig::convert

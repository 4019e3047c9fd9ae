/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * hetmig.h: the runtime a program built by hetmig-cc carries
 * (Documentation/heterogeneous.md). The companion includes this header too:
 * struct hetmig_runtime and struct hetmig_resume are its contract with the
 * program, with a fixed layout on both ISAs (only fixed-width fields).
 */
#ifndef HETMIG_H
#define HETMIG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a process runs after hetmig_migrate() moved it (or resumed it). */
#define HETMIG_ON_X86_64 1
#define HETMIG_ON_AARCH64 2

#define HETMIG_RT_MAGIC 0x484d5254u	/* "HMRT" */
#define HETMIG_RT_VERSION 4u	/* 4: thread-pointer stores, threads resumed */
#define HETMIG_RT_VERSION_OLDEST 2u	/* 2: struct hetmig_resume carries callee_saved */

/*
 * The runtime's state, one per process, symbol __hetmig_rt (same address in
 * both builds). Offsets (bytes): magic 0, version 4, pending 8, parked 12,
 * result 16, park_errno 20, park_ra 24, park_cfa 32, park_fp 40, dest 48,
 * holder 296; size 304.
 */
/*
 * The call sites that are no migration point, symbol __hetmig_unproven
 * (same address in both builds, in .bss): the return addresses, sorted, of
 * the sites `hetmig check` refuses for the move asked for, written by the
 * companion before it sets `pending`. A point with such a site on its
 * stack does not park; the request waits for the next point. count 0 (a
 * fresh process, or a table too small for the program): every point parks
 * and the converter refuses what it cannot convert.
 */
#define HETMIG_UNPROVEN_MAX 1022u

struct hetmig_unproven {
	uint32_t magic;			/* HETMIG_RT_MAGIC once written */
	uint32_t count;			/* entries of ra in use */
	uint64_t ra[HETMIG_UNPROVEN_MAX];
};

struct hetmig_runtime {
	uint32_t magic;			/* HETMIG_RT_MAGIC */
	uint32_t version;		/* HETMIG_RT_VERSION */
	volatile uint32_t pending;	/* N > 0: park at the N-th point from now;
					 * kept non-zero while parked, cleared by
					 * the companion to let the process go */
	volatile uint32_t parked;	/* threads waiting in __hetmig_park (1 for
					 * a single-threaded process) */
	int32_t result;			/* what __hetmig_park returns; written by
					 * the companion before it clears pending */
	int32_t park_errno;		/* the program's errno when it parked: carried
					 * to the destination, whose thread
					 * descriptor (errno's home) is new */
	/* The parked caller of __hetmig_park (valid while parked == 1): */
	uint64_t park_ra;		/* return address into the caller */
	uint64_t park_cfa;		/* the caller's sp just before the call */
	uint64_t park_fp;		/* the caller's frame pointer (rbp / x29) */
	char dest[248];			/* hetmig_migrate's DEST, NUL-terminated */
	int32_t holder;			/* pid of the companion that asked, as this
					 * process sees it (0: none known). A
					 * parked process whose holder is gone
					 * lets itself go with -ECANCELED: a
					 * killed `hetmig send` leaves no
					 * process parked for ever */
	uint32_t reserved;		/* 0 */
};

/*
 * Every parked thread, symbol __hetmig_threads (same address in both
 * builds, in .bss). A request (pending 1) parks every thread that reaches
 * a migration point, and every thread in a blocking call the runtime knows
 * (threads.c: condition and mutex waits, join, sleeps, pipe reads and
 * writes), which leaves the call to park at its wrapper's point. Each
 * parked thread holds a slot: its tid, then the same record as the block's
 * park_ra/park_cfa/park_fp/park_errno (which the main thread, tid == pid,
 * writes too: a single-threaded process reads as before). A thread that
 * does not park within the companion's wait is named in its refusal.
 * Offsets: magic 0, slots 4, slot[] 16, 48 bytes each: tid 0,
 * state 4, ra 8, cfa 16, fp 24, errno 32, reserved 36.
 */
#define HETMIG_THREADS_MAX 64u
#define HETMIG_THREAD_PARKED 1u

struct hetmig_thread {
	volatile int32_t tid;		/* 0: a free slot */
	volatile uint32_t state;	/* HETMIG_THREAD_PARKED once the rest is set */
	uint64_t park_ra;		/* as struct hetmig_runtime's */
	uint64_t park_cfa;
	uint64_t park_fp;
	int32_t park_errno;
	uint32_t reserved[3];
};

struct hetmig_threads {
	uint32_t magic;			/* HETMIG_RT_MAGIC once a thread parked */
	uint32_t slots;			/* HETMIG_THREADS_MAX */
	uint32_t reserved[2];
	struct hetmig_thread slot[HETMIG_THREADS_MAX];
};

#define HETMIG_RESUME_MAGIC 0x484d5253u	/* "HMRS" */
#define HETMIG_RESUME_REGS 18

/*
 * What the converter writes for __hetmig_resume on the destination (the
 * first argument register points to it; it lies in a scratch area below the
 * rebuilt frames). Offsets: magic 0, flags 4, pc 8, sp 16, fp 24, retval 32,
 * errno_val 40, tls_len 44, tls_anchor_off 48, callee_saved 56, tls 200.
 *
 * callee_saved: the values the caller of __hetmig_park finds in its
 * callee-saved registers after the return, i.e. the variables of the
 * frames that no inner frame saved (at -O1/-O2 gcc keeps variables there
 * across calls). x86_64: [0] rbx, [1..4] r12-r15, the rest unused;
 * aarch64: [0..9] x19-x28, [10..17] d8-d15 (the low 64 bits of v8-v15).
 * Every one of them is set on the jump; those no variable needs are 0.
 *
 * flags (version 3): the number of thread-pointer fixups, u64 addresses
 * right after the TLS bytes (rounded up to 8): of words, in the rebuilt
 * frames or among callee_saved, that hold an offset from the thread
 * pointer, which the destination's thread gets only here. __hetmig_resume
 * adds its new thread pointer to each (a thread-local variable's address
 * that the code keeps in a callee-saved register across calls, or the
 * main thread's descriptor address that another thread's descriptor or a
 * pthread_t holds).
 *
 * flags (version 4): the low 16 bits count those fixups; the high 16 bits
 * count thread-pointer stores right after them: pairs of u64 (an offset
 * from the new thread pointer, a value) that __hetmig_resume writes once
 * musl built the main thread's descriptor (its links into musl's thread
 * list, its thread-specific data), in a process whose other threads
 * moved with it.
 *
 * The other threads start at __hetmig_resume_thread with a record of
 * their own (no TLS bytes, no fixups: their thread areas were rebuilt by
 * the converter, at addresses it knew). They wait until the main thread
 * cleared `pending`, which the converter leaves at 1, and then return
 * from __hetmig_park as the main thread does.
 */
struct hetmig_resume {
	uint32_t magic;			/* HETMIG_RESUME_MAGIC */
	uint32_t flags;			/* thread-pointer fixups (see above) */
	uint64_t pc;			/* return address into the caller of __hetmig_park */
	uint64_t sp;			/* sp after that return (the caller's sp at the call) */
	uint64_t fp;			/* the caller's frame pointer */
	int64_t retval;			/* what __hetmig_park returns: HETMIG_ON_* */
	int32_t errno_val;		/* the source thread's errno */
	uint32_t tls_len;		/* bytes of TLS that follow */
	uint64_t tls_anchor_off;	/* &__hetmig_tls_anchor - start of the TLS block */
	uint64_t callee_saved[HETMIG_RESUME_REGS];	/* see above */
	unsigned char tls[];		/* the source's TLS block (PT_TLS memsz bytes) */
};

extern struct hetmig_runtime __hetmig_rt;
extern struct hetmig_unproven __hetmig_unproven;
extern struct hetmig_threads __hetmig_threads;
extern __thread uint64_t __hetmig_tls_anchor;

int __hetmig_park(void);
void __hetmig_resume(struct hetmig_resume *r) __attribute__((noreturn));
void __hetmig_resume_thread(struct hetmig_resume *r) __attribute__((noreturn));
void __hetmig_main_return(int status) __attribute__((noreturn));
/* Only in programs that create threads (threads.c): where a thread's start
 * routine returns on the destination; its value goes to pthread_exit. */
void __hetmig_thread_return(void) __attribute__((noreturn));

/*
 * A migration point: one load and a branch while nothing is pending.
 * Returns what __hetmig_park returned when it parked, else 0.
 */
#define hetmig_point() \
	(__builtin_expect(__hetmig_rt.pending, 0) ? __hetmig_park() : 0)

/*
 * Move this process to DEST (a host for `hetmig send`) now. Returns
 * HETMIG_ON_X86_64 or HETMIG_ON_AARCH64, the ISA it runs on after the move
 * (the same one on a move between machines of one ISA), 0 when the request
 * was withdrawn without a move, or a negative errno when the move failed
 * and the process still runs where it was.
 */
int hetmig_migrate(const char *dest);

#ifdef __cplusplus
}
#endif

#endif /* HETMIG_H */

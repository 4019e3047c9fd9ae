// SPDX-License-Identifier: GPL-2.0
/*
 * The migration runtime: migration points, parking, process-originated
 * migration. Linked into every program hetmig-cc builds, compiled at -O0 and
 * never instrumented itself (Documentation/heterogeneous.md, "Runtime").
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hetmig.h"
#include "sys.h"

#define NOINST __attribute__((no_instrument_function))

/* The layout the companion relies on (Documentation/heterogeneous.md). */
_Static_assert(sizeof(struct hetmig_runtime) == 304, "struct hetmig_runtime layout");
_Static_assert(offsetof(struct hetmig_runtime, park_fp) == 40, "struct hetmig_runtime layout");
_Static_assert(offsetof(struct hetmig_runtime, holder) == 296, "struct hetmig_runtime layout");
_Static_assert(sizeof(struct hetmig_resume) == 200, "struct hetmig_resume layout");
_Static_assert(offsetof(struct hetmig_resume, tls_anchor_off) == 48, "struct hetmig_resume layout");
/* __hetmig_jump (resume.c) loads the registers by these offsets. */
_Static_assert(offsetof(struct hetmig_resume, callee_saved) == 56, "struct hetmig_resume layout");
_Static_assert(sizeof(struct hetmig_thread) == 48, "struct hetmig_thread layout");
_Static_assert(offsetof(struct hetmig_threads, slot) == 16, "struct hetmig_threads layout");

/*
 * hetmig-cc links with --gc-sections. What the tool finds by name in the
 * program or the converter points a thread at, and no code of the program
 * references, is kept by RETAIN (SHF_GNU_RETAIN; "axR" on the assembly
 * sections of resume.c).
 */
#define RETAIN __attribute__((used, retain))

RETAIN struct hetmig_runtime __hetmig_rt = {
	.magic = HETMIG_RT_MAGIC,
	.version = HETMIG_RT_VERSION,
};

/*
 * Marks the TLS block: the converter and __hetmig_resume find the block as
 * &__hetmig_tls_anchor - its offset in PT_TLS (the same on both builds).
 * Initialised, so it lies in .tdata and can be found in the TLS image too.
 */
RETAIN __thread uint64_t __hetmig_tls_anchor = 0x434e41534c544d48ull;	/* "HMTLSANC" */

/*
 * -finstrument-functions makes every function entry a migration point: a
 * call of __cyg_profile_func_enter. While nothing is pending it should cost
 * what hetmig_point() costs inline, and an -O0 C body (a frame, both
 * arguments stored) took 12 instructions for a load and a branch. So it is
 * a leaf in assembly: load pending, return if 0, else jump (not call) to
 * __hetmig_entry_point. The jump keeps the hook itself off the stack of a
 * parked process: the frame above __hetmig_park is __hetmig_entry_point's,
 * whose return address is the program's call site of the hook, so the
 * converter sees the same sites as before (Documentation/benchmarks.md,
 * "Migration points").
 */
_Static_assert(offsetof(struct hetmig_runtime, pending) == 8, "the hook loads pending at +8");

NOINST __attribute__((noinline, used)) void __hetmig_entry_point(void)
{
	(void)__hetmig_park();
}

#if defined(__x86_64__)
__asm__(".pushsection .text.__cyg_profile_func_enter, \"ax\", %progbits\n"
	".globl __cyg_profile_func_enter\n"
	".type __cyg_profile_func_enter, %function\n"
	"__cyg_profile_func_enter:\n"
	"\tmovl __hetmig_rt+8(%rip), %eax\n"
	"\ttestl %eax, %eax\n"
	"\tjne __hetmig_entry_point\n"
	"\tret\n"
	".size __cyg_profile_func_enter, . - __cyg_profile_func_enter\n"
	".popsection\n");
#elif defined(__aarch64__)
/* x16 (IP0) may be clobbered by any call; b reaches +-128 MiB, cbnz 1 MiB. */
__asm__(".pushsection .text.__cyg_profile_func_enter, \"ax\", %progbits\n"
	".globl __cyg_profile_func_enter\n"
	".type __cyg_profile_func_enter, %function\n"
	"__cyg_profile_func_enter:\n"
	"\tadrp x16, __hetmig_rt+8\n"
	"\tldr w16, [x16, #:lo12:__hetmig_rt+8]\n"
	"\tcbnz w16, 1f\n"
	"\tret\n"
	"1:\tb __hetmig_entry_point\n"
	".size __cyg_profile_func_enter, . - __cyg_profile_func_enter\n"
	".popsection\n");
#else
#error "hetmig's runtime is for x86_64 and aarch64"
#endif

/*
 * hetmig-cc -O1+ (its plugin, "Points") checks the pending word in line
 * and calls the entry hook only while it is set; it reads the word as
 * __hetmig_pending, the runtime block's +8. Loops without calls get points
 * of their own, calls of __hetmig_loop_point made the same way: call sites
 * of their own (keyed by the loop's line) that park like the entry hook,
 * for a request (pending 1) only. A countdown (pending N > 1,
 * HETMIG_PARK_AT) counts function entries alone, as the counting builds of
 * the tests do, so that "the N-th point" means one place in every build.
 */
__asm__(".globl __hetmig_pending\n"
	".set __hetmig_pending, __hetmig_rt + 8\n");

#if defined(__x86_64__)
__asm__(".pushsection .text.__hetmig_loop_point, \"ax\", %progbits\n"
	".globl __hetmig_loop_point\n"
	".type __hetmig_loop_point, %function\n"
	"__hetmig_loop_point:\n"
	"\tcmpl $1, __hetmig_rt+8(%rip)\n"
	"\tje __hetmig_entry_point\n"
	"\tret\n"
	".size __hetmig_loop_point, . - __hetmig_loop_point\n"
	".popsection\n");
#else
__asm__(".pushsection .text.__hetmig_loop_point, \"ax\", %progbits\n"
	".globl __hetmig_loop_point\n"
	".type __hetmig_loop_point, %function\n"
	"__hetmig_loop_point:\n"
	"\tadrp x16, __hetmig_rt+8\n"
	"\tldr w16, [x16, #:lo12:__hetmig_rt+8]\n"
	"\tcmp w16, #1\n"
	"\tb.eq 1f\n"
	"\tret\n"
	"1:\tb __hetmig_entry_point\n"
	".size __hetmig_loop_point, . - __hetmig_loop_point\n"
	".popsection\n");
#endif

/*
 * gcc 12 cannot instrument entries alone, so every return calls
 * __cyg_profile_func_exit too. It does nothing, and at the runtime's -O0 a
 * C body would still build a frame and store both arguments: a bare
 * return saves about 6 of a point's 30 instructions
 * (Documentation/benchmarks.md). It is never on the stack at a point, so
 * it needs no frame the converter reads. Written in assembly because gcc
 * 12 has no naked functions on aarch64; "ret" is the same on both ISAs.
 */
__asm__(".pushsection .text.__cyg_profile_func_exit, \"ax\", %progbits\n"
	".globl __cyg_profile_func_exit\n"
	".type __cyg_profile_func_exit, %function\n"
	"__cyg_profile_func_exit:\n"
	"\tret\n"
	".size __cyg_profile_func_exit, . - __cyg_profile_func_exit\n"
	".popsection\n");

/*
 * Stop here until the companion has dealt with the request
 * (Documentation/heterogeneous.md, "Parking"). The caller's state is
 * recorded first: the converter rebuilds the stack from the caller outwards,
 * and on the destination __hetmig_resume returns into the caller as if this
 * function had returned. noinline: the caller must make a real call.
 *
 * pending N > 1 asks to park at the N-th point from now: count down. While
 * parked, sleep in 1 ms steps until the companion clears pending (it writes
 * result first); no signal, so parent and job control see nothing. A
 * companion that dies without clearing pending (SIGKILL, a crash) would
 * leave us here for ever: when the holder it named is gone, go on as if it
 * had said -ECANCELED.
 *
 * Threads: every thread that reaches a point while a request is pending
 * parks here, each in a slot of __hetmig_threads, and `parked` counts
 * them; a thread in a blocking call the runtime knows (threads.c) comes
 * out of it to park at its wrapper's call. The companion waits until
 * every thread of the process is parked, or names those that are not.
 */
RETAIN struct hetmig_unproven __hetmig_unproven;
RETAIN struct hetmig_threads __hetmig_threads;
static int32_t self_request;	/* the tid of the thread in hetmig_migrate */

/*
 * A slot of __hetmig_threads for the calling thread, filled in and marked
 * parked; NULL when every slot is taken (the thread then does not park,
 * and the companion names it). Claimed by its tid, so the companion can
 * tell which of the process's threads are parked.
 */
NOINST static struct hetmig_thread *claim_slot(int32_t tid, uint64_t ra, uint64_t cfa,
					       uint64_t fp, int32_t err)
{
	struct hetmig_threads *t = &__hetmig_threads;
	unsigned i;

	for (i = 0; i < HETMIG_THREADS_MAX; i++) {
		struct hetmig_thread *s = &t->slot[i];
		int32_t free_tid = 0;

		if (!__atomic_compare_exchange_n(&s->tid, &free_tid, tid, 0, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			continue;
		s->park_ra = ra;
		s->park_cfa = cfa;
		s->park_fp = fp;
		s->park_errno = err;
		t->slots = HETMIG_THREADS_MAX;
		__atomic_store_n(&t->magic, HETMIG_RT_MAGIC, __ATOMIC_SEQ_CST);
		__atomic_store_n(&s->state, HETMIG_THREAD_PARKED, __ATOMIC_SEQ_CST);
		return s;
	}
	return NULL;
}

NOINST static void free_slot(struct hetmig_thread *s)
{
	__atomic_store_n(&s->state, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->tid, 0, __ATOMIC_SEQ_CST);
}

/*
 * Whether a frame on this stack is stopped at a site the companion listed
 * as refused: the frame-pointer chain from here to main (whose caller, the
 * libc start code, left fp 0), each frame's return address looked up in the
 * sorted table. Frame records are [fp] = caller's fp, [fp + 8] = return
 * address on both ISAs; a chain that does not go up the stack ends the walk.
 */
NOINST static int record_mapped(const uint64_t *record)
{
	uintptr_t page = (uintptr_t)record & ~(uintptr_t)4095;
	uintptr_t end = ((uintptr_t)(record + 2) + 4095) & ~(uintptr_t)4095;
	unsigned char resident[2];

	return hetmig_sys3(SYS_mincore, (long)page, (long)(end - page), (long)resident) == 0;
}

NOINST static int at_unproven_site(void)
{
	const struct hetmig_unproven *u = &__hetmig_unproven;
	uint32_t n = __atomic_load_n(&u->count, __ATOMIC_SEQ_CST);
	const uint64_t *fp = __builtin_frame_address(0);
	unsigned depth;

	if (u->magic != HETMIG_RT_MAGIC || !n || n > HETMIG_UNPROVEN_MAX)
		return 0;
	for (depth = 0; fp && depth < 1000000; depth++) {
		const uint64_t *up = (const uint64_t *)(uintptr_t)fp[0];
		uint64_t ra = fp[1];
		uint32_t lo = 0, hi = n;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (u->ra[mid] < ra)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && u->ra[lo] == ra)
			return 1;
		if (up <= fp)
			break;
		/* Below a libc frame built without a frame pointer, rbp may
		 * have been a plain register: read no record that is not
		 * mapped (mincore fails with ENOMEM on an unmapped page). */
		if (((uintptr_t)up ^ (uintptr_t)fp) >= 4096 && !record_mapped(up))
			break;
		fp = up;
	}
	return 0;
}

NOINST __attribute__((noinline)) int __hetmig_park(void)
{
	/* First, before any call: on aarch64 a call overwrites x30, and gcc
	 * would keep the return address in x19 for a later read, which the
	 * converter refuses (the parked thread's registers must be its
	 * caller's). */
	uint64_t ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
	struct hetmig_runtime *rt = &__hetmig_rt;
	struct timespec ms = { 0, 1000000 };
	uint32_t p = __atomic_load_n(&rt->pending, __ATOMIC_SEQ_CST);
	struct hetmig_thread *slot;
	uint64_t cfa, fp;
	int32_t tid, err;
	int r;

	while (p > 1)
		if (__atomic_compare_exchange_n(&rt->pending, &p, p - 1, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return 0;
	if (p == 0)
		return 0;
	/* Not a migration point: stay pending, try the next one. A move the
	 * program asked for itself (hetmig_migrate) is tried here only. */
	tid = (int32_t)hetmig_sys3(SYS_gettid, 0, 0, 0);
	if (__atomic_load_n(&self_request, __ATOMIC_SEQ_CST) != tid && at_unproven_site())
		return 0;
	/* The CFA of this function is the caller's sp just before the call on
	 * both ISAs (x86_64: above the pushed return address; aarch64: sp at
	 * entry). Checked by tools/test/cc/resume.c. */
	cfa = (uint64_t)(uintptr_t)__builtin_dwarf_cfa();
	/* With frame pointers, [fp] holds the caller's fp on both ISAs. */
	fp = *(uint64_t *)__builtin_frame_address(0);
	err = errno;	/* the raw nanosleep below leaves errno alone */
	/* Every thread that parks has a slot; the main thread's record is
	 * the block's too, where a single-threaded process was always read. */
	slot = claim_slot(tid, ra, cfa, fp, err);
	if (!slot)
		return 0;	/* no slot: go on, the companion names this thread */
	if (tid == (int32_t)hetmig_sys3(SYS_getpid, 0, 0, 0)) {
		rt->park_ra = ra;
		rt->park_cfa = cfa;
		rt->park_fp = fp;
		rt->park_errno = err;
	}
	/* No earlier move's result: the first thread to park clears it, before
	 * the companion can see anything parked and write its own. */
	if (!__atomic_load_n(&rt->parked, __ATOMIC_SEQ_CST))
		__atomic_store_n(&rt->result, 0, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&rt->parked, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&rt->pending, __ATOMIC_SEQ_CST)) {
		int32_t holder = __atomic_load_n(&rt->holder, __ATOMIC_SEQ_CST);

		/* kill(holder, 0): -ESRCH once it is gone, reaped; -EPERM
		 * (another user's) still means alive. */
		if (holder > 0 && hetmig_sys3(SYS_kill, holder, 0, 0) == -ESRCH &&
		    __atomic_load_n(&rt->pending, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&rt->result, -ECANCELED, __ATOMIC_SEQ_CST);
			__atomic_store_n(&rt->holder, 0, __ATOMIC_SEQ_CST);
			__atomic_store_n(&rt->pending, 0, __ATOMIC_SEQ_CST);
			break;
		}
		hetmig_sys3(SYS_nanosleep, (long)&ms, 0, 0);
	}
	r = __atomic_load_n(&rt->result, __ATOMIC_SEQ_CST);
	free_slot(slot);
	__atomic_fetch_sub(&rt->parked, 1, __ATOMIC_SEQ_CST);
	return r;
}

/*
 * HETMIG_PARK_AT=N in the environment: park at the N-th migration point of
 * the run and wait there for the companion (`hetmig send --parked PID
 * DEST`), as if it had asked at the start. The point is then exact: a
 * request from outside lands wherever the process is by the time it
 * arrives. For tests and for reproducing a conversion at one point
 * (tools/test/hetero-test). Runs again after the aarch64 re-exec, which
 * keeps the environment.
 */
NOINST __attribute__((constructor)) static void hetmig_park_at(void)
{
	const char *s = getenv("HETMIG_PARK_AT");
	char *end;
	unsigned long n;

	if (!s || !*s)
		return;
	n = strtoul(s, &end, 10);
	if (*end || n == 0 || n > UINT32_MAX)
		return;
	__atomic_store_n(&__hetmig_rt.pending, (uint32_t)n, __ATOMIC_SEQ_CST);
}

/* Start `hetmig send --parked PID DEST` as a grandchild, so it is not our
 * child (a tracer that is our child would be frozen and moved with us).
 * Returns its pid once the companion was executed, else a negative errno. */
NOINST static int spawn_companion(const char *dest)
{
	const char *hetmig = getenv("HETMIG");
	char pid[24];
	int pfd[2], hfd[2], st, err = 0;
	pid_t child, companion = -1;

	if (!hetmig || !*hetmig)
		hetmig = "hetmig";
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	/* Close-on-exec: EOF tells that exec succeeded, 4 bytes that it failed. */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	/* The child tells the grandchild's pid through this one. */
	if (pipe2(hfd, O_CLOEXEC) < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	child = fork();
	if (child < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		close(hfd[0]);
		close(hfd[1]);
		return err;
	}
	if (child == 0) {
		char *argv[] = { (char *)hetmig, "send", "--parked", pid, (char *)dest, NULL };

		close(pfd[0]);
		close(hfd[0]);
		companion = fork();
		if (companion == 0) {
			int fd;

			setsid();
			/* The program's stdout is its own: the companion reports on
			 * stderr. Its other files stay with it, not the companion. */
			dup2(2, 1);
			for (fd = 3; fd < 1024; fd++)
				if (fd != pfd[1])
					close(fd);
			execvp(hetmig, argv);
			err = errno;
			(void)!write(pfd[1], &err, sizeof(err));
			_exit(0);
		}
		(void)!write(hfd[1], &companion, sizeof(companion));
		_exit(0);
	}
	close(pfd[1]);
	close(hfd[1]);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (read(hfd[0], &companion, sizeof(companion)) != sizeof(companion) || companion <= 0)
		err = -EAGAIN;	/* the child could not fork */
	else if (read(pfd[0], &err, sizeof(err)) == sizeof(err))
		err = -err;
	else
		err = companion;
	close(pfd[0]);
	close(hfd[0]);
	return err;
}

NOINST int hetmig_migrate(const char *dest)
{
	struct hetmig_runtime *rt = &__hetmig_rt;
	size_t n = strlen(dest);
	int err;

	if (n == 0 || n >= sizeof(rt->dest))
		return -EINVAL;
	memcpy(rt->dest, dest, n + 1);
	/* Yama (ptrace_scope 1) lets only ancestors attach; the companion is not. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	err = spawn_companion(dest);
	if (err < 0)
		return err;
	/* The companion holds us from the start: if it ends without letting
	 * us go (it could not connect, it was killed), the wait ends with
	 * -ECANCELED instead of lasting for ever. */
	__atomic_store_n(&rt->holder, err, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rt->pending, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&self_request, (int32_t)hetmig_sys3(SYS_gettid, 0, 0, 0), __ATOMIC_SEQ_CST);
	err = __hetmig_park();
	__atomic_store_n(&self_request, 0, __ATOMIC_SEQ_CST);
	return err;
}

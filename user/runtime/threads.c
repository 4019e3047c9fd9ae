// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking calls the runtime knows, for multi-threaded programs
 * (Documentation/heterogeneous.md, "Threads"). A move parks every thread;
 * one that waits for another (a condition, a mutex, a join), sleeps or
 * waits on a pipe would never reach a point, and its state inside libc
 * cannot be converted. So hetmig-cc links a program that creates threads
 * with `--wrap` for these calls: the program's call lands here (a call
 * site in the program, proven like any other), and the wait is made in
 * slices of HETMIG_SLICE_NS. Between slices a pending request (pending 1)
 * parks the thread here, at a call of __hetmig_park in an -O0 frame of the
 * runtime, with no libc frame and no libc wait state on its stack; after
 * the park (moved or not) the wait goes on, or ends as POSIX allows:
 *   pthread_cond_wait     returns 0 holding the mutex after each slice (a
 *                         spurious wakeup, which every caller must handle);
 *   pthread_mutex_lock    tries again;
 *   pthread_join          waits again;
 *   nanosleep, usleep, sleep  sleep what was left (kept as a duration, not
 *                         an end time: the clock of another machine);
 *   read, write on a pipe wait for it again (poll), then read or write.
 * Signals: the sleeps return EINTR with what was left, as they would. A
 * pipe's wait interrupted by a handler returns EINTR as the read or write
 * would unless every handler the process has installed restarts calls
 * (SA_RESTART); then it goes on. The kernel restarts the read or write by
 * the flags of the one signal that came, which poll does not tell. Any other blocking call (a barrier, a semaphore, a socket,
 * poll itself) is not known: the thread does not park and the companion
 * names it in its refusal, and the program runs on.
 *
 * Compiled at -O0 and not instrumented, like the rest of the runtime; only
 * linked into programs that call pthread_create (hetmig-cc), so a
 * single-threaded program's build is unchanged.
 */
#define _GNU_SOURCE	/* pthread_timedjoin_np */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "hetmig.h"

#define NOINST __attribute__((no_instrument_function))

/* The longest a known wait goes without looking at `pending`: the bound of
 * a move request's wait for a blocked thread (Documentation/benchmarks.md,
 * "Parking threads"), and the cost of an idle thread (one wakeup a slice). */
#define HETMIG_SLICE_NS 2000000L

/* The calls themselves, for the wrappers that make them (--wrap names
 * them __real_*); the others wait with the timed variants. */
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_pthread_mutex_lock(pthread_mutex_t *m);

/*
 * --wrap redirects libc's own calls too: musl's pthread_cond_timedwait
 * takes the mutex back with pthread_mutex_lock, which lands in our
 * wrapper. Parking there would leave a libc frame, with its wait state,
 * on the parked stack (hetero-test's pool: "__pthread_cond_timedwait has
 * no debug information"). While a wrapper is inside libc, a wrapped call
 * is made plainly. Thread-local: carried with the thread's TLS block, and
 * 0 whenever the thread can park.
 */
static __thread int in_libc;

int __wrap_pthread_mutex_lock(pthread_mutex_t *m);

/* A request to move is pending (a countdown, pending > 1, counts function
 * entries only, as loop points do). */
NOINST static int requested(void)
{
	return __atomic_load_n(&__hetmig_rt.pending, __ATOMIC_SEQ_CST) == 1;
}

/* NOW + one slice on CLOCK. */
NOINST static void slice_end(clockid_t clock, struct timespec *ts)
{
	clock_gettime(clock, ts);
	ts->tv_nsec += HETMIG_SLICE_NS;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/*
 * The clock a condition variable's timed waits use: musl 1.2.3 keeps it in
 * the int at index 4 (_c_clock; pthread_condattr_setclock), the same on
 * both ISAs (checked by tools/test/cc/threads.c's monotonic condition).
 */
NOINST static clockid_t cond_clock(const pthread_cond_t *c)
{
	int clk = ((const int *)c)[4];

	return clk == CLOCK_MONOTONIC ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

/*
 * One slice, then back to the caller as a spurious wakeup: a slice that
 * times out may have taken a signal or broadcast meant for it (a timed
 * wait can return ETIMEDOUT when it was woken at the same time), and
 * waiting again here would lose that wakeup for good (measured: eight
 * idle waiters, a broadcast, a hang). The caller's predicate loop, which
 * POSIX requires around every wait, sees what changed.
 */
NOINST int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	struct timespec until;
	int r;

	slice_end(cond_clock(c), &until);
	in_libc++;
	r = pthread_cond_timedwait(c, m, &until);
	in_libc--;
	if (r != ETIMEDOUT)
		return r;
	/*
	 * Parked without the mutex: another waiter woken at the same time
	 * takes it back inside libc (pthread_cond_timedwait's relock, which
	 * cannot park), and would wait there for as long as this thread is
	 * parked, so that the move could never find it at a point (hetero-test's
	 * pool: its main thread "in sccp, system call futex"). Taken again
	 * afterwards as a plain pthread_mutex_lock of the program, which parks
	 * if asked; a spurious wakeup to the caller either way.
	 */
	if (requested()) {
		pthread_mutex_unlock(m);
		(void)__hetmig_park();
		return __wrap_pthread_mutex_lock(m);
	}
	return 0;
}

NOINST int __wrap_pthread_mutex_lock(pthread_mutex_t *m)
{
	struct timespec until;
	int r;

	if (in_libc)
		return __real_pthread_mutex_lock(m);
	r = pthread_mutex_trylock(m);
	if (r != EBUSY)
		return r;
	for (;;) {
		slice_end(CLOCK_REALTIME, &until);
		r = pthread_mutex_timedlock(m, &until);
		if (r != ETIMEDOUT)
			return r;
		if (requested())
			(void)__hetmig_park();
	}
}

NOINST int __wrap_pthread_join(pthread_t t, void **ret)
{
	struct timespec until;
	int r;

	for (;;) {
		slice_end(CLOCK_REALTIME, &until);
		r = pthread_timedjoin_np(t, ret, &until);
		if (r != ETIMEDOUT && r != EBUSY)
			return r;
		if (requested())
			(void)__hetmig_park();
	}
}

NOINST static long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Slices end at absolute times, so that slicing adds no drift (measured:
 * relative 2 ms sleeps made sleep(2) last 2.15-2.34 s). Across a park only
 * what is left is kept, a duration: the clock of another machine.
 */
NOINST int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	long long end, now, left, step;
	struct timespec until;
	int r;

	if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000L || req->tv_sec < 0)
		return __real_nanosleep(req, rem);
	end = monotonic_ns() + (long long)req->tv_sec * 1000000000LL + req->tv_nsec;
	for (;;) {
		now = monotonic_ns();
		left = end - now;
		if (left <= 0)
			return 0;
		step = now + (left < HETMIG_SLICE_NS ? left : HETMIG_SLICE_NS);
		until.tv_sec = (time_t)(step / 1000000000LL);
		until.tv_nsec = (long)(step % 1000000000LL);
		r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
		if (r == EINTR) {
			left = end - monotonic_ns();
			if (left < 0)
				left = 0;
			if (rem) {
				rem->tv_sec = (time_t)(left / 1000000000LL);
				rem->tv_nsec = (long)(left % 1000000000LL);
			}
			errno = EINTR;
			return -1;
		}
		if (requested()) {
			left = end - monotonic_ns();
			(void)__hetmig_park();
			end = monotonic_ns() + left;
		}
	}
}

NOINST int __wrap_usleep(unsigned us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	return __wrap_nanosleep(&ts, &ts);
}

NOINST unsigned __wrap_sleep(unsigned s)
{
	struct timespec ts = { (time_t)s, 0 };

	if (__wrap_nanosleep(&ts, &ts))
		return (unsigned)ts.tv_sec + (ts.tv_nsec > 0);
	return 0;
}

/* FD is a pipe that blocks: a read or write on it can wait for ever. */
NOINST static int blocking_pipe(int fd)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode))
		return 0;
	fl = fcntl(fd, F_GETFL);
	return fl >= 0 && !(fl & O_NONBLOCK);
}

/*
 * Whether every signal handler installed restarts interrupted calls. The
 * kernel's rt_sigaction, not libc's sigaction: a call of sigaction is a
 * site hetmig check refuses (libc's may call a handler; struct sigaction
 * holds a union), and this one is in every threaded program. The kernel's
 * struct begins with the handler and the flags on both ISAs.
 */
NOINST static int handlers_restart(void)
{
	unsigned long ksa[4];	/* handler, flags, restorer, mask */
	int sig;

	for (sig = 1; sig < _NSIG; sig++) {
		if (syscall(SYS_rt_sigaction, sig, NULL, ksa, _NSIG / 8))
			continue;
		if (ksa[0] != (unsigned long)SIG_DFL && ksa[0] != (unsigned long)SIG_IGN &&
		    !(ksa[1] & SA_RESTART))
			return 0;
	}
	return 1;
}

/* Waits until FD is ready for EVENTS (or has an error or hang-up, which
 * the read or write then reports), parking between slices when asked.
 * -1 with errno EINTR: a handler interrupted the wait, and the call
 * must not be restarted. */
NOINST static int wait_ready(int fd, short events)
{
	struct pollfd p;
	int r;

	for (;;) {
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, (int)(HETMIG_SLICE_NS / 1000000L));
		if (r > 0 || (r < 0 && errno != EINTR))
			return 0;
		if (r < 0 && !handlers_restart()) {
			errno = EINTR;
			return -1;
		}
		if (r == 0 && requested())
			(void)__hetmig_park();
	}
}

NOINST ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	if (n && blocking_pipe(fd) && wait_ready(fd, POLLIN))
		return -1;
	return __real_read(fd, buf, n);
}

/*
 * A write of more than PIPE_BUF bytes can block after poll said there is
 * room: it goes in pieces of PIPE_BUF, each after a wait (such a write is
 * not atomic anyway, and a blocking one returns all of N, as here).
 */
NOINST ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	size_t done = 0, step;
	ssize_t r;

	if (!n || !blocking_pipe(fd))
		return __real_write(fd, buf, n);
	while (done < n) {
		if (wait_ready(fd, POLLOUT))
			return done ? (ssize_t)done : -1;
		step = n - done < PIPE_BUF ? n - done : PIPE_BUF;
		r = __real_write(fd, p + done, step);
		if (r < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/*
 * A thread's start routine returns here on the destination of a move
 * between ISAs (issue 17): its return address was into musl's `start`
 * (pthread_create.c), a libc frame the converter does not rebuild, as
 * main's was into libc's start code (__hetmig_main_return). The routine's
 * `ret` lands here, not a call, with its value in rax / x0: the stack is
 * realigned and the value goes to pthread_exit, which is what `start`
 * does with it. Checked by tools/test/cc/threads.c, which sets a start
 * routine's return address to it.
 */
#if defined(__x86_64__)
__asm__(".pushsection .text.__hetmig_thread_return,\"axR\"\n"
	".globl __hetmig_thread_return\n"
	".type __hetmig_thread_return,@function\n"
	"__hetmig_thread_return:\n"
	"	mov %rax, %rdi\n"
	"	and $-16, %rsp\n"
	"	call pthread_exit\n"
	"	ud2\n"
	".size __hetmig_thread_return, .-__hetmig_thread_return\n"
	".popsection\n");
#elif defined(__aarch64__)
__asm__(".pushsection .text.__hetmig_thread_return,\"axR\"\n"
	".globl __hetmig_thread_return\n"
	".type __hetmig_thread_return,%function\n"
	"__hetmig_thread_return:\n"
	"	mov x9, sp\n"
	"	and x9, x9, #~15\n"
	"	mov sp, x9\n"
	"	bl pthread_exit\n"
	"	brk #0\n"
	".size __hetmig_thread_return, .-__hetmig_thread_return\n"
	".popsection\n");
#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * tree: a process tree for dump_restore.sh, which moves it whole and
 * tells its root to check it (SIGTERM).
 *
 * usage: tree            the tree below, moved
 *        tree outside    two children X and Y sharing a page with each
 *                        other and with us; X has a child of its own.
 *                        dump_restore.sh dumps X, which must be refused
 *                        (Y and we are not in X's tree), and X must run on
 *
 * The tree: we (P) map a shared anonymous region (MAP_SHARED|MAP_ANONYMOUS)
 * and a shared /dev/zero page, then fork A and B. A makes its own process
 * group, maps a shared page of its own (only A and G see it) and forks G,
 * which stays in A's group and sets PR_SET_PDEATHSIG to SIGUSR2. B makes
 * its own session. C, forked after them, joins its sibling A's group. Every child counts in the shared region without pause.
 * Before the dump G fills a page of the region that no other process
 * touches, B writes into the /dev/zero page, A into its own page. Two
 * more children of ours exit, one with 7 and one killed by SIGUSR1, and
 * stay zombies.
 * "tree: ready" once all that is done.
 *
 * We are a child subreaper (PR_SET_CHILD_SUBREAPER) too.
 *
 * On SIGTERM (after the restore), each member checks itself (parent,
 * process group, session, parent-death signal, the pages written before
 * the dump) and writes its verdict into the shared region; we check that
 * every counter still moves (the region is one object again), the
 * verdicts, that A and B are still our children (waitpid), and that the
 * zombies are too, exited as they did. "tree:
 * intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { P, A, B, G, C, MEMBERS };

struct shared {
	volatile pid_t pid[MEMBERS];
	volatile pid_t sid_of_p;		/* P's session before the dump */
	volatile unsigned long count[MEMBERS];
	volatile int ready[MEMBERS];
	volatile int check, quit;
	volatile int verdict[MEMBERS];		/* 1 ok, else a reason below */
	char g_page[4096] __attribute__((aligned(4096)));	/* G's only */
};

static const char *const reasons[] = {
	"", "ok", "wrong parent", "wrong process group", "wrong session",
	"wrong parent-death signal", "G's page lost", "B's /dev/zero page lost",
	"A's own page lost or not shared with G", "G not A's child any more",
};

static struct shared *shm;
static volatile char *zero_page;	/* shared /dev/zero, P, A, B, G */
static volatile unsigned long *a_page;	/* A and G only */
static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void fill(char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i * 7 + seed);
}

static int filled(const volatile char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)(i * 7 + seed))
			return 0;
	return 1;
}

/* What member ME sees of itself after the restore: 1, or a reason. */
static int verdict(int me)
{
	pid_t parent = me == G ? shm->pid[A] : shm->pid[P];
	pid_t group = me == B ? shm->pid[B] : shm->pid[A];	/* A, G and C: A's */
	pid_t session = me == B ? shm->pid[B] : getsid(shm->pid[P]);
	int sig = 0;

	if (getppid() != parent)
		return 2;
	if (getpgid(0) != group)
		return 3;
	if (getsid(0) != session)
		return 4;
	if (me == G && (prctl(PR_GET_PDEATHSIG, &sig) || sig != SIGUSR2))
		return 5;
	if (me == G && !filled(shm->g_page, sizeof(shm->g_page), 3))
		return 6;
	if (me == B && !filled(zero_page, 4096, 5))
		return 7;
	if (me == A) {
		unsigned long before = a_page[1];
		int t = 0;
		while (a_page[1] == before && t++ < 100)
			usleep(10000);
		if (a_page[0] != 0xa11ce || a_page[1] == before)
			return 8;
	}
	return 1;
}

static void member(int me)
{
	shm->pid[me] = getpid();
	shm->ready[me] = 1;
	while (!shm->quit) {
		shm->count[me]++;
		if (me == G && a_page)
			a_page[1]++;
		if (shm->check && !shm->verdict[me])
			shm->verdict[me] = verdict(me);
		usleep(1000);
	}
}

static void child_g(void)
{
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	fill(shm->g_page, sizeof(shm->g_page), 3);
	member(G);
	_exit(0);
}

static void child_a(void)
{
	setpgid(0, 0);
	a_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a_page == MAP_FAILED)
		_exit(1);
	a_page[0] = 0xa11ce;
	pid_t g = fork();
	if (g == 0)
		child_g();
	member(A);
	int st;
	_exit(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 9);
}

static void child_c(void)
{
	if (setpgid(0, shm->pid[A]))
		_exit(3);
	member(C);
	_exit(0);
}

static void child_b(void)
{
	setsid();
	fill((char *)zero_page, 4096, 5);
	member(B);
	_exit(0);
}

static int fail(const char *what)
{
	printf("tree: %s\n", what);
	return 1;
}

/* Every counter of MEMBERS (bit mask) moves within a second. */
static int all_move(unsigned mask)
{
	unsigned long before[MEMBERS];
	for (int i = 0; i < MEMBERS; i++)
		before[i] = shm->count[i];
	for (int t = 0; t < 100; t++) {
		int moved = 1;
		for (int i = 0; i < MEMBERS; i++)
			if ((mask & (1u << i)) && shm->count[i] == before[i])
				moved = 0;
		if (moved)
			return 1;
		usleep(10000);
	}
	return 0;
}

static void wait_term(void)
{
	signal(SIGTERM, on_term);
	while (!done)
		usleep(20000);
}

static int outside(void)
{
	pid_t x = fork();
	if (x == 0) {
		pid_t x1 = fork();
		if (x1 == 0)
			member(G);	/* X's own child, in X's tree */
		else
			member(A);
		_exit(0);
	}
	pid_t y = fork();
	if (y == 0) {
		member(B);
		_exit(0);
	}
	while (!shm->ready[A] || !shm->ready[B] || !shm->ready[G])
		usleep(1000);
	printf("tree: ready %d\n", x);
	fflush(stdout);
	wait_term();
	int ok = all_move(1u << A | 1u << B | 1u << G);
	shm->quit = 1;
	while (wait(NULL) > 0)
		;
	return ok ? (printf("tree: intact\n"), 0) : fail("X or its child stopped counting");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int zero = open("/dev/zero", O_RDWR);
	zero_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
	if (shm == MAP_FAILED || zero < 0 || zero_page == MAP_FAILED)
		return fail("mmap");
	close(zero);
	shm->pid[P] = getpid();
	shm->sid_of_p = getsid(0);
	if (argc > 1 && !strcmp(argv[1], "outside"))
		return outside();
	/* The root is a child subreaper, which it must still be after. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return fail("PR_SET_CHILD_SUBREAPER");

	pid_t a = fork();
	if (a == 0)
		child_a();
	pid_t b = fork();
	if (b == 0)
		child_b();
	while (!shm->ready[A])
		usleep(1000);
	pid_t c = fork();
	if (c == 0)
		child_c();
	pid_t z1 = fork();
	if (z1 == 0)
		_exit(7);
	pid_t z2 = fork();
	if (z2 == 0)
		for (;;)
			pause();
	kill(z2, SIGUSR1);
	siginfo_t si;
	if (waitid(P_PID, z1, &si, WEXITED | WNOWAIT) || waitid(P_PID, z2, &si, WEXITED | WNOWAIT))
		return fail("waitid");
	while (!shm->ready[A] || !shm->ready[B] || !shm->ready[G] || !shm->ready[C])
		usleep(1000);
	printf("tree: ready\n");
	wait_term();

	if (!all_move(1u << A | 1u << B | 1u << G | 1u << C))
		return fail("a member stopped counting in the shared region");
	int subreaper = 0;
	if (prctl(PR_GET_CHILD_SUBREAPER, &subreaper) || !subreaper)
		return fail("the root is no child subreaper any more");
	shm->check = 1;
	for (int t = 0; t < 300 && !(shm->verdict[A] && shm->verdict[B] && shm->verdict[G] &&
				     shm->verdict[C]); t++)
		usleep(10000);
	for (int i = A; i < MEMBERS; i++)
		if (shm->verdict[i] != 1) {
			char what[80];
			snprintf(what, sizeof(what), "member %c: %s", "PABGC"[i],
				 shm->verdict[i] >= 0 && shm->verdict[i] < 10 ?
				 reasons[shm->verdict[i]] : "no verdict");
			return fail(what);
		}
	if (getpgid(shm->pid[A]) != shm->pid[A] || getsid(shm->pid[B]) != shm->pid[B] ||
	    getpgid(shm->pid[G]) != shm->pid[A] || getpgid(shm->pid[C]) != shm->pid[A])
		return fail("groups or sessions seen from the root");
	shm->quit = 1;
	int st;
	if (waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail(WIFEXITED(st) && WEXITSTATUS(st) < 10 ?
			    reasons[WEXITSTATUS(st)] : "A is not our child or failed");
	if (waitpid(b, &st, 0) != b || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("B is not our child or failed");
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("C is not our child or failed");
	if (waitpid(z1, &st, WNOHANG) != z1 || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		return fail("the zombie that exited with 7 is not ours or not as it was");
	if (waitpid(z2, &st, WNOHANG) != z2 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGUSR1)
		return fail("the zombie killed by SIGUSR1 is not ours or not as it was");
	printf("tree: intact\n");
	return 0;
}

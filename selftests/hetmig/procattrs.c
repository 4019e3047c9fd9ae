// SPDX-License-Identifier: GPL-2.0
/*
 * procattrs: what zdtm's pid00, zombie01, maps02 and clone_fs check, in one
 * tree, for dump_restore.sh, which moves it and tells it to check
 * (SIGTERM). Run as root, its stdout a file only root may open.
 *
 * - Child U takes real, effective, saved and file system ids that all
 *   differ (gids 5, 6, 7, 8; uids 1, 2, 3 and 2) and starts a second
 *   thread, whose tid it keeps. Its stdout is our log, inherited: after
 *   the move it must still write there (reopened as we, root, opened it).
 * - Child G leads a process group of its own and forks Z into it as our
 *   child (CLONE_PARENT); Z exits with 7 and G exits 0, reaped here: Z is
 *   our zombie in a group whose leader has gone.
 * - Child L leads a process group; its younger sibling M joins it and has
 *   a zombie child Y (exit 9) there, which must follow M into L's group
 *   after the move (M joins it only once the whole tree exists).
 * - Our own mappings carry madvise(2) and mlock(2) state: MADV_DONTFORK,
 *   MADV_SEQUENTIAL, MADV_RANDOM, MADV_DONTDUMP, MADV_WIPEONFORK,
 *   MADV_HUGEPAGE where the kernel has THP, MAP_NORESERVE and MAP_LOCKED,
 *   each on a mapping of its own, its /proc/self/smaps VmFlags noted.
 * "procattrs: ready".
 *
 * On SIGTERM: each mapping's VmFlags as noted; Z still our zombie in G's
 * group, then reaped with status 7; M, told with SIGUSR2, finds Y its
 * zombie in L's group and reaps it with 9; U, told with SIGUSR1, finds its ids,
 * its thread under its tid, prints "procattrs U: ok" to the log and
 * exits 0. "procattrs: intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NMAPS 8
#define MAPLEN (4 * 4096)

static volatile sig_atomic_t term;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static const struct {
	int flags, advice;
	const char *name;
} kinds[NMAPS] = {
	{0, MADV_DONTFORK, "dontfork"},
	{0, MADV_SEQUENTIAL, "sequential"},
	{0, MADV_RANDOM, "random"},
	{0, MADV_DONTDUMP, "dontdump"},
	{0, MADV_WIPEONFORK, "wipeonfork"},
	{0, MADV_HUGEPAGE, "hugepage"},
	{MAP_NORESERVE, -1, "noreserve"},
	{MAP_LOCKED, -1, "locked"},
};

static char *maps[NMAPS];
static char flags_before[NMAPS][512];

/* The VmFlags line of the mapping at ADDR in /proc/self/smaps. */
static int vmflags(const void *addr, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') &&
		    !strncmp(line + strspn(line, "0123456789abcdef"), "-", 1)) {
			in = start == (unsigned long)addr;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%s", line + 8);
			out[strcspn(out, "\n")] = 0;
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

static pid_t thread_tid;
static pthread_mutex_t started = PTHREAD_MUTEX_INITIALIZER;

static void *thread_main(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_unlock(&started);
	for (;;)
		pause();
	return NULL;
}

/* U: distinct ids and a thread; reports on SIGUSR1. */
static int child_u(int report)
{
	sigset_t usr1;
	pthread_t th;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int sig, fsuid, fsgid;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (setresgid(5, 6, 7) || setfsgid(8) < 0 || setresuid(1, 2, 3)) {
		perror("procattrs U: setting ids");
		return 1;
	}
	pthread_mutex_lock(&started);
	if (pthread_create(&th, NULL, thread_main, NULL))
		return 1;
	pthread_mutex_lock(&started);
	if (write(report, "r", 1) != 1)
		return 1;
	sigwait(&usr1, &sig);
	if (getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg))
		return 1;
	fsuid = setfsuid(-1);
	fsgid = setfsgid(-1);
	if (r != 1 || e != 2 || s != 3 || fsuid != 2 || rg != 5 || eg != 6 || sg != 7 ||
	    fsgid != 8) {
		printf("procattrs U: uids %u %u %u %d gids %u %u %u %d, not 1 2 3 2 and 5 6 7 8\n",
		       r, e, s, fsuid, rg, eg, sg, fsgid);
		fflush(stdout);
		return 1;
	}
	if (syscall(SYS_tgkill, getpid(), thread_tid, 0)) {
		printf("procattrs U: no thread %d in the process any more\n", thread_tid);
		fflush(stdout);
		return 1;
	}
	if (printf("procattrs U: ok\n") < 0 || fflush(stdout)) {
		/* The log itself is what did not come back. */
		if (write(report, "w", 1) != 1)
			return 1;
		return 1;
	}
	return write(report, "0", 1) == 1 ? 0 : 1;
}

/* G: a group of its own, Z in it as our child. */
static int child_g(void)
{
	long z;

	if (setpgid(0, 0))
		return 1;
	z = syscall(SYS_clone, CLONE_PARENT, 0, NULL, NULL, 0);
	if (z == 0)
		_exit(7);
	return z > 0 ? 0 : 1;
}

/* C to FD; -1 if it could not be written. */
static int say(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

/* M: in its sibling L's group, with zombie Y there; reports on SIGUSR2. */
static int child_m(pid_t l, int report)
{
	sigset_t usr2;
	siginfo_t si;
	int sig, status;
	pid_t y;

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	if (setpgid(0, l))
		return 1;
	y = fork();
	if (y == 0)
		_exit(9);
	if (y < 0 || waitid(P_PID, y, &si, WEXITED | WNOWAIT))
		return 1;
	if (write(report, "r", 1) != 1)
		return 1;
	sigwait(&usr2, &sig);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, y, &si, WEXITED | WNOWAIT) || si.si_pid != y) {
		printf("procattrs M: %d is no zombie of ours any more\n", y);
		say(report, '1');
		return 1;
	}
	if (getpgid(y) != l) {
		printf("procattrs M: zombie %d is in group %d, not %d\n", y, getpgid(y), l);
		say(report, '2');
		return 1;
	}
	if (waitpid(y, &status, 0) != y || !WIFEXITED(status) || WEXITSTATUS(status) != 9) {
		printf("procattrs M: zombie %d reaped with 0x%x, not exit 9\n", y, status);
		say(report, '3');
		return 1;
	}
	return write(report, "0", 1) == 1 ? 0 : 1;
}

int main(void)
{
	int report[2], mreport[2], status, i;
	pid_t u, g, l, m, z = 0;
	siginfo_t si;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	for (i = 0; i < NMAPS; i++) {
		maps[i] = mmap(NULL, MAPLEN, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | kinds[i].flags, -1, 0);
		if (maps[i] == MAP_FAILED) {
			perror("procattrs: mmap");
			return 1;
		}
		memset(maps[i], 'a' + i, MAPLEN);
		/* MADV_HUGEPAGE: EINVAL where the kernel has no THP. */
		if (kinds[i].advice >= 0 && madvise(maps[i], MAPLEN, kinds[i].advice) &&
		    kinds[i].advice != MADV_HUGEPAGE) {
			perror("procattrs: madvise");
			return 1;
		}
		if (vmflags(maps[i], flags_before[i], sizeof(flags_before[i]))) {
			printf("procattrs: no VmFlags for the %s mapping\n", kinds[i].name);
			return 1;
		}
	}
	if (pipe(report))
		return 1;
	u = fork();
	if (u == 0) {
		close(report[0]);
		_exit(child_u(report[1]));
	}
	close(report[1]);
	if (read(report[0], &c, 1) != 1 || c != 'r') {
		printf("procattrs: U did not start\n");
		return 1;
	}
	g = fork();
	if (g == 0)
		_exit(child_g());
	if (waitpid(g, &status, 0) != g || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("procattrs: G ended with 0x%x\n", status);
		return 1;
	}
	/* Z: our other child, exited, not reaped. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PGID, g, &si, WEXITED | WNOWAIT) || !si.si_pid) {
		perror("procattrs: no zombie in G's group");
		return 1;
	}
	z = si.si_pid;
	if (pipe(mreport))
		return 1;
	l = fork();
	if (l == 0) {
		setpgid(0, 0);
		for (;;)
			pause();
	}
	setpgid(l, l);
	m = fork();
	if (m == 0) {
		close(mreport[0]);
		_exit(child_m(l, mreport[1]));
	}
	close(mreport[1]);
	if (read(mreport[0], &c, 1) != 1 || c != 'r') {
		printf("procattrs: M did not start\n");
		return 1;
	}
	printf("procattrs: ready\n");
	while (!term)
		pause();

	for (i = 0; i < NMAPS; i++) {
		char now[512];

		if (vmflags(maps[i], now, sizeof(now)) || strcmp(now, flags_before[i])) {
			printf("procattrs: the %s mapping has VmFlags '%s', not '%s'\n",
			       kinds[i].name, now, flags_before[i]);
			return 1;
		}
		if (maps[i][MAPLEN - 1] != 'a' + i) {
			printf("procattrs: the %s mapping lost its bytes\n", kinds[i].name);
			return 1;
		}
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, z, &si, WEXITED | WNOWAIT) || si.si_pid != z) {
		printf("procattrs: %d is no zombie of ours any more\n", z);
		return 1;
	}
	if (getpgid(z) != g) {
		printf("procattrs: zombie %d is in group %d, not %d\n", z, getpgid(z), g);
		return 1;
	}
	if (waitpid(z, &status, 0) != z || !WIFEXITED(status) || WEXITSTATUS(status) != 7) {
		printf("procattrs: zombie %d reaped with 0x%x, not exit 7\n", z, status);
		return 1;
	}
	kill(m, SIGUSR2);
	if (read(mreport[0], &c, 1) != 1 || c != '0') {
		printf("procattrs: M reported '%c'\n", c);
		return 1;
	}
	if (waitpid(m, &status, 0) != m || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("procattrs: M ended with 0x%x\n", status);
		return 1;
	}
	kill(l, SIGKILL);
	waitpid(l, NULL, 0);
	kill(u, SIGUSR1);
	if (read(report[0], &c, 1) != 1 || c != '0') {
		printf("procattrs: U reported '%c'\n", c);
		return 1;
	}
	if (waitpid(u, &status, 0) != u || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("procattrs: U ended with 0x%x\n", status);
		return 1;
	}
	printf("procattrs: intact\n");
	return 0;
}

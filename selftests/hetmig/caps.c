// SPDX-License-Identifier: GPL-2.0
/*
 * caps: a process that gave up privileges, for dump_restore.sh, which
 * moves it and tells it to check (SIGTERM).
 *
 * usage: caps        as root: drops CAP_SETPCAP from its bounding set,
 *                    CAP_CHOWN and CAP_DAC_OVERRIDE from its effective set
 *                    and CAP_DAC_OVERRIDE from its permitted set, makes
 *                    CAP_NET_BIND_SERVICE inheritable and ambient, and
 *                    sets no_new_privs
 *        caps nnp    as any user: only sets no_new_privs
 * then starts a second thread (capabilities are per thread) and prints
 * "caps: ready". After the move both threads must have exactly those sets
 * (capget, PR_CAPBSET_READ, PR_CAP_AMBIENT_IS_SET) and no_new_privs, and,
 * as root, a chown to another user must fail (CAP_CHOWN not effective).
 * "caps: intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t done;
static int as_root;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capget, &h, data);
}

static int set(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capset, &h, data);
}

static struct __user_cap_data_struct before[2];

/* What is wrong with the calling thread's sets, or NULL. */
static const char *check(void)
{
	struct __user_cap_data_struct now[2];

	if (get(now) || memcmp(now, before, sizeof(now)))
		return "its effective, permitted or inheritable set changed";
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return "no_new_privs is gone";
	if (!as_root)
		return NULL;
	if (prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1)
		return "its bounding set changed";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) != 0)
		return "its ambient set changed";
	return NULL;
}

static const char *thread_verdict = "not checked";
static volatile int thread_go;

static void *second(void *arg)
{
	(void)arg;
	while (!thread_go)
		usleep(20000);
	thread_verdict = check();
	return NULL;
}

static int fail(const char *what)
{
	printf("caps: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	pthread_t t;
	const char *why;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	as_root = !(argc > 1 && !strcmp(argv[1], "nnp"));
	if (as_root) {
		if (prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) || get(before))
			return fail("dropping CAP_SETPCAP from the bounding set");
		before[0].effective &= ~((1u << CAP_CHOWN) | (1u << CAP_DAC_OVERRIDE));
		before[0].permitted &= ~(1u << CAP_DAC_OVERRIDE);
		before[0].inheritable |= 1u << CAP_NET_BIND_SERVICE;
		if (set(before) ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
			return fail("capset, or raising CAP_NET_BIND_SERVICE");
	} else if (get(before)) {
		return fail("capget");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail("setting no_new_privs");
	if (pthread_create(&t, NULL, second, NULL))
		return fail("pthread_create");
	printf("caps: ready\n");
	while (!done)
		usleep(20000);

	why = check();
	if (why)
		return fail(why);
	thread_go = 1;
	pthread_join(t, NULL);
	if (thread_verdict) {
		char what[128];

		snprintf(what, sizeof(what), "second thread: %s", thread_verdict);
		return fail(what);
	}
	if (as_root) {
		char path[] = "/tmp/caps-XXXXXX";
		int fd = mkstemp(path);

		if (fd < 0)
			return fail("mkstemp");
		int r = fchown(fd, 1234, 1234);
		int err = errno;

		close(fd);
		unlink(path);
		if (r == 0 || err != EPERM)
			return fail("a chown to another user worked: CAP_CHOWN is effective again");
	}
	printf("caps: intact\n");
	return 0;
}

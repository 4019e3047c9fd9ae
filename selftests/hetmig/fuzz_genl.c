// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded netlink fuzzer for the hetmig family: random and mutated
 * messages (commands, flags, attribute types, lengths, nesting, truncation,
 * pids of live, dead, frozen, kernel and foreign tasks), sent by root and by
 * an unprivileged user, while a worker freezes and thaws a process the
 * legitimate way. Afterwards the module must still answer, hold no freeze,
 * and unload.
 *
 * The rebuild commands get structured fuzzing of their own (rebuild_commands).
 *
 * HETMIG_FUZZ_SEED (default 1) and HETMIG_FUZZ_COUNT (default 20000 per
 * sender) make a run reproducible; the seed is printed.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>

#include "hetmig_nl.h"
#include "tracee.h"
#include "kselftest_harness.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: small, fast, and the same sequence everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned int below(unsigned int n)
{
	return rnd() % n;
}

/* Pids worth aiming at: none, init, a kernel thread, the caller, live ones. */
static uint32_t pick_pid(pid_t frozen, pid_t dead)
{
	const uint32_t pool[] = { 0, 1, 2, getpid(), frozen, dead, 4194303,
				  4194304, 0xffffffff };

	if (below(8) == 0)
		return rnd();
	return pool[below(sizeof(pool) / sizeof(pool[0]))];
}

/* Builds one random message into BUF; returns its length. */
static size_t random_message(char *buf, size_t size, int family,
			     pid_t frozen, pid_t dead)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = (struct genlmsghdr *)NLMSG_DATA(nlh);
	size_t len = NLMSG_HDRLEN + GENL_HDRLEN;
	int nattrs = below(6), i;

	memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_type = below(50) ? family : below(64);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (below(2))
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (below(3) == 0)
		nlh->nlmsg_flags |= NLM_F_DUMP;
	if (below(20) == 0)
		nlh->nlmsg_flags |= rnd() & 0xffff;
	nlh->nlmsg_seq = rnd();
	g->cmd = below(10) ? below(HETMIG_CMD_MAX + 3) : rnd();
	g->version = below(10) ? HETMIG_GENL_VERSION : rnd();
	g->reserved = below(20) ? 0 : rnd();

	for (i = 0; i < nattrs && len + 128 < size; i++) {
		struct nlattr *a = (struct nlattr *)(buf + len);
		int type = below(2) ? HETMIG_A_PID : below(HETMIG_A_MAX + 8);
		int alen = (int[]){ 0, 1, 2, 4, 4, 4, 8, 16, 63 }[below(9)];
		uint32_t pid = pick_pid(frozen, dead);

		if (below(10) == 0)
			type |= NLA_F_NESTED;
		a->nla_type = type;
		a->nla_len = NLA_HDRLEN + alen;
		for (int b = 0; b < alen; b++)
			((char *)a)[NLA_HDRLEN + b] = rnd();
		if (alen >= 4)
			memcpy((char *)a + NLA_HDRLEN, &pid, 4);
		/* sometimes claim more than is there, or less than a header */
		if (below(25) == 0)
			a->nla_len = below(2) ? 2 : 4096;
		len += NLA_ALIGN(NLA_HDRLEN + alen);
	}
	nlh->nlmsg_len = len;
	if (below(30) == 0)
		nlh->nlmsg_len = below(2) ? below(NLMSG_HDRLEN + GENL_HDRLEN) : len + 64;
	return len;
}

/* Sends COUNT random messages, reading and dropping whatever comes back. */
static int fuzz(int family, int count, uint64_t seed, pid_t frozen, pid_t dead)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_GENERIC);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char buf[4096], reply[65536];
	int i, sent = 0;

	if (fd < 0)
		return -1;
	rng_state = seed ? seed : 1;
	for (i = 0; i < count; i++) {
		size_t len = random_message(buf, sizeof(buf), family, frozen, dead);

		if (sendto(fd, buf, len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel)) >= 0)
			sent++;
		while (recv(fd, reply, sizeof(reply), MSG_DONTWAIT) > 0)
			;
	}
	close(fd);
	return sent;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *v = getenv(name);

	return v ? strtoull(v, NULL, 0) : fallback;
}

/* The legitimate traffic: freeze and thaw T until told to stop. */
static int freeze_thaw_worker(struct tracee *t, int *stop)
{
	struct nl_sock *sk;
	int family, rounds = 0;

	sk = hetmig_socket(&family);
	if (!sk || tracee_seize(t, 1))
		return 1;
	while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
		struct nl_answer a = {};

		hetmig_transact(sk, hetmig_pid_request(family, HETMIG_CMD_FREEZE,
						       t->pid), &a);
		/* the fuzzer may thaw it under us, or hold it (EBUSY) */
		if (a.error && a.error != -EBUSY)
			return 2;
		memset(&a, 0, sizeof(a));
		hetmig_transact(sk, hetmig_pid_request(family, HETMIG_CMD_THAW,
						       t->pid), &a);
		if (a.error && a.error != -ENOENT)
			return 3;
		rounds++;
	}
	printf("# worker: %d freeze/thaw rounds\n", rounds);
	return 0;
}

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* Minutes, not seconds, under a KASAN kernel in TCG; an hour and more at
 * make fuzz's counts there. The guest's own timeout bounds a hang. */
TEST_F_TIMEOUT(fuzz, the_family, 10800)
{
	uint64_t seed = env_u64("HETMIG_FUZZ_SEED", 1);
	int count = env_u64("HETMIG_FUZZ_COUNT", 20000);
	const char *ko = getenv("HETMIG_KO") ? : "/lib/modules/hetmig.ko";
	struct tracee target = {}, gone = {};
	int *stop, family, status, sent;
	pid_t worker, unpriv;
	struct nl_answer a = {};
	struct nl_sock *sk;

	sk = hetmig_socket(&family);
	ASSERT_NE(NULL, sk);
	if (family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	TH_LOG("seed %llu, %d messages per sender", (unsigned long long)seed, count);

	stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stop);
	target.pid = tracee_start(2, NULL);
	ASSERT_LT(0, target.pid);
	gone.pid = tracee_start(0, NULL);
	tracee_kill(&gone);	/* a pid that was just freed */
	gone.pid = 0;

	worker = fork();
	if (worker == 0)
		_exit(freeze_thaw_worker(&target, stop));
	unpriv = fork();
	if (unpriv == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		_exit(fuzz(family, count, seed + 1, target.pid, 4194303) > 0 ? 0 : 1);
	}

	sent = fuzz(family, count, seed, target.pid, 4194303);
	TH_LOG("root sent %d messages", sent);
	EXPECT_LT(0, sent);

	ASSERT_EQ(unpriv, waitpid(unpriv, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	__atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(worker, waitpid(worker, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* The module still answers, and nothing is left frozen. */
	ASSERT_EQ(0, hetmig_transact(sk, hetmig_request(family,
					HETMIG_CMD_GET_VERSION, 0), &a));
	EXPECT_EQ(0, a.error);
	memset(&a, 0, sizeof(a));
	hetmig_transact(sk, hetmig_pid_request(family, HETMIG_CMD_THAW, target.pid), &a);
	EXPECT_EQ(-ENOENT, a.error);
	nl_socket_free(sk);

	/* The worker, our tracer-child, is gone: the target runs free again. */
	kill(target.pid, SIGKILL);
	waitpid(target.pid, NULL, 0);

	/* And it unloads and loads cleanly. */
	EXPECT_EQ(0, system("rmmod hetmig"));
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "insmod %s", ko);
	EXPECT_EQ(0, system(cmd));
}

/*
 * The rebuild commands, with structure: RESTORE_MM plans of random layout
 * fields and mappings (aligned or not, overlapping, over the vdso, with
 * random descriptors, flags and offsets), sent by a traced child about
 * itself; a plan that happens to be valid replaces the child's memory and
 * stops it, and the next child carries on. Then SET_THREAD with random and
 * mutated register sets and WRITE_PAGES with random ranges, at a stopped
 * tracee.
 */
static unsigned long own_vdso(void)
{
	unsigned long start = 0, end;
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%lx-%lx", &start, &end);
	if (f)
		fclose(f);
	return start;
}

static uint64_t random_addr(unsigned long vdso)
{
	const uint64_t pool[] = { 0, 0x10000000, 0x10001000, 0x10000123,
				  vdso, vdso - 4096, 0x7ffffffff000ULL,
				  0x800000000000ULL, ~0ULL };

	return below(6) ? pool[below(sizeof(pool) / sizeof(pool[0]))] + 4096ULL * below(4)
			: rnd();
}

static struct nl_msg *random_plan(int family, unsigned long vdso)
{
	struct nl_msg *msg = hetmig_request(family, HETMIG_CMD_RESTORE_MM, 0);
	int i, n;

	for (i = HETMIG_A_MM_START_CODE; i <= HETMIG_A_MM_ENV_END; i++)
		if (below(20))
			nla_put_u64(msg, i, below(4) ? 0x10000000 : random_addr(vdso));
	if (below(3) == 0) {
		char auxv[512];
		int len = below(5) ? 16 * below(20) : below(sizeof(auxv));

		for (int b = 0; b < len; b++)
			auxv[b] = rnd();
		nla_put(msg, HETMIG_A_MM_AUXV, len, auxv);
	}
	n = below(6);
	for (i = 0; i < n; i++) {
		struct nlattr *nest = nla_nest_start(msg, HETMIG_A_VMA);
		uint64_t start = random_addr(vdso);

		if (below(10))
			nla_put_u64(msg, HETMIG_A_VMA_START, start);
		if (below(10))
			nla_put_u64(msg, HETMIG_A_VMA_END,
				    below(4) ? start + 4096ULL * (1 + below(4)) : random_addr(vdso));
		if (below(10))
			nla_put_u32(msg, HETMIG_A_VMA_PROT, below(4) ? below(8) : rnd());
		if (below(2))
			nla_put_u32(msg, HETMIG_A_VMA_FLAGS, below(4) ? below(0x80) : rnd());
		if (below(4) == 0)
			nla_put_u32(msg, HETMIG_A_VMA_FD, below(2) ? below(8) : rnd());
		if (below(4) == 0)
			nla_put_u64(msg, HETMIG_A_VMA_PGOFF, below(2) ? 4096 * below(4) : rnd());
		if (below(15) == 0)
			nla_put_u32(msg, HETMIG_A_PID, rnd());	/* does not belong here */
		nla_nest_end(msg, nest);
	}
	if (below(4) == 0)
		nla_put_u32(msg, HETMIG_A_CLOSE_FD, below(64));
	return msg;
}

/* A traced child's loop; *DONE counts its requests in shared memory. */
static void plan_sender(int family, uint64_t seed, int count, int *done)
{
	unsigned long vdso = own_vdso();
	struct nl_sock *sk = hetmig_socket(&family);

	rng_state = seed;
	while (sk && __atomic_load_n(done, __ATOMIC_SEQ_CST) < count) {
		struct nl_answer a = {};

		hetmig_transact(sk, random_plan(family, vdso), &a);
		__atomic_add_fetch(done, 1, __ATOMIC_SEQ_CST);
	}
	_exit(sk ? 0 : 1);
}

static int fuzz_plans(int family, uint64_t seed, int count, int *rebuilt)
{
	int *done = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status, round;

	*rebuilt = 0;
	for (round = 0; *done < count && round < count; round++) {
		int go[2];
		pid_t child;
		char c;

		if (pipe(go))
			return -1;
		child = fork();
		if (child == 0) {
			if (read(go[0], &c, 1) != 1)
				_exit(1);
			plan_sender(family, seed + round, count, done);
		}
		if (ptrace(PTRACE_SEIZE, child, 0, 0) || write(go[1], "g", 1) != 1)
			return -1;
		close(go[0]);
		close(go[1]);
		for (;;) {
			if (waitpid(child, &status, __WALL) != child)
				return -1;
			if (WIFEXITED(status) || WIFSIGNALED(status))
				break;
			if (WSTOPSIG(status) == SIGSTOP && !(status >> 16)) {
				/* a valid plan: its memory was replaced */
				(*rebuilt)++;
				__atomic_add_fetch(done, 1, __ATOMIC_SEQ_CST);
				kill(child, SIGKILL);
				ptrace(PTRACE_CONT, child, 0, 0);
				continue;
			}
			ptrace(PTRACE_CONT, child, 0, status >> 16 ? 0 : WSTOPSIG(status));
		}
	}
	munmap(done, 4096);
	return 0;
}

/*
 * The NT_PRSTATUS words that select the thread's mode and with it the
 * kernel's regset view: cs and ss on x86_64, pstate on arm64.
 */
static void spoil_mode_word(char *data, int len)
{
#if defined(__x86_64__)
	static const int words[] = { 17, 20 };
	static const uint64_t values[] = { 0x23, 0x2b, 0x33, 0x10, 0x18, 0 };
#else
	static const int words[] = { 33 };
	static const uint64_t values[] = { 0x10, 0x1f, 0x5, 0x3c5, 0x20000000 };
#endif
	int w = words[below(sizeof(words) / sizeof(words[0]))];
	uint64_t v = below(4) ? values[below(sizeof(values) / sizeof(values[0]))] : rnd();

	if (len >= (w + 1) * 8)
		memcpy(data + w * 8, &v, 8);
}

/*
 * A dump request for PID on a socket of its own, of which only the first
 * bytes are read before the socket is closed: the module must end the dump
 * (its cursor, its references) without a reader.
 */
static void abandon_dump(int family, int cmd, pid_t pid)
{
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
		struct nlattr a;
		uint32_t pid;
	} req = {
		.n = { .nlmsg_len = sizeof(req), .nlmsg_type = family,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.g = { .cmd = cmd, .version = HETMIG_GENL_VERSION },
		.a = { .nla_len = NLA_HDRLEN + 4, .nla_type = HETMIG_A_PID },
		.pid = pid,
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char some[64];
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);

	if (fd < 0)
		return;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) > 0 &&
	    below(2))
		(void)!recv(fd, some, sizeof(some), 0);
	close(fd);
}

static void fuzz_thread_and_pages(int family, struct nl_sock *sk, struct tracee *t,
				  int count)
{
	static const uint32_t notes[] = { 1, 2, 0x202, 0x401, 0x402, 0x403, 0x404,
					  0x405, 0x406, 0x200, 0x7777 };
	static char data[8192], buf[65536];
	int i;

	for (i = 0; i < count; i++) {
		struct nl_answer a = {};
		struct nl_msg *msg;
		int kind = below(3);

		if (kind == 2) {
			/*
			 * The reading commands and freeze/thaw at a tracee that
			 * is ours and stopped, whose state the other requests
			 * keep changing: the paths that succeed (the random
			 * fuzzer's targets are never its own). Sometimes an
			 * attribute that does not belong, or a dump abandoned
			 * after its first bytes.
			 */
			static const int cmds[] = { HETMIG_CMD_GET_REGS, HETMIG_CMD_GET_MM,
						    HETMIG_CMD_GET_VMAS, HETMIG_CMD_GET_SIGNALS,
						    HETMIG_CMD_FREEZE, HETMIG_CMD_THAW };
			int cmd = cmds[below(sizeof(cmds) / sizeof(cmds[0]))];

			if (below(8) == 0) {
				abandon_dump(family, below(2) ? HETMIG_CMD_GET_VMAS
							      : HETMIG_CMD_GET_REGS, t->pid);
				continue;
			}
			msg = hetmig_pid_request(family, cmd, t->pid);
			if (below(6) == 0)
				nla_put_u32(msg, below(2) ? HETMIG_A_TID : HETMIG_A_VMA_PROT, rnd());
		} else if (kind == 1) {
			/* often: a mode-changing NT_PRSTATUS first, more sets after */
			int mode_first = below(8) == 0;
			int sets = mode_first ? 2 + below(2) : below(4);

			msg = hetmig_pid_request(family, HETMIG_CMD_SET_THREAD, t->pid);
			nla_put_u32(msg, HETMIG_A_TID, below(8) ? t->tids[below(t->nthreads)] : rnd());
			for (int k = 0; k < sets; k++) {
				uint32_t note = mode_first && k == 0 ? NT_PRSTATUS :
						notes[below(sizeof(notes) / sizeof(notes[0]))];
				struct iovec iov = { data, sizeof(data) };
				struct nlattr *nest;
				int len;

				/* the real set, a few bytes flipped, or noise */
				if (ptrace(PTRACE_GETREGSET, t->pid, note, &iov) || below(4) == 0)
					iov.iov_len = below(1024);
				len = iov.iov_len;
				for (int f = below(4); f > 0 && len; f--)
					data[below(len)] = rnd();
				/* a word that decides the thread's mode (issue 18) */
				if (note == NT_PRSTATUS && ((mode_first && k == 0) || below(4) == 0))
					spoil_mode_word(data, len);
				nest = nla_nest_start(msg, HETMIG_A_REGSET);
				nla_put_u32(msg, HETMIG_A_REGSET_NOTE, note);
				nla_put(msg, HETMIG_A_REGSET_DATA, len, data);
				nla_nest_end(msg, nest);
			}
			if (below(2))
				nla_put_u64(msg, HETMIG_A_SIGMASK, rnd());
			if (below(3) == 0) {
				nla_put_u64(msg, HETMIG_A_ALTSTACK_SP, rnd());
				nla_put_u64(msg, HETMIG_A_ALTSTACK_SIZE, below(2) ? rnd() : below(65536));
				nla_put_u32(msg, HETMIG_A_ALTSTACK_FLAGS, rnd());
			}
			if (below(3) == 0)
				nla_put_u64(msg, HETMIG_A_RSEQ, rnd() & ~31ULL);
			if (below(3) == 0)
				nla_put_u64(msg, HETMIG_A_ROBUST_LIST, rnd());
		} else {
			msg = hetmig_pid_request(family, HETMIG_CMD_WRITE_PAGES, t->pid);
			nla_put_u64(msg, HETMIG_A_PAGES_ADDR, below(2) ? (uintptr_t)data : rnd());
			nla_put_u64(msg, HETMIG_A_PAGES_BUF, below(4) ? (uintptr_t)buf : rnd());
			nla_put_u64(msg, HETMIG_A_PAGES_LEN, below(4) ? below(sizeof(buf)) : rnd());
		}
		hetmig_transact(sk, msg, &a);
	}
}

/*
 * The rebuild commands with SEED and COUNT; 0, or a bit per step that
 * could not run. Each step's own answers may be anything but a crash.
 */
static int fuzz_rebuild(uint64_t seed, int count, const char *who)
{
	struct tracee t = {};
	struct nl_answer a = {};
	struct nl_sock *sk;
	int family, rebuilt;

	sk = hetmig_socket(&family);
	if (!sk || family < 0)
		return 1 << 0;
	if (fuzz_plans(family, seed, count, &rebuilt))
		return 1 << 1;
	fprintf(stderr, "# %s: %d RESTORE_MM plans, %d of them valid (the sender was rebuilt)\n",
	       who, count, rebuilt);

	rng_state = seed;
	t.pid = tracee_start(2, NULL);
	if (t.pid <= 0 || tracee_seize(&t, 1))
		return 1 << 2;
	fuzz_thread_and_pages(family, sk, &t, count);
	fprintf(stderr, "# %s: %d SET_THREAD/WRITE_PAGES requests\n", who, count);
	tracee_kill(&t);

	if (hetmig_transact(sk, hetmig_request(family, HETMIG_CMD_GET_VERSION, 0), &a) ||
	    a.error)
		return 1 << 3;
	nl_socket_free(sk);
	return 0;
}

TEST_F_TIMEOUT(fuzz, rebuild_commands, 10800)
{
	uint64_t seed = env_u64("HETMIG_FUZZ_SEED", 1);
	int count = env_u64("HETMIG_FUZZ_COUNT", 20000) / 4;
	int family;
	struct nl_sock *sk = hetmig_socket(&family);

	ASSERT_NE(NULL, sk);
	nl_socket_free(sk);
	if (family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	EXPECT_EQ(0, fuzz_rebuild(seed, count, "root"));
}

/*
 * The same, as an unprivileged user about its own processes: SET_THREAD,
 * WRITE_PAGES and RESTORE_MM are open to any tracer (issue 18 was found
 * this way).
 */
TEST_F_TIMEOUT(fuzz, rebuild_commands_unprivileged, 10800)
{
	uint64_t seed = env_u64("HETMIG_FUZZ_SEED", 1) + 7;
	int count = env_u64("HETMIG_FUZZ_COUNT", 20000) / 4;
	int family, status;
	struct nl_sock *sk = hetmig_socket(&family);
	pid_t pid;

	ASSERT_NE(NULL, sk);
	nl_socket_free(sk);
	if (family < 0)
		SKIP(return, "hetmig.ko is not loaded");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(1000) || setuid(1000) || prctl(PR_SET_DUMPABLE, 1))
			_exit(100);
		_exit(fuzz_rebuild(seed, count, "uid 1000"));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * migratee: the process that the dump/restore and send/recv tests migrate.
 *
 * usage: migratee INPUT STEPS [DELAY_MS]
 *
 * It holds the kinds of state that a migration has to carry over, and
 * after each step prints a checksum of all of it, so that a run that was
 * migrated (once or several times, to the same ISA or the other one) must
 * print exactly what an unmigrated run prints:
 *
 *  - threads: main and three workers, meeting at pthread barriers (futexes);
 *  - FP registers: each thread runs a floating-point recurrence with its
 *    accumulators in registers, most of a step's CPU time;
 *  - TLS: a __thread counter and double per thread, used by the thread
 *    itself (through its thread pointer) and read by main through their
 *    addresses;
 *  - the heap: a malloc'd linked list of a few thousand nodes of mixed
 *    sizes, with some freed and allocated every step (brk and free lists);
 *  - an 8 MiB anonymous mapping, mostly written at start, one 4 KiB block in
 *    eight never touched (holes), and a few words changed every step;
 *  - a file-backed mapping: INPUT mapped MAP_PRIVATE and read every step,
 *    its first 4 KiB written once at start (private copies of file pages);
 *  - an open file: INPUT's descriptor, read with pread every step;
 *  - signals: a SIGUSR1 handler (SA_SIGINFO | SA_RESTART | SA_ONSTACK) on an
 *    alternate stack, raised every step, and SIGUSR2 kept blocked;
 *  - buffered stdout: "step N " goes into stdio's buffer when the step
 *    starts and waits there until the step ends with "sum HEX\n" and fflush;
 *  - a sleep: DELAY_MS (default 50) of nanosleep after each step, restarted
 *    for the time left when interrupted.
 *
 * Output depends only on INPUT's content and STEPS, never on timing, pids,
 * addresses or where the process runs, and is the same on x86_64 and
 * aarch64: doubles see only +, -, *, / and sqrt (correctly rounded in IEEE
 * 754 on both), no long double, and no contraction into fused multiply-add,
 * so this file must be compiled with -ffp-contract=off (checked at start);
 * doubles enter the checksum as bit patterns.
 *
 * stdout: "step N sum HEX" after each step, then "done sum HEX".
 * stderr: "migratee: pid N" at start, and a line for any failed self-check.
 * Exit status: 0, 1 if a self-check failed (state that did not survive),
 * 2 on bad arguments or a failed setup.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if FLT_EVAL_METHOD != 0
#error "doubles must be evaluated in double precision (no x87)"
#endif

#define NTHREADS	4		/* main and three workers */
#define FP_ITERS	800000		/* recurrence steps per thread and step */

#define NODES_START	4096		/* heap list */
#define NODES_MIN	2048
#define NODES_MAX	8192

#define ANON_SIZE	(8UL << 20)	/* anonymous mapping */
#define BLOCK		4096UL		/* not the page size: output must not vary */
#define BLOCK_WORDS	(BLOCK / sizeof(uint64_t))
#define ANON_WORDS	(ANON_SIZE / sizeof(uint64_t))
#define ANON_CHANGES	256		/* words changed per step */

#define FILE_DIRTY	4096UL		/* bytes of INPUT's mapping written at start */
#define PREAD_LEN	16

static int steps;
static bool failed;

/* --- checksum and pseudo-random numbers ---------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t mix_double(uint64_t h, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	return mix(h, bits);
}

/* Bytes eight at a time, read little-endian whatever the host. */
static uint64_t mix_bytes(uint64_t h, const uint8_t *p, size_t len)
{
	uint64_t v;
	size_t i, j;

	for (i = 0; i + 8 <= len; i += 8) {
		v = 0;
		for (j = 0; j < 8; j++)
			v |= (uint64_t)p[i + j] << (8 * j);
		h = mix(h, v);
	}
	v = len;
	for (j = 0; i + j < len; j++)
		v = v << 8 | p[i + j];
	return mix(h, v);
}

/* splitmix64: main's one stream of pseudo-random numbers. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A self-check failed: say so, go on, exit 1 in the end. */
static void check(bool ok, int step, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "migratee: step %d: %s\n", step, what);
	failed = true;
}

/* --- threads: floating-point work and TLS -------------------------------- */

static __thread uint64_t tls_count;
static __thread double tls_acc;

struct fp_out {
	double x, y, z, w;
};

/* One thread's slot; main reads it between the two barriers of a step. */
struct worker {
	pthread_t th;
	unsigned int idx;
	uint64_t *tls_count;		/* this thread's TLS variables */
	double *tls_acc;
	struct fp_out out;
};

static struct worker workers[NTHREADS];	/* [0] is main */
static pthread_barrier_t work_done;	/* every thread has published */
static pthread_barrier_t collected;	/* main has read what they published */
static uint64_t file_seed;

/*
 * A logistic map and three accumulators fed by it, kept in registers for
 * the whole loop. Everything stays finite: x in (0, 1), y below 1000,
 * z below FP_ITERS, |w| below 2000.
 */
static void fp_work(struct fp_out *out, unsigned int idx, uint64_t seed)
{
	double r = 3.9 - 0.01 * idx;
	double x = 0.05 + 0.9 * ((double)(seed >> 11) * 0x1p-53);
	double y = 1.0, z = 0.0, w = 0.5;
	int i;

	for (i = 0; i < FP_ITERS; i++) {
		x = r * x * (1.0 - x);
		y = 0.999 * y + sqrt(x);
		z = z + x / (1.0 + y);
		w = w * 0.75 + (x - 0.5) * y;
	}
	out->x = x;
	out->y = y;
	out->z = z;
	out->w = w;
}

/* A thread's share of a step: FP work, then its TLS, then publish. */
static void thread_step(struct worker *wk, int step)
{
	uint64_t seed;

	seed = mix(mix(mix(file_seed, wk->idx), (uint64_t)step), tls_count);
	fp_work(&wk->out, wk->idx, seed);
	tls_count += 1 + wk->idx;
	tls_acc = tls_acc * 0.5 + wk->out.z / FP_ITERS + wk->out.w * 1e-3;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	int s;

	wk->tls_count = &tls_count;
	wk->tls_acc = &tls_acc;
	for (s = 0; s < steps; s++) {
		thread_step(wk, s);
		pthread_barrier_wait(&work_done);
		pthread_barrier_wait(&collected);
	}
	return NULL;
}

/* What main copies out of the slots before letting the workers go on. */
struct snapshot {
	uint64_t tls_count;
	double tls_acc;
	struct fp_out out;
};

static uint64_t mix_snapshot(uint64_t h, const struct snapshot *sn)
{
	int i;

	for (i = 0; i < NTHREADS; i++) {
		h = mix(h, sn[i].tls_count);
		h = mix_double(h, sn[i].tls_acc);
		h = mix_double(h, sn[i].out.x);
		h = mix_double(h, sn[i].out.y);
		h = mix_double(h, sn[i].out.z);
		h = mix_double(h, sn[i].out.w);
	}
	return h;
}

/* Fails if the compiler fused a * b + c: this needs -ffp-contract=off. */
static bool fp_contract_off(void)
{
	volatile double a = 1.0 + 0x1p-30, b = 1.0 - 0x1p-30, c = -1.0;

	/* a * b = 1 - 2^-60 rounds to 1, unless it is not rounded at all. */
	return a * b + c == 0.0;
}

/* --- the heap: a linked list ------------------------------------------------ */

struct node {
	struct node *next;
	uint64_t val;
	uint32_t len;
	uint8_t data[];
};

static struct node *head;
static int nnodes;

static struct node *node_new(void)
{
	uint32_t len = 8 + rnd() % 249;
	struct node *n = malloc(sizeof(*n) + len);
	uint32_t i;

	if (!n)
		err(2, "malloc");
	n->next = NULL;
	n->val = rnd();
	n->len = len;
	for (i = 0; i < len; i++)
		n->data[i] = (uint8_t)(n->val >> (i % 8 * 8)) ^ (uint8_t)i;
	return n;
}

static void heap_init(void)
{
	struct node **tail = &head;

	for (nnodes = 0; nnodes < NODES_START; nnodes++) {
		*tail = node_new();
		tail = &(*tail)->next;
	}
}

/*
 * One walk over the list: about one node in 128 is replaced by a new one,
 * one in 128 gets a new one after it, one in 128 is freed; every node's
 * value moves on; everything goes into the checksum.
 */
static uint64_t heap_step(uint64_t h)
{
	struct node **pp = &head, *n, *m;

	while ((n = *pp)) {
		switch (rnd() % 128) {
		case 0:
			m = node_new();
			m->next = n->next;
			free(n);
			*pp = n = m;
			break;
		case 1:
			if (nnodes >= NODES_MAX)
				break;
			m = node_new();
			m->next = n->next;
			n->next = m;
			nnodes++;
			break;
		case 2:
			if (nnodes <= NODES_MIN)
				break;
			*pp = n->next;
			free(n);
			nnodes--;
			continue;
		}
		n->val = n->val * 6364136223846793005ULL + 1442695040888963407ULL;
		h = mix(h, n->val);
		h = mix_bytes(h, n->data, n->len);
		pp = &n->next;
	}
	return mix(h, (uint64_t)nnodes);
}

/* --- the anonymous mapping ------------------------------------------------- */

static uint64_t *anon;

/* One block in eight is never written: it stays a hole (or the zero page). */
static bool block_written(size_t b)
{
	return b % 8 != 7;
}

static void anon_init(void)
{
	size_t b, i;

	anon = mmap(NULL, ANON_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		err(2, "mmap anonymous");
	for (b = 0; b < ANON_SIZE / BLOCK; b++) {
		if (!block_written(b))
			continue;
		for (i = 0; i < BLOCK_WORDS; i++)
			anon[b * BLOCK_WORDS + i] = rnd();
	}
}

static uint64_t anon_step(uint64_t h, int step)
{
	size_t b, i;
	int k;

	for (k = 0; k < ANON_CHANGES; k++) {
		b = rnd() % (ANON_SIZE / BLOCK);
		if (!block_written(b))
			b--;
		i = rnd() % BLOCK_WORDS;
		anon[b * BLOCK_WORDS + i] ^= rnd() + (uint64_t)step;
	}
	for (i = 0; i < ANON_WORDS; i++)
		h = mix(h, anon[i]);
	return h;
}

/* --- INPUT: an open file and a private file mapping ------------------------ */

static int file_fd;
static uint8_t *file_map;
static size_t file_size;

static void file_init(const char *path)
{
	struct stat st;
	size_t i;

	file_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (file_fd < 0)
		err(2, "%s", path);
	if (fstat(file_fd, &st) < 0)
		err(2, "%s", path);
	if (!S_ISREG(st.st_mode))
		errx(2, "%s: not a regular file", path);
	if (st.st_size == 0)
		errx(2, "%s: empty file", path);
	file_size = st.st_size;
	file_map = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			file_fd, 0);
	if (file_map == MAP_FAILED)
		err(2, "mmap %s", path);

	/* Everything else is seeded from the content, before it is changed. */
	file_seed = mix_bytes(0, file_map, file_size);
	rnd_state = file_seed;

	for (i = 0; i < file_size && i < FILE_DIRTY; i++)
		file_map[i] ^= (uint8_t)(i * 37 + 11);
}

static uint64_t file_step(uint64_t h, int step)
{
	uint8_t buf[PREAD_LEN];
	size_t off = rnd() % file_size, len = file_size - off, i;
	ssize_t got;

	if (len > PREAD_LEN)
		len = PREAD_LEN;
	got = pread(file_fd, buf, len, off);
	if (got < 0)
		err(2, "pread");
	check((size_t)got == len, step, "short pread of INPUT");
	/* Past the bytes written at start, the mapping is still the file. */
	for (i = 0; i < (size_t)got; i++)
		if (off + i >= FILE_DIRTY && buf[i] != file_map[off + i]) {
			check(false, step, "INPUT and its mapping differ");
			break;
		}
	h = mix(h, off);
	h = mix_bytes(h, buf, got);
	return mix_bytes(h, file_map, file_size);
}

/* --- signals --------------------------------------------------------------- */

static volatile sig_atomic_t sig_count;
static volatile sig_atomic_t sig_bad;	/* wrong signal, info or stack */
static uint8_t *altstack;
static size_t altstack_size;

static void on_sigusr1(int sig, siginfo_t *si, void *uc)
{
	uintptr_t here = (uintptr_t)&here;

	(void)uc;
	if (sig != SIGUSR1 || si->si_code != SI_TKILL ||
	    here < (uintptr_t)altstack ||
	    here >= (uintptr_t)altstack + altstack_size)
		sig_bad++;
	sig_count++;
}

static void signals_init(void)
{
	struct sigaction sa;
	stack_t ss;
	sigset_t set;

	altstack_size = 65536;
	if (altstack_size < (size_t)SIGSTKSZ)
		altstack_size = SIGSTKSZ;
	altstack = mmap(NULL, altstack_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (altstack == MAP_FAILED)
		err(2, "mmap signal stack");
	ss.ss_sp = altstack;
	ss.ss_size = altstack_size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) < 0)
		err(2, "sigaltstack");

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigusr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		err(2, "sigaction");

	/* Blocked in every thread (they inherit it); checked every step. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		err(2, "sigprocmask");
}

static uint64_t signal_step(uint64_t h, int step)
{
	sigset_t set;

	if (raise(SIGUSR1))
		check(false, step, "raise(SIGUSR1) failed");
	check(sig_count == step + 1, step, "SIGUSR1 handler count is off");
	check(!sig_bad, step, "SIGUSR1 handler: bad siginfo or not on the altstack");
	sigprocmask(SIG_BLOCK, NULL, &set);
	check(sigismember(&set, SIGUSR2) == 1, step, "SIGUSR2 is no longer blocked");
	h = mix(h, (uint64_t)sig_count);
	h = mix(h, (uint64_t)sig_bad);
	return mix(h, (uint64_t)sigismember(&set, SIGUSR2));
}

/* --- main ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: migratee INPUT STEPS [DELAY_MS]\n");
	exit(2);
}

static int parse_num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX)
		usage();
	return v;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void out_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		err(2, "stdout");
}

int main(int argc, char **argv)
{
	struct snapshot snap[NTHREADS];
	uint64_t sum = 0;
	int delay = 50, s, i;

	if (argc < 3 || argc > 4)
		usage();
	steps = parse_num(argv[2]);
	if (argc > 3)
		delay = parse_num(argv[3]);
	fprintf(stderr, "migratee: pid %d\n", (int)getpid());
	if (!fp_contract_off())
		errx(2, "built with FP contraction: compile with -ffp-contract=off");

	file_init(argv[1]);
	heap_init();
	anon_init();
	signals_init();

	if (pthread_barrier_init(&work_done, NULL, NTHREADS) ||
	    pthread_barrier_init(&collected, NULL, NTHREADS))
		errx(2, "pthread_barrier_init failed");
	workers[0].idx = 0;
	workers[0].tls_count = &tls_count;
	workers[0].tls_acc = &tls_acc;
	for (i = 1; i < NTHREADS; i++) {
		workers[i].idx = i;
		errno = pthread_create(&workers[i].th, NULL, worker_main,
				       &workers[i]);
		if (errno)
			err(2, "pthread_create");
	}

	for (s = 0; s < steps; s++) {
		/* Sits in stdio's buffer for the whole step. */
		printf("step %d ", s);

		thread_step(&workers[0], s);
		pthread_barrier_wait(&work_done);
		for (i = 0; i < NTHREADS; i++) {
			snap[i].tls_count = *workers[i].tls_count;
			snap[i].tls_acc = *workers[i].tls_acc;
			snap[i].out = workers[i].out;
		}
		/* The workers go on with the next step while main goes on here. */
		pthread_barrier_wait(&collected);

		sum = mix(sum, (uint64_t)s);
		sum = mix_snapshot(sum, snap);
		sum = heap_step(sum);
		sum = anon_step(sum, s);
		sum = file_step(sum, s);
		sum = signal_step(sum, s);
		printf("sum %016" PRIx64 "\n", sum);
		out_flush();

		sleep_ms(delay);
	}

	for (i = 1; i < NTHREADS; i++) {
		errno = pthread_join(workers[i].th, NULL);
		if (errno)
			err(2, "pthread_join");
	}
	sum = mix(sum, tls_count);
	sum = mix_double(sum, tls_acc);
	sum = mix(sum, (uint64_t)nnodes);
	sum = mix(sum, (uint64_t)sig_count);
	printf("done sum %016" PRIx64 "\n", sum);
	out_flush();
	return failed ? 1 : 0;
}

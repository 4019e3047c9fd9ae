// SPDX-License-Identifier: GPL-2.0
/*
 * postcopy: memory that `hetmig send --lazy` leaves on the source, used on
 * the destination at once in each way that changes an address space under
 * a userfaultfd (tools/test/migrate-test).
 *
 * usage: postcopy ARRIVED_FILE [tree]
 *
 * Fills four regions of 8 MiB (each page's words follow from its region and
 * number), prints "ready", and waits until ARRIVED_FILE exists, which only
 * the destination has. Then, while the pages are still coming:
 *   fork     a child checks region 1 whole (its pages come through the
 *            userfaultfd the kernel made it at the fork) and exits 0 or 1;
 *   kernel   region 0 goes through a pipe, page by page: write(2) reads the
 *            pages in the kernel, which must wait for them, not fail;
 *   mremap   region 2 is moved elsewhere and checked there;
 *   madvise  the first half of region 3 is dropped (MADV_DONTNEED: zeros
 *            now, not what the source had), the second half checked;
 *   munmap   the second half of region 0 is unmapped, the first checked.
 * Prints "postcopy: ok" and exits 0, or what differs and exits 1.
 *
 * With "tree" it has a child before the move (the two move as a tree): the
 * child rewrites region 1 with words of its own (its pages differ from its
 * parent's at the same addresses), waits for ARRIVED_FILE too and checks
 * them; the parent counts the child's verdict in its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REGION (8UL << 20)
#define PAGE 4096UL
#define WORDS (PAGE / 8)

static uint64_t word(int region, size_t page, size_t k)
{
	uint64_t x = (region + 1) * 0x9e3779b97f4a7c15ULL ^ (page + 1) * 0xbf58476d1ce4e5b9ULL ^ k;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	return x ^ x >> 29;
}

static int page_ok(const uint64_t *p, int region, size_t page)
{
	size_t k;

	for (k = 0; k < WORDS; k++)
		if (p[k] != word(region, page, k))
			return 0;
	return 1;
}

/* Pages [FIRST, LAST) of REGION at BASE as they were written. */
static int check(const char *what, const uint8_t *base, int region, size_t first, size_t last)
{
	size_t i;

	for (i = first; i < last; i++)
		if (!page_ok((const uint64_t *)(base + i * PAGE), region, i)) {
			printf("postcopy: %s: page %zu of region %d differs\n", what, i, region);
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10000000 };
	uint8_t *r[4], buf[PAGE];
	int i, fds[2], status, bad = 0;
	size_t n, k;
	void *to;
	pid_t child, member = -1;

	if (argc < 2 || (argc == 3 && strcmp(argv[2], "tree")) || argc > 3) {
		fprintf(stderr, "usage: postcopy ARRIVED_FILE [tree]\n");
		return 2;
	}
	for (i = 0; i < 4; i++) {
		/* Apart from each other: no two regions merge into one mapping. */
		r[i] = mmap(NULL, REGION + PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r[i] == MAP_FAILED)
			return perror("postcopy: mmap"), 2;
		mprotect(r[i] + REGION, PAGE, PROT_NONE);
		for (n = 0; n < REGION / PAGE; n++)
			for (k = 0; k < WORDS; k++)
				((uint64_t *)(r[i] + n * PAGE))[k] = word(i, n, k);
	}
	if (argc == 3) {
		member = fork();
		if (member < 0)
			return perror("postcopy: fork"), 2;
		if (member == 0) {
			for (n = 0; n < REGION / PAGE; n++)
				for (k = 0; k < WORDS; k++)
					((uint64_t *)(r[1] + n * PAGE))[k] = word(5, n, k);
			while (access(argv[1], F_OK))
				nanosleep(&tick, NULL);
			_exit(check("tree member", r[1], 5, 0, REGION / PAGE));
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (access(argv[1], F_OK))
		nanosleep(&tick, NULL);

	child = fork();
	if (child < 0)
		return perror("postcopy: fork"), 2;
	if (child == 0)
		_exit(check("fork", r[1], 1, 0, REGION / PAGE));

	if (pipe(fds))
		return perror("postcopy: pipe"), 2;
	for (n = 0; n < REGION / PAGE / 2; n++) {
		if (write(fds[1], r[0] + n * PAGE, PAGE) != (ssize_t)PAGE ||
		    read(fds[0], buf, PAGE) != (ssize_t)PAGE) {
			printf("postcopy: kernel: page %zu through a pipe: %s\n", n, strerror(errno));
			bad = 1;
			break;
		}
		if (!page_ok((const uint64_t *)buf, 0, n)) {
			printf("postcopy: kernel: page %zu of region 0 differs\n", n);
			bad = 1;
			break;
		}
	}

	to = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED ||
	    mremap(r[2], REGION, REGION, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to)
		return perror("postcopy: mremap"), 2;
	bad |= check("mremap", to, 2, 0, REGION / PAGE);

	if (madvise(r[3], REGION / 2, MADV_DONTNEED))
		return perror("postcopy: madvise"), 2;
	for (n = 0; n < REGION / 2; n++)
		if (r[3][n]) {
			printf("postcopy: madvise: byte %zu of a dropped page is not zero\n", n);
			bad = 1;
			break;
		}
	bad |= check("madvise", r[3], 3, REGION / PAGE / 2, REGION / PAGE);

	if (munmap(r[0] + REGION / 2, REGION / 2))
		return perror("postcopy: munmap"), 2;
	bad |= check("munmap", r[0], 0, 0, REGION / PAGE / 2);

	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("postcopy: fork: the child found its memory wrong\n");
		bad = 1;
	}
	if (member > 0 && (waitpid(member, &status, 0) != member || !WIFEXITED(status) ||
			   WEXITSTATUS(status))) {
		printf("postcopy: tree member: its memory was wrong\n");
		bad = 1;
	}
	printf("postcopy: %s\n", bad ? "failed" : "ok");
	return bad;
}

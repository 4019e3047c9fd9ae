// SPDX-License-Identifier: GPL-2.0
/*
 * manymaps: a process with thousands of mappings, for dump_restore.sh.
 * More mappings than a page-sized netlink request can describe once made
 * `hetmig restore` refuse it; a real daemon holds hundreds (every shared
 * library is four or five, every thread stack two).
 *
 * usage: manymaps COUNT [FILE]
 *
 * It maps COUNT one-page anonymous mappings side by side (with FILE: each
 * a private mapping of FILE's first page, as a program that maps one file
 * many times), read-write and read-only by turns so that the kernel
 * cannot merge them, writes each
 * one's index into it, prints "manymaps: COUNT mappings" and waits for
 * SIGTERM. Then it checks every mapping (its protection, from
 * /proc/self/maps, and its contents) and prints "manymaps: COUNT intact"
 * and exits 0, or names the first one that is not and exits 1.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

/* The protection /proc/self/maps gives the page at ADDR, or "" if unmapped. */
static const char *prot_of(uintptr_t addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char perms[5];

	out[0] = '\0';
	if (!f)
		return out;
	while (fscanf(f, "%lx-%lx %4s %*[^\n]", &lo, &hi, perms) == 3)
		if (addr >= lo && addr < hi) {
			memcpy(out, perms, 5);
			break;
		}
	fclose(f);
	return out;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE), count, i;
	char *base;
	char prot[5];

	int fd = -1;

	if (argc < 2 || argc > 3 || (count = atol(argv[1])) <= 0 || count > 60000) {
		fprintf(stderr, "usage: manymaps COUNT (1-60000) [FILE]\n");
		return 2;
	}
	if (argc == 3 && (fd = open(argv[2], O_RDONLY)) < 0) {
		perror("manymaps: open");
		return 2;
	}
	signal(SIGTERM, on_term);
	base = mmap(NULL, count * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("manymaps: mmap");
		return 2;
	}
	for (i = 0; i < count; i++) {
		char *p = base + i * page;

		if (mmap(p, page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0) == MAP_FAILED) {
			perror("manymaps: mmap");
			return 2;
		}
		memcpy(p, &i, sizeof(i));
		if (i % 2 && mprotect(p, page, PROT_READ)) {
			perror("manymaps: mprotect");
			return 2;
		}
	}
	if (fd >= 0)
		close(fd);	/* the mappings hold the file, as a program's would */
	printf("manymaps: %ld mappings\n", count);
	fflush(stdout);
	while (!done)
		pause();
	for (i = 0; i < count; i++) {
		char *p = base + i * page;
		const char *want = i % 2 ? "r--p" : "rw-p";
		long v;

		/* Every 97th only: reading the maps for each would take minutes. */
		if (i % 97 == 0 && strcmp(prot_of((uintptr_t)p, prot), want)) {
			printf("manymaps: mapping %ld is %s, not %s\n", i, prot, want);
			return 1;
		}
		memcpy(&v, p, sizeof(v));
		if (v != i) {
			printf("manymaps: mapping %ld holds %ld\n", i, v);
			return 1;
		}
	}
	printf("manymaps: %ld intact\n", count);
	return 0;
}

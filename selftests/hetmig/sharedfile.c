// SPDX-License-Identifier: GPL-2.0
/*
 * sharedfile: a process that writes a file through a shared mapping, as a
 * database does its pages or SQLite its -shm index, for dump_restore.sh.
 *
 * usage: sharedfile FILE   (FILE is made, 4 pages)
 *
 *   RW  FILE's pages 0-1 mapped MAP_SHARED, PROT_READ | PROT_WRITE, a
 *       pattern written into page 0 through it
 *   RO  FILE's pages 2-3 mapped MAP_SHARED, PROT_READ only, from the same
 *       open for reading and writing (so it may become writable)
 *   PV  FILE's page 0 mapped MAP_PRIVATE, a byte of it written (a copy of
 *       its own)
 * "sharedfile: ready", then waits for SIGTERM. Then: RW still holds the
 * pattern, and so does FILE read anew by path (the mapping is the file);
 * a write through RW shows in FILE at once; RO made writable (mprotect)
 * writes into FILE; PV still holds its private byte, which FILE does not.
 * "sharedfile: intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static int fail(const char *what)
{
	printf("sharedfile: %s\n", what);
	return 1;
}

static unsigned char at(long i)
{
	return (unsigned char)(i * 29 + 3);
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *rw, *ro, *pv, buf[64];
	int fd;

	if (argc != 2)
		return fail("usage: sharedfile FILE");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4 * page))
		return fail("making FILE");
	rw = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ro = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 2 * page);
	pv = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (rw == MAP_FAILED || ro == MAP_FAILED || pv == MAP_FAILED)
		return fail("mmap");
	close(fd);
	for (long i = 0; i < page; i++)
		rw[i] = at(i);
	pv[page - 1] = 0xee;	/* its own copy of page 0 */
	printf("sharedfile: ready\n");
	while (!done)
		usleep(20000);

	for (long i = 0; i < page - 1; i++)
		if (rw[i] != at(i) || pv[i] != at(i))
			return fail("the pattern is not in the mappings");
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return fail("reading FILE anew");
	for (int i = 0; i < (int)sizeof(buf); i++)
		if (buf[i] != at(i))
			return fail("FILE does not hold what was written through RW");
	memcpy(rw + 100, "after", 5);
	if (pread(fd, buf, 5, 100) != 5 || memcmp(buf, "after", 5))
		return fail("a write through RW does not show in FILE: not the file");
	if (mprotect(ro, 2 * page, PROT_READ | PROT_WRITE))
		return fail("RO cannot be made writable, as its open allowed");
	memcpy(ro + 7, "ro-now-rw", 9);
	if (pread(fd, buf, 9, 2 * page + 7) != 9 || memcmp(buf, "ro-now-rw", 9))
		return fail("a write through RO does not show in FILE");
	if (pv[page - 1] != 0xee || pread(fd, buf, 1, page - 1) != 1 ||
	    buf[0] != at(page - 1))
		return fail("PV's private byte lost, or in FILE");
	printf("sharedfile: intact\n");
	return 0;
}

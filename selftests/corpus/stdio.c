/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stdio: output that sits in stdio buffers across migration points.
 * stdout is fully buffered with a 64 KiB buffer, so most lines are still
 * in musl's FILE buffer (static data and a heap or static buffer) when a
 * move happens and are written on the destination. A second stream from
 * open_memstream() grows a heap buffer; snprintf() formats into a stack
 * buffer that a callee fills and the caller prints.
 */
/* open_memstream is POSIX 2008, not C11. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static char outbuf[65536];

/* Formats into the caller's stack buffer. */
static int describe(char *dst, size_t size, long i, unsigned h)
{
	int n;

	n = snprintf(dst, size, "line %6ld hash %08x %s", i, h,
		     i % 3 == 0 ? "fizz" : i % 5 == 0 ? "buzz" : "-");
	return n;
}

static unsigned hash_step(unsigned h, long i)
{
	return (h ^ (unsigned)i) * 16777619u;
}

static void emit_tree(FILE *f, int depth, long id)
{
	if (depth == 0) {
		fprintf(f, "(%ld)", id);
		return;
	}
	fputc('[', f);
	emit_tree(f, depth - 1, id * 2);
	fputc(',', f);
	emit_tree(f, depth - 1, id * 2 + 1);
	fputc(']', f);
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	char line[96];
	unsigned h = 2166136261u, mh = 0;
	long i, lines = 4000 * scale;
	char *mem = NULL;
	size_t memlen = 0, k;
	FILE *ms;
	int n;

	if (setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf)) != 0)
		return 1;
	for (i = 0; i < lines; i++) {
		CORPUS_POINT();
		h = hash_step(h, i);
		n = describe(line, sizeof(line), i, h);
		if (i % 7 == 0) {
			printf("%s (%d)\n", line, n);
		} else {
			fputs(line, stdout);
			putchar('\n');
		}
	}
	ms = open_memstream(&mem, &memlen);
	if (!ms)
		return 1;
	for (i = 0; i < 40 * scale; i++)
		emit_tree(ms, 10, i);
	if (fclose(ms) != 0)
		return 1;
	for (k = 0; k < memlen; k++)
		mh = mh * 31 + (unsigned char)mem[k];
	printf("memstream %zu bytes hash %08x head %.40s\n", memlen, mh, mem);
	free(mem);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tls: thread-local state of the main thread. __thread counters, an array
 * and a pointer to a literal change at every level of a recursion, so a
 * move at any point must carry the TLS block's bytes to the destination's
 * layout (x86_64 keeps it below the thread pointer, aarch64 above). errno,
 * musl's own TLS, is set by strtol and read after more calls.
 *
 * Not done here, on purpose: storing the address of a __thread variable.
 * That address differs between the ISAs' TLS layouts and is not a
 * pointer the converter maps (README.md, open questions).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "corpus.h"

static __thread unsigned long calls;
static __thread unsigned long depth_max;
static __thread unsigned hist[16];
static __thread const char *last_kind = "none";
__thread int tls_initialised = 42;   /* .tdata, not .tbss */

static unsigned long visit(unsigned long n, unsigned long depth)
{
	unsigned long a, b;

	calls++;
	if (depth > depth_max)
		depth_max = depth;
	hist[n % 16]++;
	if (n < 3) {
		last_kind = n ? "leaf" : "zero";
		return n + 1;
	}
	last_kind = "inner";
	a = visit(n / 2, depth + 1);
	b = visit(n / 3, depth + 1);
	return a * 3 + b + (unsigned long)tls_initialised;
}

static int parse_big(const char *s)
{
	long v;

	errno = 0;
	v = strtol(s, NULL, 10);
	return v == 0 ? -1 : 0;
}

static unsigned long chain(unsigned long n)
{
	unsigned long r;

	calls++;
	if (n == 0)
		return calls;
	r = chain(n - 1);
	return r;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	unsigned long sum = 0, v, c;
	long i;
	int j, bad, saved;

	for (i = 0; i < 800 * scale; i++) {
		CORPUS_POINT();
		v = visit((unsigned long)(i % 800) * 97 + 1000, 0);
		sum += v;
		tls_initialised = (int)(sum % 1000);
	}
	printf("visits %ld sum %lu calls %lu depth %lu last %s\n",
	       800 * scale, sum, calls, depth_max, last_kind);
	for (j = 0; j < 16; j++)
		printf("hist[%d] = %u\n", j, hist[j]);

	/* errno set, then many migration points, then read. */
	bad = parse_big("99999999999999999999999");
	saved = errno;
	c = chain(250);
	printf("strtol ok %d errno ERANGE %d, errno after chain(250) still ERANGE %d, calls %lu\n",
	       bad, saved == ERANGE, errno == ERANGE, c);
	return 0;
}

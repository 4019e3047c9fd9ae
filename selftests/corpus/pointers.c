/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pointers: pointers to string literals (in a global table, in heap
 * records, in locals) and pointers to stack variables. main's local array
 * is passed down a recursion; each level keeps a pointer into it in a
 * local, heap records point into it, a callee writes a caller's local
 * through a pointer, and a pointer to a pointer on the stack is followed.
 * The literal pointers must mean the same on both builds; the stack
 * pointers must be moved to the destination address of what they point
 * into, wherever they are stored (stack or heap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#define SLOTS 64
#define DEPTH 48

static const char *const colours[] = { "red", "green", "blue", "cyan", "magenta" };

struct ref {
	int *target;         /* into main's stack array */
	const char *tag;     /* a string literal */
	long *counter;       /* a local of main */
};

/* Heap records pointing into the stack: the converter must find these. */
static struct ref *refs;

static void fill(int *buf, int n, int seed)
{
	int i;

	for (i = 0; i < n; i++)
		buf[i] = (seed * 7 + i * 13) % 101;
}

static long walk(int *base, int *cur, int depth, const char *label, long *hits)
{
	int *mine = base + depth % SLOTS;   /* a pointer into the caller's array */
	const char *tag = colours[depth % 5];
	char local[16];                     /* a local of this frame... */
	char *lp = local;                   /* ...and a pointer to it */
	long below;

	strcpy(local, tag);
	refs[depth].target = mine;
	refs[depth].tag = depth % 2 ? "odd" : "even";
	refs[depth].counter = hits;
	*cur = (*cur + *mine) % 1000003;
	if (depth == DEPTH) {
		++*hits;
		return (long)strlen(label) + *cur;
	}
	below = walk(base, cur, depth + 1, tag, hits);
	/* Everything this frame holds must still be right after the call. */
	if (mine != base + depth % SLOTS || lp != local || strcmp(lp, tag) != 0)
		abort();
	return below + *mine + lp[0];
}

static void bump_through(char **pp, long *out)
{
	*out += (*pp)[0] + (*pp)[1];
	*pp += 1;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	int buf[SLOTS];
	int cursor = 0;
	long hits = 0, total = 0, r, w, i, tags = 0;
	char word[] = "migration";
	char *wp = word;
	const char *greeting = "hello, other machine";

	refs = calloc(DEPTH + 1, sizeof(*refs));
	if (!refs)
		return 1;
	for (r = 0; r < 40000 * scale; r++) {
		CORPUS_POINT();
		fill(buf, SLOTS, (int)r);
		w = walk(buf, &cursor, 0, greeting, &hits);
		total += w;
		/* The heap records still point into buf and at literals. */
		for (i = 0; i <= DEPTH; i++) {
			if (refs[i].target != &buf[i % SLOTS] || refs[i].counter != &hits)
				abort();
			tags += refs[i].tag[0] + *refs[i].target;
		}
		wp = word + r % 4;
		bump_through(&wp, &total);
		if (wp != word + r % 4 + 1)
			abort();
	}
	printf("walks %ld hits %ld cursor %d total %ld tags %ld\n",
	       40000 * scale, hits, cursor, total, tags);
	printf("%s: %s %s %s\n", greeting, colours[0], refs[DEPTH].tag, wp);
	free(refs);
	return 0;
}

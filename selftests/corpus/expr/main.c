/* SPDX-License-Identifier: GPL-2.0 */
/*
 * expr: generates random expressions as text (recursively, into a heap
 * buffer), parses and evaluates them with lexer.c and parser.c, and
 * prints their values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../corpus.h"
#include "expr.h"

long vars[NVARS];

struct text {
	char *buf;
	size_t len, cap;
};

static void put(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf)
			abort();
	}
	memcpy(t->buf + t->len, s, n + 1);
	t->len += n;
}

static void gen(struct text *t, int depth)
{
	static const char *const ops[] = { " + ", " - ", " * ", " / " };
	char num[24];
	unsigned r;

	r = corpus_rand();
	if (depth == 0 || r % 7 == 0) {
		if (r % 3 == 0) {
			num[0] = (char)('a' + r / 3 % NVARS);
			num[1] = '\0';
		} else {
			snprintf(num, sizeof(num), "%u", r % 100000);
		}
		put(t, num);
		return;
	}
	if (r % 11 == 0)
		put(t, "-");
	put(t, "(");
	gen(t, depth - 1);
	put(t, ops[r / 7 % 4]);
	gen(t, depth - 1);
	put(t, ")");
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	struct text t = { NULL, 0, 0 };
	struct node *tree;
	long i, v, sum = 0;
	int k;

	for (k = 0; k < NVARS; k++)
		vars[k] = (k + 1) * 1009;
	for (i = 0; i < 1500 * scale; i++) {
		CORPUS_POINT();
		t.len = 0;
		put(&t, "");
		gen(&t, 2 + (int)(i % 9));
		tree = parse(t.buf);
		v = eval(tree);
		free_tree(tree);
		sum = (sum * 31 + v) % MOD;
		vars[i % NVARS] = v;
		if (i % 250 == 0)
			printf("expr %ld (%zu chars): %.48s... = %ld\n", i, t.len, t.buf, v);
	}
	printf("expressions %ld nodes %ld tokens %ld checksum %ld\n",
	       1500 * scale, nodes_made, lex.tokens, sum);
	free(t.buf);
	return 0;
}

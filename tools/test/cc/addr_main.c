// SPDX-License-Identifier: GPL-2.0
/*
 * Prints addresses and TLS offsets that must be the same in both builds of
 * a pair: functions, globals, string literals, libc objects, heap. The
 * output of OUT.x86_64 and OUT.aarch64 must be identical.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hetmig.h"
#include "shapes.h"

static const char *greeting = "hello from " WHERE;
static int counter;
int table[64] = { 1, 2, 3 };
__thread long tls_a = 5;
__thread char tls_buf[100];

static void helper(void)	/* a static function: also in shapes.c */
{
	counter++;
}

#define P(what, ptr) printf("%-28s %p\n", what, (void *)(ptr))
#define T(what, ptr) printf("%-28s tls+%ld\n", what, \
	(long)((char *)(ptr) - ((char *)&__hetmig_tls_anchor)))

int main(int argc, char **argv)
{
	const struct shape *s;
	double area;
	char *heap;

	(void)argc;
	(void)argv;
	helper();
	P("main", main);
	P("helper", helper);
	P("circle", circle);
	P("table", table);
	P("counter", &counter);
	P("greeting literal", greeting);
	P("inline literal", "an inline literal");
	P("printf", printf);
	P("malloc", malloc);
	P("stdout", stdout);
	P("sqrt", sqrt);
	P("__hetmig_rt", &__hetmig_rt);
	P("__hetmig_park", __hetmig_park);
	P("__hetmig_resume", __hetmig_resume);
	T("tls_a", &tls_a);
	T("tls_buf", tls_buf);
	T("calls", &calls);
	heap = malloc(100);
	strcpy(heap, greeting);
	printf("%s\n", heap);
	for (s = shapes; s->name; s++) {
		P(s->name, s->name);
		/* A whole statement: no temporary is live across the call. */
		area = s->area(2.0);
		printf("%s(2) = %.6f\n", s->name, area);
	}
	printf("calls %d counter %d\n", calls, counter);
	free(heap);
	return 0;
}

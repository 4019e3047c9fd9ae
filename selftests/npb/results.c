// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

char parse_class(int argc, char **argv, const char *name)
{
	if (argc == 2 && (strcmp(argv[1], "S") == 0 || strcmp(argv[1], "W") == 0))
		return argv[1][0];
	fprintf(stderr, "usage: %s S|W\n", argc > 0 ? argv[0] : name);
	return 0;
}

void print_results(const struct npb_result *r)
{
	printf("\n %s Benchmark Completed.\n", r->name);
	printf(" Class           = %12c\n", r->cls);
	if (r->size[1] == 0 && r->size[2] == 0)
		printf(" Size            = %12ld\n", r->size[0]);
	else
		printf(" Size            = %4ldx%4ldx%4ld\n",
		       r->size[0], r->size[1], r->size[2]);
	printf(" Iterations      = %12d\n", r->iterations);
	printf(" Operation type  = %24s\n", r->operation);
	printf(" Verification    = %12s\n",
	       r->verified ? "SUCCESSFUL" : "UNSUCCESSFUL");
}

void *npb_alloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

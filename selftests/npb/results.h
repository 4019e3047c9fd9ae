/* SPDX-License-Identifier: GPL-2.0 */
/* What each kernel reports, printed the same way by all of them. */
#ifndef NPB_RESULTS_H
#define NPB_RESULTS_H

#include <stddef.h>

struct npb_result {
	const char *name;       /* "IS", "EP", ... */
	char cls;               /* 'S' or 'W' */
	long size[3];           /* problem size; unused dimensions are 0 */
	int iterations;
	const char *operation;  /* what the kernel counts */
	int verified;
};

/* the class letter of argv[1]: 'S' or 'W', or 0 (after a message) */
char parse_class(int argc, char **argv, const char *name);
void print_results(const struct npb_result *r);
/* malloc, or a message and exit status 2 */
void *npb_alloc(size_t size);

#endif

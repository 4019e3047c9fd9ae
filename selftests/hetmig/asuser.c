// SPDX-License-Identifier: GPL-2.0
/*
 * asuser UID GID[,GROUP...] COMMAND [ARG...]: runs COMMAND as that user
 * and group, with those supplementary groups or none (the guests' busybox
 * has no su that takes numbers). For dump_restore.sh's restores by a
 * receiver that is not root, and its supplementary groups test.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: asuser UID GID COMMAND [ARG...]\n");
		return 2;
	}
	gid_t groups[32];
	size_t n = 0;
	char *list = strchr(argv[2], ',');

	while (list && n < 32) {
		groups[n++] = (gid_t)atoi(list + 1);
		list = strchr(list + 1, ',');
	}
	if (setgroups(n, groups) || setgid(atoi(argv[2])) || setuid(atoi(argv[1]))) {
		perror("asuser");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror("asuser: exec");
	return 127;
}

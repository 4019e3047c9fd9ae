// SPDX-License-Identifier: GPL-2.0
/*
 * asuser UID GID COMMAND [ARG...]: runs COMMAND as that user and group,
 * without supplementary groups (the guests' busybox has no su that takes
 * numbers). For dump_restore.sh's restores by a receiver that is not root.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: asuser UID GID COMMAND [ARG...]\n");
		return 2;
	}
	if (setgroups(0, NULL) || setgid(atoi(argv[2])) || setuid(atoi(argv[1]))) {
		perror("asuser");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror("asuser: exec");
	return 127;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * ticker: the program `make demo` moves between hosts. Every half second it
 * prints its tick, the host it runs on and its pid, so a move shows as the
 * host name changing between two ticks while the count and the running sum
 * go on.
 *
 * usage: ticker [TICKS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 20;
	unsigned long sum = 0;
	char host[64];
	int i;

	for (i = 1; i <= ticks; i++) {
		struct timespec half = { 0, 500000000 };

		if (gethostname(host, sizeof(host)))
			host[0] = '\0';
		sum = sum * 31 + (unsigned long)i;
		printf("tick %2d/%d on %s (pid %d), running sum %lx\n",
		       i, ticks, host, getpid(), sum);
		fflush(stdout);
		while (nanosleep(&half, &half))
			;
	}
	printf("ticker: done\n");
	return 0;
}

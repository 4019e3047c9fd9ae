// SPDX-License-Identifier: GPL-2.0
/*
 * raiser: a process that raises SIGUSR1 at itself over and over and checks
 * after each raise() that its handler ran, for companion.sh: stopping a
 * process (hetmig inspect, freeze, dump, send) must not lose a signal it
 * was about to take.
 *
 * usage: raiser
 *
 * Runs until SIGTERM, then prints "raiser: N raised, M lost" and exits 0
 * if no signal was lost, 1 otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t handled, stop;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	unsigned long raised = 0, lost = 0;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		sig_atomic_t before = handled;

		/* A signal raised at oneself is handled before raise() returns. */
		raise(SIGUSR1);
		raised++;
		if (handled == before)
			lost++;
	}
	printf("raiser: %lu raised, %lu lost\n", raised, lost);
	return lost ? 1 : 0;
}

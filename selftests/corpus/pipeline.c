/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pipeline: three threads in a row. The producer generates records and
 * writes them into a pipe; the filter reads the pipe, transforms each
 * record and puts it on a bounded queue (a ring guarded by a mutex, with
 * "not empty" and "not full" condition variables); the consumer takes
 * them off the queue and prints a running digest. The pipe and the queue
 * keep their order, so the output is the same whoever waits for whom: a
 * move finds threads in a pipe read or write, a condition wait and
 * computing. The producer ends the stream with a record of its own rather
 * than by closing the pipe: both ends stay open until main closes them,
 * so a move finds no pipe with an end gone (which hetmig does not carry,
 * Documentation/restrictions.md).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "corpus.h"

#define RING 16
#define END_OF_STREAM 0xffffffffu	/* the last record's seq */

struct record {
	unsigned seq;
	unsigned value;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct record ring[RING];
	unsigned head, tail;		/* head - tail records are queued */
	int closed;
};

static struct queue q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
};
static int pipe_fd[2];
static unsigned records;

static void put(struct record r)
{
	pthread_mutex_lock(&q.lock);
	while (q.head - q.tail == RING)
		pthread_cond_wait(&q.not_full, &q.lock);
	q.ring[q.head % RING] = r;
	q.head++;
	pthread_cond_signal(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
}

/* 1 with a record, 0 once the queue is closed and empty. */
static int take(struct record *r)
{
	int got = 0;

	pthread_mutex_lock(&q.lock);
	while (q.head == q.tail && !q.closed)
		pthread_cond_wait(&q.not_empty, &q.lock);
	if (q.head != q.tail) {
		*r = q.ring[q.tail % RING];
		q.tail++;
		got = 1;
		pthread_cond_signal(&q.not_full);
	}
	pthread_mutex_unlock(&q.lock);
	return got;
}

/* Writes all of LEN bytes (a pipe may take fewer at a time). */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads all of LEN bytes; 0 at end of file before the first byte (the
 * producer never closes its end, but a reader must not loop on EOF). */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0)
			return -1;
		if (n == 0)
			return got ? -1 : 0;
		got += (size_t)n;
	}
	return 1;
}

static void *producer(void *arg)
{
	struct record r;
	unsigned i;
	int rc;

	(void)arg;
	for (i = 0; i < records; i++) {
		r.seq = i;
		r.value = corpus_rand();
		rc = write_all(pipe_fd[1], &r, sizeof(r));
		if (rc)
			exit(3);
		CORPUS_POINT();
	}
	r.seq = END_OF_STREAM;
	r.value = 0;
	rc = write_all(pipe_fd[1], &r, sizeof(r));
	if (rc)
		exit(3);
	return NULL;
}

static unsigned mix(unsigned v)
{
	unsigned k;

	for (k = 0; k < 200; k++)
		v = v * 1103515245u + 12345u + (v >> 16);
	return v;
}

static void *filter(void *arg)
{
	struct record r;
	int rc;

	(void)arg;
	for (;;) {
		rc = read_all(pipe_fd[0], &r, sizeof(r));
		if (rc < 0)
			exit(4);
		if (rc == 0 || r.seq == END_OF_STREAM)
			break;
		r.value = mix(r.value);
		put(r);
	}
	pthread_mutex_lock(&q.lock);
	q.closed = 1;
	pthread_cond_broadcast(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void *consumer(void *arg)
{
	unsigned long digest = 0, *out = arg;
	unsigned expect = 0;
	struct record r;

	while (take(&r)) {
		if (r.seq != expect++)
			exit(5);
		digest = digest * 6364136223846793005UL + r.value;
		if (r.seq % 1000 == 999)
			printf("record %u: digest %016lx\n", r.seq, digest);
		CORPUS_POINT();
	}
	*out = digest;
	return NULL;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	pthread_t p, f, c;
	unsigned long digest = 0;

	records = (unsigned)(8000 * scale);
	if (pipe(pipe_fd))
		return 1;
	if (pthread_create(&c, NULL, consumer, &digest) ||
	    pthread_create(&f, NULL, filter, NULL) ||
	    pthread_create(&p, NULL, producer, NULL))
		return 1;
	pthread_join(p, NULL);
	pthread_join(f, NULL);
	pthread_join(c, NULL);
	close(pipe_fd[0]);
	close(pipe_fd[1]);
	printf("pipeline: %u records, digest %016lx\n", records, digest);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * dirfds: a process holding directories open, for dump_restore.sh.
 * CRIU's zdtm harness keeps its working directory open for renameat(), and
 * many daemons do the same; others scan a directory and hold the stream.
 *
 * usage: dirfds DIR
 *
 * DIR holds a file f0 (contents "f0") and more entries than one small
 * getdents64 call returns. dirfds opens five descriptors of it:
 *   R  O_RDONLY|O_DIRECTORY, read part-way with getdents64 (a 256-byte
 *      buffer: a few entries), so its position is mid-directory
 *   S  opendir(DIR) and one readdir (glibc reads ahead into the stream's
 *      buffer, in memory, and the descriptor is at the end)
 *   W  O_RDONLY|O_DIRECTORY|O_CLOEXEC, never read: a working directory
 *   P  O_PATH|O_DIRECTORY
 *   F  O_PATH of DIR/f0
 * prints "dirfds: ready" and waits for SIGTERM. Then it checks them: R and
 * S go on where they were and, with what they had read, see every entry
 * of DIR exactly once; W reaches f0 (openat) and renames in DIR
 * (renameat), and is still close-on-exec; P and F are still O_PATH, P
 * reaches f0 (fstatat), F is f0 (a regular file whose contents read back
 * through /proc/self/fd). It prints "dirfds: intact" and exits 0, or names
 * the first that is not and exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_NAMES 1024

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

struct names {
	char name[MAX_NAMES][256];
	int n;
};

static void add(struct names *s, const char *name)
{
	if (s->n < MAX_NAMES)
		snprintf(s->name[s->n++], sizeof(s->name[0]), "%s", name);
}

/* One getdents64 call of at most LEN bytes on FD; the number of entries. */
static int getdents_once(int fd, struct names *s, size_t len)
{
	char buf[256] __attribute__((aligned(8)));
	long n = syscall(SYS_getdents64, fd, buf, len < sizeof(buf) ? len : sizeof(buf));
	int count = 0;

	for (long off = 0; off < n; count++) {
		unsigned short reclen;

		memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof(reclen));
		add(s, buf + off + offsetof(struct dirent64, d_name));
		off += reclen;
	}
	return n < 0 ? -1 : count;
}

/* Every entry of DIR, freshly read. */
static void listing(const char *dir, struct names *s)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		add(s, e->d_name);
	if (d)
		closedir(d);
}

/* Whether READ holds each entry of ALL once and nothing else. */
static const char *same_entries(const struct names *read, const struct names *all)
{
	static char why[160];

	if (read->n != all->n) {
		snprintf(why, sizeof(why), "%d entries read, the directory has %d",
			 read->n, all->n);
		return why;
	}
	for (int i = 0; i < all->n; i++) {
		int seen = 0;

		for (int j = 0; j < read->n; j++)
			seen += !strcmp(all->name[i], read->name[j]);
		if (seen != 1) {
			snprintf(why, sizeof(why), "%s read %d times", all->name[i], seen);
			return why;
		}
	}
	return NULL;
}

static int bad(const char *what, const char *why)
{
	printf("dirfds: %s: %s\n", what, why);
	return 1;
}

int main(int argc, char **argv)
{
	static struct names all, by_r, by_s;
	char path[4096], buf[16];
	struct dirent *e;
	struct stat st;
	const char *why;
	int r, w, p, f, n;
	DIR *s;

	if (argc != 2) {
		fprintf(stderr, "usage: dirfds DIR\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	snprintf(path, sizeof(path), "%s/f0", argv[1]);
	r = open(argv[1], O_RDONLY | O_DIRECTORY);
	s = opendir(argv[1]);
	w = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p = open(argv[1], O_PATH | O_DIRECTORY);
	f = open(path, O_PATH);
	if (r < 0 || !s || w < 0 || p < 0 || f < 0) {
		perror("dirfds: open");
		return 2;
	}
	if (getdents_once(r, &by_r, 256) <= 0 || !(e = readdir(s))) {
		perror("dirfds: reading");
		return 2;
	}
	add(&by_s, e->d_name);
	printf("dirfds: ready (%d entries read of fd %d, at %lld)\n", by_r.n, r,
	       (long long)lseek(r, 0, SEEK_CUR));
	fflush(stdout);
	while (!done)
		pause();

	listing(argv[1], &all);
	while ((n = getdents_once(r, &by_r, 256)) > 0)
		;
	if (n < 0)
		return bad("the part-read descriptor", "getdents64 failed");
	why = same_entries(&by_r, &all);
	if (why)
		return bad("the part-read descriptor", why);
	while ((e = readdir(s)))
		add(&by_s, e->d_name);
	why = same_entries(&by_s, &all);
	if (why)
		return bad("the directory stream", why);

	n = openat(w, "f0", O_RDONLY);
	if (n < 0 || read(n, buf, sizeof(buf)) != 2 || memcmp(buf, "f0", 2))
		return bad("the working directory", "f0 cannot be read through it");
	close(n);
	if (renameat(w, "f0", w, "f0.moved") || renameat(w, "f0.moved", w, "f0"))
		return bad("the working directory", "renameat failed");
	if (!(fcntl(w, F_GETFD) & FD_CLOEXEC))
		return bad("the working directory", "no longer close-on-exec");

	if (!(fcntl(p, F_GETFL) & O_PATH) || fstatat(p, "f0", &st, 0) || !S_ISREG(st.st_mode))
		return bad("the O_PATH directory", "not O_PATH, or f0 not reached through it");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	n = open(path, O_RDONLY);
	if (!(fcntl(f, F_GETFL) & O_PATH) || fstat(f, &st) || !S_ISREG(st.st_mode) ||
	    n < 0 || read(n, buf, sizeof(buf)) != 2 || memcmp(buf, "f0", 2))
		return bad("the O_PATH file", "not O_PATH, or not f0");
	printf("dirfds: intact\n");
	return 0;
}

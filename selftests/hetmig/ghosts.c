// SPDX-License-Identifier: GPL-2.0
/*
 * ghosts: a process tree holding files no name leads to any more, for
 * dump_restore.sh, which moves it and tells it to check them (SIGTERM).
 *
 * usage: ghosts DIR          the tree below, moved
 *        ghosts DIR big      a deleted file of 3 MiB of data: a dump with
 *                            --ghost-limit 1 must be refused, and it runs on
 *        ghosts DIR linked   a file whose name was removed while it has
 *                            another (a hard link): refused, it runs on
 *
 * The tree: we (P) and a child C, which inherited every fd.
 *   log    DIR/ghost.log, 1000 bytes, mode 0640, deleted; fd A (read-write,
 *          at 1000, P's and C's one description), fd B (a second open,
 *          read-only, at 300), fd D (a dup of A)
 *   sparse DIR/sparse, 16 MiB with 4 KiB of data at 1 MiB and at 9 MiB,
 *          deleted: its holes must stay holes (and out of the image)
 *   dir    DIR/gone, opened and removed
 *   memfd  "hetmig-ghost", 64 KiB, its first two pages mapped shared, a
 *          byte written through the mapping and one through the fd beyond
 *          it, sealed against growing and shrinking, at offset 123; its
 *          pages 2 and 3 mapped private too, a byte of its own written
 *          into the first
 *   logmap the log mapped private, read-only
 *   sealed a memfd "hetmig-sealed" holding "sealed!", sealed against
 *          writes and further seals
 * "ghosts: ready" once all that is done.
 *
 * After the restore (SIGTERM): each fd is where and what it was (content,
 * offset, access mode, "(deleted)" name, mode, size), the three log fds
 * one file, the sparse file's holes holes, the memfd's mapping and fd one
 * object (a write through each read through the other), the private
 * mapping's own byte its own and the rest the memfd's, its seals, the
 * sealed memfd's write refused. C then writes "C" through A: P must see it
 * at 1000 and A's offset at 1001 (one description in both). "ghosts:
 * intact" and exit 0, or what is not and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kLog = 1000, kPage = 4096, kMemfd = 64 << 10 };
#define kSparse (16L << 20)
#define kData1 (1L << 20)
#define kData2 (9L << 20)

static volatile sig_atomic_t done;
static int bad;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void wait_term(void)
{
	while (!done)
		usleep(20000);
}

static void die(const char *what)
{
	fprintf(stderr, "ghosts: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void expect(int ok, const char *what)
{
	if (!ok) {
		printf("ghosts: not intact: %s\n", what);
		bad = 1;
	}
}

static void link_is(int fd, const char *want)
{
	char path[64], got[4096];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, got, sizeof(got) - 1);
	got[n < 0 ? 0 : n] = 0;
	if (strcmp(got, want)) {
		printf("ghosts: not intact: fd %d is '%s', not '%s'\n", fd, got, want);
		bad = 1;
	}
}

static off_t pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static int refuse(const char *dir, const char *how)
{
	char name[4096], other[4096];
	snprintf(name, sizeof(name), "%s/refused", dir);
	snprintf(other, sizeof(other), "%s/refused.link", dir);
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open");
	if (!strcmp(how, "big")) {
		static char chunk[1 << 20];
		memset(chunk, 'b', sizeof(chunk));
		for (int i = 0; i < 3; i++)
			if (write(fd, chunk, sizeof(chunk)) != sizeof(chunk))
				die("write");
	} else if (link(name, other)) {
		die("link");
	}
	if (unlink(name))
		die("unlink");
	printf("ghosts: ready %d\n", fd);
	fflush(stdout);
	wait_term();
	struct stat st;
	expect(!fstat(fd, &st) && st.st_size == (!strcmp(how, "big") ? 3 << 20 : 0),
	       "the refused file as it was");
	unlink(other);
	printf(bad ? "ghosts: broken\n" : "ghosts: intact\n");
	return bad;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: ghosts DIR [big|linked]\n"), 2;
	signal(SIGTERM, on_term);
	if (argc > 2)
		return refuse(argv[1], argv[2]);

	char log[4096], sparse[4096], gone[4096], want[4200];
	snprintf(log, sizeof(log), "%s/ghost.log", argv[1]);
	snprintf(sparse, sizeof(sparse), "%s/sparse", argv[1]);
	snprintf(gone, sizeof(gone), "%s/gone", argv[1]);

	char text[kLog];
	for (int i = 0; i < kLog; i++)
		text[i] = (char)('0' + i % 10);
	int a = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (a < 0 || write(a, text, kLog) != kLog)
		die("log");
	int b = open(log, O_RDONLY);
	if (b < 0 || lseek(b, 300, SEEK_SET) != 300)
		die("log again");
	int d = dup(a);
	if (d < 0 || fchmod(a, 0640) || unlink(log))
		die("log: dup, chmod, unlink");

	char page[kPage];
	memset(page, 'S', sizeof(page));
	int s = open(sparse, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (s < 0 || pwrite(s, page, kPage, kData1) != kPage ||
	    pwrite(s, page, kPage, kData2) != kPage || ftruncate(s, kSparse) || unlink(sparse))
		die("sparse");

	if (mkdir(gone, 0750))
		die("mkdir");
	int g = open(gone, O_RDONLY | O_DIRECTORY);
	if (g < 0 || rmdir(gone))
		die("gone");

	int m = memfd_create("hetmig-ghost", MFD_ALLOW_SEALING);
	if (m < 0 || ftruncate(m, kMemfd) || pwrite(m, "memfd-data", 10, 0) != 10)
		die("memfd");
	char *map = mmap(NULL, 2 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	if (map == MAP_FAILED)
		die("mmap");
	map[kPage] = 'M';
	if (pwrite(m, "F", 1, 3 * kPage) != 1 || lseek(m, 123, SEEK_SET) != 123 ||
	    fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		die("memfd: write, seek, seal");

	char *priv = mmap(NULL, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 2 * kPage);
	char *logmap = mmap(NULL, kPage, PROT_READ, MAP_PRIVATE, a, 0);
	if (priv == MAP_FAILED || logmap == MAP_FAILED)
		die("private mappings");
	priv[0] = 'p';

	int z = memfd_create("hetmig-sealed", MFD_ALLOW_SEALING);
	const int sealed = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	if (z < 0 || write(z, "sealed!", 7) != 7 || fcntl(z, F_ADD_SEALS, sealed))
		die("sealed memfd");

	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		wait_term();
		return write(a, "C", 1) == 1 ? 0 : 1;
	}
	printf("ghosts: ready\n");
	fflush(stdout);
	wait_term();

	/* The log: three fds, one file, each where it was. */
	snprintf(want, sizeof(want), "%s (deleted)", log);
	link_is(a, want);
	link_is(b, want);
	struct stat sa, sb, sd;
	expect(!fstat(a, &sa) && !fstat(b, &sb) && !fstat(d, &sd), "fstat of the log");
	expect(sa.st_ino == sb.st_ino && sa.st_ino == sd.st_ino, "the log's fds one file");
	expect(sa.st_nlink == 0 && sa.st_size == kLog && (sa.st_mode & 07777) == 0640,
	       "the log's links, size and mode");
	expect(pos(a) == kLog && pos(b) == 300, "the log's offsets");
	expect((fcntl(a, F_GETFL) & O_ACCMODE) == O_RDWR &&
	       (fcntl(b, F_GETFL) & O_ACCMODE) == O_RDONLY, "the log's access modes");
	char back[kLog];
	expect(pread(a, back, kLog, 0) == kLog && !memcmp(back, text, kLog), "the log's bytes");
	expect(read(b, back, 10) == 10 && !memcmp(back, text + 300, 10) && pos(b) == 310,
	       "reading on at B's offset");
	expect(write(d, "P", 1) == 1 && pos(a) == kLog + 1, "A and its dup one offset");

	/* The sparse file: its data where it was, its holes holes. */
	struct stat ss;
	expect(!fstat(s, &ss) && ss.st_size == kSparse, "the sparse file's size");
	expect(lseek(s, 0, SEEK_DATA) == kData1 && lseek(s, kData1, SEEK_HOLE) == kData1 + kPage &&
	       lseek(s, kData1 + kPage, SEEK_DATA) == kData2, "the sparse file's holes");
	expect(ss.st_blocks * 512 < kSparse / 4, "the sparse file's blocks");
	expect(pread(s, back, 1, kData2 + 7) == 1 && back[0] == 'S', "the sparse file's data");

	/* The directory. */
	struct stat sg;
	snprintf(want, sizeof(want), "%s (deleted)", gone);
	link_is(g, want);
	expect(!fstat(g, &sg) && S_ISDIR(sg.st_mode) && (sg.st_mode & 07777) == 0750,
	       "the removed directory");

	/* The memfd: its mapping and fd one object. */
	link_is(m, "/memfd:hetmig-ghost (deleted)");
	struct stat sm;
	expect(!fstat(m, &sm) && sm.st_size == kMemfd, "the memfd's size");
	expect(fcntl(m, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "the memfd's seals");
	expect(pos(m) == 123, "the memfd's offset");
	expect(!memcmp(map, "memfd-data", 10) && map[kPage] == 'M', "the memfd's mapping");
	expect(pread(m, back, 1, 3 * kPage) == 1 && back[0] == 'F', "the memfd beyond its mapping");
	expect(pread(m, back, 1, kPage) == 1 && back[0] == 'M', "the mapping's write in the fd");
	map[kPage + 1] = 'm';
	expect(pread(m, back, 1, kPage + 1) == 1 && back[0] == 'm', "the mapping and fd one object");
	expect(pwrite(m, "f", 1, 2) == 1 && map[2] == 'f', "the fd and mapping one object");
	expect(ftruncate(m, 2 * kMemfd) < 0 && errno == EPERM, "the memfd still sealed");
	expect(priv[0] == 'p' && pread(m, back, 1, 2 * kPage) == 1 && back[0] == 0,
	       "the private mapping's own byte");
	expect(priv[kPage] == 'F', "the private mapping's other page the memfd's");
	expect(!memcmp(logmap, text, 100), "the log's private mapping");

	/* The sealed memfd. */
	link_is(z, "/memfd:hetmig-sealed (deleted)");
	expect(fcntl(z, F_GET_SEALS) == sealed, "the sealed memfd's seals");
	expect(pread(z, back, 7, 0) == 7 && !memcmp(back, "sealed!", 7), "the sealed memfd's bytes");
	expect(write(z, "x", 1) < 0 && errno == EPERM, "the sealed memfd refusing writes");

	/* The child's A is ours: one description. */
	int status = 0;
	kill(child, SIGTERM);
	expect(waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status),
	       "the child's write");
	expect(pread(a, back, 2, kLog) == 2 && back[0] == 'P' && back[1] == 'C' &&
	       pos(a) == kLog + 2, "the child's A one description with ours");
	printf(bad ? "ghosts: broken\n" : "ghosts: intact\n");
	return bad;
}

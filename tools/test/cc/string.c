// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's memcmp, strlen and memcpy (user/runtime/string.c) against
 * byte loops, at every alignment of both operands, every length to 40 (to
 * 300 for memcpy, and 1 MiB) and a difference at every position; strings
 * end at the last byte of a page followed by an unmapped one. Prints one
 * line per function, "ok" or the first case that differs.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Called through pointers: gcc expands a memcpy whose length it can bound
 * inline (rep movsq), which would test gcc's copy, not the runtime's. */
static void *(*volatile copy)(void *, const void *, size_t) = memcpy;
static int (*volatile compare)(const void *, const void *, size_t) = memcmp;
static size_t (*volatile length)(const char *) = strlen;

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static int slow_memcmp(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] - b[i];
	return 0;
}

static int check_memcmp(void)
{
	static unsigned char a[128], b[128];

	for (unsigned ao = 0; ao < 8; ao++)
		for (unsigned bo = 0; bo < 8; bo++)
			for (size_t n = 0; n <= 40; n++)
				for (size_t at = 0; at <= n; at++)
					for (int d = -1; d <= 1; d += 2) {
						for (size_t i = 0; i < n; i++)
							a[ao + i] = b[bo + i] = (unsigned char)(0x7f + i * 37);
						if (at < n)	/* a byte above and below 0x80 */
							b[bo + at] = (unsigned char)(a[ao + at] + d * 0x81);
						int want = sign(slow_memcmp(a + ao, b + bo, n));
						int got = sign(compare(a + ao, b + bo, n));

						if (want != got) {
							printf("memcmp: offsets %u %u, length %zu, differing at %zu: %d, want %d\n",
							       ao, bo, n, at, got, want);
							return 1;
						}
					}
	return 0;
}

static int check_strlen(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || mprotect(m + page, page, PROT_NONE)) {
		printf("strlen: no guard page\n");
		return 1;
	}
	memset(m, 'x', page);
	for (size_t n = 0; n < 64; n++)
		for (unsigned off = 0; off < 8; off++) {
			/* A string of n bytes whose NUL is the page's last byte,
			 * moved down by off: the guard page follows. */
			char *end = m + page - 1 - off;
			char *s = end - n;

			end[0] = 0;
			if (length(s) != n) {
				printf("strlen: length %zu at page end - %u: %zu\n", n, off, length(s));
				return 1;
			}
			end[0] = 'x';
		}
	/* Bytes before the string that look like a NUL end nothing. */
	char buf[32] = { 0 };
	for (unsigned off = 1; off < 8; off++) {
		memset(buf, 0, sizeof(buf));
		memset(buf + off, 'y', 9);
		if (length(buf + off) != 9) {
			printf("strlen: zeros before a string at offset %u: %zu\n", off, length(buf + off));
			return 1;
		}
	}
	return 0;
}

static int check_memcpy(void)
{
	static unsigned char src[1 << 20], dst[(1 << 20) + 64];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 131 + (i >> 8));
	for (unsigned so = 0; so < 8; so++)
		for (unsigned dof = 0; dof < 8; dof++)
			for (size_t n = 0; n <= 300; n++) {
				memset(dst, 0xa5, 400);
				if (copy(dst + dof, src + so, n) != dst + dof) {
					printf("memcpy: does not return dest\n");
					return 1;
				}
				for (size_t i = 0; i < 400; i++) {
					int in = i >= dof && i < dof + n;
					unsigned char want = in ? src[so + i - dof] : 0xa5;

					if (dst[i] != want) {
						printf("memcpy: offsets %u %u, length %zu: byte %zu is %#x, want %#x\n",
						       so, dof, n, i, dst[i], want);
						return 1;
					}
				}
			}
	copy(dst + 3, src, sizeof(src));
	for (size_t i = 0; i < sizeof(src); i++)
		if (dst[3 + i] != src[i]) {
			printf("memcpy: 1 MiB: byte %zu differs\n", i);
			return 1;
		}
	return 0;
}

int main(void)
{
	printf("memcmp %s\n", check_memcmp() ? "differs" : "ok");
	printf("strlen %s\n", check_strlen() ? "differs" : "ok");
	printf("memcpy %s\n", check_memcpy() ? "differs" : "ok");
	return 0;
}

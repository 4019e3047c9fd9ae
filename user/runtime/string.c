// SPDX-License-Identifier: GPL-2.0
/*
 * memcmp and strlen a word at a time, linked ahead of musl's.
 *
 * musl's memcmp compares a byte per iteration and its strlen walks bytes
 * until it is aligned: lzw, which calls both for every word it reads, ran
 * 1.45x the time of its glibc build while running 1.04x its musl build
 * (Documentation/heterogeneous.md, "Against glibc"). glibc picks vector
 * versions at run time; these are plain C, the same source on both ISAs,
 * so a moved process finds the same functions on either side.
 *
 * Built -O2 without instrumentation (hetmig-cc's RUNTIME_FAST_SOURCES):
 * they call nothing and have no migration point, so no frame of theirs is
 * ever on a parked stack. -fno-tree-loop-distribute-patterns keeps gcc
 * from turning their loops back into calls of themselves.
 */
#include <stddef.h>
#include <stdint.h>

typedef uint64_t __attribute__((may_alias, aligned(1))) unaligned_word;
typedef uint64_t __attribute__((may_alias)) aligned_word;
typedef uint32_t __attribute__((may_alias, aligned(1))) unaligned_half;

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *l = a, *r = b;

	for (; n >= 8; n -= 8, l += 8, r += 8) {
		uint64_t x = *(const unaligned_word *)l, y = *(const unaligned_word *)r;

		/* Both ISAs are little-endian: the first byte that differs is
		 * the most significant one once the words are byte-swapped. */
		if (x != y)
			return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
	}
	for (; n; n--, l++, r++)
		if (*l != *r)
			return *l - *r;
	return 0;
}

size_t strlen(const char *s)
{
	uintptr_t skip = (uintptr_t)s & 7;
	/* Aligned words never cross a page, so reading the whole word that
	 * holds s (bytes before s included) and each next one is safe where
	 * reading the string is. The bytes before s are set nonzero. */
	const aligned_word *w = (const aligned_word *)((uintptr_t)s - skip);
	uint64_t v = *w | ((1ull << (skip * 8)) - 1);
	uint64_t zero;

	while (!(zero = (v - ONES) & ~v & HIGHS))
		v = *++w;
	/* The lowest flagged byte is a zero byte: a false flag can only
	 * follow a true one, through the borrow. */
	return (const char *)w + __builtin_ctzll(zero) / 8 - s;
}

/*
 * musl's x86_64 memcpy starts `rep movsq` and then copies the tail a byte
 * at a time with `movsb`: few instructions, but a string instruction's
 * start-up costs tens of cycles, which a copy of a short word pays in
 * full. Short copies here are two loads and two stores that may overlap;
 * longer ones go 16 bytes at a time and end with an overlapping chunk.
 */
void *memcpy(void *restrict dest, const void *restrict src, size_t n)
{
	unsigned char *d = dest;
	const unsigned char *s = src;

	if (n >= 16) {
		for (; n > 16; n -= 16, d += 16, s += 16) {
			uint64_t a = *(const unaligned_word *)s, b = *(const unaligned_word *)(s + 8);

			*(unaligned_word *)d = a;
			*(unaligned_word *)(d + 8) = b;
		}
		/* The last 16 bytes, overlapping what was copied. */
		uint64_t a = *(const unaligned_word *)(s + n - 16);
		uint64_t b = *(const unaligned_word *)(s + n - 8);

		*(unaligned_word *)(d + n - 16) = a;
		*(unaligned_word *)(d + n - 8) = b;
	} else if (n >= 8) {
		uint64_t a = *(const unaligned_word *)s, b = *(const unaligned_word *)(s + n - 8);

		*(unaligned_word *)d = a;
		*(unaligned_word *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const unaligned_half *)s, b = *(const unaligned_half *)(s + n - 4);

		*(unaligned_half *)d = a;
		*(unaligned_half *)(d + n - 4) = b;
	} else {
		for (; n; n--)
			*d++ = *s++;
	}
	return dest;
}

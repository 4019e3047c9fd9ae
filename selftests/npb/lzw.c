// SPDX-License-Identifier: GPL-2.0
/*
 * lzw: an ordinary program beside the NPB kernels. It generates a text
 * (words drawn from a small vocabulary with a repeating phrase structure,
 * by its own xorshift generator), compresses it with LZW (variable code
 * width 9..16 bits, a clear code when the dictionary is full, codes
 * packed least significant bit first), decompresses the result, and
 * checks that the round trip gives the text back. It prints the sizes
 * and CRC-32s of the text and of the compressed stream; those are
 * checked against values recorded from this program (README.md), the
 * same on x86_64 and aarch64. Class S: 1 MiB of text; W: 16 MiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

#define CLEAR_CODE 256
#define STOP_CODE 257
#define FIRST_CODE 258
#define MIN_BITS 9
#define MAX_BITS 16
#define MAX_CODES (1 << MAX_BITS)
#define HASH_SIZE 131071        /* prime, about twice MAX_CODES */

/* ---- the text ---- */

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static const char *const vocabulary[] = {
	"the", "of", "and", "a", "to", "in", "is", "that", "for", "it",
	"process", "migrates", "between", "machines", "stack", "frame",
	"register", "value", "pointer", "heap", "page", "kernel", "thread",
	"signal", "converts", "moves", "runs", "parked", "point", "call",
	"site", "verifier", "proves", "builds", "both", "architectures",
};
#define WORDS (sizeof(vocabulary) / sizeof(vocabulary[0]))

/* append one sentence of 4-14 words at out; returns the bytes written */
static size_t sentence(char *out, size_t room, uint64_t *state)
{
	size_t len = 0;
	int words = 4 + xorshift(state) % 11;

	for (int w = 0; w < words; w++) {
		/* small indices are more frequent, as in real text */
		uint64_t r = xorshift(state);
		const char *word = vocabulary[(r % WORDS) * ((r >> 32) % WORDS) / WORDS];
		size_t n = strlen(word);

		if (len + n + 2 > room)
			break;
		memcpy(out + len, word, n);
		len += n;
		out[len++] = w + 1 < words ? ' ' : '.';
	}
	if (len < room)
		out[len++] = xorshift(state) % 8 == 0 ? '\n' : ' ';
	return len;
}

static void make_text(unsigned char *text, size_t size)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	size_t done = 0;

	while (done < size)
		done += sentence((char *)text + done, size - done, &state);
}

/* ---- bit streams ---- */

struct bits {
	unsigned char *buf;
	size_t size, capacity;  /* bytes */
	uint32_t acc;           /* bits not yet written or read */
	int nacc;
	size_t pos;             /* reading: next byte */
};

static void put_code(struct bits *b, unsigned code, int width)
{
	b->acc |= (uint32_t)code << b->nacc;
	b->nacc += width;
	while (b->nacc >= 8) {
		if (b->size == b->capacity) {
			b->capacity *= 2;
			b->buf = realloc(b->buf, b->capacity);
			if (!b->buf) {
				perror("realloc");
				exit(2);
			}
		}
		b->buf[b->size++] = b->acc & 0xff;
		b->acc >>= 8;
		b->nacc -= 8;
	}
}

static void flush_bits(struct bits *b)
{
	if (b->nacc > 0)
		put_code(b, 0, 8 - b->nacc);
}

static int get_code(struct bits *b, int width)
{
	while (b->nacc < width) {
		if (b->pos == b->size)
			return -1;
		b->acc |= (uint32_t)b->buf[b->pos++] << b->nacc;
		b->nacc += 8;
	}
	int code = b->acc & ((1u << width) - 1);
	b->acc >>= width;
	b->nacc -= width;
	return code;
}

/* ---- compression ---- */

struct dictionary {
	int32_t key[HASH_SIZE];        /* prefix << 8 | byte, or -1 */
	uint16_t code[HASH_SIZE];
	int next_code, width;
};

static void dictionary_reset(struct dictionary *d)
{
	for (int h = 0; h < HASH_SIZE; h++)
		d->key[h] = -1;
	d->next_code = FIRST_CODE;
	d->width = MIN_BITS;
}

/* the slot of (prefix, byte): where it is, or where it would go */
static int dictionary_slot(const struct dictionary *d, int32_t key)
{
	int h = (int)(((uint32_t)key * 2654435761u) % HASH_SIZE);

	while (d->key[h] != -1 && d->key[h] != key)
		h = h + 1 == HASH_SIZE ? 0 : h + 1;
	return h;
}

static void compress(const unsigned char *in, size_t n, struct bits *out)
{
	struct dictionary *d = npb_alloc(sizeof(*d));

	dictionary_reset(d);
	put_code(out, CLEAR_CODE, d->width);
	int prefix = in[0];
	for (size_t i = 1; i < n; i++) {
		int32_t key = prefix << 8 | in[i];
		int slot = dictionary_slot(d, key);

		if (d->key[slot] == key) {
			prefix = d->code[slot];
			continue;
		}
		put_code(out, prefix, d->width);
		if (d->next_code < MAX_CODES) {
			d->key[slot] = key;
			d->code[slot] = d->next_code++;
			if (d->next_code > (1 << d->width) && d->width < MAX_BITS)
				d->width++;
		} else {
			put_code(out, CLEAR_CODE, d->width);
			dictionary_reset(d);
		}
		prefix = in[i];
	}
	put_code(out, prefix, d->width);
	put_code(out, STOP_CODE, d->width);
	flush_bits(out);
	free(d);
}

/* ---- decompression ---- */

struct table {
	uint16_t prefix[MAX_CODES];
	unsigned char last[MAX_CODES];  /* the entry's final byte */
	unsigned char first[MAX_CODES]; /* and its first */
	int next_code, width;
};

/* the string of code, last byte first, into stack; returns its length */
static size_t expand(const struct table *t, int code, unsigned char *stack)
{
	size_t len = 0;

	while (code >= 256) {
		stack[len++] = t->last[code];
		code = t->prefix[code];
	}
	stack[len++] = code;
	return len;
}

/* returns the decompressed size, or -1 if the stream is corrupt */
static long decompress(struct bits *in, unsigned char *out, size_t room)
{
	struct table *t = npb_alloc(sizeof(*t));
	unsigned char *stack = npb_alloc(MAX_CODES);
	size_t n = 0;
	int previous = -1;

	t->width = MIN_BITS;
	t->next_code = FIRST_CODE;
	for (;;) {
		int code = get_code(in, t->width);

		if (code < 0 || code == STOP_CODE)
			break;
		if (code == CLEAR_CODE) {
			t->width = MIN_BITS;
			t->next_code = FIRST_CODE;
			previous = -1;
			continue;
		}
		size_t len;
		if (code < t->next_code) {
			len = expand(t, code, stack);
		} else if (code == t->next_code && previous >= 0) {
			/* the KwKwK case: previous string + its first byte */
			len = expand(t, previous, stack + 1) + 1;
			stack[0] = stack[len - 1];
		} else {
			n = (size_t)-1;
			break;
		}
		if (n + len > room) {
			n = (size_t)-1;
			break;
		}
		for (size_t k = 0; k < len; k++)
			out[n + k] = stack[len - 1 - k];
		if (previous >= 0 && t->next_code < MAX_CODES) {
			t->prefix[t->next_code] = previous;
			t->last[t->next_code] = stack[len - 1];
			t->next_code++;
		}
		n += len;
		previous = code;
		if (t->next_code + 1 > (1 << t->width) && t->width < MAX_BITS)
			t->width++;
	}
	free(stack);
	free(t);
	return n == (size_t)-1 ? -1 : (long)n;
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;

	if (table[1] == 0) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

struct lzw_class {
	size_t size;
	size_t compressed_ref;
	uint32_t text_crc_ref, compressed_crc_ref;
};

/* recorded from this program (x86_64 and aarch64 agree) */
static const struct lzw_class class_s = { 1 << 20, 222515, 0x12684323, 0x8fe0f03c };
static const struct lzw_class class_w = { 16 << 20, 3535621, 0xa5619fc1, 0x2ad91960 };

int main(int argc, char **argv)
{
	char cls = parse_class(argc, argv, "lzw");
	if (!cls)
		return 2;

	const struct lzw_class *c = cls == 'S' ? &class_s : &class_w;
	unsigned char *text = npb_alloc(c->size);
	unsigned char *back = npb_alloc(c->size);
	struct bits packed = { npb_alloc(4096), 0, 4096, 0, 0, 0 };

	printf("\n hetmig selftests - LZW round trip\n\n");
	make_text(text, c->size);
	compress(text, c->size, &packed);
	packed.acc = 0;
	packed.nacc = 0;
	long unpacked = decompress(&packed, back, c->size);

	int round_trip = unpacked == (long)c->size &&
			 memcmp(text, back, c->size) == 0;
	uint32_t text_crc = crc32(text, c->size);
	uint32_t packed_crc = crc32(packed.buf, packed.size);

	printf(" Text            = %12zu bytes, CRC-32 %08x\n", c->size, text_crc);
	printf(" Compressed      = %12zu bytes, CRC-32 %08x (%.1f%%)\n",
	       packed.size, packed_crc, 100.0 * packed.size / c->size);
	printf(" Round trip      = %12s\n", round_trip ? "identical" : "DIFFERENT");

	int verified = round_trip && packed.size == c->compressed_ref &&
		       text_crc == c->text_crc_ref &&
		       packed_crc == c->compressed_crc_ref;
	struct npb_result r = {
		.name = "LZW", .cls = cls, .size = { (long)c->size, 0, 0 },
		.iterations = 1, .operation = "bytes compressed",
		.verified = verified,
	};
	print_results(&r);
	printf(verified ? " VERIFICATION SUCCESSFUL\n" : " VERIFICATION FAILED\n");
	free(text);
	free(back);
	free(packed.buf);
	return verified ? 0 : 1;
}

/*
 * smgate_sm3.c: SM3 (GB/T 32905-2016) compression and HMAC-SM3 over precomputed inner/outer (ipad/opad) chaining
 * values, for the per-value MACs of the hot path (RND tag, DET SIV, blind index, integrity MAC).
 *
 * Why not EVP: OpenSSL 3.0's EVP_MAC re-initialisation copies provider digest contexts (malloc + free + cleanse
 * per call), which cost more than the two or three SM3 compressions a short column value needs. Keys are still
 * derived with OpenSSL (HKDF-SM3), and every DataKey checks this HMAC against OpenSSL's EVP HMAC-SM3 when it is
 * created (smg_datakey_new), as does the known-answer self test, so a divergence can never go unnoticed.
 */
#define _DEFAULT_SOURCE
#include <string.h>

#include "smgate_core.h"
#include "smgate_internal.h"

#define ROL(x, n) (((x) << ((n) & 31)) | ((x) >> ((32 - ((n) & 31)) & 31)))
#define P0(x) ((x) ^ ROL((x), 9) ^ ROL((x), 17))
#define P1(x) ((x) ^ ROL((x), 15) ^ ROL((x), 23))

static const uint32_t SM3_IV[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
								   0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ROL(T_j, j mod 32) of the compression rounds. */
static const uint32_t SM3_T[64] = {
	0x79cc4519u, 0xf3988a32u, 0xe7311465u, 0xce6228cbu,
	0x9cc45197u, 0x3988a32fu, 0x7311465eu, 0xe6228cbcu,
	0xcc451979u, 0x988a32f3u, 0x311465e7u, 0x6228cbceu,
	0xc451979cu, 0x88a32f39u, 0x11465e73u, 0x228cbce6u,
	0x9d8a7a87u, 0x3b14f50fu, 0x7629ea1eu, 0xec53d43cu,
	0xd8a7a879u, 0xb14f50f3u, 0x629ea1e7u, 0xc53d43ceu,
	0x8a7a879du, 0x14f50f3bu, 0x29ea1e76u, 0x53d43cecu,
	0xa7a879d8u, 0x4f50f3b1u, 0x9ea1e762u, 0x3d43cec5u,
	0x7a879d8au, 0xf50f3b14u, 0xea1e7629u, 0xd43cec53u,
	0xa879d8a7u, 0x50f3b14fu, 0xa1e7629eu, 0x43cec53du,
	0x879d8a7au, 0x0f3b14f5u, 0x1e7629eau, 0x3cec53d4u,
	0x79d8a7a8u, 0xf3b14f50u, 0xe7629ea1u, 0xcec53d43u,
	0x9d8a7a87u, 0x3b14f50fu, 0x7629ea1eu, 0xec53d43cu,
	0xd8a7a879u, 0xb14f50f3u, 0x629ea1e7u, 0xc53d43ceu,
	0x8a7a879du, 0x14f50f3bu, 0x29ea1e76u, 0x53d43cecu,
	0xa7a879d8u, 0x4f50f3b1u, 0x9ea1e762u, 0x3d43cec5u,
};

#define FF0(x, y, z) ((x) ^ (y) ^ (z))
#define FF1(x, y, z) (((x) & (y)) | (((x) | (y)) & (z)))
#define GG0(x, y, z) ((x) ^ (y) ^ (z))
#define GG1(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
/*
 * One round; the caller rotates the roles of the eight words instead of moving them. The message schedule is a
 * 16-word window w[] expanded just ahead of use (W[j+4] before round j), indices constant after unrolling.
 */
#define ROUND(a, b, c, d, e, f, g, h, j, wi, wj, FF, GG)                                            \
	do {                                                                                           \
		uint32_t a12 = ROL((a), 12), ss1 = ROL(a12 + (e) + SM3_T[j], 7);                           \
		uint32_t tt1 = FF((a), (b), (c)) + (d) + (ss1 ^ a12) + (w[wi] ^ w[wj]);                   \
		uint32_t tt2 = GG((e), (f), (g)) + (h) + ss1 + w[wi];                                      \
		(b) = ROL((b), 9);                                                                         \
		(d) = tt1;                                                                                 \
		(f) = ROL((f), 19);                                                                        \
		(h) = P0(tt2);                                                                             \
	} while (0)
#define EXPAND(k, k16, k9, k3, k13, k6)                                                            \
	(w[k] = P1(w[k16] ^ w[k9] ^ ROL(w[k3], 15)) ^ ROL(w[k13], 7) ^ w[k6])

/* One 64-byte block into the chaining value v. */
static void sm3_compress(uint32_t v[8], const uint8_t block[64])
{
	uint32_t w[16], a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
	int j;

	for (j = 0; j < 16; j++)
		w[j] = be32(block + 4 * j);
	ROUND(a, b, c, d, e, f, g, h, 0, 0, 4, FF0, GG0);
	ROUND(d, a, b, c, h, e, f, g, 1, 1, 5, FF0, GG0);
	ROUND(c, d, a, b, g, h, e, f, 2, 2, 6, FF0, GG0);
	ROUND(b, c, d, a, f, g, h, e, 3, 3, 7, FF0, GG0);
	ROUND(a, b, c, d, e, f, g, h, 4, 4, 8, FF0, GG0);
	ROUND(d, a, b, c, h, e, f, g, 5, 5, 9, FF0, GG0);
	ROUND(c, d, a, b, g, h, e, f, 6, 6, 10, FF0, GG0);
	ROUND(b, c, d, a, f, g, h, e, 7, 7, 11, FF0, GG0);
	ROUND(a, b, c, d, e, f, g, h, 8, 8, 12, FF0, GG0);
	ROUND(d, a, b, c, h, e, f, g, 9, 9, 13, FF0, GG0);
	ROUND(c, d, a, b, g, h, e, f, 10, 10, 14, FF0, GG0);
	ROUND(b, c, d, a, f, g, h, e, 11, 11, 15, FF0, GG0);
	EXPAND(0, 0, 7, 13, 3, 10);
	ROUND(a, b, c, d, e, f, g, h, 12, 12, 0, FF0, GG0);
	EXPAND(1, 1, 8, 14, 4, 11);
	ROUND(d, a, b, c, h, e, f, g, 13, 13, 1, FF0, GG0);
	EXPAND(2, 2, 9, 15, 5, 12);
	ROUND(c, d, a, b, g, h, e, f, 14, 14, 2, FF0, GG0);
	EXPAND(3, 3, 10, 0, 6, 13);
	ROUND(b, c, d, a, f, g, h, e, 15, 15, 3, FF0, GG0);
	EXPAND(4, 4, 11, 1, 7, 14);
	ROUND(a, b, c, d, e, f, g, h, 16, 0, 4, FF1, GG1);
	EXPAND(5, 5, 12, 2, 8, 15);
	ROUND(d, a, b, c, h, e, f, g, 17, 1, 5, FF1, GG1);
	EXPAND(6, 6, 13, 3, 9, 0);
	ROUND(c, d, a, b, g, h, e, f, 18, 2, 6, FF1, GG1);
	EXPAND(7, 7, 14, 4, 10, 1);
	ROUND(b, c, d, a, f, g, h, e, 19, 3, 7, FF1, GG1);
	EXPAND(8, 8, 15, 5, 11, 2);
	ROUND(a, b, c, d, e, f, g, h, 20, 4, 8, FF1, GG1);
	EXPAND(9, 9, 0, 6, 12, 3);
	ROUND(d, a, b, c, h, e, f, g, 21, 5, 9, FF1, GG1);
	EXPAND(10, 10, 1, 7, 13, 4);
	ROUND(c, d, a, b, g, h, e, f, 22, 6, 10, FF1, GG1);
	EXPAND(11, 11, 2, 8, 14, 5);
	ROUND(b, c, d, a, f, g, h, e, 23, 7, 11, FF1, GG1);
	EXPAND(12, 12, 3, 9, 15, 6);
	ROUND(a, b, c, d, e, f, g, h, 24, 8, 12, FF1, GG1);
	EXPAND(13, 13, 4, 10, 0, 7);
	ROUND(d, a, b, c, h, e, f, g, 25, 9, 13, FF1, GG1);
	EXPAND(14, 14, 5, 11, 1, 8);
	ROUND(c, d, a, b, g, h, e, f, 26, 10, 14, FF1, GG1);
	EXPAND(15, 15, 6, 12, 2, 9);
	ROUND(b, c, d, a, f, g, h, e, 27, 11, 15, FF1, GG1);
	EXPAND(0, 0, 7, 13, 3, 10);
	ROUND(a, b, c, d, e, f, g, h, 28, 12, 0, FF1, GG1);
	EXPAND(1, 1, 8, 14, 4, 11);
	ROUND(d, a, b, c, h, e, f, g, 29, 13, 1, FF1, GG1);
	EXPAND(2, 2, 9, 15, 5, 12);
	ROUND(c, d, a, b, g, h, e, f, 30, 14, 2, FF1, GG1);
	EXPAND(3, 3, 10, 0, 6, 13);
	ROUND(b, c, d, a, f, g, h, e, 31, 15, 3, FF1, GG1);
	EXPAND(4, 4, 11, 1, 7, 14);
	ROUND(a, b, c, d, e, f, g, h, 32, 0, 4, FF1, GG1);
	EXPAND(5, 5, 12, 2, 8, 15);
	ROUND(d, a, b, c, h, e, f, g, 33, 1, 5, FF1, GG1);
	EXPAND(6, 6, 13, 3, 9, 0);
	ROUND(c, d, a, b, g, h, e, f, 34, 2, 6, FF1, GG1);
	EXPAND(7, 7, 14, 4, 10, 1);
	ROUND(b, c, d, a, f, g, h, e, 35, 3, 7, FF1, GG1);
	EXPAND(8, 8, 15, 5, 11, 2);
	ROUND(a, b, c, d, e, f, g, h, 36, 4, 8, FF1, GG1);
	EXPAND(9, 9, 0, 6, 12, 3);
	ROUND(d, a, b, c, h, e, f, g, 37, 5, 9, FF1, GG1);
	EXPAND(10, 10, 1, 7, 13, 4);
	ROUND(c, d, a, b, g, h, e, f, 38, 6, 10, FF1, GG1);
	EXPAND(11, 11, 2, 8, 14, 5);
	ROUND(b, c, d, a, f, g, h, e, 39, 7, 11, FF1, GG1);
	EXPAND(12, 12, 3, 9, 15, 6);
	ROUND(a, b, c, d, e, f, g, h, 40, 8, 12, FF1, GG1);
	EXPAND(13, 13, 4, 10, 0, 7);
	ROUND(d, a, b, c, h, e, f, g, 41, 9, 13, FF1, GG1);
	EXPAND(14, 14, 5, 11, 1, 8);
	ROUND(c, d, a, b, g, h, e, f, 42, 10, 14, FF1, GG1);
	EXPAND(15, 15, 6, 12, 2, 9);
	ROUND(b, c, d, a, f, g, h, e, 43, 11, 15, FF1, GG1);
	EXPAND(0, 0, 7, 13, 3, 10);
	ROUND(a, b, c, d, e, f, g, h, 44, 12, 0, FF1, GG1);
	EXPAND(1, 1, 8, 14, 4, 11);
	ROUND(d, a, b, c, h, e, f, g, 45, 13, 1, FF1, GG1);
	EXPAND(2, 2, 9, 15, 5, 12);
	ROUND(c, d, a, b, g, h, e, f, 46, 14, 2, FF1, GG1);
	EXPAND(3, 3, 10, 0, 6, 13);
	ROUND(b, c, d, a, f, g, h, e, 47, 15, 3, FF1, GG1);
	EXPAND(4, 4, 11, 1, 7, 14);
	ROUND(a, b, c, d, e, f, g, h, 48, 0, 4, FF1, GG1);
	EXPAND(5, 5, 12, 2, 8, 15);
	ROUND(d, a, b, c, h, e, f, g, 49, 1, 5, FF1, GG1);
	EXPAND(6, 6, 13, 3, 9, 0);
	ROUND(c, d, a, b, g, h, e, f, 50, 2, 6, FF1, GG1);
	EXPAND(7, 7, 14, 4, 10, 1);
	ROUND(b, c, d, a, f, g, h, e, 51, 3, 7, FF1, GG1);
	EXPAND(8, 8, 15, 5, 11, 2);
	ROUND(a, b, c, d, e, f, g, h, 52, 4, 8, FF1, GG1);
	EXPAND(9, 9, 0, 6, 12, 3);
	ROUND(d, a, b, c, h, e, f, g, 53, 5, 9, FF1, GG1);
	EXPAND(10, 10, 1, 7, 13, 4);
	ROUND(c, d, a, b, g, h, e, f, 54, 6, 10, FF1, GG1);
	EXPAND(11, 11, 2, 8, 14, 5);
	ROUND(b, c, d, a, f, g, h, e, 55, 7, 11, FF1, GG1);
	EXPAND(12, 12, 3, 9, 15, 6);
	ROUND(a, b, c, d, e, f, g, h, 56, 8, 12, FF1, GG1);
	EXPAND(13, 13, 4, 10, 0, 7);
	ROUND(d, a, b, c, h, e, f, g, 57, 9, 13, FF1, GG1);
	EXPAND(14, 14, 5, 11, 1, 8);
	ROUND(c, d, a, b, g, h, e, f, 58, 10, 14, FF1, GG1);
	EXPAND(15, 15, 6, 12, 2, 9);
	ROUND(b, c, d, a, f, g, h, e, 59, 11, 15, FF1, GG1);
	EXPAND(0, 0, 7, 13, 3, 10);
	ROUND(a, b, c, d, e, f, g, h, 60, 12, 0, FF1, GG1);
	EXPAND(1, 1, 8, 14, 4, 11);
	ROUND(d, a, b, c, h, e, f, g, 61, 13, 1, FF1, GG1);
	EXPAND(2, 2, 9, 15, 5, 12);
	ROUND(c, d, a, b, g, h, e, f, 62, 14, 2, FF1, GG1);
	EXPAND(3, 3, 10, 0, 6, 13);
	ROUND(b, c, d, a, f, g, h, e, 63, 15, 3, FF1, GG1);
	v[0] ^= a;
	v[1] ^= b;
	v[2] ^= c;
	v[3] ^= d;
	v[4] ^= e;
	v[5] ^= f;
	v[6] ^= g;
	v[7] ^= h;
}

/* Streaming state: chaining value, partial block, total length in bytes. */
typedef struct {
	uint32_t v[8];
	uint8_t buf[64];
	size_t fill;
	uint64_t total;
} sm3_state;

static void sm3_update(sm3_state *s, const uint8_t *p, size_t n)
{
	s->total += n;
	if (s->fill > 0) {
		size_t take = 64 - s->fill < n ? 64 - s->fill : n;

		memcpy(s->buf + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill < 64)
			return;
		sm3_compress(s->v, s->buf);
		s->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sm3_compress(s->v, p);
	if (n > 0) {
		memcpy(s->buf, p, n);
		s->fill = n;
	}
}

static void sm3_final(sm3_state *s, uint8_t out[32])
{
	uint64_t bits = s->total * 8;
	int i;

	s->buf[s->fill++] = 0x80;
	if (s->fill > 56) {
		memset(s->buf + s->fill, 0, 64 - s->fill);
		sm3_compress(s->v, s->buf);
		s->fill = 0;
	}
	memset(s->buf + s->fill, 0, 56 - s->fill);
	put_be32(s->buf + 56, (uint32_t)(bits >> 32));
	put_be32(s->buf + 60, (uint32_t)bits);
	sm3_compress(s->v, s->buf);
	for (i = 0; i < 8; i++)
		put_be32(out + 4 * i, s->v[i]);
}

void smg_internal_sm3(const uint8_t *msg, size_t len, uint8_t out[32])
{
	sm3_state s;

	memcpy(s.v, SM3_IV, sizeof s.v);
	s.fill = 0;
	s.total = 0;
	sm3_update(&s, msg, len);
	sm3_final(&s, out);
	explicit_bzero(&s, sizeof s);
}

void smg_internal_hmac_mid_init(smg_hmac_mid *m, const uint8_t *key, size_t key_len)
{
	uint8_t k[64], pad[64];
	int i;

	memset(k, 0, sizeof k);
	if (key_len > 64)
		smg_internal_sm3(key, key_len, k);
	else
		memcpy(k, key, key_len);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	memcpy(m->inner, SM3_IV, sizeof m->inner);
	sm3_compress(m->inner, pad);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	memcpy(m->outer, SM3_IV, sizeof m->outer);
	sm3_compress(m->outer, pad);
	explicit_bzero(k, sizeof k);
	explicit_bzero(pad, sizeof pad);
}

void smg_internal_hmac_mid(const smg_hmac_mid *m, const smg_part *parts, int nparts, uint8_t out[32])
{
	sm3_state s;
	uint8_t inner[32];
	int i;

	memcpy(s.v, m->inner, sizeof s.v);
	s.fill = 0;
	s.total = 64;
	for (i = 0; i < nparts; i++)
		if (parts[i].n > 0)
			sm3_update(&s, parts[i].p, parts[i].n);
	sm3_final(&s, inner);
	memcpy(s.v, m->outer, sizeof s.v);
	s.fill = 0;
	s.total = 64;
	sm3_update(&s, inner, 32);
	sm3_final(&s, out);
	explicit_bzero(&s, sizeof s);
	explicit_bzero(inner, sizeof inner);
}

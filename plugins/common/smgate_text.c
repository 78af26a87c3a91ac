/*
 * smgate_text.c: the text form of envelopes ("smg1:" + base64url without padding, canonical only) and the
 * lower-casing of associated data.
 */
#include <string.h>

#include "smgate_core.h"

/* ---------------- base64url and text form ---------------- */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t smg_b64url_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t smg_b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
		out[o++] = B64URL[(v >> 18) & 63];
		out[o++] = B64URL[(v >> 12) & 63];
		out[o++] = B64URL[(v >> 6) & 63];
		out[o++] = B64URL[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = B64URL[(v >> 18) & 63];
		out[o++] = B64URL[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
		out[o++] = B64URL[(v >> 18) & 63];
		out[o++] = B64URL[(v >> 12) & 63];
		out[o++] = B64URL[(v >> 6) & 63];
	}
	return o;
}

/*
 * Decoding table (-1: not a base64url character). A lookup instead of range tests: ciphertext characters are
 * random, so per-character branches were mispredicted about half the time (measured: a fifth of the time of
 * decrypting a short value in the database).
 */
static const int8_t B64URL_VAL[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64val(unsigned char c)
{
	return B64URL_VAL[c];
}

size_t smg_b64url_decode(const char *in, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0;
	int a, b, c, d;

	if (len % 4 == 1)
		return (size_t)-1;
	for (; i + 4 <= len; i += 4) {
		a = b64val(in[i]);
		b = b64val(in[i + 1]);
		c = b64val(in[i + 2]);
		d = b64val(in[i + 3]);
		if ((a | b | c | d) < 0)
			return (size_t)-1;
		out[o++] = (uint8_t)((a << 2) | (b >> 4));
		out[o++] = (uint8_t)((b << 4) | (c >> 2));
		out[o++] = (uint8_t)((c << 6) | d);
	}
	if (len - i == 2) {
		a = b64val(in[i]);
		b = b64val(in[i + 1]);
		if ((a | b) < 0 || (b & 15) != 0)
			return (size_t)-1;
		out[o++] = (uint8_t)((a << 2) | (b >> 4));
	} else if (len - i == 3) {
		a = b64val(in[i]);
		b = b64val(in[i + 1]);
		c = b64val(in[i + 2]);
		if ((a | b | c) < 0 || (c & 3) != 0)
			return (size_t)-1;
		out[o++] = (uint8_t)((a << 2) | (b >> 4));
		out[o++] = (uint8_t)((b << 4) | (c >> 2));
	}
	return o;
}

size_t smg_text_len(size_t env_len)
{
	return SMG_TEXT_PREFIX_LEN + smg_b64url_len(env_len);
}

size_t smg_to_text(const uint8_t *env, size_t env_len, char *out)
{
	memcpy(out, SMG_TEXT_PREFIX, SMG_TEXT_PREFIX_LEN);
	return SMG_TEXT_PREFIX_LEN + smg_b64url_encode(env, env_len, out + SMG_TEXT_PREFIX_LEN);
}

size_t smg_text_max_bin(size_t text_len)
{
	return text_len / 4 * 3 + 3;
}

int smg_is_text_envelope(const char *text, size_t len)
{
	return len > SMG_TEXT_PREFIX_LEN && memcmp(text, SMG_TEXT_PREFIX, SMG_TEXT_PREFIX_LEN) == 0;
}

size_t smg_from_text(const char *text, size_t len, uint8_t *out)
{
	if (!smg_is_text_envelope(text, len))
		return (size_t)-1;
	return smg_b64url_decode(text + SMG_TEXT_PREFIX_LEN, len - SMG_TEXT_PREFIX_LEN, out);
}

void smg_ad_lower(const char *in, size_t len, uint8_t *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
	}
}


/*
 * smgate_fpe.c: FF1-SM4 and the FPE formats (see smgate_fpe.h). Numeral strings whose halves fit in 100 bits
 * use 128-bit integer arithmetic; longer ones use OpenSSL BIGNUM.
 */
#define _DEFAULT_SOURCE
#include "smgate_fpe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

typedef unsigned __int128 u128;

static const char DIGITS[] = "0123456789";
static const char ALNUM[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const int CN_ID_W[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char CN_ID_CHECK[] = "10X98765432";

/* ---------------- FF1 ---------------- */

/* CBC-MAC of P ‖ Q (zero IV) with SM4 under the fpe subkey: R (16 bytes). */
static int prf(smg_datakey *k, const uint8_t P[16], const uint8_t *Q, size_t qlen, uint8_t R[16])
{
	uint8_t blk[16];
	size_t off, j;
	int rc;

	if ((rc = smg_fpe_ecb(k, P, 16, R)) != SMG_OK)
		return rc;
	for (off = 0; off < qlen; off += 16) {
		for (j = 0; j < 16; j++)
			blk[j] = R[j] ^ Q[off + j];
		if ((rc = smg_fpe_ecb(k, blk, 16, R)) != SMG_OK)
			return rc;
	}
	return SMG_OK;
}

/* S = R ‖ CIPH(R ⊕ [1]) ‖ CIPH(R ⊕ [2]) ‖ … truncated to d bytes. */
static int expand(smg_datakey *k, const uint8_t R[16], size_t d, uint8_t *S)
{
	size_t blocks = (d + 15) / 16;
	uint32_t e;
	int rc;

	memcpy(S, R, 16);
	for (e = 1; e < blocks; e++) {
		uint8_t blk[16];

		memcpy(blk, R, 16);
		blk[12] ^= (uint8_t)(e >> 24);
		blk[13] ^= (uint8_t)(e >> 16);
		blk[14] ^= (uint8_t)(e >> 8);
		blk[15] ^= (uint8_t)e;
		if ((rc = smg_fpe_ecb(k, blk, 16, S + 16 * e)) != SMG_OK)
			return rc;
	}
	return SMG_OK;
}

/* bytes needed for radix^v - 1 (b of SP 800-38G); 128-bit arithmetic when radix^v < 2^127, else BIGNUM */
static size_t byte_len(unsigned radix, size_t v)
{
	BIGNUM *x;
	BN_CTX *ctx;
	size_t bits = 0, i;
	u128 p = 1;

	for (i = 0; i < v && p < ((u128)1 << 127) / radix; i++)
		p *= radix;
	if (i == v) {
		for (p -= 1; p != 0; p >>= 1)
			bits++;
		return (bits + 7) / 8;
	}
	x = BN_new();
	ctx = BN_CTX_new();
	if (x != NULL && ctx != NULL && BN_set_word(x, radix)) {
		BIGNUM *e = BN_new();

		if (e != NULL && BN_set_word(e, v) && BN_exp(x, x, e, ctx) && BN_sub_word(x, 1))
			bits = (size_t)BN_num_bits(x);
		BN_free(e);
	}
	BN_free(x);
	BN_CTX_free(ctx);
	return (bits + 7) / 8;
}

/* true when radix^m < 2^100 */
static int fits_small(unsigned radix, size_t m)
{
	u128 x = 1, lim = (u128)1 << 100;
	size_t i;

	for (i = 0; i < m; i++) {
		x *= radix;
		if (x >= lim)
			return 0;
	}
	return 1;
}

int smg_ff1(smg_datakey *k, unsigned radix, const uint8_t *T, size_t t, uint8_t *x, size_t n,
			int encrypt)
{
	size_t u = n / 2, v = n - u, b, d, pad, qlen, i, j;
	uint8_t P[16], R[16], *Q = NULL, *S = NULL;
	int rc = SMG_ENOMEM, round, small;
	BN_CTX *ctx = NULL;
	BIGNUM *A = NULL, *B = NULL, *Y = NULL, *Mu = NULL, *Mv = NULL, *C = NULL, *rad = NULL;

	if (radix < 2 || radix > 256 || n < 2 || n > 0xffff || t > 0xffffff)
		return SMG_EBAD_INPUT;
	for (i = 0; i < n; i++)
		if (x[i] >= radix)
			return SMG_EBAD_INPUT;
	b = byte_len(radix, v);
	if (b == 0)
		return SMG_ECRYPTO;
	d = 4 * ((b + 3) / 4) + 4;
	pad = (16 - ((t + b + 1) % 16)) % 16;
	qlen = t + pad + 1 + b;
	P[0] = 1;
	P[1] = 2;
	P[2] = 1;
	P[3] = (uint8_t)(radix >> 16);
	P[4] = (uint8_t)(radix >> 8);
	P[5] = (uint8_t)radix;
	P[6] = 10;
	P[7] = (uint8_t)(u & 0xff);
	P[8] = (uint8_t)(n >> 24);
	P[9] = (uint8_t)(n >> 16);
	P[10] = (uint8_t)(n >> 8);
	P[11] = (uint8_t)n;
	P[12] = (uint8_t)(t >> 24);
	P[13] = (uint8_t)(t >> 16);
	P[14] = (uint8_t)(t >> 8);
	P[15] = (uint8_t)t;
	Q = calloc(1, qlen);
	S = calloc(1, ((d + 15) / 16) * 16);
	if (Q == NULL || S == NULL)
		goto done;
	if (t > 0)
		memcpy(Q, T, t);
	small = fits_small(radix, v);
	if (small) {
		u128 a = 0, bb = 0, Mu128 = 1, Mv128 = 1;

		for (i = 0; i < u; i++)
			a = a * radix + x[i];
		for (i = u; i < n; i++)
			bb = bb * radix + x[i];
		for (i = 0; i < u; i++)
			Mu128 *= radix;
		for (i = 0; i < v; i++)
			Mv128 *= radix;
		for (round = 0; round < 10; round++) {
			int ri = encrypt ? round : 9 - round;
			u128 src = encrypt ? bb : a, y = 0, M = (ri % 2 == 0) ? Mu128 : Mv128, c;

			Q[t + pad] = (uint8_t)ri;
			for (j = b; j > 0; j--) {
				Q[t + pad + j] = (uint8_t)(src & 0xff);
				src >>= 8;
			}
			if ((rc = prf(k, P, Q, qlen, R)) != SMG_OK || (rc = expand(k, R, d, S)) != SMG_OK)
				goto done;
			for (j = 0; j < d; j++)
				y = (y * 256 + S[j]) % M;
			if (encrypt) {
				c = (a + y) % M;
				a = bb;
				bb = c;
			} else {
				c = (bb + M - y) % M;
				bb = a;
				a = c;
			}
		}
		for (i = u; i > 0; i--) {
			x[i - 1] = (uint8_t)(a % radix);
			a /= radix;
		}
		for (i = n; i > u; i--) {
			x[i - 1] = (uint8_t)(bb % radix);
			bb /= radix;
		}
		rc = SMG_OK;
		goto done;
	}
	rc = SMG_ENOMEM;
	ctx = BN_CTX_new();
	A = BN_new();
	B = BN_new();
	Y = BN_new();
	Mu = BN_new();
	Mv = BN_new();
	C = BN_new();
	rad = BN_new();
	if (!ctx || !A || !B || !Y || !Mu || !Mv || !C || !rad)
		goto done;
	rc = SMG_ECRYPTO;
	BN_zero(A);
	BN_zero(B);
	if (!BN_set_word(rad, radix) || !BN_one(Mu) || !BN_one(Mv))
		goto done;
	for (i = 0; i < u; i++)
		if (!BN_mul_word(A, radix) || !BN_add_word(A, x[i]) || !BN_mul_word(Mu, radix))
			goto done;
	for (i = u; i < n; i++)
		if (!BN_mul_word(B, radix) || !BN_add_word(B, x[i]) || !BN_mul_word(Mv, radix))
			goto done;
	for (round = 0; round < 10; round++) {
		int ri = encrypt ? round : 9 - round;
		BIGNUM *src = encrypt ? B : A, *tmp;
		const BIGNUM *M = (ri % 2 == 0) ? Mu : Mv;

		Q[t + pad] = (uint8_t)ri;
		if (BN_bn2binpad(src, Q + t + pad + 1, (int)b) < 0)
			goto done;
		if ((rc = prf(k, P, Q, qlen, R)) != SMG_OK || (rc = expand(k, R, d, S)) != SMG_OK)
			goto done;
		rc = SMG_ECRYPTO;
		if (BN_bin2bn(S, (int)d, Y) == NULL)
			goto done;
		if (encrypt) {
			if (!BN_mod_add(C, A, Y, M, ctx))
				goto done;
			tmp = A;
			A = B;
			B = C;
			C = tmp;
		} else {
			if (!BN_mod_sub(C, B, Y, M, ctx))
				goto done;
			tmp = B;
			B = A;
			A = C;
			C = tmp;
		}
	}
	for (i = u; i > 0; i--)
		x[i - 1] = (uint8_t)BN_div_word(A, radix);
	for (i = n; i > u; i--)
		x[i - 1] = (uint8_t)BN_div_word(B, radix);
	rc = SMG_OK;
done:
	free(Q);
	free(S);
	BN_free(A);
	BN_free(B);
	BN_free(Y);
	BN_free(Mu);
	BN_free(Mv);
	BN_free(C);
	BN_free(rad);
	BN_CTX_free(ctx);
	return rc;
}

/* ---------------- formats ---------------- */

enum fmt { F_DIGITS, F_ALNUM, F_CN_ID, F_CN_MOBILE, F_BANK_CARD, F_INTEGER };

typedef struct {
	enum fmt f;
	const char *name;
	unsigned radix;
	const char *alphabet;
	int kp, ks, width;
} rule;

static int why_fmt(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_fmt(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return SMG_EFORMAT;
}

static int digit_val(unsigned radix, char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (radix == 62 && c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (radix == 62 && c >= 'A' && c <= 'Z')
		return c - 'A' + 36;
	return -1;
}

static int all_digits(const char *s, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static char cn_id_check(const char *body)
{
	int sum = 0, i;

	for (i = 0; i < 17; i++)
		sum += (body[i] - '0') * CN_ID_W[i];
	return CN_ID_CHECK[sum % 11];
}

static int luhn_check_digit(const char *payload, size_t len)
{
	int sum = 0, dbl = 1;
	size_t i;

	for (i = len; i > 0; i--) {
		int d = payload[i - 1] - '0';

		if (dbl) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		dbl = !dbl;
	}
	return (10 - sum % 10) % 10;
}

static int luhn_valid(const char *digits, size_t len)
{
	return len > 0 && luhn_check_digit(digits, len - 1) == digits[len - 1] - '0';
}

static int opt_or(int v, int dflt)
{
	return v == SMG_FPE_UNSET ? dflt : v;
}

static int make_rule(const char *format, size_t format_len, const smg_fpe_opts *o, rule *r,
					 char *why, size_t why_len)
{
	smg_fpe_opts none = {SMG_FPE_UNSET, SMG_FPE_UNSET, SMG_FPE_UNSET};
	int mid;

	if (o == NULL)
		o = &none;
#define IS(s) (format_len == sizeof(s) - 1 && memcmp(format, s, format_len) == 0)
	memset(r, 0, sizeof(*r));
	r->radix = 10;
	r->alphabet = DIGITS;
	if (IS("digits") || IS("alnum")) {
		r->f = IS("digits") ? F_DIGITS : F_ALNUM;
		r->name = r->f == F_DIGITS ? "digits" : "alnum";
		if (r->f == F_ALNUM) {
			r->radix = 62;
			r->alphabet = ALNUM;
		}
		r->kp = opt_or(o->keep_prefix, 0);
		r->ks = opt_or(o->keep_suffix, 0);
	} else if (IS("cn-id")) {
		r->f = F_CN_ID;
		r->name = "cn-id";
		r->kp = opt_or(o->keep_prefix, 6);
		r->ks = opt_or(o->keep_suffix, 0);
	} else if (IS("cn-mobile")) {
		r->f = F_CN_MOBILE;
		r->name = "cn-mobile";
		r->kp = opt_or(o->keep_prefix, 3);
		r->ks = opt_or(o->keep_suffix, 0);
	} else if (IS("bank-card")) {
		r->f = F_BANK_CARD;
		r->name = "bank-card";
		r->kp = opt_or(o->keep_prefix, 6);
		r->ks = opt_or(o->keep_suffix, 4);
	} else if (IS("integer")) {
		r->f = F_INTEGER;
		r->name = "integer";
		if (o->keep_prefix != SMG_FPE_UNSET || o->keep_suffix != SMG_FPE_UNSET)
			return why_fmt(why, why_len,
						   "fpe integer: keep_prefix/keep_suffix are not supported (use width)");
		if (o->width < 6 || o->width > 38)
			return why_fmt(why, why_len,
						   "fpe integer: width must be an integer 6..38 (FF1 needs 10^width >= 1,000,000)");
		r->width = o->width;
		return SMG_OK;
	} else
		return why_fmt(why, why_len,
					   "fpe: unknown format \"%.*s\" (known: digits, alnum, cn-id, cn-mobile, bank-card, "
					   "integer)",
					   (int)(format_len > 32 ? 32 : format_len), format);
#undef IS
	if (r->kp < 0 || r->ks < 0)
		return why_fmt(why, why_len, "fpe %s: keep_prefix and keep_suffix must be integers >= 0",
					   r->name);
	if (r->f == F_CN_MOBILE && r->kp < 1)
		return why_fmt(why, why_len,
					   "fpe cn-mobile: keep_prefix must be >= 1 so the leading 1 is kept");
	if (r->f == F_CN_ID || r->f == F_CN_MOBILE) {
		mid = (r->f == F_CN_ID ? 17 : 11) - r->kp - r->ks;
		if (mid < 6)
			return why_fmt(why, why_len,
						   "fpe %s: keep_prefix %d + keep_suffix %d leave %d characters of %s to "
						   "encrypt; FF1 needs at least 6 (domain >= 1,000,000)",
						   r->name, r->kp, r->ks, mid,
						   r->f == F_CN_ID ? "the 17-digit body" : "11 digits");
	}
	return SMG_OK;
}

size_t smg_fpe_out_len(size_t len, const smg_fpe_opts *o)
{
	size_t w = (o != NULL && o->width > 0) ? (size_t)o->width : 0;

	return (len > w ? len : w) + 2;
}

static int is_valid(const rule *r, const char *pre, size_t pl, const uint8_t *mid, size_t ml,
					const char *post, size_t sl)
{
	size_t i;

	if (r->f == F_BANK_CARD && r->ks > 0) {
		char buf[24];

		memcpy(buf, pre, pl);
		for (i = 0; i < ml; i++)
			buf[pl + i] = DIGITS[mid[i]];
		memcpy(buf + pl + ml, post, sl);
		return luhn_valid(buf, pl + ml + sl);
	}
	if (r->f == F_INTEGER && pl > 0) {
		for (i = 0; i < ml; i++)
			if (mid[i] != 0)
				return 1;
		return 0;
	}
	return 1;
}

int smg_fpe(smg_datakey *k, const uint8_t *ad, size_t ad_len, const char *format, size_t format_len,
			const char *v, size_t len, const smg_fpe_opts *o, int encrypt, char *out,
			size_t *out_len, char *why, size_t why_len)
{
	rule r;
	uint8_t midbuf[64], *mid = midbuf;
	const char *pre = v, *post;
	size_t pl, ml, sl, i, o_len = 0;
	int rc;

	if ((rc = make_rule(format, format_len, o, &r, why, why_len)) != SMG_OK)
		return rc;
	switch (r.f) {
	case F_DIGITS:
	case F_ALNUM: {
		size_t kp = (size_t)r.kp, ks = (size_t)r.ks;
		size_t need = r.radix == 10 ? 6 : 4;

		for (i = 0; i < len; i++)
			if (digit_val(r.radix, v[i]) < 0)
				return why_fmt(why, why_len, "fpe %s: value contains a character outside %s", r.name,
							   r.radix == 10 ? "0-9" : "0-9a-zA-Z");
		ml = len > kp + ks ? len - kp - ks : 0;
		if (ml < need)
			return why_fmt(why, why_len,
						   "fpe %s: %zu characters with keep_prefix %zu + keep_suffix %zu leave %zu to "
						   "encrypt; at least %zu are needed",
						   r.name, len, kp, ks, ml, need);
		pl = kp;
		sl = ks;
		break;
	}
	case F_CN_ID:
		if (len != 18)
			return why_fmt(why, why_len,
						   "fpe cn-id: expected 18 characters (17 digits + check character), got %zu",
						   len);
		if (!all_digits(v, 0, 17))
			return why_fmt(why, why_len, "fpe cn-id: the first 17 characters must be digits");
		if ((v[17] == 'x' ? 'X' : v[17]) != cn_id_check(v))
			return why_fmt(why, why_len, "fpe cn-id: invalid GB 11643 check character");
		pl = (size_t)r.kp;
		sl = (size_t)r.ks;
		ml = 17 - pl - sl;
		break;
	case F_CN_MOBILE:
		if (len != 11 || !all_digits(v, 0, 11))
			return why_fmt(why, why_len, "fpe cn-mobile: expected 11 digits, got %zu characters", len);
		if (v[0] != '1')
			return why_fmt(why, why_len, "fpe cn-mobile: a mainland mobile number starts with 1");
		pl = (size_t)r.kp;
		sl = (size_t)r.ks;
		ml = 11 - pl - sl;
		break;
	case F_BANK_CARD: {
		size_t tail = r.ks > 0 ? (size_t)r.ks : 1;

		if (len < 12 || len > 19 || !all_digits(v, 0, len))
			return why_fmt(why, why_len, "fpe bank-card: expected 12..19 digits, got %zu characters",
						   len);
		if (!luhn_valid(v, len))
			return why_fmt(why, why_len, "fpe bank-card: fails the Luhn check");
		if (len < (size_t)r.kp + tail + 6)
			return why_fmt(why, why_len,
						   "fpe bank-card: %zu digits with keep_prefix %d + keep_suffix %d leave %d to "
						   "encrypt; at least 6 are needed",
						   len, r.kp, r.ks,
						   (int)len - r.kp - (int)tail < 0 ? 0 : (int)len - r.kp - (int)tail);
		pl = (size_t)r.kp;
		ml = len - pl - tail;
		sl = tail;
		break;
	}
	case F_INTEGER:
	default: {
		int neg = len > 0 && v[0] == '-';
		size_t from = neg ? 1 : 0, kk, mag_len, w = (size_t)r.width;

		if (len == from || !all_digits(v, from, len))
			return why_fmt(why, why_len, "fpe integer: expected an integer: optional '-' and digits");
		kk = from;
		while (kk < len - 1 && v[kk] == '0')
			kk++;
		mag_len = len - kk;
		if (mag_len > w)
			return why_fmt(why, why_len, "fpe integer: has %zu digits, more than the policy width %zu",
						   mag_len, w);
		if (w > sizeof midbuf)
			return SMG_EBAD_INPUT;
		memset(mid, 0, w);
		for (i = 0; i < mag_len; i++)
			mid[w - mag_len + i] = (uint8_t)(v[kk + i] - '0');
		pre = "-";
		pl = (neg && !(mag_len == 1 && v[kk] == '0')) ? 1 : 0;
		ml = w;
		post = "";
		sl = 0;
		goto transform;
	}
	}
	if (ml > sizeof midbuf) {
		mid = malloc(ml);
		if (mid == NULL)
			return SMG_ENOMEM;
	}
	for (i = 0; i < ml; i++)
		mid[i] = (uint8_t)digit_val(r.radix, v[pl + i]);
	post = v + pl + ml;
transform:
	do {
		if ((rc = smg_ff1(k, r.radix, ad, ad_len, mid, ml, encrypt)) != SMG_OK)
			goto done;
	} while (!is_valid(&r, pre, pl, mid, ml, post, sl));
	/* join */
	if (r.f == F_INTEGER) {
		size_t kk = 0;

		while (kk < ml - 1 && mid[kk] == 0)
			kk++;
		if (pl)
			out[o_len++] = '-';
		for (i = kk; i < ml; i++)
			out[o_len++] = DIGITS[mid[i]];
	} else {
		memcpy(out, pre, pl);
		o_len = pl;
		for (i = 0; i < ml; i++)
			out[o_len++] = r.alphabet[mid[i]];
		if (r.f == F_BANK_CARD && r.ks == 0) {
			out[o_len] = (char)('0' + luhn_check_digit(out, o_len));
			o_len++;
		} else {
			memcpy(out + o_len, post, sl);
			o_len += sl;
		}
		if (r.f == F_CN_ID)
			out[o_len++] = cn_id_check(out);
	}
	*out_len = o_len;
	rc = SMG_OK;
done:
	if (mid != midbuf) {
		smg_wipe(mid, ml);
		free(mid);
	} else
		smg_wipe(midbuf, sizeof midbuf);
	return rc;
}

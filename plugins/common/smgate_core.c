/*
 * smgate_core.c: primitives on OpenSSL 3 EVP, DataKey subkey derivation, the RND/DET envelopes, blind index,
 * integrity MAC and the known-answer self test. Text form: smgate_text.c; key bundle: smgate_bundle.c.
 * See smgate_core.h for the formats. Shared by plugins/postgres and plugins/mariadb.
 */
#define _DEFAULT_SOURCE
#include "smgate_core.h"
#include "smgate_internal.h"
#include "smgate_nfc.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct smg_datakey {
	uint32_t key_id;
	uint8_t enc[16];
	uint8_t mac[32];
	uint8_t siv[32];
	uint8_t bidx[32];
	uint8_t fpe[16];
	EVP_CIPHER_CTX *ctr;	 /* SM4-ECB keyed with enc: CTR keystream over counter blocks */
	EVP_CIPHER_CTX *fpe_ecb; /* SM4-ECB keyed with fpe */
	smg_hmac_mid mac_mid;	 /* HMAC-SM3 inner/outer chaining values of mac, siv, bidx (smgate_sm3.c) */
	smg_hmac_mid siv_mid;
	smg_hmac_mid bidx_mid;
};

static EVP_MAC *g_hmac;
static const EVP_CIPHER *g_sm4_ctr;
static const EVP_CIPHER *g_sm4_ecb;

void smg_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

const char *smg_strerror(int status)
{
	switch (status) {
	case SMG_OK:
		return "ok";
	case SMG_EBAD_ENVELOPE:
		return "value is not a valid smgate envelope";
	case SMG_EBAD_TAG:
		return "authentication failed (tampered value, wrong column or wrong key)";
	case SMG_EUNKNOWN_KEY:
		return "key is not in the loaded key set";
	case SMG_EBAD_INPUT:
		return "invalid argument";
	case SMG_ECRYPTO:
		return "OpenSSL SM4/SM3 operation failed";
	case SMG_ENOMEM:
		return "out of memory";
	case SMG_EFORMAT:
		return "value does not match the format-preserving encryption format";
	case SMG_EBAD_BUNDLE:
		return "key bundle is malformed";
	case SMG_EBAD_TOKEN:
		return "key bundle does not open with this token (wrong token or tampered bundle)";
	case SMG_EKEY_STATE:
		return "key has no active version for encryption";
	default:
		return "unknown smgate error";
	}
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* Bumped in the child of every fork(): per-thread random IV pools drawn before the fork are discarded. */
static volatile unsigned g_fork_gen = 1;

static void on_fork_child(void)
{
	g_fork_gen++;
}

static void fetch_algorithms(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
	g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	g_sm4_ctr = EVP_sm4_ctr();
	g_sm4_ecb = EVP_sm4_ecb();
}

/* Thread-safe (MariaDB runs UDFs on many threads): algorithms are fetched once per process. */
static int init_algorithms(void)
{
	pthread_once(&g_once, fetch_algorithms);
	return (g_hmac != NULL && g_sm4_ctr != NULL && g_sm4_ecb != NULL) ? SMG_OK : SMG_ECRYPTO;
}

/* ---------------- primitives ---------------- */

int smg_hkdf_sm3(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
				 const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[5], *p = params;
	int ok;

	if (kdf == NULL)
		return SMG_ECRYPTO;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return SMG_ECRYPTO;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SM3", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(ctx);
	return ok ? SMG_OK : SMG_ECRYPTO;
}

int smg_sm4_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
				uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	int n = 0, ok;

	if (init_algorithms() != SMG_OK)
		return SMG_ECRYPTO;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return SMG_ENOMEM;
	ok = EVP_EncryptInit_ex(c, g_sm4_ctr, NULL, key, iv) == 1 &&
		 (len == 0 || EVP_EncryptUpdate(c, out, &n, in, (int)len) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? SMG_OK : SMG_ECRYPTO;
}

EVP_MAC_CTX *smg_internal_hmac_new(const uint8_t *key, size_t key_len)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *m;

	if (init_algorithms() != SMG_OK)
		return NULL;
	m = EVP_MAC_CTX_new(g_hmac);
	if (m == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SM3", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m, key, key_len, params) != 1) {
		EVP_MAC_CTX_free(m);
		return NULL;
	}
	return m;
}

int smg_hmac_sm3(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
				 uint8_t out[32])
{
	EVP_MAC_CTX *m = smg_internal_hmac_new(key, key_len);
	size_t olen = 0;
	int ok;

	if (m == NULL)
		return SMG_ECRYPTO;
	ok = EVP_MAC_update(m, msg, msg_len) == 1 && EVP_MAC_final(m, out, &olen, 32) == 1;
	EVP_MAC_CTX_free(m);
	return ok && olen == 32 ? SMG_OK : SMG_ECRYPTO;
}

/* HMAC with a pre-keyed context: re-init without key reuses the keyed inner/outer state. */
int smg_internal_keyed_mac(EVP_MAC_CTX *m, const smg_part *parts, int nparts, uint8_t out[32])
{
	size_t olen = 0;
	int i;

	if (EVP_MAC_init(m, NULL, 0, NULL) != 1)
		return SMG_ECRYPTO;
	for (i = 0; i < nparts; i++)
		if (parts[i].n > 0 && EVP_MAC_update(m, parts[i].p, parts[i].n) != 1)
			return SMG_ECRYPTO;
	if (EVP_MAC_final(m, out, &olen, 32) != 1 || olen != 32)
		return SMG_ECRYPTO;
	return SMG_OK;
}

/*
 * SM4-CTR with OpenSSL counter semantics (IV = first counter block, +1 per block as a 128-bit big-endian
 * integer), computed as ONE SM4-ECB call over the counter blocks with the pre-keyed ECB context: no cipher
 * re-initialisation per value. Byte-identical to EVP_sm4_ctr (checked by smg_self_test and the cross tests).
 */
static int keyed_ctr(smg_datakey *k, const uint8_t iv[16], const uint8_t *in, size_t len,
					 uint8_t *out)
{
	uint8_t stack_blocks[256], stack_ks[256];
	uint8_t *blocks = stack_blocks, *ks = stack_ks;
	size_t nblocks = (len + 15) / 16, i;
	int n = 0, rc = SMG_OK, j;
	uint8_t ctr[16];

	if (len == 0)
		return SMG_OK;
	if (nblocks * 16 > sizeof stack_blocks) {
		blocks = malloc(nblocks * 16);
		ks = malloc(nblocks * 16);
		if (blocks == NULL || ks == NULL) {
			rc = SMG_ENOMEM;
			goto done;
		}
	}
	memcpy(ctr, iv, 16);
	for (i = 0; i < nblocks; i++) {
		memcpy(blocks + 16 * i, ctr, 16);
		for (j = 15; j >= 0 && ++ctr[j] == 0; j--)
			;
	}
	if (EVP_EncryptUpdate(k->ctr, ks, &n, blocks, (int)(nblocks * 16)) != 1) {
		rc = SMG_ECRYPTO;
		goto done;
	}
	for (i = 0; i < len; i++)
		out[i] = in[i] ^ ks[i];
done:
	smg_wipe(ks == stack_ks ? stack_ks : ks, ks ? nblocks * 16 : 0);
	if (blocks != stack_blocks) {
		free(blocks);
		free(ks);
	}
	return rc;
}

/*
 * Random IVs from a per-thread pool refilled by RAND_bytes (OpenSSL DRBG) 4 KiB at a time: RAND_bytes per value
 * costs ~10 µs. The pool is tied to the fork generation (pthread_atfork child handler, registered before any
 * pool is filled), so a forked child (PostgreSQL backends) never reuses IVs drawn by its parent; getpid() per
 * value was a system call on every encryption.
 */
#define IV_POOL 4096
static __thread uint8_t t_pool[IV_POOL];
static __thread size_t t_pool_left;
static __thread unsigned t_pool_gen;

static int random_iv(uint8_t iv[16])
{
	unsigned gen = g_fork_gen;

	if (t_pool_left < 16 || t_pool_gen != gen) {
		if (init_algorithms() != SMG_OK || RAND_bytes(t_pool, IV_POOL) != 1)
			return SMG_ECRYPTO;
		t_pool_left = IV_POOL;
		t_pool_gen = gen;
	}
	memcpy(iv, t_pool + IV_POOL - t_pool_left, 16);
	memset(t_pool + IV_POOL - t_pool_left, 0, 16);
	t_pool_left -= 16;
	return SMG_OK;
}

int smg_fpe_ecb(smg_datakey *k, const uint8_t *in, size_t len, uint8_t *out)
{
	int n = 0;

	if (len % 16 != 0)
		return SMG_EBAD_INPUT;
	if (len > 0 && EVP_EncryptUpdate(k->fpe_ecb, out, &n, in, (int)len) != 1)
		return SMG_ECRYPTO;
	return SMG_OK;
}

/* ---------------- DataKey ---------------- */

/*
 * The midstate HMAC (smgate_sm3.c) must equal OpenSSL's EVP HMAC-SM3: checked for every new DataKey on messages
 * of 0, 55, 56, 64 and 119 bytes (padding and block boundaries), split into parts like the envelope code does.
 */
static int check_mid_against_evp(smg_datakey *k)
{
	static const size_t lens[] = {0, 55, 56, 64, 119};
	uint8_t msg[119], a[32], b[32];
	smg_part parts[3];
	size_t i;

	for (i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 31 + 7);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t n = lens[i], h = n / 3;

		parts[0].p = msg;
		parts[0].n = h;
		parts[1].p = msg + h;
		parts[1].n = h;
		parts[2].p = msg + 2 * h;
		parts[2].n = n - 2 * h;
		smg_internal_hmac_mid(i % 2 ? &k->siv_mid : &k->mac_mid, parts, 3, a);
		if (smg_hmac_sm3(i % 2 ? k->siv : k->mac, 32, msg, n, b) != SMG_OK || memcmp(a, b, 32) != 0)
			return SMG_ECRYPTO;
	}
	smg_internal_hmac_mid(&k->bidx_mid, parts, 3, a);
	if (smg_hmac_sm3(k->bidx, 32, msg, lens[4], b) != SMG_OK || memcmp(a, b, 32) != 0)
		return SMG_ECRYPTO;
	smg_wipe(a, sizeof a);
	smg_wipe(b, sizeof b);
	return SMG_OK;
}

static int derive(const uint8_t dek[16], const char *info, uint8_t *out, size_t len)
{
	return smg_hkdf_sm3(dek, SMG_DEK_LEN, NULL, 0, (const uint8_t *)info, strlen(info), out, len);
}

int smg_datakey_new(uint32_t key_id, const uint8_t dek[SMG_DEK_LEN], smg_datakey **out)
{
	smg_datakey *k;
	int rc;

	*out = NULL;
	if ((rc = init_algorithms()) != SMG_OK)
		return rc;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return SMG_ENOMEM;
	k->key_id = key_id;
	if ((rc = derive(dek, "smgate/v1/enc", k->enc, 16)) != SMG_OK ||
		(rc = derive(dek, "smgate/v1/mac", k->mac, 32)) != SMG_OK ||
		(rc = derive(dek, "smgate/v1/siv", k->siv, 32)) != SMG_OK ||
		(rc = derive(dek, "smgate/v1/bidx", k->bidx, 32)) != SMG_OK ||
		(rc = derive(dek, "smgate/v1/fpe", k->fpe, 16)) != SMG_OK)
		goto fail;
	rc = SMG_ECRYPTO;
	k->ctr = EVP_CIPHER_CTX_new();
	k->fpe_ecb = EVP_CIPHER_CTX_new();
	if (k->ctr == NULL || k->fpe_ecb == NULL)
		goto fail;
	if (EVP_EncryptInit_ex(k->ctr, g_sm4_ecb, NULL, k->enc, NULL) != 1)
		goto fail;
	EVP_CIPHER_CTX_set_padding(k->ctr, 0);
	if (EVP_EncryptInit_ex(k->fpe_ecb, g_sm4_ecb, NULL, k->fpe, NULL) != 1)
		goto fail;
	EVP_CIPHER_CTX_set_padding(k->fpe_ecb, 0);
	smg_internal_hmac_mid_init(&k->mac_mid, k->mac, 32);
	smg_internal_hmac_mid_init(&k->siv_mid, k->siv, 32);
	smg_internal_hmac_mid_init(&k->bidx_mid, k->bidx, 32);
	if ((rc = check_mid_against_evp(k)) != SMG_OK)
		goto fail;
	*out = k;
	return SMG_OK;
fail:
	smg_datakey_free(k);
	return rc;
}

void smg_datakey_free(smg_datakey *k)
{
	if (k == NULL)
		return;
	EVP_CIPHER_CTX_free(k->ctr); /* OpenSSL cleanses cipher and MAC contexts on free */
	EVP_CIPHER_CTX_free(k->fpe_ecb);
	smg_wipe(k, sizeof(*k));
	free(k);
}

uint32_t smg_datakey_id(const smg_datakey *k)
{
	return k->key_id;
}

int smg_datakey_subkey(const smg_datakey *k, const char *which, const uint8_t **bytes, size_t *len)
{
	if (strcmp(which, "enc") == 0) {
		*bytes = k->enc;
		*len = 16;
	} else if (strcmp(which, "mac") == 0) {
		*bytes = k->mac;
		*len = 32;
	} else if (strcmp(which, "siv") == 0) {
		*bytes = k->siv;
		*len = 32;
	} else if (strcmp(which, "bidx") == 0) {
		*bytes = k->bidx;
		*len = 32;
	} else if (strcmp(which, "fpe") == 0) {
		*bytes = k->fpe;
		*len = 16;
	} else
		return SMG_EBAD_INPUT;
	return SMG_OK;
}

/* ---------------- envelope ---------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t smg_internal_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

size_t smg_rnd_len(size_t pt_len)
{
	return SMG_HDR_LEN + SMG_IV_LEN + pt_len + SMG_TAG_LEN;
}

size_t smg_det_len(size_t pt_len)
{
	return SMG_HDR_LEN + SMG_IV_LEN + pt_len;
}

int smg_encrypt_rnd(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
					size_t pt_len, uint8_t *out, size_t *out_len)
{
	uint8_t tag[32];
	uint8_t *iv = out + SMG_HDR_LEN, *ct = out + SMG_HDR_LEN + SMG_IV_LEN;
	smg_part parts[3];
	int rc;

	if (pt_len > (size_t)1 << 30)
		return SMG_EBAD_INPUT;
	out[0] = SMG_ENV_RND;
	put_u32(out + 1, k->key_id);
	if (random_iv(iv) != SMG_OK)
		return SMG_ECRYPTO;
	if ((rc = keyed_ctr(k, iv, pt, pt_len, ct)) != SMG_OK)
		return rc;
	parts[0].p = out;
	parts[0].n = SMG_HDR_LEN + SMG_IV_LEN;
	parts[1].p = ad;
	parts[1].n = ad_len;
	parts[2].p = ct;
	parts[2].n = pt_len;
	smg_internal_hmac_mid(&k->mac_mid, parts, 3, tag);
	memcpy(ct + pt_len, tag, SMG_TAG_LEN);
	*out_len = smg_rnd_len(pt_len);
	return SMG_OK;
}

int smg_encrypt_det(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
					size_t pt_len, uint8_t *out, size_t *out_len)
{
	uint8_t siv[32];
	smg_part parts[2];
	int rc;

	if (pt_len > (size_t)1 << 30)
		return SMG_EBAD_INPUT;
	parts[0].p = ad;
	parts[0].n = ad_len;
	parts[1].p = pt;
	parts[1].n = pt_len;
	smg_internal_hmac_mid(&k->siv_mid, parts, 2, siv);
	out[0] = SMG_ENV_DET;
	put_u32(out + 1, k->key_id);
	memcpy(out + SMG_HDR_LEN, siv, SMG_IV_LEN);
	if ((rc = keyed_ctr(k, siv, pt, pt_len, out + SMG_HDR_LEN + SMG_IV_LEN)) != SMG_OK)
		return rc;
	*out_len = smg_det_len(pt_len);
	return SMG_OK;
}

int smg_envelope_key_id(const uint8_t *env, size_t env_len, uint32_t *key_id)
{
	if (env_len < SMG_HDR_LEN + SMG_IV_LEN)
		return SMG_EBAD_ENVELOPE;
	if (env[0] == SMG_ENV_RND) {
		if (env_len < SMG_HDR_LEN + SMG_IV_LEN + SMG_TAG_LEN)
			return SMG_EBAD_ENVELOPE;
	} else if (env[0] != SMG_ENV_DET)
		return SMG_EBAD_ENVELOPE;
	*key_id = smg_internal_get_u32(env + 1);
	return SMG_OK;
}

size_t smg_envelope_pt_len(const uint8_t *env, size_t env_len)
{
	if (env_len < SMG_HDR_LEN + SMG_IV_LEN)
		return 0;
	if (env[0] == SMG_ENV_RND)
		return env_len < smg_rnd_len(0) ? 0 : env_len - smg_rnd_len(0);
	return env_len - smg_det_len(0);
}

int smg_decrypt(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *env,
				size_t env_len, uint8_t *pt, size_t *pt_len)
{
	uint32_t key_id;
	uint8_t mac[32];
	smg_part parts[3];
	int rc;

	if ((rc = smg_envelope_key_id(env, env_len, &key_id)) != SMG_OK)
		return rc;
	if (key_id != k->key_id)
		return SMG_EUNKNOWN_KEY;
	if (env[0] == SMG_ENV_RND) {
		size_t n = env_len - smg_rnd_len(0);
		const uint8_t *ct = env + SMG_HDR_LEN + SMG_IV_LEN;

		parts[0].p = env;
		parts[0].n = SMG_HDR_LEN + SMG_IV_LEN;
		parts[1].p = ad;
		parts[1].n = ad_len;
		parts[2].p = ct;
		parts[2].n = n;
		smg_internal_hmac_mid(&k->mac_mid, parts, 3, mac);
		if (CRYPTO_memcmp(mac, ct + n, SMG_TAG_LEN) != 0)
			return SMG_EBAD_TAG;
		if ((rc = keyed_ctr(k, env + SMG_HDR_LEN, ct, n, pt)) != SMG_OK)
			return rc;
		*pt_len = n;
		return SMG_OK;
	} else {
		size_t n = env_len - smg_det_len(0);
		const uint8_t *siv = env + SMG_HDR_LEN;

		if ((rc = keyed_ctr(k, siv, siv + SMG_IV_LEN, n, pt)) != SMG_OK)
			return rc;
		parts[0].p = ad;
		parts[0].n = ad_len;
		parts[1].p = pt;
		parts[1].n = n;
		smg_internal_hmac_mid(&k->siv_mid, parts, 2, mac);
		if (CRYPTO_memcmp(mac, siv, SMG_IV_LEN) != 0) {
			smg_wipe(pt, n);
			return SMG_EBAD_TAG;
		}
		*pt_len = n;
		return SMG_OK;
	}
}

/* ---------------- blind index, integrity MAC ---------------- */

int smg_blind_index(smg_datakey *k, const uint8_t *pt, size_t pt_len, uint8_t out[16])
{
	uint8_t mac[32];
	smg_part part;
	int rc, owned = 0;

	if (smg_nfc(pt, pt_len, &part.p, &part.n, &owned) != 0)
		return SMG_ENOMEM;
	smg_internal_hmac_mid(&k->bidx_mid, &part, 1, mac);
	rc = SMG_OK;
	if (owned) {
		smg_wipe((void *)part.p, part.n);
		free((void *)part.p);
	}
	if (rc != SMG_OK)
		return rc;
	memcpy(out, mac, 16);
	return SMG_OK;
}

size_t smg_row_key_part_len(size_t value_len, int is_null)
{
	return is_null ? 4 : 4 + value_len;
}

size_t smg_row_key_put(uint8_t *out, const uint8_t *value, size_t value_len, int is_null)
{
	if (is_null) {
		put_u32(out, 0xFFFFFFFFu);
		return 4;
	}
	put_u32(out, (uint32_t)value_len);
	if (value_len > 0)
		memcpy(out + 4, value, value_len);
	return 4 + value_len;
}

int smg_integrity_mac(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *row_key,
					  size_t row_key_len, const uint8_t *value, size_t value_len, uint8_t out[16])
{
	uint8_t mac[32];
	smg_part parts[3];

	parts[0].p = ad;
	parts[0].n = ad_len;
	parts[1].p = row_key;
	parts[1].n = row_key_len;
	parts[2].p = value;
	parts[2].n = value_len;
	smg_internal_hmac_mid(&k->mac_mid, parts, 3, mac);
	memcpy(out, mac, 16);
	smg_wipe(mac, sizeof mac);
	return SMG_OK;
}

/* ---------------- self test ---------------- */

static int hexeq(const uint8_t *b, const char *hex)
{
	size_t i;
	char h[3] = {0, 0, 0};

	for (i = 0; hex[2 * i]; i++) {
		h[0] = hex[2 * i];
		h[1] = hex[2 * i + 1];
		if (b[i] != (uint8_t)strtoul(h, NULL, 16))
			return 0;
	}
	return 1;
}

int smg_self_test(char *why, size_t why_len)
{
	static const uint8_t v[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
								  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
	uint8_t out[160], ref[160], in[160], iv[16], md[32], dek[16];
	EVP_CIPHER_CTX *c;
	smg_datakey *k = NULL;
	unsigned int mdlen = 0;
	int n = 0, ok, rc, ivcase;
	size_t len;

#define FAIL(msg)                                                                                  \
	do {                                                                                           \
		snprintf(why, why_len, "%s", msg);                                                         \
		smg_datakey_free(k);                                                                       \
		return SMG_ECRYPTO;                                                                        \
	} while (0)
	/* GB/T 32907-2016 A.1 */
	if ((rc = init_algorithms()) != SMG_OK)
		FAIL("OpenSSL has no SM4/SM3/HMAC");
	c = EVP_CIPHER_CTX_new();
	ok = c != NULL && EVP_EncryptInit_ex(c, g_sm4_ecb, NULL, v, NULL) == 1 &&
		 EVP_CIPHER_CTX_set_padding(c, 0) == 1 && EVP_EncryptUpdate(c, out, &n, v, 16) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok || !hexeq(out, "681edf34d206965e86b3e94f536e4246"))
		FAIL("SM4 does not match GB/T 32907-2016 A.1");
	/* GB/T 32905-2016 A.1: SM3("abc") */
	if (EVP_Digest("abc", 3, md, &mdlen, EVP_sm3(), NULL) != 1 ||
		!hexeq(md, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"))
		FAIL("SM3 does not match GB/T 32905-2016 A.1");
	/* the core's own SM3 (smgate_sm3.c): GB/T 32905-2016 A.1 and A.2 (64 bytes "abcd" x 16) */
	smg_internal_sm3((const uint8_t *)"abc", 3, md);
	if (!hexeq(md, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"))
		FAIL("smgate SM3 does not match GB/T 32905-2016 A.1");
	for (len = 0; len < 64; len++)
		in[len] = (uint8_t)"abcd"[len % 4];
	smg_internal_sm3(in, 64, md);
	if (!hexeq(md, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"))
		FAIL("smgate SM3 does not match GB/T 32905-2016 A.2");
	/* the midstate HMAC-SM3 equals OpenSSL's EVP HMAC-SM3 for every length 0..159 */
	{
		smg_hmac_mid mid;
		smg_part part;
		uint8_t evp[32];

		for (len = 0; len < sizeof in; len++)
			in[len] = (uint8_t)(len * 13 + 5);
		smg_internal_hmac_mid_init(&mid, v, 16);
		for (len = 0; len < sizeof in; len++) {
			part.p = in;
			part.n = len;
			smg_internal_hmac_mid(&mid, &part, 1, md);
			if (smg_hmac_sm3(v, 16, in, len, evp) != SMG_OK || memcmp(md, evp, 32) != 0)
				FAIL("smgate HMAC-SM3 differs from OpenSSL HMAC-SM3");
		}
	}
	/* the batched CTR equals EVP_sm4_ctr, including 64- and 128-bit counter carries */
	memset(dek, 0x5a, sizeof dek);
	if (smg_datakey_new(1, dek, &k) != SMG_OK)
		FAIL("data key derivation failed");
	for (len = 0; len < sizeof in; len++)
		in[len] = (uint8_t)(len * 7 + 1);
	for (ivcase = 0; ivcase < 3; ivcase++) {
		memset(iv, ivcase == 2 ? 0x11 : 0xff, 16);
		if (ivcase == 1)
			memset(iv, 0x00, 8); /* low 64 bits all ones: carry into the high half */
		iv[15] = 0xfd;
		for (len = 0; len <= sizeof in; len += 13) {
			if (keyed_ctr(k, iv, in, len, out) != SMG_OK || smg_sm4_ctr(k->enc, iv, in, len, ref) != SMG_OK ||
				memcmp(out, ref, len) != 0)
				FAIL("batched SM4-CTR differs from OpenSSL sm4-ctr");
		}
	}
	smg_datakey_free(k);
	return SMG_OK;
#undef FAIL
}

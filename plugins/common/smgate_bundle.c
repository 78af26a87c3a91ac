/*
 * smgate_bundle.c: the plugin key bundle (format in smgate_core.h, writer plugins/installer/bundle.ts): opened
 * with the session token into a key ring of DataKeys; lookups by key id and by name.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "smgate_core.h"
#include "smgate_internal.h"

typedef struct {
	uint32_t key_id;
	int state;
	char name[SMG_KEY_NAME_MAX + 1];
	size_t name_len;
	smg_datakey *dk;
} smg_key_entry;

struct smg_keyring {
	int n;
	smg_key_entry *e;
};

/* ---------------- key bundle ---------------- */

#define BUNDLE_MAGIC "SMGB"
#define BUNDLE_TEXT_PREFIX "smgb1:"
#define BUNDLE_INFO "smgate/v1/plugin-bundle"

void smg_keyring_free(smg_keyring *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		smg_datakey_free(r->e[i].dk);
	if (r->e != NULL) {
		smg_wipe(r->e, sizeof(smg_key_entry) * (size_t)r->n);
		free(r->e);
	}
	smg_wipe(r, sizeof(*r));
	free(r);
}

int smg_keyring_open(const char *bundle_text, size_t bundle_len, const uint8_t *token,
					 size_t token_len, smg_keyring **out)
{
	const size_t prefix = sizeof(BUNDLE_TEXT_PREFIX) - 1;
	uint8_t *bin = NULL, *body = NULL;
	uint8_t keys[48], mac[32];
	size_t n, body_len, off;
	smg_keyring *r = NULL;
	int rc = SMG_EBAD_BUNDLE, count, i;
	EVP_MAC_CTX *m = NULL;
	smg_part part;

	*out = NULL;
	if (token_len == 0)
		return SMG_EBAD_TOKEN;
	if (bundle_len <= prefix || memcmp(bundle_text, BUNDLE_TEXT_PREFIX, prefix) != 0)
		return SMG_EBAD_BUNDLE;
	bin = malloc(smg_text_max_bin(bundle_len));
	if (bin == NULL)
		return SMG_ENOMEM;
	n = smg_b64url_decode(bundle_text + prefix, bundle_len - prefix, bin);
	if (n == (size_t)-1 || n < 4 + 1 + 16 + 16 + 16 + 2 || memcmp(bin, BUNDLE_MAGIC, 4) != 0 ||
		bin[4] != 1)
		goto done;
	if ((rc = smg_hkdf_sm3(token, token_len, bin + 5, 16, (const uint8_t *)BUNDLE_INFO,
						   sizeof(BUNDLE_INFO) - 1, keys, sizeof keys)) != SMG_OK)
		goto done;
	m = smg_internal_hmac_new(keys + 16, 32);
	if (m == NULL) {
		rc = SMG_ECRYPTO;
		goto done;
	}
	part.p = bin;
	part.n = n - SMG_TAG_LEN;
	if ((rc = smg_internal_keyed_mac(m, &part, 1, mac)) != SMG_OK)
		goto done;
	if (CRYPTO_memcmp(mac, bin + n - SMG_TAG_LEN, SMG_TAG_LEN) != 0) {
		rc = SMG_EBAD_TOKEN;
		goto done;
	}
	body_len = n - (4 + 1 + 16 + 16) - SMG_TAG_LEN;
	body = malloc(body_len);
	if (body == NULL) {
		rc = SMG_ENOMEM;
		goto done;
	}
	if ((rc = smg_sm4_ctr(keys, bin + 21, bin + 37, body_len, body)) != SMG_OK)
		goto done;
	rc = SMG_EBAD_BUNDLE;
	count = (body[0] << 8) | body[1];
	r = calloc(1, sizeof(*r));
	if (r == NULL || (count > 0 && (r->e = calloc((size_t)count, sizeof(smg_key_entry))) == NULL)) {
		rc = SMG_ENOMEM;
		goto done;
	}
	off = 2;
	for (i = 0; i < count; i++) {
		smg_key_entry *e = &r->e[i];
		size_t nl;

		if (off + 6 > body_len)
			goto done;
		e->key_id = smg_internal_get_u32(body + off);
		e->state = body[off + 4];
		nl = body[off + 5];
		off += 6;
		if ((e->state != SMG_KEY_ACTIVE && e->state != SMG_KEY_DECRYPT_ONLY) ||
			off + nl + SMG_DEK_LEN > body_len)
			goto done;
		memcpy(e->name, body + off, nl);
		e->name[nl] = '\0';
		e->name_len = nl;
		off += nl;
		if ((rc = smg_datakey_new(e->key_id, body + off, &e->dk)) != SMG_OK)
			goto done;
		rc = SMG_EBAD_BUNDLE;
		off += SMG_DEK_LEN;
		r->n = i + 1;
	}
	if (off != body_len)
		goto done;
	*out = r;
	r = NULL;
	rc = SMG_OK;
done:
	EVP_MAC_CTX_free(m);
	smg_wipe(keys, sizeof keys);
	if (body != NULL) {
		smg_wipe(body, body_len);
		free(body);
	}
	free(bin);
	smg_keyring_free(r);
	return rc;
}

int smg_keyring_count(const smg_keyring *r)
{
	return r == NULL ? 0 : r->n;
}

smg_datakey *smg_keyring_by_id(smg_keyring *r, uint32_t key_id)
{
	int i;

	if (r == NULL)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (r->e[i].key_id == key_id)
			return r->e[i].dk;
	return NULL;
}

int smg_keyring_active(smg_keyring *r, const char *name, size_t name_len, smg_datakey **out)
{
	int i, found = 0;

	*out = NULL;
	if (r == NULL)
		return SMG_EUNKNOWN_KEY;
	for (i = 0; i < r->n; i++) {
		if (r->e[i].name_len == name_len && memcmp(r->e[i].name, name, name_len) == 0) {
			found = 1;
			if (r->e[i].state == SMG_KEY_ACTIVE) {
				*out = r->e[i].dk;
				return SMG_OK;
			}
		}
	}
	return found ? SMG_EKEY_STATE : SMG_EUNKNOWN_KEY;
}

int smg_keyring_entry(const smg_keyring *r, int i, uint32_t *key_id, int *state, const char **name,
					  size_t *name_len)
{
	if (r == NULL || i < 0 || i >= r->n)
		return SMG_EBAD_INPUT;
	*key_id = r->e[i].key_id;
	*state = r->e[i].state;
	*name = r->e[i].name;
	*name_len = r->e[i].name_len;
	return SMG_OK;
}


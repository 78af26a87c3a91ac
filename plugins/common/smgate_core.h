/*
 * smgate_core: the C crypto core shared by the PostgreSQL extension and the MariaDB UDFs.
 *
 * It implements the byte formats of SPEC section 4 / docs/FORMAT.md on top of OpenSSL 3 EVP
 * (SM4-CTR, SM4-ECB, HMAC-SM3 via EVP_MAC, HKDF-SM3 via EVP_KDF): DataKey subkey derivation,
 * the RND and DET data envelopes and their "smg1:" text form, the blind index, the integrity
 * MAC, and the plugin key bundle (DEKs exported by the keystore, encrypted under a session token).
 *
 * The core never allocates through the host database: callers pass output buffers sized with the
 * *_len helpers. Nothing here prints; errors are SMG_E* codes whose messages (smg_strerror) never
 * contain key bytes or plaintext.
 */
#ifndef SMGATE_CORE_H
#define SMGATE_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum smg_status {
	SMG_OK = 0,
	SMG_EBAD_ENVELOPE = 1, /* not an smgate envelope / truncated / bad base64url */
	SMG_EBAD_TAG = 2,      /* authentication failed: tampered, wrong AD or wrong key */
	SMG_EUNKNOWN_KEY = 3,  /* key id or key name not in the loaded key set */
	SMG_EBAD_INPUT = 4,    /* argument out of range */
	SMG_ECRYPTO = 5,       /* OpenSSL failure */
	SMG_ENOMEM = 6,
	SMG_EFORMAT = 7,       /* FPE: value does not match the format */
	SMG_EBAD_BUNDLE = 8,   /* key bundle malformed */
	SMG_EBAD_TOKEN = 9,    /* key bundle does not open with this token */
	SMG_EKEY_STATE = 10    /* key is decrypt-only / not active for encryption */
};

const char *smg_strerror(int status);

#define SMG_DEK_LEN 16
#define SMG_TAG_LEN 16
#define SMG_IV_LEN 16
#define SMG_HDR_LEN 5 /* version byte + key id */
#define SMG_ENV_RND 0x01
#define SMG_ENV_DET 0x02
#define SMG_TEXT_PREFIX "smg1:"
#define SMG_TEXT_PREFIX_LEN 5
#define SMG_KEY_NAME_MAX 255

typedef struct smg_datakey smg_datakey;

/* Derives the subkeys of one DEK (HKDF-SM3, SPEC section 4) and prepares cipher/MAC contexts. */
int smg_datakey_new(uint32_t key_id, const uint8_t dek[SMG_DEK_LEN], smg_datakey **out);
void smg_datakey_free(smg_datakey *k);
uint32_t smg_datakey_id(const smg_datakey *k);
/* Raw subkey access, for tests of the derivation only. which: "enc","mac","siv","bidx","fpe". */
int smg_datakey_subkey(const smg_datakey *k, const char *which, const uint8_t **bytes, size_t *len);

/* ---- primitives (exposed for tests and for the FPE module) ---- */
int smg_hkdf_sm3(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
				 const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
int smg_sm4_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
				uint8_t *out);
int smg_hmac_sm3(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
				 uint8_t out[32]);
/* SM4-ECB encryption of n whole blocks with the DataKey's fpe subkey (FF1's PRF building block). */
int smg_fpe_ecb(smg_datakey *k, const uint8_t *in, size_t len, uint8_t *out);

/* ---- data envelope (binary) ---- */
size_t smg_rnd_len(size_t pt_len);
size_t smg_det_len(size_t pt_len);
int smg_encrypt_rnd(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
					size_t pt_len, uint8_t *out, size_t *out_len);
int smg_encrypt_det(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
					size_t pt_len, uint8_t *out, size_t *out_len);
/* Reads version + key id without checking anything else. */
int smg_envelope_key_id(const uint8_t *env, size_t env_len, uint32_t *key_id);
/* Upper bound of the plaintext length of an envelope (exact for valid envelopes). */
size_t smg_envelope_pt_len(const uint8_t *env, size_t env_len);
/* Decrypts RND or DET; the caller resolves the key from smg_envelope_key_id. */
int smg_decrypt(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *env,
				size_t env_len, uint8_t *pt, size_t *pt_len);

/* ---- text form: "smg1:" + base64url (no padding) ---- */
size_t smg_b64url_len(size_t bin_len);
size_t smg_b64url_encode(const uint8_t *in, size_t len, char *out);
/* Returns decoded length or (size_t)-1 on invalid input (padding, bad chars, bad length). */
size_t smg_b64url_decode(const char *in, size_t len, uint8_t *out);
size_t smg_text_len(size_t env_len);
size_t smg_to_text(const uint8_t *env, size_t env_len, char *out);
/* Returns envelope length or (size_t)-1; out must hold smg_text_max_bin(len) bytes. */
size_t smg_from_text(const char *text, size_t len, uint8_t *out);
size_t smg_text_max_bin(size_t text_len);
int smg_is_text_envelope(const char *text, size_t len);

/* ---- AD: lower-cased ASCII of "schema.table.column" (UTF-8 bytes other than A-Z unchanged) ---- */
void smg_ad_lower(const char *in, size_t len, uint8_t *out);

/* ---- blind index and integrity MAC (docs/FORMAT.md) ----
 * Blind index input normalisation: valid UTF-8 is converted to Unicode NFC (ICU), anything else is used
 * byte for byte; no case folding or trimming (crypto/blind-index.ts). */
int smg_blind_index(smg_datakey *k, const uint8_t *pt, size_t pt_len, uint8_t out[16]);
int smg_integrity_mac(smg_datakey *k, const uint8_t *ad, size_t ad_len, const uint8_t *row_key,
					  size_t row_key_len, const uint8_t *value, size_t value_len, uint8_t out[16]);
/* Row key encoding: per value u32 BE length then bytes, or FF FF FF FF for NULL (docs/FORMAT.md). */
size_t smg_row_key_part_len(size_t value_len, int is_null);
size_t smg_row_key_put(uint8_t *out, const uint8_t *value, size_t value_len, int is_null);

/* ---- key ring loaded from a plugin key bundle ---- */
enum smg_key_state { SMG_KEY_ACTIVE = 1, SMG_KEY_DECRYPT_ONLY = 2 };

typedef struct smg_keyring smg_keyring;

/*
 * Opens a bundle produced by exportPluginBundle (plugins/installer/bundle.ts): text "smgb1:"+base64url.
 * Bundle binary: "SMGB" 01 salt(16) iv(16) ct tag(16); keys from HKDF-SM3(token, salt,
 * "smgate/v1/plugin-bundle", 48) = enc(16) ‖ mac(32); tag = HMAC-SM3(mac, all bytes before tag)[:16];
 * ct = SM4-CTR(enc, iv, body); body = count u16 BE, then per key: key id u32 BE, state u8,
 * name length u8, name bytes, DEK(16).
 */
int smg_keyring_open(const char *bundle_text, size_t bundle_len, const uint8_t *token,
					 size_t token_len, smg_keyring **out);
void smg_keyring_free(smg_keyring *r);
int smg_keyring_count(const smg_keyring *r);
smg_datakey *smg_keyring_by_id(smg_keyring *r, uint32_t key_id);
/* Active key for a name; SMG_EUNKNOWN_KEY when no key of that name, SMG_EKEY_STATE when none active. */
int smg_keyring_active(smg_keyring *r, const char *name, size_t name_len, smg_datakey **out);
/* Entry i: id, state, name (not NUL-terminated). For listing only; never exposes key bytes. */
int smg_keyring_entry(const smg_keyring *r, int i, uint32_t *key_id, int *state, const char **name,
					  size_t *name_len);

/*
 * Known-answer self test: SM4 (GB/T 32907 A.1), SM3 (GB/T 32905 A.1) and the batched CTR against OpenSSL's
 * sm4-ctr across counter carries. SMG_OK, or SMG_ECRYPTO with a reason in `why`.
 */
int smg_self_test(char *why, size_t why_len);

/* Wipes memory the compiler may not optimise away. */
void smg_wipe(void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif

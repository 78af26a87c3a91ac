/*
 * smgate PostgreSQL extension, crypto functions: envelopes (RND/DET, text and bytea), blind index, row key,
 * integrity MAC and the self test, over the shared C crypto core (plugins/common). Key state: smgate_session.c.
 *
 * Key model: smgate_load_keys(token) (SECURITY DEFINER) reads the encrypted key bundle from
 * smgate.key_bundle, opens it with the session token and keeps the derived DataKeys in backend
 * memory (malloc'd by the core, wiped on unload and at backend exit). Alternatively the token is
 * given as the GUC smgate.token (e.g. PGOPTIONS='-c smgate.token=…') and keys load on first use.
 * Role gate: every crypto call checks that current_user has the privileges of a role listed in
 * smgate.allowed_roles (resolved at load time). Errors never contain key bytes or plaintext.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include <openssl/crypto.h>

#include "smgate_core.h"
#include "smgate_pg.h"

static Datum encrypt_common(FunctionCallInfo fcinfo, bool det, const uint8_t *pt, size_t pt_len,
							text *keyname, text *ad, bool as_text)
{
	const char *fn = det ? "smgate_encrypt_det" : "smgate_encrypt";
	smg_datakey *k = smgate_pg_call_active_key(fcinfo, keyname);
	size_t ad_len, env_len = det ? smg_det_len(pt_len) : smg_rnd_len(pt_len);
	const uint8_t *adb = smgate_pg_call_ad(fcinfo, ad, &ad_len);
	bytea *out;
	int rc;

	if (as_text) {
		uint8_t stackbuf[512];
		uint8_t *env = env_len <= sizeof stackbuf ? stackbuf : palloc(env_len);

		rc = det ? smg_encrypt_det(k, adb, ad_len, pt, pt_len, env, &env_len)
				 : smg_encrypt_rnd(k, adb, ad_len, pt, pt_len, env, &env_len);
		if (rc != SMG_OK)
			smgate_pg_fail(rc, fn);
		out = (text *)palloc(VARHDRSZ + smg_text_len(env_len));
		SET_VARSIZE(out, VARHDRSZ + smg_to_text(env, env_len, VARDATA(out)));
		return PointerGetDatum(out);
	}
	out = (bytea *)palloc(VARHDRSZ + env_len);
	rc = det ? smg_encrypt_det(k, adb, ad_len, pt, pt_len, (uint8_t *)VARDATA(out), &env_len)
			 : smg_encrypt_rnd(k, adb, ad_len, pt, pt_len, (uint8_t *)VARDATA(out), &env_len);
	if (rc != SMG_OK)
		smgate_pg_fail(rc, fn);
	SET_VARSIZE(out, VARHDRSZ + env_len);
	return PointerGetDatum(out);
}

static Datum decrypt_common(FunctionCallInfo fcinfo, const uint8_t *env, size_t env_len, text *ad,
							bool as_text)
{
	uint32_t key_id;
	smg_datakey *k;
	size_t ad_len, pt_len = 0;
	const uint8_t *adb;
	bytea *out;
	int rc = smg_envelope_key_id(env, env_len, &key_id);

	if (rc != SMG_OK)
		smgate_pg_fail(rc, "smgate_decrypt");
	k = smgate_pg_call_key_by_id(fcinfo, key_id, "smgate_decrypt");
	adb = smgate_pg_call_ad(fcinfo, ad, &ad_len);
	out = (bytea *)palloc(VARHDRSZ + smg_envelope_pt_len(env, env_len) + 1);
	rc = smg_decrypt(k, adb, ad_len, env, env_len, (uint8_t *)VARDATA(out), &pt_len);
	if (rc != SMG_OK)
		smgate_pg_fail(rc, "smgate_decrypt");
	SET_VARSIZE(out, VARHDRSZ + pt_len);
	if (as_text)
		pg_verify_mbstr(GetDatabaseEncoding(), VARDATA(out), (int)pt_len, false);
	return PointerGetDatum(out);
}

/* ---------------- envelope functions ---------------- */

PG_FUNCTION_INFO_V1(smgate_encrypt_text);
Datum smgate_encrypt_text(PG_FUNCTION_ARGS)
{
	text *pt = PG_GETARG_TEXT_PP(0);

	return encrypt_common(fcinfo, false, (const uint8_t *)VARDATA_ANY(pt), VARSIZE_ANY_EXHDR(pt),
						  PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2), true);
}

PG_FUNCTION_INFO_V1(smgate_encrypt_det_text);
Datum smgate_encrypt_det_text(PG_FUNCTION_ARGS)
{
	text *pt = PG_GETARG_TEXT_PP(0);

	return encrypt_common(fcinfo, true, (const uint8_t *)VARDATA_ANY(pt), VARSIZE_ANY_EXHDR(pt),
						  PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2), true);
}

PG_FUNCTION_INFO_V1(smgate_encrypt_bytea);
Datum smgate_encrypt_bytea(PG_FUNCTION_ARGS)
{
	bytea *pt = PG_GETARG_BYTEA_PP(0);

	return encrypt_common(fcinfo, false, (const uint8_t *)VARDATA_ANY(pt), VARSIZE_ANY_EXHDR(pt),
						  PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2), false);
}

PG_FUNCTION_INFO_V1(smgate_encrypt_det_bytea);
Datum smgate_encrypt_det_bytea(PG_FUNCTION_ARGS)
{
	bytea *pt = PG_GETARG_BYTEA_PP(0);

	return encrypt_common(fcinfo, true, (const uint8_t *)VARDATA_ANY(pt), VARSIZE_ANY_EXHDR(pt),
						  PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(2), false);
}

PG_FUNCTION_INFO_V1(smgate_decrypt_text);
Datum smgate_decrypt_text(PG_FUNCTION_ARGS)
{
	text *ct = PG_GETARG_TEXT_PP(0);
	size_t tl = VARSIZE_ANY_EXHDR(ct), n;
	uint8_t stackbuf[512];
	uint8_t *env = smg_text_max_bin(tl) <= sizeof stackbuf ? stackbuf : palloc(smg_text_max_bin(tl));

	n = smg_from_text(VARDATA_ANY(ct), tl, env);
	if (n == (size_t)-1)
		smgate_pg_fail(SMG_EBAD_ENVELOPE, "smgate_decrypt");
	return decrypt_common(fcinfo, env, n, PG_GETARG_TEXT_PP(1), true);
}

PG_FUNCTION_INFO_V1(smgate_decrypt_bytea);
Datum smgate_decrypt_bytea(PG_FUNCTION_ARGS)
{
	bytea *env = PG_GETARG_BYTEA_PP(0);

	return decrypt_common(fcinfo, (const uint8_t *)VARDATA_ANY(env), VARSIZE_ANY_EXHDR(env),
						  PG_GETARG_TEXT_PP(1), false);
}

/* smgate_is_envelope(text) → bool: has the "smg1:" text form (no key needed). */
PG_FUNCTION_INFO_V1(smgate_is_envelope);
Datum smgate_is_envelope(PG_FUNCTION_ARGS)
{
	text *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(smg_is_text_envelope(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

/* ---------------- blind index, integrity MAC ---------------- */

PG_FUNCTION_INFO_V1(smgate_blind_index);
Datum smgate_blind_index(PG_FUNCTION_ARGS)
{
	text *pt = PG_GETARG_TEXT_PP(0);
	smg_datakey *k = smgate_pg_call_active_key(fcinfo, PG_GETARG_TEXT_PP(1));
	bytea *out = (bytea *)palloc(VARHDRSZ + 16);
	int rc = smg_blind_index(k, (const uint8_t *)VARDATA_ANY(pt), VARSIZE_ANY_EXHDR(pt),
							 (uint8_t *)VARDATA(out));

	if (rc != SMG_OK)
		smgate_pg_fail(rc, "smgate_blind_index");
	SET_VARSIZE(out, VARHDRSZ + 16);
	PG_RETURN_BYTEA_P(out);
}

/* smgate_row_key(VARIADIC text[]) → bytea: the row key encoding of docs/FORMAT.md. */
PG_FUNCTION_INFO_V1(smgate_row_key);
Datum smgate_row_key(PG_FUNCTION_ARGS)
{
	ArrayType *arr = PG_GETARG_ARRAYTYPE_P(0);
	Datum *elems;
	bool *nulls;
	int n, i;
	size_t total = 0, off = 0;
	bytea *out;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		total += smg_row_key_part_len(nulls[i] ? 0 : VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])),
									  nulls[i]);
	out = (bytea *)palloc(VARHDRSZ + total);
	for (i = 0; i < n; i++) {
		text *t = nulls[i] ? NULL : (text *)PG_DETOAST_DATUM_PACKED(elems[i]);

		off += smg_row_key_put((uint8_t *)VARDATA(out) + off,
							   t ? (const uint8_t *)VARDATA_ANY(t) : NULL,
							   t ? VARSIZE_ANY_EXHDR(t) : 0, nulls[i]);
	}
	SET_VARSIZE(out, VARHDRSZ + off);
	PG_RETURN_BYTEA_P(out);
}

/* A NULL value is MACed as the 4 bytes FF FF FF FF, as the gateway does (proxy/codec MAC_NULL_VALUE). */
static const uint8_t MAC_NULL_VALUE[4] = {0xff, 0xff, 0xff, 0xff};

static void mac_of(FunctionCallInfo fcinfo, smg_datakey *k, text *value, text *ad, bytea *row_key,
				   uint8_t out[16])
{
	size_t ad_len;
	const uint8_t *adb = smgate_pg_call_ad(fcinfo, ad, &ad_len);
	int rc = smg_integrity_mac(k, adb, ad_len, (const uint8_t *)VARDATA_ANY(row_key),
							   VARSIZE_ANY_EXHDR(row_key),
							   value ? (const uint8_t *)VARDATA_ANY(value) : MAC_NULL_VALUE,
							   value ? VARSIZE_ANY_EXHDR(value) : sizeof MAC_NULL_VALUE, out);

	if (rc != SMG_OK)
		smgate_pg_fail(rc, "smgate_mac");
}

static void require_args(FunctionCallInfo fcinfo, int from, int to, const char *fn)
{
	int i;

	for (i = from; i <= to; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("smgate: %s: argument %d must not be NULL", fn, i + 1)));
}

/* smgate_mac(value text, keyname text, ad text, row_key bytea) → bytea(16) */
PG_FUNCTION_INFO_V1(smgate_mac);
Datum smgate_mac(PG_FUNCTION_ARGS)
{
	smg_datakey *k;
	bytea *out = (bytea *)palloc(VARHDRSZ + 16);

	require_args(fcinfo, 1, 3, "smgate_mac");
	k = smgate_pg_call_active_key(fcinfo, PG_GETARG_TEXT_PP(1));
	mac_of(fcinfo, k, PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(2),
		   PG_GETARG_BYTEA_PP(3), (uint8_t *)VARDATA(out));
	SET_VARSIZE(out, VARHDRSZ + 16);
	PG_RETURN_BYTEA_P(out);
}

/*
 * smgate_mac_verify(value text, mac bytea, keyname text, ad text, row_key bytea) → bool.
 * Accepts a MAC made by any loaded version (active or decrypt-only) of the key name.
 */
PG_FUNCTION_INFO_V1(smgate_mac_verify);
Datum smgate_mac_verify(PG_FUNCTION_ARGS)
{
	text *value, *name;
	bytea *mac;
	smg_keyring *ring;
	int i, n;
	bool known = false;

	require_args(fcinfo, 2, 4, "smgate_mac_verify");
	value = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	name = PG_GETARG_TEXT_PP(2);
	ring = smgate_pg_ring();
	n = smg_keyring_count(ring);
	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	mac = PG_GETARG_BYTEA_PP(1);
	if (VARSIZE_ANY_EXHDR(mac) != 16)
		PG_RETURN_BOOL(false);
	for (i = 0; i < n; i++) {
		uint32_t id;
		int state;
		const char *kn;
		size_t nl;
		uint8_t expect[16];

		smg_keyring_entry(ring, i, &id, &state, &kn, &nl);
		if (nl != VARSIZE_ANY_EXHDR(name) || memcmp(kn, VARDATA_ANY(name), nl) != 0)
			continue;
		known = true;
		mac_of(fcinfo, smg_keyring_by_id(ring, id), value, PG_GETARG_TEXT_PP(3), PG_GETARG_BYTEA_PP(4),
			   expect);
		if (CRYPTO_memcmp(expect, VARDATA_ANY(mac), 16) == 0)
			PG_RETURN_BOOL(true);
	}
	if (!known)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("smgate: key \"%s\" is not in the loaded key set",
							   text_to_cstring(name))));
	PG_RETURN_BOOL(false);
}

/* smgate_self_test() → text: known-answer tests of the crypto core (SM4, SM3, batched CTR). */
PG_FUNCTION_INFO_V1(smgate_self_test);
Datum smgate_self_test(PG_FUNCTION_ARGS)
{
	char why[200];

	if (smg_self_test(why, sizeof why) != SMG_OK)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("smgate: self test failed: %s", why)));
	PG_RETURN_TEXT_P(cstring_to_text("ok"));
}

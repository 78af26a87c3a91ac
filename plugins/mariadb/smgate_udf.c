/*
 * smgate MariaDB UDFs over the shared C crypto core (plugins/common).
 *
 * MariaDB UDFs have no session storage, so they are stateless: every key-using function takes the session
 * token and the encrypted key bundle as its last two arguments (views pass @smgate_token and
 * (SELECT bundle FROM smgate_key_bundle)). The bundle is opened once per statement and cached in the
 * statement's UDF_INIT, wiped in deinit. Sessions without the token cannot decrypt: the token is the gate.
 *
 * Errors: UDF row functions cannot return messages, so failures are raised through the server's
 * my_printf_error (exported by mariadbd; weakly bound), which aborts the statement with that message; the
 * function also returns NULL with *error set. Messages never contain key bytes or values.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smgate_udf.h"

/* ---------------- smgate_version ---------------- */

#ifndef SMG_BUILD_ID
#define SMG_BUILD_ID "dev"
#endif

/* smgate_version() → "smgate-udf <build id>": lets the installer see which library the server loaded. */
my_bool smgate_version_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	if (args->arg_count != 0) {
		snprintf(message, MYSQL_ERRMSG_SIZE, "smgate: usage: smgate_version()");
		return 1;
	}
	initid->max_length = 64;
	return 0;
}
char *smgate_version(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
					 char *is_null, char *error)
{
	*length = (unsigned long)snprintf(result, 255, "smgate-udf %s", SMG_BUILD_ID);
	return result;
}

/* smgate_self_test() → "ok", or the statement fails naming the check that failed. */
my_bool smgate_self_test_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	if (args->arg_count != 0) {
		snprintf(message, MYSQL_ERRMSG_SIZE, "smgate: usage: smgate_self_test()");
		return 1;
	}
	initid->const_item = 0;
	initid->maybe_null = 1;
	return 0;
}
char *smgate_self_test(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
					   char *is_null, char *error)
{
	char why[200];

	if (smg_self_test(why, sizeof why) != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, "smgate_self_test", why);
	memcpy(result, "ok", 2);
	*length = 2;
	return result;
}

/* ---------------- smgate_encrypt / smgate_encrypt_det ---------------- */

static char *encrypt_common(UDF_INIT *initid, UDF_ARGS *args, unsigned long *length, char *is_null,
							char *error, int det)
{
	const char *fn = det ? "smgate_encrypt_det" : "smgate_encrypt";
	udf_state *st = (udf_state *)initid->ptr;
	smg_keyring *ring;
	smg_datakey *k;
	uint8_t adstack[256], *heap, *ad, *env;
	size_t ad_len = 0, pt_len, env_len;
	char *out;
	int rc;

	if (args->args[0] == NULL) {
		*is_null = 1;
		return NULL;
	}
	if (smgu_ring_for(st, args, 3, fn, &ring) != 0 || smgu_active_key(ring, args, 1, fn, &k) != 0) {
		*is_null = 1;
		*error = 1;
		return NULL;
	}
	ad = smgu_ad_of(args, 2, adstack, sizeof adstack, &ad_len, &heap);
	if (ad == NULL)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "associated data (schema.table.column) is NULL");
	pt_len = args->lengths[0];
	env_len = smg_rnd_len(pt_len); /* >= det length */
	out = smgu_reserve(st, env_len + smg_text_len(env_len));
	if (out == NULL) {
		free(heap);
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "out of memory");
	}
	env = (uint8_t *)out + smg_text_len(env_len);
	rc = det ? smg_encrypt_det(k, ad, ad_len, (const uint8_t *)args->args[0], pt_len, env, &env_len)
			 : smg_encrypt_rnd(k, ad, ad_len, (const uint8_t *)args->args[0], pt_len, env, &env_len);
	free(heap);
	if (rc != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, smg_strerror(rc));
	*length = smg_to_text(env, env_len, out);
	return out;
}

my_bool smgate_encrypt_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 5, 5,
					   "smgate_encrypt(plaintext, keyname, 'schema.table.column', @smgate_token, bundle)");
}
void smgate_encrypt_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_encrypt(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
					 char *is_null, char *error)
{
	return encrypt_common(initid, args, length, is_null, error, 0);
}

my_bool smgate_encrypt_det_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 5, 5,
					   "smgate_encrypt_det(plaintext, keyname, 'schema.table.column', @smgate_token, "
					   "bundle)");
}
void smgate_encrypt_det_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_encrypt_det(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
						 char *is_null, char *error)
{
	return encrypt_common(initid, args, length, is_null, error, 1);
}

/* ---------------- smgate_decrypt ---------------- */

my_bool smgate_decrypt_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 4, 4,
					   "smgate_decrypt(envelope_text, 'schema.table.column', @smgate_token, bundle)");
}
void smgate_decrypt_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_decrypt(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
					 char *is_null, char *error)
{
	const char *fn = "smgate_decrypt";
	udf_state *st = (udf_state *)initid->ptr;
	smg_keyring *ring;
	smg_datakey *k;
	uint8_t adstack[256], *heap, *ad, *env;
	size_t ad_len = 0, env_len, pt_len = 0, tl = args->lengths[0];
	uint32_t key_id;
	char *out;
	int rc;

	if (args->args[0] == NULL) {
		*is_null = 1;
		return NULL;
	}
	if (smgu_ring_for(st, args, 2, fn, &ring) != 0) {
		*is_null = 1;
		*error = 1;
		return NULL;
	}
	out = smgu_reserve(st, 2 * smg_text_max_bin(tl) + 16);
	if (out == NULL)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "out of memory");
	env = (uint8_t *)out + smg_text_max_bin(tl) + 8;
	env_len = smg_from_text(args->args[0], tl, env);
	if (env_len == (size_t)-1 || smg_envelope_key_id(env, env_len, &key_id) != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, smg_strerror(SMG_EBAD_ENVELOPE));
	k = smg_keyring_by_id(ring, key_id);
	if (k == NULL) {
		smgu_raise_error(ER_SMG_GENERAL, "smgate: %s: key id %u is not in the loaded key set", fn, key_id);
		*is_null = 1;
		*error = 1;
		return NULL;
	}
	ad = smgu_ad_of(args, 1, adstack, sizeof adstack, &ad_len, &heap);
	if (ad == NULL)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "associated data (schema.table.column) is NULL");
	rc = smg_decrypt(k, ad, ad_len, env, env_len, (uint8_t *)out, &pt_len);
	free(heap);
	if (rc != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, smg_strerror(rc));
	*length = pt_len;
	return out;
}


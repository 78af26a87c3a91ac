/*
 * smgate_udf_fpe_mac.c: MariaDB UDFs for the blind index, row keys, integrity MACs, FPE and the integrity-failure
 * raiser used by installed views.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smgate_fpe.h"
#include "smgate_udf.h"

/* ---------------- blind index, row key, integrity MAC ---------------- */

my_bool smgate_blind_index_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 4, 4,
					   "smgate_blind_index(plaintext, keyname, @smgate_token, bundle)");
}
void smgate_blind_index_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_blind_index(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
						 char *is_null, char *error)
{
	const char *fn = "smgate_blind_index";
	udf_state *st = (udf_state *)initid->ptr;
	smg_keyring *ring;
	smg_datakey *k;
	int rc;

	if (args->args[0] == NULL) {
		*is_null = 1;
		return NULL;
	}
	if (smgu_ring_for(st, args, 2, fn, &ring) != 0 || smgu_active_key(ring, args, 1, fn, &k) != 0) {
		*is_null = 1;
		*error = 1;
		return NULL;
	}
	rc = smg_blind_index(k, (const uint8_t *)args->args[0], args->lengths[0], (uint8_t *)result);
	if (rc != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, smg_strerror(rc));
	*length = 16;
	return result;
}

my_bool smgate_row_key_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 1, 64, "smgate_row_key(value1, value2, ...)");
}
void smgate_row_key_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_row_key(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
					 char *is_null, char *error)
{
	udf_state *st = (udf_state *)initid->ptr;
	size_t total = 0, off = 0;
	unsigned i;
	char *out;

	for (i = 0; i < args->arg_count; i++)
		total += smg_row_key_part_len(args->lengths[i], args->args[i] == NULL);
	out = smgu_reserve(st, total + 1);
	if (out == NULL)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, "smgate_row_key", "out of memory");
	for (i = 0; i < args->arg_count; i++)
		off += smg_row_key_put((uint8_t *)out + off, (const uint8_t *)args->args[i], args->lengths[i],
							   args->args[i] == NULL);
	*length = off;
	return out;
}

static const uint8_t MAC_NULL_VALUE[4] = {0xff, 0xff, 0xff, 0xff};

static int mac_with(smg_datakey *k, UDF_ARGS *args, unsigned vi, unsigned ai, unsigned ri,
					uint8_t out[16])
{
	uint8_t adstack[256], *heap, *ad;
	size_t ad_len = 0;
	int rc;

	ad = smgu_ad_of(args, ai, adstack, sizeof adstack, &ad_len, &heap);
	if (ad == NULL || args->args[ri] == NULL)
		return SMG_EBAD_INPUT;
	/* a NULL value is MACed as FF FF FF FF, as the gateway does */
	rc = smg_integrity_mac(k, ad, ad_len, (const uint8_t *)args->args[ri], args->lengths[ri],
						   args->args[vi] ? (const uint8_t *)args->args[vi] : MAC_NULL_VALUE,
						   args->args[vi] ? args->lengths[vi] : sizeof MAC_NULL_VALUE, out);
	free(heap);
	return rc;
}

my_bool smgate_mac_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 6, 6,
					   "smgate_mac(value, keyname, 'schema.table.column', row_key, @smgate_token, bundle)");
}
void smgate_mac_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_mac(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
				 char *is_null, char *error)
{
	const char *fn = "smgate_mac";
	udf_state *st = (udf_state *)initid->ptr;
	smg_keyring *ring;
	smg_datakey *k;
	int rc;

	if (smgu_ring_for(st, args, 4, fn, &ring) != 0 || smgu_active_key(ring, args, 1, fn, &k) != 0) {
		*is_null = 1;
		*error = 1;
		return NULL;
	}
	rc = mac_with(k, args, 0, 2, 3, (uint8_t *)result);
	if (rc != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn,
					rc == SMG_EBAD_INPUT ? "associated data or row key is NULL" : smg_strerror(rc));
	*length = 16;
	return result;
}

my_bool smgate_mac_verify_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	if (smgu_init_common(initid, args, message, 7, 7,
					"smgate_mac_verify(value, mac, keyname, 'schema.table.column', row_key, "
					"@smgate_token, bundle)"))
		return 1;
	initid->max_length = 1;
	return 0;
}
void smgate_mac_verify_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
/* 1 when the MAC matches under any loaded version of the key name, 0 otherwise (NULL value: FF FF FF FF). */
long long smgate_mac_verify(UDF_INIT *initid, UDF_ARGS *args, char *is_null, char *error)
{
	const char *fn = "smgate_mac_verify";
	udf_state *st = (udf_state *)initid->ptr;
	smg_keyring *ring;
	int i, n, known = 0;

	if (smgu_ring_for(st, args, 5, fn, &ring) != 0) {
		*error = 1;
		return 0;
	}
	if (args->args[1] == NULL || args->lengths[1] != 16 || args->args[2] == NULL)
		return 0;
	n = smg_keyring_count(ring);
	for (i = 0; i < n; i++) {
		uint32_t id;
		int state;
		const char *kn;
		size_t nl;
		uint8_t expect[16];

		smg_keyring_entry(ring, i, &id, &state, &kn, &nl);
		if (nl != args->lengths[2] || memcmp(kn, args->args[2], nl) != 0)
			continue;
		known = 1;
		if (mac_with(smg_keyring_by_id(ring, id), args, 0, 3, 4, expect) != SMG_OK)
			return 0;
		if (memcmp(expect, args->args[1], 16) == 0)
			return 1;
	}
	if (!known) {
		smgu_raise_error(ER_SMG_GENERAL, "smgate: %s: key \"%.*s\" is not in the loaded key set", fn,
					(int)(args->lengths[2] > 64 ? 64 : args->lengths[2]), args->args[2]);
		*error = 1;
	}
	return 0;
}

/* ---------------- FPE ---------------- */

static int opt_arg(UDF_ARGS *args, unsigned i, int *out)
{
	char buf[16];
	char *end;
	long v;

	if (args->args[i] == NULL) {
		*out = SMG_FPE_UNSET;
		return 0;
	}
	if (args->lengths[i] == 0 || args->lengths[i] >= sizeof buf)
		return -1;
	memcpy(buf, args->args[i], args->lengths[i]);
	buf[args->lengths[i]] = '\0';
	v = strtol(buf, &end, 10);
	if (*end != '\0' || v < 0 || v > 1000)
		return -1;
	*out = (int)v;
	return 0;
}

static char *fpe_common(UDF_INIT *initid, UDF_ARGS *args, unsigned long *length, char *is_null,
						char *error, int encrypt)
{
	const char *fn = encrypt ? "smgate_fpe_encrypt" : "smgate_fpe_decrypt";
	udf_state *st = (udf_state *)initid->ptr;
	smg_keyring *ring;
	smg_datakey *k;
	smg_fpe_opts o;
	uint8_t adstack[256], *heap, *ad;
	size_t ad_len = 0, out_len = 0;
	char why[256], *out;
	int rc;

	if (args->args[0] == NULL) {
		*is_null = 1;
		return NULL;
	}
	if (opt_arg(args, 4, &o.keep_prefix) || opt_arg(args, 5, &o.keep_suffix) ||
		opt_arg(args, 6, &o.width))
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn,
					"keep_prefix, keep_suffix and width must be NULL or integers >= 0");
	if (args->args[3] == NULL)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "format is NULL");
	if (smgu_ring_for(st, args, 7, fn, &ring) != 0 || smgu_active_key(ring, args, 1, fn, &k) != 0) {
		*is_null = 1;
		*error = 1;
		return NULL;
	}
	ad = smgu_ad_of(args, 2, adstack, sizeof adstack, &ad_len, &heap);
	if (ad == NULL)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "associated data (schema.table.column) is NULL");
	out = smgu_reserve(st, smg_fpe_out_len(args->lengths[0], &o));
	if (out == NULL) {
		free(heap);
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, "out of memory");
	}
	why[0] = '\0';
	rc = smg_fpe(k, ad, ad_len, args->args[3], args->lengths[3], args->args[0], args->lengths[0], &o,
				 encrypt, out, &out_len, why, sizeof why);
	free(heap);
	if (rc == SMG_EFORMAT)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, why);
	if (rc != SMG_OK)
		return smgu_fail(is_null, error, ER_SMG_GENERAL, fn, smg_strerror(rc));
	*length = out_len;
	return out;
}

#define FPE_USAGE(f)                                                                               \
	f "(value, keyname, 'schema.table.column', format, keep_prefix, keep_suffix, width, "          \
	  "@smgate_token, bundle)"

my_bool smgate_fpe_encrypt_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 9, 9, FPE_USAGE("smgate_fpe_encrypt"));
}
void smgate_fpe_encrypt_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_fpe_encrypt(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
						 char *is_null, char *error)
{
	return fpe_common(initid, args, length, is_null, error, 1);
}

my_bool smgate_fpe_decrypt_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	return smgu_init_common(initid, args, message, 9, 9, FPE_USAGE("smgate_fpe_decrypt"));
}
void smgate_fpe_decrypt_deinit(UDF_INIT *initid)
{
	smgu_deinit_common(initid);
}
char *smgate_fpe_decrypt(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
						 char *is_null, char *error)
{
	return fpe_common(initid, args, length, is_null, error, 0);
}

/* ---------------- integrity failure ---------------- */

my_bool smgate_integrity_error_init(UDF_INIT *initid, UDF_ARGS *args, char *message)
{
	if (args->arg_count != 1) {
		snprintf(message, MYSQL_ERRMSG_SIZE, "smgate: usage: smgate_integrity_error('schema.table.column')");
		return 1;
	}
	args->arg_type[0] = STRING_RESULT;
	initid->maybe_null = 1;
	initid->const_item = 0; /* never folded at optimisation time: it must only run for a failing row */
	return 0;
}
/* Raises "integrity check failed on <column>" (installed views call it when a MAC does not verify). */
char *smgate_integrity_error(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
							 char *is_null, char *error)
{
	int n = args->args[0] ? (int)(args->lengths[0] > 192 ? 192 : args->lengths[0]) : 0;

	smgu_raise_error(ER_SMG_GENERAL, "smgate: integrity check failed on %.*s", n,
				args->args[0] ? args->args[0] : "");
	*is_null = 1;
	*error = 1;
	return NULL;
}

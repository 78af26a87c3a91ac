/*
 * smgate_udf_support.c: helpers shared by the smgate MariaDB UDFs (smgate_udf.h): argument checks, per-statement
 * state, the token + bundle → key ring cache (per statement, backed by the process ring pool of
 * smgate_udf_ringpool.c), and raising errors through the server.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "smgate_core.h"
#include "smgate_udf.h"

void smgu_raise_error(unsigned int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (my_printf_error != NULL)
		my_printf_error(code, "%s", 0, msg);
}

char *smgu_fail(char *is_null, char *error, unsigned int code, const char *fn, const char *what)
{
	smgu_raise_error(code, "smgate: %s: %s", fn, what);
	*is_null = 1;
	*error = 1;
	return NULL;
}

my_bool smgu_init_common(UDF_INIT *initid, UDF_ARGS *args, char *message, unsigned min_args,
						   unsigned max_args, const char *usage)
{
	udf_state *st;
	unsigned i;

	if (args->arg_count < min_args || args->arg_count > max_args) {
		snprintf(message, MYSQL_ERRMSG_SIZE, "smgate: usage: %s", usage);
		return 1;
	}
	for (i = 0; i < args->arg_count; i++)
		args->arg_type[i] = STRING_RESULT;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(message, MYSQL_ERRMSG_SIZE, "smgate: out of memory");
		return 1;
	}
	initid->ptr = (char *)st;
	initid->maybe_null = 1;
	initid->max_length = 16777216;
	initid->const_item = 0;
	return 0;
}

void smgu_deinit_common(UDF_INIT *initid)
{
	udf_state *st = (udf_state *)initid->ptr;

	if (st == NULL)
		return;
	smgu_pool_checkin(st->ring_id, st->ring); /* kept for the next statement with this token and bundle */
	if (st->token) {
		smg_wipe(st->token, st->token_len);
		free(st->token);
	}
	free(st->bundle);
	if (st->buf) {
		smg_wipe(st->buf, st->cap);
		free(st->buf);
	}
	free(st);
	initid->ptr = NULL;
}

char *smgu_reserve(udf_state *st, size_t n)
{
	if (n > st->cap) {
		char *b = malloc(n < 256 ? 256 : n);

		if (b == NULL)
			return NULL;
		if (st->buf) {
			smg_wipe(st->buf, st->cap);
			free(st->buf);
		}
		st->buf = b;
		st->cap = n < 256 ? 256 : n;
	}
	return st->buf;
}

/* Key ring for this row's token + bundle arguments (cached while they stay the same). */
int smgu_ring_for(udf_state *st, UDF_ARGS *args, unsigned ti, const char *fn, smg_keyring **out)
{
	const char *tok = args->args[ti], *bun = args->args[ti + 1];
	size_t tl = args->lengths[ti], bl = args->lengths[ti + 1];
	int rc;

	*out = NULL;
	if (tok == NULL || tl == 0) {
		smgu_raise_error(ER_SMG_DENIED,
					"smgate: %s: no session token; SET @smgate_token = '<token>' in this session first",
					fn);
		return -1;
	}
	if (bun == NULL) {
		smgu_raise_error(ER_SMG_GENERAL,
					"smgate: %s: no key bundle installed (smgate_key_bundle is empty); run smgate "
					"plugin install",
					fn);
		return -1;
	}
	if (st->ring != NULL && st->token_len == tl && st->bundle_len == bl &&
		memcmp(st->token, tok, tl) == 0 && memcmp(st->bundle, bun, bl) == 0) {
		*out = st->ring;
		return 0;
	}
	smgu_pool_checkin(st->ring_id, st->ring);
	st->ring = NULL;
	if (st->token) {
		smg_wipe(st->token, st->token_len);
		free(st->token);
	}
	free(st->bundle);
	st->token = malloc(tl);
	st->bundle = malloc(bl ? bl : 1);
	if (st->token == NULL || st->bundle == NULL) {
		smgu_raise_error(ER_SMG_GENERAL, "smgate: %s: out of memory", fn);
		return -1;
	}
	memcpy(st->token, tok, tl);
	memcpy(st->bundle, bun, bl);
	st->token_len = tl;
	st->bundle_len = bl;
	smgu_pool_id(tok, tl, bun, bl, st->ring_id);
	st->ring = smgu_pool_checkout(st->ring_id);
	rc = st->ring != NULL ? SMG_OK : smg_keyring_open(bun, bl, (const uint8_t *)tok, tl, &st->ring);
	if (rc != SMG_OK) {
		st->token_len = 0; /* do not cache a failure */
		smgu_raise_error(rc == SMG_EBAD_TOKEN ? ER_SMG_DENIED : ER_SMG_GENERAL, "smgate: %s: %s", fn,
					smg_strerror(rc));
		return -1;
	}
	*out = st->ring;
	return 0;
}

int smgu_active_key(smg_keyring *ring, UDF_ARGS *args, unsigned ni, const char *fn,
					  smg_datakey **k)
{
	int rc;

	if (args->args[ni] == NULL) {
		smgu_raise_error(ER_SMG_GENERAL, "smgate: %s: key name is NULL", fn);
		return -1;
	}
	rc = smg_keyring_active(ring, args->args[ni], args->lengths[ni], k);
	if (rc == SMG_EUNKNOWN_KEY) {
		smgu_raise_error(ER_SMG_GENERAL, "smgate: %s: key \"%.*s\" is not in the loaded key set", fn,
					(int)(args->lengths[ni] > 64 ? 64 : args->lengths[ni]), args->args[ni]);
		return -1;
	}
	if (rc != SMG_OK) {
		smgu_raise_error(ER_SMG_GENERAL, "smgate: %s: key \"%.*s\": %s", fn,
					(int)(args->lengths[ni] > 64 ? 64 : args->lengths[ni]), args->args[ni],
					smg_strerror(rc));
		return -1;
	}
	return 0;
}

/* Lower-cased AD into buf (or NULL with an error when absent). */
uint8_t *smgu_ad_of(UDF_ARGS *args, unsigned ai, uint8_t *stackbuf, size_t cap, size_t *len,
					  uint8_t **heap)
{
	uint8_t *out = stackbuf;

	*heap = NULL;
	if (args->args[ai] == NULL)
		return NULL;
	*len = args->lengths[ai];
	if (*len > cap) {
		out = *heap = malloc(*len);
		if (out == NULL)
			return NULL;
	}
	smg_ad_lower(args->args[ai], *len, out);
	return out;
}


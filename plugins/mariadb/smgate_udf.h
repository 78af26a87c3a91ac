/*
 * smgate_udf.h: what the smgate UDF files share (see smgate_udf_support.c).
 */
#ifndef SMGATE_UDF_H
#define SMGATE_UDF_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "smgate_core.h"

/* exported by mariadbd (default visibility, weak: the library still loads without it) */
extern void my_printf_error(unsigned int error, const char *format, unsigned long flags, ...)
	__attribute__((weak));

/* helpers are hidden: a global name could otherwise be interposed by a mariadbd symbol */
#pragma GCC visibility push(hidden)

#define ER_SMG_DENIED 1142  /* SQLSTATE 42000: no token / token does not open the bundle */
#define ER_SMG_GENERAL 1105 /* SQLSTATE HY000 */


typedef struct {
	smg_keyring *ring; /* checked out of the ring pool (smgate_udf_ringpool.c) for this statement */
	uint8_t ring_id[32];
	char *token;
	size_t token_len;
	char *bundle;
	size_t bundle_len;
	char *buf; /* result buffer */
	size_t cap;
} udf_state;

void smgu_raise_error(unsigned int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raises "smgate: <fn>: <what>", marks the row NULL/error and returns NULL. */
char *smgu_fail(char *is_null, char *error, unsigned int code, const char *fn, const char *what);
my_bool smgu_init_common(UDF_INIT *initid, UDF_ARGS *args, char *message, unsigned min_args, unsigned max_args,
					const char *usage);
void smgu_deinit_common(UDF_INIT *initid);
/* Result buffer of at least n bytes (kept in the statement state). */
char *smgu_reserve(udf_state *st, size_t n);
/* Key ring for the token/bundle arguments at ti, ti+1 (cached per statement); -1 after raising an error. */
int smgu_ring_for(udf_state *st, UDF_ARGS *args, unsigned ti, const char *fn, smg_keyring **out);
int smgu_active_key(smg_keyring *ring, UDF_ARGS *args, unsigned ni, const char *fn, smg_datakey **k);
/* Lower-cased AD of argument ai (stack buffer or *heap, which the caller frees). */
uint8_t *smgu_ad_of(UDF_ARGS *args, unsigned ai, uint8_t *stackbuf, size_t cap, size_t *len, uint8_t **heap);

/* Ring pool (smgate_udf_ringpool.c): id = HMAC-SM3(token, bundle); checkout returns NULL when none is pooled. */
void smgu_pool_id(const char *token, size_t token_len, const char *bundle, size_t bundle_len, uint8_t id[32]);
smg_keyring *smgu_pool_checkout(const uint8_t id[32]);
void smgu_pool_checkin(const uint8_t id[32], smg_keyring *ring);

#pragma GCC visibility pop

#endif

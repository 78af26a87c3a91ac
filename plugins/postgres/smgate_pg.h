/*
 * smgate_pg.h: helpers shared by the extension's C files (key lookup, role gate, error mapping).
 */
#ifndef SMGATE_PG_H
#define SMGATE_PG_H

#include "postgres.h"

#include "fmgr.h"

#include "smgate_core.h"

/* Loaded key ring after the role gate; ERROR when keys are not loaded or the role is not allowed. */
smg_keyring *smgate_pg_ring(void);
/* True when keys are loaded and current_user passes the role gate (never raises for those). */
bool smgate_pg_ready(void);
/* Active DataKey of a key name; ERROR naming the key when unknown or not active. */
smg_datakey *smgate_pg_active_key(text *name);
/* Key ring generation: bumped whenever keys are loaded or unloaded (invalidates smgate_callcache.c entries). */
uint64 smgate_pg_ring_gen(void);
/*
 * Per-call-site cached lookups (smgate_callcache.c, fn_extra): the role gate runs on every call; the key and
 * lower-cased AD are looked up once per call site and key ring generation.
 */
smg_datakey *smgate_pg_call_active_key(FunctionCallInfo fcinfo, text *name);
smg_datakey *smgate_pg_call_key_by_id(FunctionCallInfo fcinfo, uint32 key_id, const char *fn);
const uint8_t *smgate_pg_call_ad(FunctionCallInfo fcinfo, text *ad, size_t *len);
/* Raises an ERROR with an SQLSTATE matching the core status; never includes data or key bytes. */
void smgate_pg_fail(int rc, const char *what) pg_attribute_noreturn();

#endif

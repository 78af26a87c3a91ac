/*
 * smgate_pg.h: helpers shared by the extension's C files (key lookup, role gate, error mapping).
 */
#ifndef SMGATE_PG_H
#define SMGATE_PG_H

#include "postgres.h"

#include "smgate_core.h"

/* Loaded key ring after the role gate; ERROR when keys are not loaded or the role is not allowed. */
smg_keyring *smgate_pg_ring(void);
/* True when keys are loaded and current_user passes the role gate (never raises for those). */
bool smgate_pg_ready(void);
/* Active DataKey of a key name; ERROR naming the key when unknown or not active. */
smg_datakey *smgate_pg_active_key(text *name);
/* Lower-cased associated data, palloc'd. */
uint8_t *smgate_pg_ad(text *ad, size_t *len);
/* Raises an ERROR with an SQLSTATE matching the core status; never includes data or key bytes. */
void smgate_pg_fail(int rc, const char *what) pg_attribute_noreturn();

#endif

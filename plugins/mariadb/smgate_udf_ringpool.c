/*
 * smgate_udf_ringpool.c: process-wide pool of opened key rings for the MariaDB UDFs, so a statement does not pay
 * for opening the key bundle (HKDF-SM3 and five subkey derivations per key, ~0.2 ms) when the same token and
 * bundle were opened recently. MariaDB calls a UDF's init/deinit once per statement, and for triggers once per
 * row, which made bundle opening the largest cost of plugin-mode INSERTs.
 *
 * A ring's cipher contexts must not be used by two threads at once, so rings are checked out (owned by one
 * statement) and checked back in by deinit; the pool never hands one ring to two statements. Entries are keyed
 * by HMAC-SM3(key = token, bundle), compared in constant time; the token itself is not kept. Entries idle for
 * more than SMGU_POOL_IDLE_SEC are freed (wiped) on the next pool access, the oldest entry is evicted when the
 * pool is full, and everything is wiped when the server unloads the library.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "smgate_core.h"
#include "smgate_internal.h"
#include "smgate_udf.h"

#define SMGU_POOL_SLOTS 64
#define SMGU_POOL_IDLE_SEC 300

typedef struct {
	smg_keyring *ring;
	uint8_t id[32];
	time_t since; /* checked in at */
} pool_slot;

static pool_slot g_pool[SMGU_POOL_SLOTS];
static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;

void smgu_pool_id(const char *token, size_t token_len, const char *bundle, size_t bundle_len, uint8_t id[32])
{
	smg_hmac_mid mid;
	smg_part part = {(const uint8_t *)bundle, bundle_len};

	smg_internal_hmac_mid_init(&mid, (const uint8_t *)token, token_len);
	smg_internal_hmac_mid(&mid, &part, 1, id);
	smg_wipe(&mid, sizeof mid);
}

static void drop_slot(pool_slot *s)
{
	smg_keyring_free(s->ring);
	smg_wipe(s, sizeof *s);
}

/* Frees idle entries; caller holds the lock. */
static void expire_locked(time_t now)
{
	int i;

	for (i = 0; i < SMGU_POOL_SLOTS; i++)
		if (g_pool[i].ring != NULL && now - g_pool[i].since > SMGU_POOL_IDLE_SEC)
			drop_slot(&g_pool[i]);
}

smg_keyring *smgu_pool_checkout(const uint8_t id[32])
{
	smg_keyring *r = NULL;
	int i;

	pthread_mutex_lock(&g_pool_lock);
	expire_locked(time(NULL));
	for (i = 0; i < SMGU_POOL_SLOTS; i++)
		if (g_pool[i].ring != NULL && CRYPTO_memcmp(g_pool[i].id, id, 32) == 0) {
			r = g_pool[i].ring;
			smg_wipe(&g_pool[i], sizeof g_pool[i]);
			break;
		}
	pthread_mutex_unlock(&g_pool_lock);
	return r;
}

void smgu_pool_checkin(const uint8_t id[32], smg_keyring *ring)
{
	time_t now = time(NULL);
	int i, free_slot = -1, oldest = 0;

	if (ring == NULL)
		return;
	pthread_mutex_lock(&g_pool_lock);
	expire_locked(now);
	for (i = 0; i < SMGU_POOL_SLOTS; i++) {
		if (g_pool[i].ring == NULL) {
			free_slot = i;
			break;
		}
		if (g_pool[i].since < g_pool[oldest].since)
			oldest = i;
	}
	if (free_slot < 0) {
		drop_slot(&g_pool[oldest]);
		free_slot = oldest;
	}
	g_pool[free_slot].ring = ring;
	memcpy(g_pool[free_slot].id, id, 32);
	g_pool[free_slot].since = now;
	pthread_mutex_unlock(&g_pool_lock);
}

/* The server unloads the library (DROP FUNCTION of the last UDF): wipe every pooled ring. */
__attribute__((destructor)) static void pool_unload(void)
{
	int i;

	pthread_mutex_lock(&g_pool_lock);
	for (i = 0; i < SMGU_POOL_SLOTS; i++)
		if (g_pool[i].ring != NULL)
			drop_slot(&g_pool[i]);
	pthread_mutex_unlock(&g_pool_lock);
}

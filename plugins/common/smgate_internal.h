/*
 * smgate_internal.h: helpers shared between the C core's files (not part of the plugin-facing API).
 */
#ifndef SMGATE_INTERNAL_H
#define SMGATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

typedef struct {
	const uint8_t *p;
	size_t n;
} smg_part;

/* HMAC-SM3 context keyed once; smg_internal_keyed_mac re-initialises it per message (keyed state reused). */
EVP_MAC_CTX *smg_internal_hmac_new(const uint8_t *key, size_t key_len);
int smg_internal_keyed_mac(EVP_MAC_CTX *m, const smg_part *parts, int nparts, uint8_t out[32]);
uint32_t smg_internal_get_u32(const uint8_t *p);

/* HMAC-SM3 with precomputed inner/outer SM3 chaining values (smgate_sm3.c): no allocation per message. */
typedef struct {
	uint32_t inner[8];
	uint32_t outer[8];
} smg_hmac_mid;

void smg_internal_hmac_mid_init(smg_hmac_mid *m, const uint8_t *key, size_t key_len);
void smg_internal_hmac_mid(const smg_hmac_mid *m, const smg_part *parts, int nparts, uint8_t out[32]);
/* Plain SM3 digest (known-answer self test). */
void smg_internal_sm3(const uint8_t *msg, size_t len, uint8_t out[32]);

#endif

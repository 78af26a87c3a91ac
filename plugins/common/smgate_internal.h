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

#endif

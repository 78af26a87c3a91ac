/*
 * smgate_nfc: Unicode NFC normalisation of UTF-8 for the blind index (ICU), matching
 * crypto/blind-index.ts normalizeForIndex: ASCII and invalid UTF-8 pass unchanged, valid UTF-8
 * becomes its NFC form.
 */
#ifndef SMGATE_NFC_H
#define SMGATE_NFC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sets *out to in (no copy, *owned = 0) when the bytes need no change, else to a malloc'd NFC copy
 * (*owned = 1, caller frees). Returns 0, or -1 on allocation/ICU failure.
 */
int smg_nfc(const uint8_t *in, size_t len, const uint8_t **out, size_t *out_len, int *owned);

#endif

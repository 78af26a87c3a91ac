/*
 * smgate_fpe: FF1 (NIST SP 800-38G rev1) with SM4 as the block cipher (the DataKey's fpe subkey), tweak = AD,
 * and the smgate FPE formats (digits, alnum, cn-id, cn-mobile, bank-card, integer) exactly as
 * crypto/fpe/formats.ts and docs/FORMAT.md define them: split into kept prefix / encrypted numerals / kept
 * suffix, check characters recomputed (cn-id, bank-card with keep_suffix 0) or enforced by cycle-walking
 * (bank-card with a kept check digit, negative integers).
 */
#ifndef SMGATE_FPE_H
#define SMGATE_FPE_H

#include <stddef.h>
#include <stdint.h>

#include "smgate_core.h"

#define SMG_FPE_UNSET (-1)

typedef struct {
	int keep_prefix; /* SMG_FPE_UNSET = format default */
	int keep_suffix;
	int width; /* integer format only */
} smg_fpe_opts;

/* Output buffer size needed for an input of len bytes. */
size_t smg_fpe_out_len(size_t len, const smg_fpe_opts *o);

/*
 * Encrypts (encrypt != 0) or decrypts one value. On SMG_EFORMAT, `why` receives a reason naming the format
 * and the rule (never the value).
 */
int smg_fpe(smg_datakey *k, const uint8_t *ad, size_t ad_len, const char *format, size_t format_len,
			const char *in, size_t len, const smg_fpe_opts *o, int encrypt, char *out,
			size_t *out_len, char *why, size_t why_len);

/* Raw FF1 over numerals (each < radix), in place, for tests against the NIST samples. */
int smg_ff1(smg_datakey *k, unsigned radix, const uint8_t *tweak, size_t tweak_len, uint8_t *x,
			size_t n, int encrypt);

#endif

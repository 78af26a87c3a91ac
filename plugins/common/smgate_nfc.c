/*
 * smgate_nfc.c: NFC normalisation for blind indexes on ICU's unorm2 (see smgate_nfc.h).
 */
#include "smgate_nfc.h"

#include <stdlib.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

int smg_nfc(const uint8_t *in, size_t len, const uint8_t **out, size_t *out_len, int *owned)
{
	UErrorCode err = U_ZERO_ERROR;
	const UNormalizer2 *nfc;
	UChar *u16 = NULL, *n16 = NULL;
	int32_t u16_len = 0, n16_len, u8_len = 0;
	uint8_t *u8 = NULL;
	size_t i;
	int rc = -1;

	*out = in;
	*out_len = len;
	*owned = 0;
	for (i = 0; i < len && in[i] < 0x80; i++)
		;
	if (i == len || len > 0x3fffffff)
		return 0; /* ASCII is already NFC */
	u_strFromUTF8(NULL, 0, &u16_len, (const char *)in, (int32_t)len, &err);
	if (err == U_INVALID_CHAR_FOUND || err == U_ILLEGAL_CHAR_FOUND)
		return 0; /* not valid UTF-8: used byte for byte */
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		return -1;
	err = U_ZERO_ERROR;
	nfc = unorm2_getNFCInstance(&err);
	if (U_FAILURE(err))
		return -1;
	u16 = malloc(sizeof(UChar) * ((size_t)u16_len + 1));
	if (u16 == NULL)
		return -1;
	u_strFromUTF8(u16, u16_len + 1, NULL, (const char *)in, (int32_t)len, &err);
	if (U_FAILURE(err))
		goto done;
	if (unorm2_isNormalized(nfc, u16, u16_len, &err) && U_SUCCESS(err)) {
		rc = 0;
		goto done;
	}
	err = U_ZERO_ERROR;
	n16_len = unorm2_normalize(nfc, u16, u16_len, NULL, 0, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		goto done;
	err = U_ZERO_ERROR;
	n16 = malloc(sizeof(UChar) * ((size_t)n16_len + 1));
	if (n16 == NULL)
		goto done;
	unorm2_normalize(nfc, u16, u16_len, n16, n16_len + 1, &err);
	if (U_FAILURE(err))
		goto done;
	u_strToUTF8(NULL, 0, &u8_len, n16, n16_len, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		goto done;
	err = U_ZERO_ERROR;
	u8 = malloc((size_t)u8_len + 1);
	if (u8 == NULL)
		goto done;
	u_strToUTF8((char *)u8, u8_len + 1, NULL, n16, n16_len, &err);
	if (U_FAILURE(err)) {
		free(u8);
		goto done;
	}
	*out = u8;
	*out_len = (size_t)u8_len;
	*owned = 1;
	rc = 0;
done:
	free(u16);
	free(n16);
	return rc;
}

/*
 * smgate_fpe_pg.c: SQL wrappers of the FF1-SM4 format-preserving encryption (plugins/common/smgate_fpe.c).
 * smgate_fpe_encrypt/decrypt(value, keyname, ad, format, keep_prefix, keep_suffix, width) use the active
 * key of the name (FPE output carries no key id).
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "smgate_fpe.h"
#include "smgate_pg.h"

static Datum fpe_common(FunctionCallInfo fcinfo, int encrypt)
{
	text *value, *format;
	smg_datakey *k;
	smg_fpe_opts o;
	const uint8_t *ad;
	size_t ad_len, out_len = 0;
	char why[256];
	text *out;
	int rc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("smgate: %s: keyname, ad and format must not be NULL",
							   encrypt ? "smgate_fpe_encrypt" : "smgate_fpe_decrypt")));
	value = PG_GETARG_TEXT_PP(0);
	format = PG_GETARG_TEXT_PP(3);
	o.keep_prefix = PG_ARGISNULL(4) ? SMG_FPE_UNSET : PG_GETARG_INT32(4);
	o.keep_suffix = PG_ARGISNULL(5) ? SMG_FPE_UNSET : PG_GETARG_INT32(5);
	o.width = PG_ARGISNULL(6) ? SMG_FPE_UNSET : PG_GETARG_INT32(6);
	if ((!PG_ARGISNULL(4) && o.keep_prefix < 0) || (!PG_ARGISNULL(5) && o.keep_suffix < 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("smgate: keep_prefix and keep_suffix must be integers >= 0")));
	k = smgate_pg_call_active_key(fcinfo, PG_GETARG_TEXT_PP(1));
	ad = smgate_pg_call_ad(fcinfo, PG_GETARG_TEXT_PP(2), &ad_len);
	out = (text *)palloc(VARHDRSZ + smg_fpe_out_len(VARSIZE_ANY_EXHDR(value), &o));
	why[0] = '\0';
	rc = smg_fpe(k, ad, ad_len, VARDATA_ANY(format), VARSIZE_ANY_EXHDR(format), VARDATA_ANY(value),
				 VARSIZE_ANY_EXHDR(value), &o, encrypt, VARDATA(out), &out_len, why, sizeof why);
	if (rc == SMG_EFORMAT)
		ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), errmsg("smgate: %s", why)));
	if (rc != SMG_OK)
		smgate_pg_fail(rc, encrypt ? "smgate_fpe_encrypt" : "smgate_fpe_decrypt");
	SET_VARSIZE(out, VARHDRSZ + out_len);
	PG_RETURN_TEXT_P(out);
}

PG_FUNCTION_INFO_V1(smgate_fpe_encrypt);
Datum smgate_fpe_encrypt(PG_FUNCTION_ARGS)
{
	return fpe_common(fcinfo, 1);
}

PG_FUNCTION_INFO_V1(smgate_fpe_decrypt);
Datum smgate_fpe_decrypt(PG_FUNCTION_ARGS)
{
	return fpe_common(fcinfo, 0);
}

/*
 * smgate_callcache.c: per-call-site cache (fmgr fn_extra) of what a crypto function looks up for every row: the
 * active DataKey of its key name, the DataKey of the last envelope key id, and the lower-cased associated data.
 * Entries belong to one key ring generation (smgate_pg_ring_gen): loading or unloading keys bumps it, so a cached
 * DataKey pointer is never used after its ring was freed. The role gate still runs on every call.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "smgate_core.h"
#include "smgate_pg.h"

typedef struct {
	uint64 gen;				 /* ring generation of the key entries (0: none) */
	smg_datakey *active;	 /* active key of name[] */
	size_t name_len;
	char name[SMG_KEY_NAME_MAX + 1];
	bool has_id;
	uint32 key_id;			 /* last envelope key id and its key */
	smg_datakey *by_id;
	char *ad_src;			 /* associated data as given, and lower-cased (fn_mcxt) */
	size_t ad_len;
	uint8_t *ad_lower;
	size_t ad_cap;
} call_cache;

static call_cache *cache_of(FunctionCallInfo fcinfo)
{
	FmgrInfo *fl = fcinfo->flinfo;

	if (fl->fn_extra == NULL)
		fl->fn_extra = MemoryContextAllocZero(fl->fn_mcxt, sizeof(call_cache));
	return (call_cache *)fl->fn_extra;
}

/* Drops key entries of an older ring generation. */
static call_cache *current_cache(FunctionCallInfo fcinfo)
{
	call_cache *c = cache_of(fcinfo);
	uint64 gen = smgate_pg_ring_gen();

	if (c->gen != gen) {
		c->gen = gen;
		c->active = NULL;
		c->name_len = 0;
		c->has_id = false;
		c->by_id = NULL;
	}
	return c;
}

smg_datakey *smgate_pg_call_active_key(FunctionCallInfo fcinfo, text *name)
{
	size_t nl = VARSIZE_ANY_EXHDR(name);
	smg_datakey *k;
	call_cache *c;

	(void)smgate_pg_ring(); /* role gate and key auto-load on every call */
	c = current_cache(fcinfo);
	if (c->active != NULL && c->name_len == nl && memcmp(c->name, VARDATA_ANY(name), nl) == 0)
		return c->active;
	k = smgate_pg_active_key(name); /* raises when unknown or not active */
	if (nl <= SMG_KEY_NAME_MAX) {
		memcpy(c->name, VARDATA_ANY(name), nl);
		c->name_len = nl;
		c->active = k;
	}
	return k;
}

smg_datakey *smgate_pg_call_key_by_id(FunctionCallInfo fcinfo, uint32 key_id, const char *fn)
{
	smg_keyring *ring = smgate_pg_ring(); /* role gate on every call */
	call_cache *c = current_cache(fcinfo);
	smg_datakey *k;

	if (c->has_id && c->key_id == key_id)
		return c->by_id;
	k = smg_keyring_by_id(ring, key_id);
	if (k == NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("smgate: %s: key id %u is not in the loaded key set", fn, key_id)));
	c->has_id = true;
	c->key_id = key_id;
	c->by_id = k;
	return k;
}

const uint8_t *smgate_pg_call_ad(FunctionCallInfo fcinfo, text *ad, size_t *len)
{
	call_cache *c = cache_of(fcinfo);
	size_t n = VARSIZE_ANY_EXHDR(ad);

	if (c->ad_lower == NULL || c->ad_len != n || memcmp(c->ad_src, VARDATA_ANY(ad), n) != 0) {
		if (c->ad_lower == NULL || c->ad_cap < n) {
			MemoryContext fm = fcinfo->flinfo->fn_mcxt;

			if (c->ad_lower != NULL) {
				pfree(c->ad_lower);
				pfree(c->ad_src);
			}
			c->ad_cap = n < 64 ? 64 : n;
			c->ad_lower = MemoryContextAlloc(fm, c->ad_cap);
			c->ad_src = MemoryContextAlloc(fm, c->ad_cap);
		}
		memcpy(c->ad_src, VARDATA_ANY(ad), n);
		smg_ad_lower(VARDATA_ANY(ad), n, c->ad_lower);
		c->ad_len = n;
	}
	*len = n;
	return c->ad_lower;
}

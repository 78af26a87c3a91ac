/*
 * smgate_session.c: per-backend key state of the smgate extension: _PG_init (GUC smgate.token, exit hook),
 * smgate_load_keys / unload / session_ready / keys, the role gate, key lookup and error mapping (smgate_pg.h).
 * Keys come from smgate.key_bundle opened with the session token; they are wiped on unload and at backend exit.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "access/xact.h"
#include "utils/resowner.h"

#include <openssl/crypto.h>

#include "smgate_core.h"
#include "smgate_pg.h"


PG_MODULE_MAGIC;


#define MAX_ALLOWED_ROLES 256

static smg_keyring *g_ring = NULL;
static Oid g_allowed[MAX_ALLOWED_ROLES];
static int g_nallowed = 0;
static Oid g_checked_user = InvalidOid; /* last user that passed the role gate */
static char *g_token_guc = NULL;
static bool g_autoloading = false;
static uint64 g_ring_gen = 1; /* bumped on every load and unload */

void _PG_init(void);

uint64 smgate_pg_ring_gen(void)
{
	return g_ring_gen;
}

static void unload_keys(void)
{
	g_ring_gen++; /* before the free: no cached DataKey pointer outlives its ring */
	smg_keyring_free(g_ring); /* wipes subkeys and contexts */
	g_ring = NULL;
	g_nallowed = 0;
	g_checked_user = InvalidOid;
}

static void smgate_on_exit(int code, Datum arg)
{
	unload_keys();
}

void _PG_init(void)
{
	DefineCustomStringVariable("smgate.token",
							   "Session token that opens the smgate key bundle (never stored).",
							   NULL, &g_token_guc, "", PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE, NULL,
							   NULL, NULL);
	MarkGUCPrefixReserved("smgate");
	on_proc_exit(smgate_on_exit, (Datum)0);
}

void smgate_pg_fail(int rc, const char *what)
{
	int code;

	switch (rc) {
	case SMG_EBAD_TAG:
		code = ERRCODE_DATA_CORRUPTED;
		break;
	case SMG_EBAD_ENVELOPE:
	case SMG_EFORMAT:
		code = ERRCODE_INVALID_TEXT_REPRESENTATION;
		break;
	case SMG_EUNKNOWN_KEY:
	case SMG_EKEY_STATE:
	case SMG_EBAD_INPUT:
		code = ERRCODE_INVALID_PARAMETER_VALUE;
		break;
	case SMG_EBAD_TOKEN:
	case SMG_EBAD_BUNDLE:
		code = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		break;
	case SMG_ENOMEM:
		code = ERRCODE_OUT_OF_MEMORY;
		break;
	default:
		code = ERRCODE_INTERNAL_ERROR;
	}
	ereport(ERROR, (errcode(code), errmsg("smgate: %s: %s", what, smg_strerror(rc))));
}

/* ---------------- key loading ---------------- */

static void autoload_from_guc(void)
{
	Oid argtypes[1] = {TEXTOID};
	Datum values[1];
	int ret;

	if (g_token_guc == NULL || g_token_guc[0] == '\0' || g_autoloading)
		return;
	g_autoloading = true;
	PG_TRY();
	{
		values[0] = CStringGetTextDatum(g_token_guc);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "smgate: SPI_connect failed");
		ret = SPI_execute_with_args("SELECT smgate.smgate_load_keys($1)", 1, argtypes, values, NULL,
									false, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "smgate: loading keys from smgate.token failed");
		SPI_finish();
	}
	PG_FINALLY();
	{
		g_autoloading = false;
	}
	PG_END_TRY();
}

static bool role_allowed(Oid user)
{
	int i;

	if (user == g_checked_user && OidIsValid(user))
		return true;
	for (i = 0; i < g_nallowed; i++)
		if (has_privs_of_role(user, g_allowed[i])) {
			g_checked_user = user;
			return true;
		}
	if (superuser_arg(user)) {
		g_checked_user = user;
		return true;
	}
	return false;
}

smg_keyring *smgate_pg_ring(void)
{
	Oid user = GetUserId();

	if (g_ring == NULL)
		autoload_from_guc();
	if (g_ring == NULL)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("smgate: keys are not loaded in this session"),
						errhint("Call smgate.smgate_load_keys(token) or SET smgate.token first.")));
	if (!role_allowed(user))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("smgate: role \"%s\" is not allowed to use smgate keys",
							   GetUserNameFromId(user, false)),
						errhint("Add the role (or a role it belongs to) to smgate.allowed_roles.")));
	return g_ring;
}

/*
 * Non-raising readiness check for the installed views. A failing auto-load (wrong token, role outside the
 * gate, no bundle) is rolled back in a subtransaction and remembered for this token value, so the view shows
 * ciphertext instead of raising; explicit crypto calls still raise the precise error.
 */
static char *g_failed_token = NULL;

bool smgate_pg_ready(void)
{
	if (g_ring == NULL && g_token_guc != NULL && g_token_guc[0] != '\0' && !g_autoloading &&
		(g_failed_token == NULL || strcmp(g_failed_token, g_token_guc) != 0)) {
		MemoryContext mcxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(mcxt);
		PG_TRY();
		{
			autoload_from_guc();
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(mcxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(mcxt);
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(mcxt);
			CurrentResourceOwner = owner;
			g_autoloading = false;
			if (g_failed_token != NULL) {
				explicit_bzero(g_failed_token, strlen(g_failed_token));
				free(g_failed_token);
			}
			g_failed_token = strdup(g_token_guc);
		}
		PG_END_TRY();
	}
	return g_ring != NULL && role_allowed(GetUserId());
}

PG_FUNCTION_INFO_V1(smgate_load_keys);
Datum smgate_load_keys(PG_FUNCTION_ARGS)
{
	text *token = PG_GETARG_TEXT_PP(0);
	Oid caller = GetOuterUserId();
	Oid allowed[MAX_ALLOWED_ROLES];
	int nallowed = 0, rc, i;
	bool caller_ok;
	char *bundle = NULL;
	smg_keyring *ring = NULL;
	uint64 r;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "smgate: SPI_connect failed");
	if (SPI_execute("SELECT role_name::text FROM smgate.allowed_roles", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "smgate: cannot read smgate.allowed_roles");
	for (r = 0; r < SPI_processed && nallowed < MAX_ALLOWED_ROLES; r++) {
		char *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		Oid oid = name != NULL ? get_role_oid(name, true) : InvalidOid;

		if (OidIsValid(oid))
			allowed[nallowed++] = oid;
	}
	caller_ok = superuser_arg(caller);
	for (i = 0; i < nallowed && !caller_ok; i++)
		caller_ok = has_privs_of_role(caller, allowed[i]);
	if (!caller_ok) {
		SPI_finish();
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("smgate: role \"%s\" is not allowed to load smgate keys",
							   GetUserNameFromId(caller, false)),
						errhint("Add the role (or a role it belongs to) to smgate.allowed_roles.")));
	}
	if (SPI_execute("SELECT bundle FROM smgate.key_bundle ORDER BY id DESC LIMIT 1", true, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "smgate: cannot read smgate.key_bundle");
	if (SPI_processed == 1)
		bundle = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (bundle == NULL) {
		SPI_finish();
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("smgate: no key bundle is installed in smgate.key_bundle"),
						errhint("Run smgate plugin install, which stores the encrypted bundle.")));
	}
	rc = smg_keyring_open(bundle, strlen(bundle), (const uint8_t *)VARDATA_ANY(token),
						  VARSIZE_ANY_EXHDR(token), &ring);
	SPI_finish();
	if (rc != SMG_OK)
		smgate_pg_fail(rc, "smgate_load_keys");
	unload_keys(); /* bumps the ring generation */
	g_ring = ring;
	memcpy(g_allowed, allowed, sizeof(Oid) * (size_t)nallowed);
	g_nallowed = nallowed;
	PG_RETURN_INT32(smg_keyring_count(ring));
}

PG_FUNCTION_INFO_V1(smgate_unload_keys);
Datum smgate_unload_keys(PG_FUNCTION_ARGS)
{
	unload_keys();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(smgate_session_ready);
Datum smgate_session_ready(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(smgate_pg_ready());
}

/* smgate_keys() → (key_id bigint, name text, state text): what is loaded, never key bytes. */
PG_FUNCTION_INFO_V1(smgate_keys);
Datum smgate_keys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	smg_keyring *ring = smgate_pg_ring();
	int i, n = smg_keyring_count(ring);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++) {
		uint32_t id;
		int state;
		const char *name;
		size_t nl;
		Datum values[3];
		bool nulls[3] = {false, false, false};

		smg_keyring_entry(ring, i, &id, &state, &name, &nl);
		values[0] = Int64GetDatum((int64)id);
		values[1] = PointerGetDatum(cstring_to_text_with_len(name, (int)nl));
		values[2] = CStringGetTextDatum(state == SMG_KEY_ACTIVE ? "active" : "decrypt-only");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}

/* ---------------- helpers ---------------- */

smg_datakey *smgate_pg_active_key(text *name)
{
	smg_keyring *ring = smgate_pg_ring();
	smg_datakey *k;
	int rc = smg_keyring_active(ring, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), &k);

	if (rc == SMG_EUNKNOWN_KEY)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("smgate: key \"%s\" is not in the loaded key set",
							   text_to_cstring(name))));
	if (rc == SMG_EKEY_STATE)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("smgate: key \"%s\" has no active version for encryption",
							   text_to_cstring(name))));
	if (rc != SMG_OK)
		smgate_pg_fail(rc, "key lookup");
	return k;
}

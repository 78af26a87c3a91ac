-- smgate extension objects (schema smgate). Key material is never stored in clear: smgate.key_bundle
-- holds the bundle encrypted under a session token; smgate.allowed_roles gates key use.
\echo Use "CREATE EXTENSION smgate" to load this file. \quit

CREATE TABLE smgate.key_bundle (
  id integer PRIMARY KEY DEFAULT 1,
  bundle text NOT NULL CHECK (bundle LIKE 'smgb1:%'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE smgate.allowed_roles (role_name name PRIMARY KEY);
REVOKE ALL ON smgate.key_bundle, smgate.allowed_roles FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('smgate.key_bundle', '');
SELECT pg_catalog.pg_extension_config_dump('smgate.allowed_roles', '');
GRANT USAGE ON SCHEMA smgate TO PUBLIC;

CREATE FUNCTION smgate.smgate_load_keys(token text) RETURNS integer
  AS 'MODULE_PATHNAME', 'smgate_load_keys' LANGUAGE C STRICT VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION smgate.smgate_unload_keys() RETURNS void
  AS 'MODULE_PATHNAME', 'smgate_unload_keys' LANGUAGE C VOLATILE;
CREATE FUNCTION smgate.smgate_session_ready() RETURNS boolean
  AS 'MODULE_PATHNAME', 'smgate_session_ready' LANGUAGE C VOLATILE;
CREATE FUNCTION smgate.smgate_keys(OUT key_id bigint, OUT name text, OUT state text) RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'smgate_keys' LANGUAGE C VOLATILE;

CREATE FUNCTION smgate.smgate_self_test() RETURNS text
  AS 'MODULE_PATHNAME', 'smgate_self_test' LANGUAGE C VOLATILE;

CREATE FUNCTION smgate.smgate_encrypt(plaintext text, keyname text, ad text) RETURNS text
  AS 'MODULE_PATHNAME', 'smgate_encrypt_text' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_encrypt_det(plaintext text, keyname text, ad text) RETURNS text
  AS 'MODULE_PATHNAME', 'smgate_encrypt_det_text' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_decrypt(envelope text, ad text) RETURNS text
  AS 'MODULE_PATHNAME', 'smgate_decrypt_text' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_encrypt(plaintext bytea, keyname text, ad text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'smgate_encrypt_bytea' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_encrypt_det(plaintext bytea, keyname text, ad text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'smgate_encrypt_det_bytea' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_decrypt(envelope bytea, ad text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'smgate_decrypt_bytea' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_is_envelope(value text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'smgate_is_envelope' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION smgate.smgate_blind_index(plaintext text, keyname text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'smgate_blind_index' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_row_key(VARIADIC parts text[]) RETURNS bytea
  AS 'MODULE_PATHNAME', 'smgate_row_key' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- not STRICT: a NULL value is MACed as FF FF FF FF (like the gateway); a NULL mac never verifies
CREATE FUNCTION smgate.smgate_mac(value text, keyname text, ad text, row_key bytea) RETURNS bytea
  AS 'MODULE_PATHNAME', 'smgate_mac' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_mac_verify(value text, mac bytea, keyname text, ad text, row_key bytea)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'smgate_mac_verify' LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION smgate.smgate_fpe_encrypt(value text, keyname text, ad text, format text,
    keep_prefix integer DEFAULT NULL, keep_suffix integer DEFAULT NULL, width integer DEFAULT NULL) RETURNS text
  AS 'MODULE_PATHNAME', 'smgate_fpe_encrypt' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION smgate.smgate_fpe_decrypt(value text, keyname text, ad text, format text,
    keep_prefix integer DEFAULT NULL, keep_suffix integer DEFAULT NULL, width integer DEFAULT NULL) RETURNS text
  AS 'MODULE_PATHNAME', 'smgate_fpe_decrypt' LANGUAGE C STABLE PARALLEL RESTRICTED;

-- Tables installed by `smgate plugin install`: original name, renamed base table and what was done, so
-- `smgate plugin uninstall` can reverse it. spec is JSON written by plugins/installer/pg-install.ts.
CREATE TABLE smgate.installed_tables (
  schema_name name NOT NULL,
  table_name name NOT NULL,
  base_name name NOT NULL,
  spec jsonb NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schema_name, table_name)
);
REVOKE ALL ON smgate.installed_tables FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('smgate.installed_tables', '');

-- Raised by installed views when an integrity MAC does not verify (on_integrity_failure: error), or logged as
-- a WARNING (flag). Names the column, never the value.
CREATE FUNCTION smgate.smgate_integrity_failure(ad text, on_failure text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF on_failure = 'flag' THEN
    RAISE WARNING 'smgate: integrity check failed on %', ad USING ERRCODE = 'XX001';
    RETURN true;
  END IF;
  RAISE EXCEPTION 'smgate: integrity check failed on %', ad USING ERRCODE = 'XX001',
    HINT = 'The value or its row key was changed outside smgate, or the MAC column was tampered with.';
END $$;

// Cross test, PostgreSQL: the C extension and the TypeScript crypto core produce byte-identical results on the
// same keys (RND/DET envelopes both ways, DET equality, blind index, integrity MAC), and the extension's key
// loading and role gate fail with clear errors.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fpeDecrypt, fpeEncrypt } from "../../crypto/fpe/index.js";
import {
  blindIndex,
  decryptEnvelopes,
  encodeRowKey,
  encryptDet,
  encryptRnd,
  envelopeFromText,
  envelopeToText,
  integrityMac,
} from "../../crypto/index.js";
import { exportPluginBundle, newSessionToken } from "../../plugins/installer/bundle.js";
import { fpeCases } from "./fpe-cases.js";
import {
  createPgDatabase,
  makeTestKeys,
  PG_ADMIN,
  preparePostgresPlugin,
  randomTexts,
  uniqueName,
} from "./plugin-setup.js";

const skip = await preparePostgresPlugin();
const AD = "public.patients.name";
const adBuf = Buffer.from(AD.toLowerCase(), "utf8");

describe.skipIf(skip !== undefined)("postgres plugin ↔ TypeScript crypto core", () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let client: pg.Client;
  const keys = makeTestKeys();
  const token = newSessionToken();
  const appRole = uniqueName("smg_plugins_app");
  const otherRole = uniqueName("smg_plugins_other");

  const connect = async (user = "postgres"): Promise<pg.Client> => {
    const c = new pg.Client({ ...PG_ADMIN, database: db.name, user });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    db = await createPgDatabase();
    client = await connect();
    await client.query("CREATE EXTENSION smgate");
    await client.query("INSERT INTO smgate.key_bundle(bundle) VALUES ($1)", [exportPluginBundle(keys.entries, token)]);
    await client.query(`CREATE ROLE ${appRole} LOGIN; CREATE ROLE ${otherRole} LOGIN`);
    await client.query(`INSERT INTO smgate.allowed_roles VALUES ('${appRole}')`);
    expect((await client.query("SELECT smgate.smgate_load_keys($1) AS n", [token])).rows[0].n).toBe(3);
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
    const a = new pg.Client(PG_ADMIN);
    await a.connect();
    await a.query(`DROP ROLE IF EXISTS ${appRole}; DROP ROLE IF EXISTS ${otherRole}`);
    await a.end();
  });

  it("passes its known-answer self test (SM4/SM3 standard vectors, batched CTR = OpenSSL sm4-ctr)", async () => {
    expect((await client.query("SELECT smgate.smgate_self_test() AS r")).rows[0].r).toBe("ok");
  });

  it("decrypts RND envelopes made by TypeScript, for every key version, text and bytea", async () => {
    const values = randomTexts(300);
    for (const key of keys.byId.values()) {
      const envs = encryptRnd(
        key,
        adBuf,
        values.map((v) => Buffer.from(v, "utf8")),
      );
      const { rows } = await client.query(
        "SELECT smgate.smgate_decrypt(e, $2) AS p FROM unnest($1::text[]) WITH ORDINALITY AS t(e, i) ORDER BY i",
        [
          envs.map(envelopeToText),
          AD.toUpperCase(), // AD is case-insensitive: lower-cased on both sides
        ],
      );
      expect(rows.map((r) => r.p)).toEqual(values);
      const bin = await client.query(
        "SELECT smgate.smgate_decrypt(e, $2) AS p FROM unnest($1::bytea[]) WITH ORDINALITY AS t(e, i) ORDER BY i",
        [envs, AD],
      );
      expect(bin.rows.map((r) => (r.p as Buffer).toString("utf8"))).toEqual(values);
    }
  });

  it("TypeScript decrypts RND envelopes made by the plugin (active key of the name)", async () => {
    const values = randomTexts(300);
    const { rows } = await client.query(
      "SELECT smgate.smgate_encrypt(v, 'patients', $2) AS e FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
      [values, AD],
    );
    const envs = rows.map((r) => envelopeFromText(r.e));
    expect(envs.every((e) => e.readUInt32BE(1) === keys.active("patients").keyId)).toBe(true);
    const pts = decryptEnvelopes((id) => keys.byId.get(id)!, adBuf, envs);
    expect(pts.map((p) => p.toString("utf8"))).toEqual(values);
    // randomized: the same plaintext twice gives different envelopes
    const twice = await client.query(
      "SELECT smgate.smgate_encrypt('same', 'patients', $1) AS a, smgate.smgate_encrypt('same', 'patients', $1) AS b",
      [AD],
    );
    expect(twice.rows[0].a).not.toBe(twice.rows[0].b);
  });

  it("DET envelopes are byte-identical to TypeScript's and decrypt both ways", async () => {
    const values = randomTexts(300);
    const expected = encryptDet(
      keys.active("orders"),
      adBuf,
      values.map((v) => Buffer.from(v, "utf8")),
    ).map(envelopeToText);
    const { rows } = await client.query(
      "SELECT smgate.smgate_encrypt_det(v, 'orders', $2) AS e, smgate.smgate_decrypt(smgate.smgate_encrypt_det(v, 'orders', $2), $2) AS back FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
      [values, AD],
    );
    expect(rows.map((r) => r.e)).toEqual(expected);
    expect(rows.map((r) => r.back)).toEqual(values);
    const bin = await client.query("SELECT smgate.smgate_encrypt_det($1::bytea, 'orders', $2) AS e", [
      Buffer.from("13800138000"),
      AD,
    ]);
    expect(bin.rows[0].e).toEqual(encryptDet(keys.active("orders"), adBuf, [Buffer.from("13800138000")])[0]);
  });

  it("blind indexes are identical, including NFC normalisation of decomposed text", async () => {
    const values = [...randomTexts(200), "e\u0301", "A\u030a\u0323", "\u1100\u1161"];
    const expected = blindIndex(
      keys.active("patients"),
      values.map((v) => Buffer.from(v, "utf8")),
    );
    const { rows } = await client.query(
      "SELECT smgate.smgate_blind_index(v, 'patients') AS b FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
      [values],
    );
    expect(rows.map((r) => (r.b as Buffer).toString("hex"))).toEqual(expected.map((b) => b.toString("hex")));
    // NFD and NFC spellings share one index
    const eq = await client.query(
      "SELECT smgate.smgate_blind_index(E'e\\u0301', 'patients') = smgate.smgate_blind_index(E'\\u00e9', 'patients') AS same",
    );
    expect(eq.rows[0].same).toBe(true);
  });

  it("integrity MACs and row keys are identical and verify; a changed value or row key fails", async () => {
    const values = randomTexts(100);
    const { rows } = await client.query(
      `SELECT smgate.smgate_row_key(i::text, NULL, 'k') AS rk,
              smgate.smgate_mac(v, 'orders', $2, smgate.smgate_row_key(i::text, NULL, 'k')) AS m
         FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`,
      [values, AD],
    );
    rows.forEach((r, i) => {
      const rk = encodeRowKey([Buffer.from(String(i + 1)), null, Buffer.from("k")]);
      expect(r.rk).toEqual(rk);
      expect(r.m).toEqual(integrityMac(keys.active("orders"), adBuf, rk, Buffer.from(values[i], "utf8")));
    });
    const m = rows[5].m as Buffer;
    const rk = rows[5].rk as Buffer;
    const ok = await client.query("SELECT smgate.smgate_mac_verify($1, $2, 'orders', $3, $4) AS ok", [
      values[5],
      m,
      AD,
      rk,
    ]);
    expect(ok.rows[0].ok).toBe(true);
    const bad = await client.query(
      "SELECT smgate.smgate_mac_verify($1 || 'x', $2, 'orders', $3, $4) AS a, smgate.smgate_mac_verify($1, $2, 'orders', $3, smgate.smgate_row_key('999')) AS b",
      [values[5], m, AD, rk],
    );
    expect(bad.rows[0]).toEqual({ a: false, b: false });
    // a NULL value is MACed as FF FF FF FF, as the gateway's codec does
    const nul = await client.query("SELECT smgate.smgate_mac(NULL, 'orders', $1, smgate.smgate_row_key('7')) AS m", [
      AD,
    ]);
    const want = integrityMac(
      keys.active("orders"),
      adBuf,
      encodeRowKey([Buffer.from("7")]),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    );
    expect(nul.rows[0].m).toEqual(want);
    const v = await client.query(
      "SELECT smgate.smgate_mac_verify(NULL, $1, 'orders', $2, smgate.smgate_row_key('7')) AS ok, smgate.smgate_mac_verify('x', NULL, 'orders', $2, smgate.smgate_row_key('7')) AS nomac",
      [want, AD],
    );
    expect(v.rows[0]).toEqual({ ok: true, nomac: false });
  });

  it("FPE (FF1-SM4) outputs are identical for every format and option set, and decrypt both ways", async () => {
    const key = keys.active("patients");
    for (const c of fpeCases()) {
      const expected = fpeEncrypt(key, adBuf, c.format, c.values, c.opts);
      const { rows } = await client.query(
        `SELECT smgate.smgate_fpe_encrypt(v, 'patients', $2, $3, $4, $5, $6) AS e
           FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`,
        [c.values, AD, c.format, c.opts.keep_prefix ?? null, c.opts.keep_suffix ?? null, c.opts.width ?? null],
      );
      expect(
        rows.map((r) => r.e),
        `${c.format} ${JSON.stringify(c.opts)}`,
      ).toEqual(expected);
      const back = await client.query(
        `SELECT smgate.smgate_fpe_decrypt(v, 'patients', $2, $3, $4, $5, $6) AS p
           FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i`,
        [expected, AD, c.format, c.opts.keep_prefix ?? null, c.opts.keep_suffix ?? null, c.opts.width ?? null],
      );
      expect(back.rows.map((r) => r.p)).toEqual(fpeDecrypt(key, adBuf, c.format, expected, c.opts));
    }
  });

  it("FPE rejects values outside the format with the format's rule, not the value", async () => {
    const cases: [string, string, string][] = [
      ["11010519491231002Y", "cn-id", "invalid GB 11643 check character"],
      ["12345", "digits", "at least 6 are needed"],
      ["23800138000", "cn-mobile", "starts with 1"],
      ["6222020000000001", "bank-card", "fails the Luhn check"],
      ["12a4567", "digits", "outside 0-9"],
      ["123456", "nosuchformat", "unknown format"],
    ];
    for (const [v, f, msg] of cases) {
      const err = await client
        .query("SELECT smgate.smgate_fpe_encrypt($1, 'patients', $2, $3)", [v, AD, f])
        .catch((e: Error) => e);
      expect(err, f).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(msg);
      expect((err as Error).message).not.toContain(v);
    }
    await expect(
      client.query("SELECT smgate.smgate_fpe_encrypt('123', 'patients', $1, 'integer')", [AD]),
    ).rejects.toThrow(/width must be/);
  });

  it("rejects tampering, a wrong column (AD) and unknown keys with clear errors that carry no data", async () => {
    const env = encryptRnd(keys.active("patients"), adBuf, [Buffer.from("secret-value-1")])[0];
    const tampered = Buffer.from(env);
    tampered[tampered.length - 20] ^= 1;
    await expect(
      client.query("SELECT smgate.smgate_decrypt($1, $2)", [envelopeToText(tampered), AD]),
    ).rejects.toMatchObject({
      code: "XX001",
      message: expect.stringContaining("authentication failed"),
    });
    await expect(
      client.query("SELECT smgate.smgate_decrypt($1, 'public.patients.other')", [envelopeToText(env)]),
    ).rejects.toMatchObject({
      code: "XX001",
    });
    const det = encryptDet(keys.active("orders"), adBuf, [Buffer.from("secret-value-2")])[0];
    det[det.length - 1] ^= 1;
    await expect(client.query("SELECT smgate.smgate_decrypt($1, $2)", [envelopeToText(det), AD])).rejects.toMatchObject(
      { code: "XX001" },
    );
    const foreign = Buffer.from(env);
    foreign.writeUInt32BE(12345, 1);
    await expect(client.query("SELECT smgate.smgate_decrypt($1, $2)", [envelopeToText(foreign), AD])).rejects.toThrow(
      /key id 12345 is not in the loaded key set/,
    );
    await expect(client.query("SELECT smgate.smgate_decrypt('not an envelope', $1)", [AD])).rejects.toThrow(
      /not a valid smgate envelope/,
    );
    await expect(client.query("SELECT smgate.smgate_encrypt('v', 'nosuchkey', $1)", [AD])).rejects.toThrow(
      /key "nosuchkey" is not in the loaded key set/,
    );
    const msgs: string[] = [];
    for (const q of ["SELECT smgate.smgate_decrypt($1, 'x.y.z')"]) {
      try {
        await client.query(q, [envelopeToText(env)]);
      } catch (e) {
        msgs.push((e as Error).message);
      }
    }
    expect(msgs.join(" ")).not.toContain("secret-value");
  });

  it("key loading: not loaded, wrong token, role gate, GUC token, unload", async () => {
    const fresh = await connect();
    try {
      await expect(fresh.query("SELECT smgate.smgate_encrypt('v', 'orders', 'a.b.c')")).rejects.toMatchObject({
        code: "55000",
        message: expect.stringContaining("keys are not loaded"),
      });
      expect((await fresh.query("SELECT smgate.smgate_session_ready() AS r")).rows[0].r).toBe(false);
      await expect(fresh.query("SELECT smgate.smgate_load_keys($1)", [newSessionToken()])).rejects.toThrow(
        /does not open with this token/,
      );
      await fresh.query("SET smgate.token = $1".replace("$1", `'${token}'`));
      expect((await fresh.query("SELECT smgate.smgate_session_ready() AS r")).rows[0].r).toBe(true);
      const names = (await fresh.query("SELECT name, state FROM smgate.smgate_keys() ORDER BY key_id")).rows;
      expect(names).toHaveLength(3);
      expect(JSON.stringify(names)).not.toMatch(/[0-9a-f]{32}/);
      await fresh.query("SELECT smgate.smgate_unload_keys()");
      await fresh.query("RESET smgate.token");
      expect((await fresh.query("SELECT smgate.smgate_session_ready() AS r")).rows[0].r).toBe(false);
    } finally {
      await fresh.end();
    }
    const other = await connect(otherRole);
    try {
      await expect(other.query("SELECT smgate.smgate_load_keys($1)", [token])).rejects.toMatchObject({
        code: "42501",
        message: expect.stringContaining(`role "${otherRole}" is not allowed`),
      });
    } finally {
      await other.end();
    }
    const app = await connect(appRole);
    try {
      expect((await app.query("SELECT smgate.smgate_load_keys($1) AS n", [token])).rows[0].n).toBe(3);
      const env = (await app.query("SELECT smgate.smgate_encrypt('v1', 'orders', 'a.b.c') AS e")).rows[0].e;
      expect((await app.query("SELECT smgate.smgate_decrypt($1, 'a.b.c') AS p", [env])).rows[0].p).toBe("v1");
      // the app role cannot read the bundle table directly
      await expect(app.query("SELECT * FROM smgate.key_bundle")).rejects.toMatchObject({ code: "42501" });
      // switching to a role outside the gate within the session is refused
      await client.query(`GRANT ${otherRole} TO ${appRole}`);
      await app.query(`SET ROLE ${otherRole}`);
      await expect(app.query("SELECT smgate.smgate_decrypt($1, 'a.b.c')", [env])).rejects.toMatchObject({
        code: "42501",
      });
    } finally {
      await app.end();
    }
  });
});

// Every pinned vector of docs/FORMAT.md (envelope RND decryption, DET, blind index, row key + integrity MAC,
// FPE both ways) reproduced by the PostgreSQL extension and by the MariaDB UDFs from the vector's DEK.
import type { Connection } from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportPluginBundle, newSessionToken } from "../../plugins/installer/bundle.js";
import { loadFormatVectors, vectorKey } from "./format-vectors.js";
import { asText, createMariadbDatabase } from "./mariadb-helpers.js";
import { createPgDatabase, PG_ADMIN, prepareMariadbPlugin, preparePostgresPlugin } from "./plugin-setup.js";

const skipPg = await preparePostgresPlugin();
const skipMaria = await prepareMariadbPlugin();
const V = loadFormatVectors();
const token = newSessionToken();
const bundle = exportPluginBundle([vectorKey(V)], token);
const optArgs = (o: { keep_prefix?: number; keep_suffix?: number; width?: number }) => [
  o.keep_prefix ?? null,
  o.keep_suffix ?? null,
  o.width ?? null,
];

describe.skipIf(skipPg !== undefined)("docs/FORMAT.md vectors in the PostgreSQL extension", () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let c: pg.Client;
  beforeAll(async () => {
    db = await createPgDatabase();
    c = new pg.Client({ ...PG_ADMIN, database: db.name });
    await c.connect();
    await c.query("CREATE EXTENSION smgate");
    await c.query("INSERT INTO smgate.key_bundle (bundle) VALUES ($1)", [bundle]);
    await c.query("SELECT smgate.smgate_load_keys($1)", [token]);
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it("decrypts every RND vector (text and binary forms)", async () => {
    for (const r of V.rnd) {
      expect((await c.query("SELECT smgate.smgate_decrypt($1::text, $2) AS p", [r.text, V.ad])).rows[0].p).toBe(
        r.plaintext,
      );
      const bin = await c.query("SELECT smgate.smgate_decrypt($1::bytea, $2) AS p", [
        Buffer.from(r.envelope, "hex"),
        V.ad,
      ]);
      expect((bin.rows[0].p as Buffer).toString("utf8")).toBe(r.plaintext);
    }
  });

  it("reproduces every DET vector", async () => {
    for (const d of V.det) {
      expect(
        (await c.query("SELECT smgate.smgate_encrypt_det($1::text, 'vec', $2) AS e", [d.plaintext, V.ad])).rows[0].e,
      ).toBe(d.text);
      const bin = await c.query("SELECT smgate.smgate_encrypt_det($1::bytea, 'vec', $2) AS e", [
        Buffer.from(d.plaintext, "utf8"),
        V.ad,
      ]);
      expect((bin.rows[0].e as Buffer).toString("hex")).toBe(d.envelope);
    }
  });

  it("reproduces every blind index, row key and integrity MAC vector", async () => {
    for (const b of V.blind_index) {
      const { rows } = await c.query("SELECT encode(smgate.smgate_blind_index($1, 'vec'), 'hex') AS i", [
        Buffer.from(b.plaintext_hex, "hex").toString("utf8"),
      ]);
      expect(rows[0].i).toBe(b.index);
    }
    for (const m of V.integrity_mac) {
      const { rows } = await c.query(
        "SELECT encode(smgate.smgate_row_key(VARIADIC $1::text[]), 'hex') AS rk, encode(smgate.smgate_mac($2, 'vec', $3, smgate.smgate_row_key(VARIADIC $1::text[])), 'hex') AS m",
        [m.row_key, m.value, V.ad],
      );
      expect(rows[0]).toEqual({ rk: m.row_key_encoding, m: m.mac });
    }
  });

  it("reproduces every FPE vector and decrypts it back", async () => {
    for (const f of V.fpe) {
      const o = optArgs(f.options);
      const e = await c.query("SELECT smgate.smgate_fpe_encrypt($1, 'vec', $2, $3, $4, $5, $6) AS v", [
        f.plaintext,
        V.fpe_ad,
        f.format,
        ...o,
      ]);
      expect(e.rows[0].v, `${f.format} ${JSON.stringify(f.options)}`).toBe(f.ciphertext);
      const d = await c.query("SELECT smgate.smgate_fpe_decrypt($1, 'vec', $2, $3, $4, $5, $6) AS v", [
        f.ciphertext,
        V.fpe_ad,
        f.format,
        ...o,
      ]);
      expect(d.rows[0].v).toBe(f.plaintext);
    }
  });
});

describe.skipIf(skipMaria !== undefined)("docs/FORMAT.md vectors in the MariaDB UDFs", () => {
  let db: Awaited<ReturnType<typeof createMariadbDatabase>>;
  let c: Connection;
  const one = async (sql: string, params: unknown[]): Promise<unknown> => {
    const [rows] = await c.query(sql, params);
    return (rows as { r: unknown }[])[0].r;
  };
  beforeAll(async () => {
    db = await createMariadbDatabase();
    c = db.conn;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("decrypts every RND vector and reproduces every DET vector", async () => {
    for (const r of V.rnd)
      expect(asText(await one("SELECT smgate_decrypt(?, ?, ?, ?) AS r", [r.text, V.ad, token, bundle]))).toBe(
        r.plaintext,
      );
    for (const d of V.det)
      expect(
        asText(await one("SELECT smgate_encrypt_det(?, 'vec', ?, ?, ?) AS r", [d.plaintext, V.ad, token, bundle])),
      ).toBe(d.text);
  });

  it("reproduces every blind index, row key and integrity MAC vector", async () => {
    for (const b of V.blind_index) {
      const got = await one("SELECT LOWER(HEX(smgate_blind_index(?, 'vec', ?, ?))) AS r", [
        Buffer.from(b.plaintext_hex, "hex"),
        token,
        bundle,
      ]);
      expect(got).toBe(b.index);
    }
    for (const m of V.integrity_mac) {
      const marks = m.row_key.map(() => "?").join(", ");
      expect(await one(`SELECT LOWER(HEX(smgate_row_key(${marks}))) AS r`, m.row_key)).toBe(m.row_key_encoding);
      const got = await one(`SELECT LOWER(HEX(smgate_mac(?, 'vec', ?, smgate_row_key(${marks}), ?, ?))) AS r`, [
        m.value,
        V.ad,
        ...m.row_key,
        token,
        bundle,
      ]);
      expect(got).toBe(m.mac);
    }
  });

  it("reproduces every FPE vector and decrypts it back", async () => {
    for (const f of V.fpe) {
      const o = optArgs(f.options);
      expect(
        asText(
          await one("SELECT smgate_fpe_encrypt(?, 'vec', ?, ?, ?, ?, ?, ?, ?) AS r", [
            f.plaintext,
            V.fpe_ad,
            f.format,
            ...o,
            token,
            bundle,
          ]),
        ),
      ).toBe(f.ciphertext);
      expect(
        asText(
          await one("SELECT smgate_fpe_decrypt(?, 'vec', ?, ?, ?, ?, ?, ?, ?) AS r", [
            f.ciphertext,
            V.fpe_ad,
            f.format,
            ...o,
            token,
            bundle,
          ]),
        ),
      ).toBe(f.plaintext);
    }
  });
});

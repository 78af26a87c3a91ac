// Cross test, MariaDB: the UDFs and the TypeScript crypto core produce byte-identical results on the same keys
// (RND/DET envelopes both ways, blind index, integrity MAC) and fail with clear errors on bad input, a missing
// or wrong token, tampering and unknown keys.
import type { Connection } from "mysql2/promise";
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
import { asText, createMariadbDatabase, mapValues } from "./mariadb-helpers.js";
import { makeTestKeys, prepareMariadbPlugin, randomTexts } from "./plugin-setup.js";

const skip = await prepareMariadbPlugin();
const AD = "test.patients.name";
const adBuf = Buffer.from(AD, "utf8");

describe.skipIf(skip !== undefined)("mariadb UDFs ↔ TypeScript crypto core", () => {
  let db: Awaited<ReturnType<typeof createMariadbDatabase>>;
  let conn: Connection;
  const keys = makeTestKeys();
  const token = newSessionToken();
  const bundle = exportPluginBundle(keys.entries, token);

  beforeAll(async () => {
    db = await createMariadbDatabase();
    conn = db.conn;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("passes its known-answer self test (SM4/SM3 standard vectors, batched CTR = OpenSSL sm4-ctr)", async () => {
    const [rows] = await conn.query("SELECT smgate_self_test() AS r");
    expect(asText((rows as { r: unknown }[])[0].r)).toBe("ok");
  });

  it("decrypts RND envelopes made by TypeScript under every key version", async () => {
    const values = randomTexts(200);
    for (const key of keys.byId.values()) {
      const envs = encryptRnd(
        key,
        adBuf,
        values.map((v) => Buffer.from(v, "utf8")),
      ).map(envelopeToText);
      const out = await mapValues(conn, envs, "smgate_decrypt(v, ?, ?, ?)", [AD.toUpperCase(), token, bundle]);
      expect(out.map(asText)).toEqual(values);
    }
  });

  it("TypeScript decrypts RND envelopes made by the UDF", async () => {
    const values = randomTexts(200);
    const out = await mapValues(conn, values, "smgate_encrypt(v, 'patients', ?, ?, ?)", [AD, token, bundle]);
    const envs = out.map((e) => envelopeFromText(asText(e) as string));
    expect(envs.every((e) => e.readUInt32BE(1) === keys.active("patients").keyId)).toBe(true);
    expect(decryptEnvelopes((id) => keys.byId.get(id)!, adBuf, envs).map((p) => p.toString("utf8"))).toEqual(values);
  });

  it("DET envelopes are byte-identical to TypeScript's", async () => {
    const values = randomTexts(200);
    const expected = encryptDet(
      keys.active("orders"),
      adBuf,
      values.map((v) => Buffer.from(v, "utf8")),
    ).map(envelopeToText);
    const out = await mapValues(conn, values, "smgate_encrypt_det(v, 'orders', ?, ?, ?)", [AD, token, bundle]);
    expect(out.map(asText)).toEqual(expected);
    const back = await mapValues(conn, expected, "smgate_decrypt(v, ?, ?, ?)", [AD, token, bundle]);
    expect(back.map(asText)).toEqual(values);
  });

  it("blind indexes are identical, including NFC normalisation", async () => {
    const values = [...randomTexts(150), "e\u0301", "A\u030a\u0323"];
    const expected = blindIndex(
      keys.active("patients"),
      values.map((v) => Buffer.from(v, "utf8")),
    );
    const out = await mapValues(conn, values, "HEX(smgate_blind_index(v, 'patients', ?, ?))", [token, bundle]);
    expect(out.map((h) => String(h).toLowerCase())).toEqual(expected.map((b) => b.toString("hex")));
  });

  it("integrity MACs and row keys are identical and verify", async () => {
    const values = randomTexts(100);
    const rk = await mapValues(conn, values, "HEX(smgate_row_key(CAST(i AS CHAR), NULL, v))", []);
    const macs = await mapValues(
      conn,
      values,
      "HEX(smgate_mac(v, 'orders', ?, smgate_row_key(CAST(i AS CHAR)), ?, ?))",
      [AD, token, bundle],
    );
    values.forEach((v, i) => {
      const vb = Buffer.from(v, "utf8");
      expect(String(rk[i]).toLowerCase()).toBe(encodeRowKey([Buffer.from(String(i + 1)), null, vb]).toString("hex"));
      const expected = integrityMac(keys.active("orders"), adBuf, encodeRowKey([Buffer.from(String(i + 1))]), vb);
      expect(String(macs[i]).toLowerCase()).toBe(expected.toString("hex"));
    });
    const m = integrityMac(keys.active("orders"), adBuf, encodeRowKey([Buffer.from("7")]), Buffer.from("v"));
    const [rows] = await conn.query(
      "SELECT smgate_mac_verify('v', ?, 'orders', ?, smgate_row_key('7'), ?, ?) AS ok, smgate_mac_verify('w', ?, 'orders', ?, smgate_row_key('7'), ?, ?) AS bad",
      [m, AD, token, bundle, m, AD, token, bundle],
    );
    expect((rows as { ok: number; bad: number }[])[0]).toEqual({ ok: 1, bad: 0 });
    const nulMac = integrityMac(
      keys.active("orders"),
      adBuf,
      encodeRowKey([Buffer.from("7")]),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    );
    const [nul] = await conn.query(
      "SELECT LOWER(HEX(smgate_mac(NULL, 'orders', ?, smgate_row_key('7'), ?, ?))) AS m, smgate_mac_verify(NULL, ?, 'orders', ?, smgate_row_key('7'), ?, ?) AS ok",
      [AD, token, bundle, nulMac, AD, token, bundle],
    );
    expect((nul as { m: string; ok: number }[])[0]).toEqual({ m: nulMac.toString("hex"), ok: 1 });
  });

  it("FPE (FF1-SM4) outputs are identical for every format and option set, and decrypt both ways", async () => {
    const key = keys.active("patients");
    for (const c of fpeCases(15)) {
      const o = [c.opts.keep_prefix ?? null, c.opts.keep_suffix ?? null, c.opts.width ?? null];
      const expected = fpeEncrypt(key, adBuf, c.format, c.values, c.opts);
      const out = await mapValues(conn, c.values, "smgate_fpe_encrypt(v, 'patients', ?, ?, ?, ?, ?, ?, ?)", [
        AD,
        c.format,
        ...o,
        token,
        bundle,
      ]);
      expect(out.map(asText), `${c.format} ${JSON.stringify(c.opts)}`).toEqual(expected);
      const back = await mapValues(conn, expected, "smgate_fpe_decrypt(v, 'patients', ?, ?, ?, ?, ?, ?, ?)", [
        AD,
        c.format,
        ...o,
        token,
        bundle,
      ]);
      expect(back.map(asText)).toEqual(fpeDecrypt(key, adBuf, c.format, expected, c.opts));
    }
    await expect(
      conn.query("SELECT smgate_fpe_encrypt('11010519491231002Y', 'patients', ?, 'cn-id', NULL, NULL, NULL, ?, ?)", [
        AD,
        token,
        bundle,
      ]),
    ).rejects.toThrow(/invalid GB 11643 check character/);
  });

  it("fails the statement with a clear error: no token, wrong token, tampered value, unknown key", async () => {
    const env = encryptRnd(keys.active("patients"), adBuf, [Buffer.from("secret-value-9")])[0];
    const text = envelopeToText(env);
    await expect(conn.query("SELECT smgate_decrypt(?, ?, NULL, ?)", [text, AD, bundle])).rejects.toMatchObject({
      errno: 1142,
      message: expect.stringContaining("no session token"),
    });
    await expect(
      conn.query("SELECT smgate_decrypt(?, ?, ?, ?)", [text, AD, newSessionToken(), bundle]),
    ).rejects.toMatchObject({
      errno: 1142,
      message: expect.stringContaining("does not open with this token"),
    });
    const tampered = Buffer.from(env);
    tampered[25] ^= 1;
    const err = await conn
      .query("SELECT smgate_decrypt(?, ?, ?, ?)", [envelopeToText(tampered), AD, token, bundle])
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("authentication failed");
    expect((err as Error).message).not.toContain("secret-value");
    await expect(conn.query("SELECT smgate_decrypt(?, 'test.other.col', ?, ?)", [text, token, bundle])).rejects.toThrow(
      /authentication failed/,
    );
    const foreign = Buffer.from(env);
    foreign.writeUInt32BE(4242, 1);
    await expect(
      conn.query("SELECT smgate_decrypt(?, ?, ?, ?)", [envelopeToText(foreign), AD, token, bundle]),
    ).rejects.toThrow(/key id 4242 is not in the loaded key set/);
    await expect(conn.query("SELECT smgate_encrypt('v', 'nosuch', ?, ?, ?)", [AD, token, bundle])).rejects.toThrow(
      /key "nosuch" is not in the loaded key set/,
    );
    await expect(conn.query("SELECT smgate_decrypt('plain', ?, ?, ?)", [AD, token, bundle])).rejects.toThrow(
      /not a valid smgate envelope/,
    );
    // a failing row in the middle of a result set aborts the statement (no NULL "garbage" rows)
    await conn.query("CREATE TEMPORARY TABLE tmp_env (i INT, v TEXT)");
    await conn.query(
      "INSERT INTO tmp_env VALUES (1, ?), (2, 'smg1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), (3, ?)",
      [text, text],
    );
    await expect(
      conn.query("SELECT smgate_decrypt(v, ?, ?, ?) FROM tmp_env ORDER BY i", [AD, token, bundle]),
    ).rejects.toThrow(/smgate/);
  });
});

// `smgate migrate` end to end against the real PostgreSQL and MariaDB, run as a subprocess from dist/:
// --dry-run changes nothing; a run SIGKILLed midway leaves committed batches encrypted and the rest plaintext
// (progress committed with each batch), the resumed run continues from the recorded primary key, and every
// value ends up encrypted exactly once (each stored value decrypts, with ColumnCodec, to the original
// plaintext — a doubly encrypted value would decrypt to an envelope); companions match; a re-run changes no
// byte; --rekey after `keys rotate` moves every envelope to the new key; --decrypt restores the original
// table (values, types, defaults, indexes). Tables without a primary key are refused; a bad value rolls back
// its batch only and the error names the column, not the value.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeFromText, envelopeKeyId, isEnvelopeText } from "../../crypto/envelope.js";
import { encodeRowKey } from "../../crypto/integrity-mac.js";
import type { KeyRing } from "../../keystore/keyring.js";
import { compilePolicy } from "../../policy/compile.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import { ColumnCodec } from "../../proxy/codec/column-codec.js";
import { type Dialect, openMariadb, openPostgres } from "./dialects.js";
import { startGateway, writeConfig } from "./gateway.js";
import {
  buildCli,
  exited,
  keyRingOf,
  makeKeystore,
  patientRows,
  policyText,
  type RawRow,
  runCli,
  startCli,
  type TestKeystore,
  txt,
  writePolicy,
} from "./helpers.js";

const ROWS = 20_000;
const VISITS = 600;

beforeAll(() => buildCli(), 400_000);

const SELECT_PATIENTS = "SELECT id, id_card, phone, diagnosis, name, birth, balance FROM patients ORDER BY id";

async function snapshot(d: Dialect): Promise<string> {
  const parts: RawRow[][] = [];
  for (const t of ["patients", "visits"]) {
    const first = t === "patients" ? "id" : "patient_id, seq";
    parts.push(await d.rows(`SELECT * FROM ${t} ORDER BY ${first}`));
  }
  return JSON.stringify(parts.map((rows) => rows.map((r) => r.map((b) => (b === null ? null : b.toString("hex"))))));
}

async function until(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const open of [openPostgres, openMariadb]) {
  describe.sequential(`smgate migrate on ${open === openPostgres ? "PostgreSQL" : "MariaDB"}`, () => {
    let d: Dialect;
    let ks: TestKeystore;
    let policyPath: string;
    let args: string[];
    let shapeBefore: string[][];
    let indexesBefore: string[];
    const codecs = (ring: KeyRing) => {
      const policy = compilePolicy(parsePolicy(policyText(d.schema), "policy.yaml"));
      const st = `${d.schema}.patients`.toLowerCase();
      const c = (col: string) => new ColumnCodec(policy.protection(st, col)!, ring);
      return {
        idCard: c("id_card"),
        phone: c("phone"),
        diagnosis: c("diagnosis"),
        name: c("name"),
        birth: c("birth"),
        balance: c("balance"),
        note: new ColumnCodec(policy.protection(`${d.schema}.visits`.toLowerCase(), "note")!, ring),
      };
    };

    beforeAll(async () => {
      d = await open();
      await d.seed(patientRows(ROWS), VISITS);
      ks = await makeKeystore(["patients", "smgate.audit"]);
      policyPath = writePolicy(ks.dir, "policy.yaml", policyText(d.schema));
      args = ["migrate", "--db", d.url, "--policy", policyPath, ...ks.flags];
      shapeBefore = await d.shape("patients");
      indexesBefore = await d.indexes("patients");
    }, 120_000);

    afterAll(async () => {
      await d?.close();
    });

    /** Every stored value decrypts to the original, carries `keyId`, and the companions match. */
    async function expectEncryptedOnce(ring: KeyRing, keyId: number): Promise<void> {
      const c = codecs(ring);
      const stored = await d.rows(
        "SELECT id, id_card, phone, diagnosis, name, birth, balance, name_bidx, balance_mac FROM patients ORDER BY id",
      );
      const orig = await d.rows(SELECT_PATIENTS.replace("FROM patients", "FROM patients_orig"));
      expect(stored.length).toBe(ROWS);
      const col = (rows: RawRow[], i: number) => rows.map((r) => r[i]);
      for (const [i, codec] of [
        [2, c.phone],
        [3, c.diagnosis],
        [4, c.name],
        [5, c.birth],
      ] as const) {
        const s = col(stored, i);
        const o = col(orig, i);
        s.forEach((v, k) => {
          if (o[k] === null) expect(v).toBeNull();
          else {
            expect(isEnvelopeText(v!.toString("latin1"))).toBe(true);
            expect(envelopeKeyId(envelopeFromText(v!.toString("latin1")))).toBe(keyId);
          }
        });
        expect(codec.reveal(s, "text").map(txt)).toEqual(o.map(txt));
      }
      // FPE: decrypts to the original, and is not the original
      const ids = col(stored, 1);
      expect(c.idCard.reveal(ids, "text").map(txt)).toEqual(col(orig, 1).map(txt));
      const same = ids.filter((v, k) => v?.equals(orig[k][1]!)).length;
      expect(same).toBeLessThan(ROWS / 100);
      // DET: equal plaintext, equal ciphertext
      const byPhone = new Map<string, string>();
      stored.forEach((r, k) => {
        const p = txt(orig[k][2]);
        if (p === null) return;
        const prev = byPhone.get(p);
        if (prev !== undefined) expect(txt(r[2])).toBe(prev);
        byPhone.set(p, txt(r[2])!);
      });
      // blind index = ColumnCodec.blindIndex of the original; MAC verifies over row key (id) and balance
      expect(c.name.blindIndex(col(orig, 4), d.companionForm).map(txt)).toEqual(col(stored, 7).map(txt));
      const rowKeys = stored.map((r) => encodeRowKey([r[0]]));
      expect(c.balance.verifyMac(rowKeys, col(stored, 6), col(stored, 8), d.companionForm).every(Boolean)).toBe(true);
      expect(col(stored, 6).map(txt)).toEqual(col(orig, 6).map(txt));
      // composite primary key table
      const vs = await d.rows("SELECT note FROM visits ORDER BY patient_id, seq");
      const vo = await d.rows("SELECT note FROM visits_orig ORDER BY patient_id, seq");
      expect(
        c.note
          .reveal(
            vs.map((r) => r[0]),
            "text",
          )
          .map(txt),
      ).toEqual(vo.map((r) => txt(r[0])));
    }

    it("--dry-run prints the DDL and row counts and changes nothing", async () => {
      const before = await snapshot(d);
      const r = await runCli([...args, "--dry-run"], ks.env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/patients: encrypt 20000 rows/);
      expect(r.stdout).toMatch(/DDL ALTER TABLE .*phone/);
      expect(r.stdout).toMatch(/ADD COLUMN .*name_bidx/);
      expect(r.stdout).toMatch(/ADD COLUMN .*balance_mac/);
      expect(await snapshot(d)).toBe(before);
      expect(await d.progress("patients").catch(() => undefined)).toBeUndefined();
      expect(await d.shape("patients")).toEqual(shapeBefore);
    }, 60_000);

    it("a SIGKILLed run leaves whole batches done, and the resumed run encrypts every row exactly once", async () => {
      const child = startCli([...args, "--batch", "100"], ks.env);
      await until("some batches committed", async () => {
        const p = await d.progress("patients");
        return p !== undefined && p.rowsDone >= 1000;
      });
      child.kill("SIGKILL");
      await exited(child);
      const p = (await d.progress("patients"))!;
      expect(p.finished).toBe(false);
      expect(p.rowsDone).toBeGreaterThan(0);
      expect(p.rowsDone).toBeLessThan(ROWS);
      expect(p.rowsDone % 100).toBe(0);
      // committed batches and the progress row agree: rows up to last_pk encrypted, the rest still plaintext
      const last = Number(JSON.parse(p.lastPk!)[0]);
      expect(last).toBe(p.rowsDone);
      const rows = await d.rows("SELECT id, diagnosis FROM patients ORDER BY id");
      for (const r of rows) {
        if (r[1] === null) continue;
        expect(isEnvelopeText(r[1].toString("latin1"))).toBe(Number(r[0]!.toString()) <= last);
      }
      const res = await runCli(args, ks.env);
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      const done = (await d.progress("patients"))!;
      expect(done.id).toBe(p.id); // same run, resumed
      expect(done.finished).toBe(true);
      expect(done.rowsDone).toBe(ROWS); // continued from last_pk: no row visited twice
      const { ring, close } = await keyRingOf(ks);
      try {
        await expectEncryptedOnce(ring, ring.active("patients").keyId);
      } finally {
        close();
      }
    }, 180_000);

    it.runIf(open === openPostgres)(
      "the migrated table reads back identical through the gateway (smgate start)",
      async () => {
        const dbName = new URL(d.url).pathname.slice(1);
        const gw = await startGateway(ks, policyPath, dbName);
        const rawText = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;
        const client = new pg.Client({
          host: gw.host,
          port: gw.port,
          user: "postgres",
          database: dbName,
          types: rawText,
        });
        await client.connect();
        try {
          const through = await client.query({ text: SELECT_PATIENTS, rowMode: "array" });
          const orig = await d.rows(SELECT_PATIENTS.replace("FROM patients", "FROM patients_orig"));
          expect(through.rows.length).toBe(ROWS);
          expect(through.rows).toEqual(orig.map((r) => r.map(txt)));
          // equality through the blind index and on the deterministic column
          const name = txt(orig[2][4])!;
          const phone = txt(orig[2][2])!;
          const byName = await client.query({
            text: "SELECT id FROM patients WHERE name = $1 ORDER BY id",
            values: [name],
            rowMode: "array",
          });
          const byPhone = await client.query({
            text: "SELECT id FROM patients WHERE phone = $1 ORDER BY id",
            values: [phone],
            rowMode: "array",
          });
          const want = (i: number, v: string) => orig.filter((r) => txt(r[i]) === v).map((r) => [txt(r[0])]);
          expect(byName.rows).toEqual(want(4, name));
          expect(byPhone.rows).toEqual(want(2, phone));
        } finally {
          await client.end();
          await gw.stop();
        }
      },
      120_000,
    );

    it("a re-run changes nothing", async () => {
      const before = await snapshot(d);
      const shape = await d.shape("patients");
      const r = await runCli(args, ks.env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/patients: up-to-date/);
      expect(await snapshot(d)).toBe(before);
      expect(await d.shape("patients")).toEqual(shape);
      const dry = await runCli([...args, "--dry-run"], ks.env);
      expect(dry.code).toBe(0);
      expect(await snapshot(d)).toBe(before);
    }, 60_000);

    it("--rekey after keys rotate moves every value to the new key", async () => {
      const { ring: oldRing, close: closeOld } = await keyRingOf(ks);
      const oldId = oldRing.active("patients").keyId;
      closeOld();
      const rot = await runCli(["keys", "rotate", "patients", ...ks.flags], ks.env);
      expect(rot.code).toBe(0);
      // this run takes keystore, policy and audit log from smgate.yaml
      const auditPath = join(ks.dir, `audit-${d.name}.log`);
      const cfg = writeConfig(ks, policyPath, auditPath);
      const r = await runCli(["migrate", "--db", d.url, "--config", cfg, "--rekey", "--batch", "700"], ks.env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const records = readFileSync(auditPath, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(records.map((x) => [x.type, x.target, x.action, x.outcome])).toEqual([
        ["key_operation", `${d.schema}.patients`.toLowerCase(), "migrate rekey", "ok"],
        ["key_operation", `${d.schema}.visits`.toLowerCase(), "migrate rekey", "ok"],
      ]);
      const verify = await runCli(["audit", "verify", "--config", cfg], ks.env);
      expect(verify.stdout).toMatch(/OK, 2 records/);
      const { ring, close } = await keyRingOf(ks);
      try {
        const newId = ring.active("patients").keyId;
        expect(newId).not.toBe(oldId);
        await expectEncryptedOnce(ring, newId);
      } finally {
        close();
      }
      // a second --rekey finds nothing to move
      const before = await snapshot(d);
      const again = await runCli([...args, "--rekey"], ks.env);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/0 values re-encrypted/);
      expect(await snapshot(d)).toBe(before);
    }, 180_000);

    it("--decrypt restores the original tables exactly", async () => {
      const r = await runCli([...args, "--decrypt", "--batch", "1500"], ks.env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const now = await d.rows("SELECT * FROM patients ORDER BY id");
      const orig = await d.rows("SELECT * FROM patients_orig ORDER BY id");
      expect(now.length).toBe(ROWS);
      expect(now).toEqual(orig);
      expect(await d.rows("SELECT * FROM visits ORDER BY patient_id, seq")).toEqual(
        await d.rows("SELECT * FROM visits_orig ORDER BY patient_id, seq"),
      );
      expect(await d.shape("patients")).toEqual(shapeBefore);
      expect(await d.indexes("patients")).toEqual(indexesBefore);
    }, 180_000);

    it("refuses a table without a primary key, naming it and what to add", async () => {
      await d.exec("CREATE TABLE nopk (id int, secret text)");
      await d.exec("INSERT INTO nopk VALUES (1, 'x')");
      const p = writePolicy(
        ks.dir,
        "nopk.yaml",
        `version: 1\ntables:\n  ${d.schema}.nopk:\n    columns:\n      secret: { protect: encrypt, key: patients }\naccess: []\n`,
      );
      const r = await runCli(["migrate", "--db", d.url, "--policy", p, ...ks.flags], ks.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/nopk has no primary key/);
      expect(r.stderr).toMatch(/ADD PRIMARY KEY/);
      expect((await d.rows("SELECT secret FROM nopk"))[0][0]!.toString()).toBe("x");
    }, 60_000);

    it("a bad value rolls back its batch only, keeps progress consistent and never shows the value", async () => {
      await d.exec("CREATE TABLE badids (id int PRIMARY KEY, id_card varchar(18))");
      const vals: unknown[] = [];
      const good = patientRows(500).filter((r) => r.id_card !== null);
      good.forEach((r, i) => {
        vals.push(i + 1, i === 249 ? "110101199003071239" : r.id_card);
      });
      const ph = good.map((_, i) => (d.name === "postgres" ? `($${2 * i + 1}, $${2 * i + 2})` : "(?, ?)"));
      await d.exec(`INSERT INTO badids VALUES ${ph.join(", ")}`, vals);
      const p = writePolicy(
        ks.dir,
        "bad.yaml",
        `version: 1\ntables:\n  ${d.schema}.badids:\n    columns:\n      id_card: { protect: fpe, format: cn-id, key: patients }\naccess: []\n`,
      );
      const r = await runCli(["migrate", "--db", d.url, "--policy", p, "--batch", "100", ...ks.flags], ks.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/badids\.id_card in the row with primary key \(250\): the value is not a valid cn-id/);
      expect(r.stderr).not.toContain("110101199003071239");
      expect(r.stdout).not.toContain("110101199003071239");
      const prog = (await d.progress("badids"))!;
      expect(prog.rowsDone).toBe(200);
      expect(prog.finished).toBe(false);
      const rows = await d.rows("SELECT id, id_card FROM badids ORDER BY id");
      rows.forEach((row, i) => {
        const plain = i === 249 ? "110101199003071239" : good[i].id_card;
        expect(row[1]!.toString() === plain).toBe(i >= 200);
      });
    }, 60_000);
  });
}

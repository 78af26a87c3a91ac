// Column codecs over a real keystore and a compiled policy: every transform round-trips in batches with
// NULLs kept, DET is equal-in/equal-out, stored forms are what the policy says, tampering and missing keys
// are typed errors naming the column (never the value), MAC companions verify and detect edits.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeRowKey } from "../../crypto/integrity-mac.js";
import type { KeyRing } from "../../keystore/keyring.js";
import { initKeyStore } from "../../keystore/open.js";
import type { CompiledPolicy } from "../../policy/compile.js";
import { compilePolicyText } from "../../policy/holder.js";
import { ColumnCodec } from "../../proxy/codec/column-codec.js";
import { CodecError } from "../../proxy/codec/errors.js";

const POLICY = `
version: 1
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic, key: patients }
      diagnosis: { protect: encrypt, key: patients }
      name:      { protect: encrypt, blind_index: true, key: patients }
      balance:   { protect: mac, type: numeric, key: patients }
access:
  - name: all
    match: {}
    plaintext: ["*"]
`;

let ring: KeyRing;
let policy: CompiledPolicy;
const b = (s: string) => Buffer.from(s, "utf8");

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "smg-codec-"));
  const env = { SMG_TEST_MASTER: randomBytes(16).toString("hex") };
  const ks = await initKeyStore(
    { provider: "env", path: join(dir, "ks.json"), master_key_env: "SMG_TEST_MASTER" },
    { env },
  );
  ks.createKey("patients");
  ring = ks.keyRing();
  const r = compilePolicyText(POLICY, "policy.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  policy = r.policy;
});

function codec(col: string): ColumnCodec {
  const p = policy.protection("public.patients", col);
  if (!p) throw new Error(`no protection for ${col}`);
  return new ColumnCodec(p, ring);
}

describe("column codecs", () => {
  it("randomized encryption round-trips a batch with NULLs, stores smg1: text and never repeats", () => {
    const c = codec("diagnosis");
    const vals = [b("hypertension"), null, b("糖尿病"), b("hypertension"), b("")];
    const stored = c.protect(vals, "text");
    expect(stored[1]).toBeNull();
    expect(stored[0]!.toString()).toMatch(/^smg1:[A-Za-z0-9_-]+$/);
    expect(stored[0]!.equals(stored[3]!)).toBe(false);
    expect(c.reveal(stored, "text").map((v) => v?.toString() ?? null)).toEqual([
      "hypertension",
      null,
      "糖尿病",
      "hypertension",
      "",
    ]);
  });

  it("deterministic encryption is equal-in/equal-out and round-trips in bytea hex form", () => {
    const c = codec("phone");
    const stored = c.protect([b("13800138000"), b("13800138000"), b("13900139000")], "bytea-hex");
    expect(stored[0]!.toString().startsWith("\\x02")).toBe(true);
    expect(stored[0]!.equals(stored[1]!)).toBe(true);
    expect(stored[0]!.equals(stored[2]!)).toBe(false);
    expect(c.reveal(stored, "bytea-hex").map((v) => v!.toString())).toEqual([
      "13800138000",
      "13800138000",
      "13900139000",
    ]);
  });

  it("FPE keeps the cn-id format and region prefix and round-trips", () => {
    const c = codec("id_card");
    const ids = ["11010519491231002X", "440524188001010014"];
    const stored = c.protect(ids.map(b), "text").map((v) => v!.toString());
    for (let i = 0; i < ids.length; i++) {
      expect(stored[i]).toMatch(/^\d{17}[\dX]$/);
      expect(stored[i].slice(0, 6)).toBe(ids[i].slice(0, 6));
      expect(stored[i]).not.toBe(ids[i]);
    }
    expect(c.reveal(stored.map(b), "text").map((v) => v!.toString())).toEqual(ids);
  });

  it("an invalid FPE input is a bad_value error naming the column, not the value", () => {
    const c = codec("id_card");
    try {
      c.protect([b("110105194912310021")], "text");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).kind).toBe("bad_value");
      expect((e as Error).message).toContain("public.patients.id_card");
      expect((e as Error).message).not.toContain("110105194912310021");
    }
  });

  it("blind index is deterministic per value and distinct across values", () => {
    const c = codec("name");
    const idx = c.blindIndex([b("张三"), b("张三"), b("李四"), null], "text");
    expect(idx[0]!.toString()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(idx[0]!.equals(idx[1]!)).toBe(true);
    expect(idx[0]!.equals(idx[2]!)).toBe(false);
    expect(idx[3]).toBeNull();
  });

  it("a tampered or plaintext value in an encrypted column is an integrity error", () => {
    const c = codec("diagnosis");
    const [stored] = c.protect([b("secret diagnosis")], "text");
    const s = stored!.toString();
    const flipped = s.slice(0, -3) + (s.at(-3) === "A" ? "B" : "A") + s.slice(-2);
    for (const bad of [flipped, "secret diagnosis"]) {
      try {
        c.reveal([b(bad)], "text");
        expect.unreachable();
      } catch (e) {
        expect((e as CodecError).kind).toBe("integrity");
        expect((e as Error).message).toContain("public.patients.diagnosis");
        expect((e as Error).message).not.toContain("secret");
      }
    }
  });

  it("an envelope from another column (AD) does not decrypt", () => {
    const [stored] = codec("diagnosis").protect([b("x-ray")], "text");
    expect(() => codec("name").reveal([stored], "text")).toThrow(CodecError);
  });

  it("MAC companions verify for untouched rows and fail on an edited value, row key or NULL swap", () => {
    const c = codec("balance");
    const keys = [encodeRowKey([b("1")]), encodeRowKey([b("2")])];
    const vals = [b("100.50"), null];
    const macs = c.mac(keys, vals, "text");
    expect(c.verifyMac(keys, vals, macs, "text")).toEqual([true, true]);
    expect(c.verifyMac(keys, [b("999.00"), null], macs, "text")).toEqual([false, true]);
    expect(c.verifyMac([keys[1], keys[0]], vals, macs, "text")).toEqual([false, false]);
    expect(c.verifyMac(keys, [null, null], macs, "text")).toEqual([false, true]);
    expect(c.verifyMac(keys, vals, [macs[0], null], "text")).toEqual([true, false]);
  });

  it("a key missing from the keystore is key_unavailable", () => {
    const p = { ...policy.protection("public.patients", "diagnosis")!, key: "nope" };
    try {
      new ColumnCodec(p, ring).protect([b("v")], "text");
      expect.unreachable();
    } catch (e) {
      expect((e as CodecError).kind).toBe("key_unavailable");
    }
  });
});

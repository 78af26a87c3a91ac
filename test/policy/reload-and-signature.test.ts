// Hot reload keeps the old policy when the new one is invalid or badly signed; SM2 policy signatures
// sign/verify/tamper, cross-checked with the OpenSSL command line (SM2 + SM3, distid 1234567812345678).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PolicyHolder } from "../../policy/holder.js";
import { PolicyError } from "../../policy/policy-loader.js";
import {
  publicKeyFromPrivate,
  readSm2PrivateKey,
  readSm2PublicKey,
  signaturePathFor,
  signPolicyBytes,
  verifyPolicyBytes,
} from "../../policy/signature.js";

const dir = mkdtempSync(join(tmpdir(), "smg-policy-reload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const V1 = `version: 1
tables:
  public.t:
    columns: { c: { protect: encrypt } }
access:
  - name: readers
    match: { users: [alice] }
    plaintext: [public.t.c]
`;
const V2 = V1.replace("users: [alice]", "users: [bob]");
const BAD = `${V2}  - name: readers\n    match: { users: [carol] }\n`;

const alice = { user: "alice" };
const bob = { user: "bob" };

describe("PolicyHolder.reload", () => {
  it("swaps in a valid policy and bumps the generation", () => {
    const f = join(dir, "p.yaml");
    writeFileSync(f, V1);
    const h = PolicyHolder.fromFile(f);
    expect(h.current().decide(alice, "public.t", "c", "select")).toEqual({ kind: "plaintext" });
    const seen: number[] = [];
    h.onChange((_p, g) => seen.push(g));
    expect(h.digest).toBe(createHash("sm3").update(V1).digest("hex"));
    const r = h.reload(V2, f);
    expect(r.ok).toBe(true);
    expect(h.digest).toBe(createHash("sm3").update(V2).digest("hex"));
    expect(h.generation).toBe(2);
    expect(seen).toEqual([2]);
    expect(h.current().decide(alice, "public.t", "c", "select")).toEqual({ kind: "deny" });
    expect(h.current().decide(bob, "public.t", "c", "select")).toEqual({ kind: "plaintext" });
  });

  it("keeps the old policy in force and returns the errors when the new text is invalid", () => {
    const h = new PolicyHolder(PolicyHolder.fromFile(writeTmp("old.yaml", V1)).current());
    const before = h.current();
    const r = h.reload(BAD, "new.yaml");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.file}:${p.line}:${p.col}`)).toEqual(["new.yaml:9:11"]);
    expect(r.problems[0].message).toContain('duplicate rule name "readers"');
    expect(h.current()).toBe(before);
    expect(h.generation).toBe(1);
    expect(h.current().decide(alice, "public.t", "c", "select")).toEqual({ kind: "plaintext" });
  });

  it("reloadFromFile reads the file again; an unreadable file keeps the old policy", () => {
    const f = writeTmp("live.yaml", V1);
    const h = PolicyHolder.fromFile(f);
    writeFileSync(f, V2);
    expect(h.reloadFromFile().ok).toBe(true);
    expect(h.current().decide(bob, "public.t", "c", "select").kind).toBe("plaintext");
    const r = h.reloadFromFile(join(dir, "gone.yaml"));
    expect(r.ok).toBe(false);
    expect(h.current().decide(bob, "public.t", "c", "select").kind).toBe("plaintext");
  });
});

function writeTmp(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function openssl(args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("SM2 policy signatures", () => {
  const keyPem = join(dir, "officer.pem");
  const pubPem = join(dir, "officer.pub.pem");
  openssl(["genpkey", "-algorithm", "SM2", "-out", keyPem]);
  openssl(["pkey", "-in", keyPem, "-pubout", "-out", pubPem]);
  const priv = readSm2PrivateKey(readFileSync(keyPem, "utf8"));
  const pub = readSm2PublicKey(readFileSync(pubPem, "utf8"));

  it("reads PEM keys: the public key derived from the private key equals the PEM public key", () => {
    expect(priv).toMatch(/^[0-9a-f]{64}$/);
    expect(pub).toMatch(/^04[0-9a-f]{128}$/);
    expect(publicKeyFromPrivate(priv)).toBe(pub);
    expect(readSm2PrivateKey(priv.toUpperCase())).toBe(priv);
    expect(readSm2PublicKey(pub)).toBe(pub);
    expect(() => readSm2PrivateKey("nonsense")).toThrow(/64 hex characters or a PEM/);
  });

  it("sign → verify; any change to the file or the signature fails", () => {
    const bytes = Buffer.from(V1);
    const sig = signPolicyBytes(bytes, priv);
    expect(verifyPolicyBytes(bytes, sig, pub)).toBe(true);
    expect(verifyPolicyBytes(Buffer.from(V1.replace("alice", "alicf")), sig, pub)).toBe(false);
    const flipped = sig.trim().slice(0, -2) + (sig.trim().endsWith("00") ? "01" : "00");
    expect(verifyPolicyBytes(bytes, flipped, pub)).toBe(false);
    const other = readSm2PublicKey(
      (() => {
        const k = join(dir, "other.pem");
        openssl(["genpkey", "-algorithm", "SM2", "-out", k]);
        return openssl(["pkey", "-in", k, "-pubout"]);
      })(),
    );
    expect(verifyPolicyBytes(bytes, sig, other)).toBe(false);
    expect(verifyPolicyBytes(bytes, "zz", pub)).toBe(false);
  });

  it("OpenSSL verifies our signature and we verify OpenSSL's (SM3, distid 1234567812345678)", () => {
    const file = writeTmp("signed.yaml", V1);
    const ours = join(dir, "ours.der");
    writeFileSync(ours, Buffer.from(signPolicyBytes(readFileSync(file), priv).trim(), "hex"));
    const out = openssl([
      "dgst",
      "-sm3",
      "-verify",
      pubPem,
      "-sigopt",
      "distid:1234567812345678",
      "-signature",
      ours,
      file,
    ]);
    expect(out).toContain("Verified OK");
    const theirs = join(dir, "theirs.der");
    openssl(["dgst", "-sm3", "-sign", keyPem, "-sigopt", "distid:1234567812345678", "-out", theirs, file]);
    expect(verifyPolicyBytes(readFileSync(file), readFileSync(theirs).toString("hex"), pub)).toBe(true);
  });

  it("a holder requiring a signature refuses unsigned or tampered policies and keeps the old one", () => {
    const f = writeTmp("req.yaml", V1);
    const requirement = { publicKeyHex: pub, required: true };
    expect(() => PolicyHolder.fromFile(f, requirement)).toThrow(PolicyError);
    writeFileSync(signaturePathFor(f), signPolicyBytes(Buffer.from(V1), priv));
    const h = PolicyHolder.fromFile(f, requirement);
    // tampered: new text with the old signature
    writeFileSync(f, V2);
    const r = h.reloadFromFile();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0].message).toContain("does not verify");
    expect(h.current().decide(alice, "public.t", "c", "select").kind).toBe("plaintext");
    // properly re-signed: accepted
    writeFileSync(signaturePathFor(f), signPolicyBytes(Buffer.from(V2), priv));
    expect(h.reloadFromFile().ok).toBe(true);
    expect(h.current().decide(bob, "public.t", "c", "select").kind).toBe("plaintext");
    // not required: a bad signature is only a warning
    const lax = new PolicyHolder(h.current(), { signature: { publicKeyHex: pub, required: false } });
    const w = lax.reload(V1, "lax.yaml", "00");
    expect(w.ok).toBe(true);
    if (w.ok) expect(w.warnings[0].message).toContain("does not verify");
  });
});

// The plugin key bundle (plugins/installer/bundle.ts): its bytes are checked against an independent
// implementation on node:crypto (HKDF-SM3, HMAC-SM3, sm4-ctr), and wrong tokens, tampering and malformed
// bundles fail with typed errors. The C side opening these bundles is proven by the plugin suites.
import { createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  exportPluginBundle,
  newSessionToken,
  openPluginBundle,
  type PluginKey,
} from "../../plugins/installer/bundle.js";

const keys: PluginKey[] = [
  { keyId: 0x01020304, name: "patients", state: "decrypt-only", dek: randomBytes(16) },
  { keyId: 0xfffffffe, name: "患者", state: "active", dek: randomBytes(16) },
];

describe("plugin key bundle", () => {
  it("has the documented layout (independent node:crypto decoding)", () => {
    const token = newSessionToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const text = exportPluginBundle(keys, token);
    expect(text.startsWith("smgb1:")).toBe(true);
    const bin = Buffer.from(text.slice(6), "base64url");
    expect(bin.subarray(0, 5)).toEqual(Buffer.from([0x53, 0x4d, 0x47, 0x42, 0x01]));
    const salt = bin.subarray(5, 21);
    const iv = bin.subarray(21, 37);
    const k = Buffer.from(hkdfSync("sm3", Buffer.from(token), salt, "smgate/v1/plugin-bundle", 48));
    const tag = createHmac("sm3", k.subarray(16))
      .update(bin.subarray(0, bin.length - 16))
      .digest()
      .subarray(0, 16);
    expect(tag).toEqual(bin.subarray(bin.length - 16));
    const d = createDecipheriv("sm4-ctr", k.subarray(0, 16), iv);
    const body = Buffer.concat([d.update(bin.subarray(37, bin.length - 16)), d.final()]);
    expect(body.readUInt16BE(0)).toBe(2);
    let off = 2;
    for (const key of keys) {
      expect(body.readUInt32BE(off)).toBe(key.keyId);
      expect(body[off + 4]).toBe(key.state === "active" ? 1 : 2);
      const nl = body[off + 5];
      expect(body.subarray(off + 6, off + 6 + nl).toString("utf8")).toBe(key.name);
      expect(body.subarray(off + 6 + nl, off + 22 + nl)).toEqual(key.dek);
      off += 22 + nl;
    }
    expect(off).toBe(body.length);
    expect(openPluginBundle(text, token)).toEqual(keys);
  });

  it("rejects a wrong token, tampering and malformed input with typed errors", () => {
    const token = newSessionToken();
    const text = exportPluginBundle(keys, token);
    expect(() => openPluginBundle(text, newSessionToken())).toThrow(expect.objectContaining({ code: "BAD_TOKEN" }));
    const bin = Buffer.from(text.slice(6), "base64url");
    bin[40] ^= 1;
    expect(() => openPluginBundle(`smgb1:${bin.toString("base64url")}`, token)).toThrow(
      expect.objectContaining({ code: "BAD_TOKEN" }),
    );
    expect(() => openPluginBundle("smg1:AAAA", token)).toThrow(expect.objectContaining({ code: "BAD_BUNDLE" }));
    expect(() => openPluginBundle("smgb1:AAAA", token)).toThrow(expect.objectContaining({ code: "BAD_BUNDLE" }));
    expect(() => exportPluginBundle(keys, "short")).toThrow(expect.objectContaining({ code: "BAD_TOKEN" }));
    expect(() => exportPluginBundle([{ ...keys[0], dek: Buffer.alloc(8) }], token)).toThrow(/DEK must be 16 bytes/);
    // messages never carry the token or key bytes
    try {
      openPluginBundle(text, "x".repeat(20));
    } catch (e) {
      expect((e as Error).message).not.toContain(token);
    }
  });
});

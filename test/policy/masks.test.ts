// Masks: keep:m,n / full / null / hash on values, with expectations written from the mask definitions
// (docs/POLICY.md) and the SM3 standard vector (GB/T 32905: SM3("abc")).
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { applyMask, applyMaskBatch, maskHash, maskKeep, maskToString, parseMask } from "../../policy/masks.js";

describe("parseMask", () => {
  it.each([
    ["keep:3,4", { kind: "keep", first: 3, last: 4 }],
    ["keep:0,0", { kind: "keep", first: 0, last: 0 }],
    ["full", { kind: "full" }],
    ["null", { kind: "null" }],
    ["hash", { kind: "hash" }],
  ])("%s", (text, spec) => {
    expect(parseMask(text)).toEqual(spec);
    expect(maskToString(parseMask(text)!)).toBe(text);
  });
  it.each(["keep:3", "keep:a,b", "keep:-1,2", "stars", "", "FULL"])("rejects %j", (text) => {
    expect(parseMask(text)).toBeUndefined();
  });
});

describe("keep:m,n", () => {
  it.each([
    ["13812345678", 3, 4, "138****5678"],
    ["110101199003074578", 6, 4, "110101********4578"],
    ["6222021234567890123", 6, 4, "622202*********0123"],
    ["张三丰", 1, 0, "张**"],
    ["abcdef", 0, 0, "******"],
    ["abcdefg", 3, 4, "*******"], // not longer than m+n: masked entirely, never shown whole
    ["ab", 3, 4, "**"],
    ["", 3, 4, ""],
  ])("%s keep:%i,%i → %s", (value, m, n, out) => {
    expect(maskKeep(value, m, n)).toBe(out);
    expect(applyMask({ kind: "keep", first: m, last: n }, value)).toBe(out);
  });
});

describe("full, null, hash", () => {
  it("full keeps the length in characters", () => {
    expect(applyMask({ kind: "full" }, "secret")).toBe("******");
    expect(applyMask({ kind: "full" }, "病历")).toBe("**");
  });
  it("null hides the value", () => {
    expect(applyMask({ kind: "null" }, "x")).toBeNull();
  });
  it("hash is SM3 hex (GB/T 32905 vector for 'abc')", () => {
    expect(maskHash("abc")).toBe("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  });
  it("hash with a hasher is the keyed hash of the UTF-8 value", () => {
    const key = Buffer.alloc(32, 7);
    const hasher = { mac: (...parts: Uint8Array[]) => createHmac("sm3", key).update(Buffer.concat(parts)).digest() };
    const expected = createHmac("sm3", key).update(Buffer.from("张三", "utf8")).digest("hex");
    expect(applyMask({ kind: "hash" }, "张三", hasher)).toBe(expected);
    expect(expected).not.toBe(maskHash("张三"));
  });
  it("SQL NULL stays NULL under every mask; batches map element-wise", () => {
    for (const m of ["keep:1,1", "full", "null", "hash"]) expect(applyMask(parseMask(m)!, null)).toBeNull();
    expect(applyMaskBatch({ kind: "keep", first: 1, last: 1 }, ["abcd", null, "xyz", "xy"])).toEqual([
      "a**d",
      null,
      "x*z",
      "**",
    ]);
  });
});

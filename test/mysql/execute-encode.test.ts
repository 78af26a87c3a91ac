// Unit tests of the COM_STMT_EXECUTE re-encoding fast paths: integer text forms encoded without BigInt give the
// same bytes and the same refusals as the BigInt reference, and buildExecutePacket (payload written after a
// reserved header) frames exactly what framePacket(buildExecute(...)) frames, including > 16 MiB payloads.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeBinaryValueFromText } from "../../proxy/mysql/binary-values.js";
import { buildExecute, buildExecutePacket, type ParsedExecute, parseExecute } from "../../proxy/mysql/commands.js";
import { ColType } from "../../proxy/mysql/constants.js";
import type { ExecuteParams } from "../../proxy/mysql/hooks.js";
import { framePacket } from "../../proxy/mysql/packets.js";
import type { ParamType, PreparedStatement } from "../../proxy/mysql/session-context.js";
import { PayloadWriter } from "../../proxy/mysql/wire.js";

const INT_TYPES: [number, number][] = [
  [ColType.TINY, 8],
  [ColType.SHORT, 16],
  [ColType.YEAR, 16],
  [ColType.INT24, 32],
  [ColType.LONG, 32],
  [ColType.LONGLONG, 64],
];

/** The encoding before the fast path: trimmed latin1 text, /^[+-]?\d+$/, BigInt range check, two's complement. */
function reference(type: number, bits: number, unsigned: boolean, text: string): Buffer | "not-integer" | "range" {
  const s = text.trim();
  if (!/^[+-]?\d+$/.test(s)) return "not-integer";
  const v = BigInt(s);
  const umax = (1n << BigInt(bits)) - 1n;
  let min = -(1n << BigInt(bits - 1));
  let max = (1n << BigInt(bits - 1)) - 1n;
  if (type === ColType.YEAR) {
    min = 0n;
    max = 65535n;
  }
  if (unsigned ? v < 0n || v > umax : v < min || v > max) return "range";
  const out = Buffer.alloc(bits / 8);
  const u = BigInt.asUintN(bits, v);
  for (let i = 0; i < bits / 8; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}

function encode(type: number, unsigned: boolean, text: string): Buffer | "not-integer" | "range" {
  const w = new PayloadWriter(1);
  try {
    writeBinaryValueFromText(w, type, unsigned, Buffer.from(text, "latin1"));
  } catch (e) {
    const m = (e as Error).message;
    if (/out of range/.test(m)) return "range";
    if (/not an integer/.test(m)) return "not-integer";
    throw e;
  }
  return Buffer.from(w.finish());
}

describe("integer parameters encoded from text", () => {
  it("match the BigInt reference for every integer type (bytes and refusals)", () => {
    const texts = fc.oneof(
      fc.bigInt({ min: -(1n << 65n), max: 1n << 65n }).map(String),
      fc.integer({ min: -70000, max: 70000 }).map(String),
      fc.constantFrom(
        "+5",
        "-0",
        "007",
        " 12 ",
        "",
        "-",
        "+",
        "1e3",
        "12a",
        "٣",
        "999999999999999",
        "1000000000000000",
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...INT_TYPES), fc.boolean(), texts, ([type, bits], unsigned, text) => {
        expect(encode(type, unsigned, text)).toEqual(reference(type, bits, unsigned, text));
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps the range edges of each type", () => {
    for (const [type, bits] of INT_TYPES) {
      for (const unsigned of [false, true]) {
        for (const t of ["-129", "-128", "127", "128", "255", "256", "-32769", "32767", "65535", "65536"]) {
          expect(encode(type, unsigned, t)).toEqual(reference(type, bits, unsigned, t));
        }
        for (const t of ["-2147483649", "-2147483648", "2147483647", "4294967295", "4294967296"]) {
          expect(encode(type, unsigned, t)).toEqual(reference(type, bits, unsigned, t));
        }
      }
    }
  });
});

const STMT = (paramCount: number): PreparedStatement =>
  ({ paramCount, longData: new Set<number>(), paramTypes: undefined }) as unknown as PreparedStatement;

function executePayload(types: ParamType[], values: (Buffer | null)[]): Buffer {
  const n = types.length;
  const w = new PayloadWriter();
  w.u8(0x17).u32(7).u8(0).u32(1);
  const bitmap = Buffer.alloc((n + 7) >> 3);
  values.forEach((v, i) => {
    if (v === null) bitmap[i >> 3] |= 1 << (i & 7);
  });
  w.bytes(bitmap).u8(1);
  for (const t of types) w.u16(t.type | (t.unsigned ? 0x8000 : 0));
  values.forEach((v, i) => {
    if (v !== null) writeBinaryValueFromText(w, types[i].type, types[i].unsigned, v);
  });
  return Buffer.from(w.finish());
}

describe("buildExecutePacket", () => {
  const param = fc.oneof(
    fc.integer({ min: -2147483648, max: 2147483647 }).map((i) => ({
      t: { type: ColType.LONG, unsigned: false },
      v: Buffer.from(String(i)) as Buffer | null,
    })),
    fc.string({ maxLength: 300 }).map((s) => ({ t: { type: ColType.VAR_STRING, unsigned: false }, v: Buffer.from(s) })),
    fc.constant({ t: { type: ColType.VAR_STRING, unsigned: false }, v: null }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => ({
      t: { type: ColType.LONGLONG, unsigned: true },
      v: Buffer.from(b.toString()),
    })),
  );

  it("frames exactly what framePacket(buildExecute(...)) frames, and parses back to the same values", () => {
    fc.assert(
      fc.property(fc.array(param, { maxLength: 20 }), fc.array(param, { maxLength: 20 }), (before, after) => {
        const types = before.map((p) => p.t);
        const payload = executePayload(
          types,
          before.map((p) => p.v),
        );
        const parsed = parseExecute(payload, 0, payload.length, STMT(before.length), false, true);
        const params: ExecuteParams = { types: after.map((p) => p.t), values: after.map((p) => p.v) };
        const got = buildExecutePacket(parsed, params, false);
        const want = framePacket(buildExecute(parsed, params, false), 0);
        expect(got.nextSeq).toBe(want.nextSeq);
        expect(got.bytes.equals(want.bytes)).toBe(true);
        const again = parseExecute(got.bytes, 4, got.bytes.length - 4, STMT(after.length), false, true);
        expect(again.values ?? []).toEqual(params.values);
      }),
      { numRuns: 300 },
    );
  });

  it("gives hooks copies of string values, not views of the client's packet", () => {
    const payload = executePayload([{ type: ColType.VAR_STRING, unsigned: false }], [Buffer.from("secret")]);
    const parsed = parseExecute(payload, 0, payload.length, STMT(1), false, true);
    const v = parsed.values?.[0] as Buffer;
    payload.fill(0);
    expect(v.toString()).toBe("secret");
  });

  it("splits a payload of 16 MiB or more like framePacket", () => {
    const big = Buffer.alloc(0xffffff, 0x61);
    const parsed: ParsedExecute = {
      stmtId: 1,
      flags: 0,
      iterations: 1,
      paramCount: 1,
      newParamsBound: true,
      types: [{ type: ColType.LONG_BLOB, unsigned: false }],
      names: undefined,
    };
    const params: ExecuteParams = { types: [{ type: ColType.LONG_BLOB, unsigned: false }], values: [big] };
    const got = buildExecutePacket(parsed, params, false);
    const want = framePacket(buildExecute(parsed, params, false), 0);
    expect(got.nextSeq).toBe(2);
    expect(got.nextSeq).toBe(want.nextSeq);
    expect(got.bytes.equals(want.bytes)).toBe(true);
  });
});

// Unit tests of the row batch a resultset transformer works on: text and binary rows read in text form, values
// set, hidden columns dropped, the whole batch framed into one buffer with consecutive sequence ids (rows of
// 16 MiB or more split like framePacket), NULLs and long length prefixes kept, malformed rows refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBinaryValueAsText, writeBinaryValueFromText } from "../../proxy/mysql/binary-values.js";
import type { ColumnDefinition } from "../../proxy/mysql/column-definition.js";
import { ColType } from "../../proxy/mysql/constants.js";
import { framePacket } from "../../proxy/mysql/packets.js";
import { RowBatchImpl } from "../../proxy/mysql/row-batch.js";
import { PayloadReader, PayloadWriter } from "../../proxy/mysql/wire.js";

const col = (type: number): ColumnDefinition =>
  ({
    catalog: "def",
    schema: "s",
    table: "t",
    orgTable: "t",
    name: "c",
    orgName: "c",
    charset: 45,
    length: 255,
    type,
    flags: 0,
    decimals: 0,
  }) as unknown as ColumnDefinition;

function textRow(values: (string | null)[]): Buffer {
  const w = new PayloadWriter();
  for (const v of values) {
    if (v === null) w.u8(0xfb);
    else w.lenencBytes(Buffer.from(v));
  }
  return Buffer.from(w.finish());
}

function binaryRow(types: number[], values: (string | null)[]): Buffer {
  const n = values.length;
  const bitmap = Buffer.alloc((n + 9) >> 3);
  const body = new PayloadWriter();
  values.forEach((v, i) => {
    if (v === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7);
    else writeBinaryValueFromText(body, types[i], false, Buffer.from(v));
  });
  return Buffer.concat([Buffer.from([0]), bitmap, body.finish()]);
}

/** Splits framed output into [seq, payload] (no continuation packets in these batches). */
function packets(bytes: Buffer): { seq: number; payload: Buffer }[] {
  const out: { seq: number; payload: Buffer }[] = [];
  for (let p = 0; p < bytes.length; ) {
    const len = bytes.readUIntLE(p, 3);
    out.push({ seq: bytes[p + 3], payload: bytes.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return out;
}

function readText(payload: Buffer, n: number): (string | null)[] {
  const r = new PayloadReader(payload);
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i++) out.push(r.lenencBytes()?.toString() ?? null);
  expect(r.remaining).toBe(0);
  return out;
}

function readBinary(payload: Buffer, types: number[]): (string | null)[] {
  const n = types.length;
  const r = new PayloadReader(payload, 1);
  const bitmap = r.bytes((n + 9) >> 3);
  const out = types.map((t, i) =>
    bitmap[(i + 2) >> 3] & (1 << ((i + 2) & 7)) ? null : readBinaryValueAsText(r, t, false).toString(),
  );
  expect(r.remaining).toBe(0);
  return out;
}

const value = fc.option(fc.string({ maxLength: 40 }), { nil: null });
const longValue = fc.option(
  fc.integer({ min: 240, max: 70_000 }).map((n) => "x".repeat(n)),
  { nil: null },
);

describe("RowBatchImpl", () => {
  it("text rows: sets, hidden columns and NULLs come out as expected, framed from the given sequence id", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            rows: fc.array(fc.array(fc.oneof(value, longValue), { minLength: n, maxLength: n }), {
              minLength: 1,
              maxLength: 30,
            }),
            hidden: fc.subarray(Array.from({ length: n }, (_, i) => i)),
            sets: fc.array(fc.tuple(fc.nat(), fc.nat(n - 1), value), { maxLength: 20 }),
            seq: fc.integer({ min: 0, max: 255 }),
          }),
        ),
        ({ n, rows, hidden, sets, seq }) => {
          const cols = Array.from({ length: n }, () => col(ColType.VAR_STRING));
          const b = new RowBatchImpl(cols, cols, false, new Set(hidden));
          for (const r of rows) b.add(textRow(r));
          const want = rows.map((r) => r.slice());
          for (const [row, c, v] of sets) {
            const r = row % rows.length;
            b.set(r, c, v === null ? null : Buffer.from(v));
            want[r][c] = v;
          }
          for (let r = 0; r < rows.length; r++)
            for (let c = 0; c < n; c++) expect(b.get(r, c)?.toString() ?? null).toEqual(want[r][c]);
          const out = b.encodeBatch(seq);
          const pk = packets(out.bytes);
          expect(pk.map((p) => p.seq)).toEqual(rows.map((_, i) => (seq + i) & 0xff));
          expect(out.nextSeq).toBe((seq + rows.length) & 0xff);
          const shown = Array.from({ length: n }, (_, i) => i).filter((i) => !hidden.includes(i));
          pk.forEach((p, r) => {
            expect(readText(p.payload, shown.length)).toEqual(shown.map((c) => want[r][c]));
            // encode(row) gives the same payload
            expect(b.encode(r).equals(p.payload)).toBe(true);
          });
          b.clear();
          expect(b.size).toBe(0);
          b.add(textRow(rows[0]));
          expect(b.get(0, 0)?.toString() ?? null).toEqual(rows[0][0]); // nothing set survives clear()
        },
      ),
      { numRuns: 200 },
    );
  });

  it("binary rows: untouched values copied, set values re-encoded, hidden columns dropped", () => {
    const types = [ColType.LONG, ColType.VAR_STRING, ColType.DATETIME, ColType.VAR_STRING];
    const cols = types.map(col);
    const b = new RowBatchImpl(cols, cols, true, new Set([3]));
    b.add(binaryRow(types, ["7", "alpha", "2024-02-29 10:11:12", "mac"]));
    b.add(binaryRow(types, [null, "beta", null, "mac2"]));
    expect(b.get(0, 0)?.toString()).toBe("7");
    expect(b.get(1, 0)).toBeNull();
    b.set(0, 1, Buffer.from("ALPHA"));
    b.set(1, 1, null);
    const pk = packets(b.encodeBatch(9).bytes);
    expect(pk.map((p) => p.seq)).toEqual([9, 10]);
    expect(readBinary(pk[0].payload, types.slice(0, 3))).toEqual(["7", "ALPHA", "2024-02-29 10:11:12"]);
    expect(readBinary(pk[1].payload, types.slice(0, 3))).toEqual([null, null, null]);
  });

  it("returns untouched rows as they came (no copy per row when nothing changes)", () => {
    const cols = [col(ColType.VAR_STRING)];
    const b = new RowBatchImpl(cols, cols, false, new Set());
    const row = textRow(["same"]);
    b.add(row);
    expect(b.encode(0)).toBe(row);
    expect(packets(b.encodeBatch(1).bytes)[0].payload.equals(row)).toBe(true);
  });

  it("splits a row of 16 MiB or more like framePacket, and the next row follows its last fragment", () => {
    const cols = [col(ColType.LONG_BLOB)];
    const b = new RowBatchImpl(cols, cols, false, new Set());
    b.add(textRow(["a"]));
    b.add(textRow(["b"]));
    b.set(0, 0, Buffer.alloc(0xffffff, 0x62));
    const out = b.encodeBatch(3);
    const big = new PayloadWriter().lenencBytes(Buffer.alloc(0xffffff, 0x62)).finish();
    const want = Buffer.concat([framePacket(big, 3).bytes, framePacket(textRow(["b"]), 5).bytes]);
    expect(out.nextSeq).toBe(6);
    expect(out.bytes.equals(want)).toBe(true);
  });

  it("refuses text rows shorter or longer than their columns", () => {
    const cols = [col(ColType.VAR_STRING), col(ColType.VAR_STRING)];
    const short = new RowBatchImpl(cols, cols, false, new Set());
    short.add(textRow(["only one"]));
    expect(() => short.get(0, 0)).toThrow(/truncated/);
    const long = new RowBatchImpl(cols, cols, false, new Set());
    long.add(textRow(["a", "b", "c"]));
    expect(() => long.get(0, 0)).toThrow(/longer than its columns/);
    const cut = new RowBatchImpl(cols, cols, false, new Set());
    cut.add(Buffer.from([0x05, 0x61]));
    expect(() => cut.get(0, 0)).toThrow(/truncated/);
  });
});

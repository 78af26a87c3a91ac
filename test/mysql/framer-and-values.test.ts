// Unit tests of the packet framer (zero-copy runs, > 16 MiB split packets streamed or reassembled, sequence
// renumbering, byte-at-a-time delivery) and of the binary-protocol value codec (text form <-> binary form).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBinaryValueAsText, writeBinaryValueFromText } from "../../proxy/mysql/binary-values.js";
import { ColType } from "../../proxy/mysql/constants.js";
import {
  CONSUMED,
  FORWARD,
  PacketFramer,
  type PacketHandler,
  SPLIT,
  type Verdict,
  WHOLE,
  WHOLE_PKT,
} from "../../proxy/mysql/framer.js";
import { framePacket } from "../../proxy/mysql/packets.js";
import { PayloadReader, PayloadWriter } from "../../proxy/mysql/wire.js";

function pkt(payload: Buffer, seq: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, payload]);
}

class Recorder implements PacketHandler {
  seen: { len: number; seq: number; flags: number; first: number }[] = [];
  constructor(private readonly decide: (len: number, flags: number) => Verdict) {}
  onPacket(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    this.seen.push({ len, seq, flags, first: len > 0 ? buf[start] : -1 });
    return this.decide(len, flags);
  }
}

describe("PacketFramer", () => {
  it("forwards 100 untouched packets of one chunk as ONE slice of that chunk (no copy)", () => {
    const chunk = Buffer.concat(Array.from({ length: 100 }, (_, i) => pkt(Buffer.from(`row ${i}`), i + 1)));
    const out: Buffer[] = [];
    const rec = new Recorder(() => FORWARD);
    new PacketFramer(rec, (b) => out.push(b), 1 << 20).push(chunk);
    expect(rec.seen).toHaveLength(100);
    expect(out).toHaveLength(1);
    expect(out[0].buffer).toBe(chunk.buffer); // a view of the received chunk
    expect(out[0].equals(chunk)).toBe(true);
  });

  it("delivers the same packets whatever the chunking (byte at a time, random splits)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p, i) => pkt(Buffer.from(p), i & 0xff)));
          const out: Buffer[] = [];
          const rec = new Recorder(() => FORWARD);
          const f = new PacketFramer(rec, (b) => out.push(Buffer.from(b)), 1 << 20);
          let pos = 0;
          let k = 0;
          while (pos < stream.length) {
            const n = cuts[k++ % cuts.length];
            f.push(stream.subarray(pos, pos + n));
            pos += n;
          }
          expect(Buffer.concat(out).equals(stream)).toBe(true);
          expect(rec.seen.map((s) => s.len)).toEqual(payloads.map((p) => p.length));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("streams a forwarded > 16 MiB packet fragment by fragment (handler called once)", () => {
    const payload = Buffer.alloc(0xffffff + 1000, 7);
    const framed = framePacket(payload, 3).bytes;
    expect(framed.length).toBe(payload.length + 8); // two fragments
    const out: Buffer[] = [];
    const rec = new Recorder(() => FORWARD);
    const f = new PacketFramer(rec, (b) => out.push(b), 1 << 20);
    for (let i = 0; i < framed.length; i += 65536) f.push(framed.subarray(i, i + 65536));
    expect(rec.seen).toHaveLength(1);
    expect(rec.seen[0].flags & SPLIT).toBe(SPLIT);
    expect(Buffer.concat(out).equals(framed)).toBe(true);
  });

  it("reassembles a split packet on WHOLE and reports first / last sequence ids", () => {
    const payload = Buffer.alloc(2 * 0xffffff + 5);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;
    const framed = framePacket(payload, 0).bytes;
    let whole: Buffer | undefined;
    let lastSeq = -1;
    const f: PacketFramer = new PacketFramer(
      {
        onPacket(buf, start, len, seq, flags) {
          if (flags & SPLIT) return WHOLE;
          if (flags & WHOLE_PKT) {
            whole = Buffer.from(buf.subarray(start, start + len));
            lastSeq = f.lastSeq();
            expect(seq).toBe(0);
          }
          return CONSUMED;
        },
      },
      () => {},
      64 << 20,
    );
    f.push(framed);
    expect(whole?.equals(payload)).toBe(true);
    expect(lastSeq).toBe(2);
  });

  it("refuses to reassemble beyond the inspection limit", () => {
    const framed = framePacket(Buffer.alloc(0xffffff + 10), 0).bytes;
    const f = new PacketFramer(
      { onPacket: (_b, _s, _l, _q, flags) => (flags & SPLIT ? WHOLE : CONSUMED) },
      () => {},
      1 << 20,
    );
    expect(() => f.push(framed)).toThrow(/inspection limit/);
  });

  it("renumbers forwarded packets with seqDelta in place", () => {
    const chunk = Buffer.concat([pkt(Buffer.from("a"), 1), pkt(Buffer.from("b"), 2)]);
    const out: Buffer[] = [];
    const f = new PacketFramer(new Recorder(() => FORWARD), (b) => out.push(b), 1024);
    f.seqDelta = 254;
    f.push(chunk);
    expect([out[0][3], out[0][8]]).toEqual([255, 0]);
  });
});

describe("binary protocol values", () => {
  const cases: [number, boolean, string][] = [
    [ColType.TINY, false, "-128"],
    [ColType.TINY, true, "255"],
    [ColType.SHORT, false, "-32768"],
    [ColType.LONG, false, "-2147483648"],
    [ColType.LONG, true, "4294967295"],
    [ColType.LONGLONG, false, "-9223372036854775808"],
    [ColType.LONGLONG, true, "18446744073709551615"],
    [ColType.DOUBLE, false, "1.5e+300"],
    [ColType.DATE, false, "2024-02-29"],
    [ColType.DATETIME, false, "2024-02-29 23:59:58.123456"],
    [ColType.DATETIME, false, "1999-12-31 00:00:01"],
    [ColType.TIME, false, "-838:59:59"],
    [ColType.TIME, false, "12:00:00.5"],
    [ColType.NEWDECIMAL, false, "-12345.678900"],
    [ColType.VAR_STRING, false, "héllo"],
  ];
  for (const [type, unsigned, text] of cases) {
    it(`type 0x${type.toString(16)} ${unsigned ? "unsigned " : ""}${text}`, () => {
      const w = new PayloadWriter();
      writeBinaryValueFromText(w, type, unsigned, Buffer.from(text));
      const back = readBinaryValueAsText(new PayloadReader(w.finish()), type, unsigned, text.includes(".5") ? 1 : 0);
      const expected = type === ColType.TIME && text === "12:00:00.5" ? "12:00:00.5" : text;
      expect(back.toString()).toBe(expected);
    });
  }

  it("refuses text that does not fit the binary type (no NaN, no silent wrap-around)", () => {
    const enc = (type: number, unsigned: boolean, text: string) => () =>
      writeBinaryValueFromText(new PayloadWriter(), type, unsigned, Buffer.from(text));
    expect(enc(ColType.LONG, false, "abc")).toThrow(/not an integer/);
    expect(enc(ColType.TINY, false, "128")).toThrow(/out of range/);
    expect(enc(ColType.TINY, true, "-1")).toThrow(/out of range/);
    expect(enc(ColType.LONGLONG, true, "18446744073709551616")).toThrow(/out of range/);
    expect(enc(ColType.DOUBLE, false, "x1")).toThrow(/finite/);
    expect(enc(ColType.DATETIME, false, "yesterday")).toThrow(/date\/time/);
  });

  it("decodes the MySQL manual's DATETIME example bytes (0b da 07 0a 11 13 1b 1e 01 00 00 00)", () => {
    const bytes = Buffer.from([0x0b, 0xda, 0x07, 0x0a, 0x11, 0x13, 0x1b, 0x1e, 0x01, 0x00, 0x00, 0x00]);
    expect(readBinaryValueAsText(new PayloadReader(bytes), ColType.DATETIME, false, 6).toString()).toBe(
      "2010-10-17 19:27:30.000001",
    );
  });
});

// The streaming framer: exact byte preservation under any chunking, one forwarded slice per chunk of
// untouched messages (SPEC §13), replacement/drop/pause verdicts, and typed errors on bad headers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PgProtocolError } from "../../proxy/pg/errors.js";
import { type FrameHandler, KEEP, MessageFramer, PAUSE, type Verdict } from "../../proxy/pg/framer.js";
import { BACKEND_TYPES } from "../../proxy/pg/message-types.js";

function message(type: number, body: Buffer): Buffer {
  const m = Buffer.alloc(5 + body.length);
  m[0] = type;
  m.writeUInt32BE(4 + body.length, 1);
  body.copy(m, 5);
  return m;
}

class Recorder implements FrameHandler {
  out: Buffer[] = [];
  forwards = 0;
  flushes = 0;
  seen: Buffer[] = [];
  constructor(private readonly verdict: (type: number, msg: Buffer) => Verdict = () => KEEP) {}
  forward(b: Buffer): void {
    this.forwards++;
    this.out.push(Buffer.from(b));
  }
  message(type: number, buf: Buffer, start: number, end: number): Verdict {
    const m = Buffer.from(buf.subarray(start, end));
    this.seen.push(m);
    return this.verdict(type, m);
  }
  flush(): void {
    this.flushes++;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.out);
  }
}

const legalBackendTypes = [...BACKEND_TYPES.keys()].filter((t) => BACKEND_TYPES[t] === 1);
const arbMessage = fc
  .tuple(fc.constantFrom(...legalBackendTypes), fc.uint8Array({ maxLength: 300 }))
  .map(([t, b]) => message(t, Buffer.from(b)));

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) chunks.push(buf.subarray(prev, p));
    prev = p;
  }
  if (prev < buf.length) chunks.push(buf.subarray(prev));
  return chunks;
}

describe("MessageFramer", () => {
  it("forwards a chunk of whole, untouched messages as ONE slice of that chunk (no copy)", () => {
    const chunk = Buffer.concat([
      message(0x32, Buffer.alloc(0)),
      message(0x44, Buffer.alloc(40, 1)),
      message(0x43, Buffer.from("SELECT 1\0")),
    ]);
    const calls: Buffer[] = [];
    const f = new MessageFramer(
      { forward: (b) => calls.push(b), message: () => KEEP, flush: () => {} },
      { legalTypes: BACKEND_TYPES, maxMessageBytes: 1 << 20, peer: "server" },
    );
    f.push(chunk);
    expect(calls.length).toBe(1);
    expect(calls[0].buffer).toBe(chunk.buffer); // a view of the input, not a copy
    expect(calls[0].length).toBe(chunk.length);
  });

  it("keeps inspected-but-unchanged messages inside the forwarded run", () => {
    const chunk = Buffer.concat([
      message(0x44, Buffer.alloc(3)),
      message(0x5a, Buffer.from("I")),
      message(0x44, Buffer.alloc(3)),
    ]);
    const r = new Recorder();
    const f = new MessageFramer(r, { legalTypes: BACKEND_TYPES, maxMessageBytes: 1 << 20, peer: "server" });
    f.setInspect([0x5a], true);
    f.push(chunk);
    expect(r.forwards).toBe(1);
    expect(r.seen.length).toBe(1);
    expect(r.seen[0][5]).toBe(0x49);
  });

  it("preserves the byte stream exactly under any chunking and any inspect set (property)", () => {
    fc.assert(
      fc.property(
        fc.array(arbMessage, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.subarray(legalBackendTypes),
        (msgs, cuts, inspected) => {
          const stream = Buffer.concat(msgs);
          const r = new Recorder();
          const f = new MessageFramer(r, { legalTypes: BACKEND_TYPES, maxMessageBytes: 1 << 20, peer: "server" });
          f.setInspect(inspected, true);
          for (const c of split(stream, cuts)) f.push(c);
          expect(r.bytes.equals(stream)).toBe(true);
          const expectedSeen = msgs.filter((m) => inspected.includes(m[0]));
          expect(r.seen.length).toBe(expectedSeen.length);
          r.seen.forEach((m, i) => {
            expect(m.equals(expectedSeen[i])).toBe(true);
          });
          expect(f.messages).toBe(msgs.length);
          expect(f.midMessage).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("replaces and drops inspected messages in order, under any chunking (property)", () => {
    fc.assert(
      fc.property(
        fc.array(arbMessage, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (msgs, cuts) => {
          // DataRow (0x44) is dropped, CommandComplete (0x43) replaced by two messages
          const repl = [message(0x4e, Buffer.from("n\0")), message(0x4e, Buffer.from("m\0"))];
          const r = new Recorder((t) => (t === 0x44 ? [] : t === 0x43 ? repl : KEEP));
          const f = new MessageFramer(r, { legalTypes: BACKEND_TYPES, maxMessageBytes: 1 << 20, peer: "server" });
          f.setInspect([0x44, 0x43], true);
          for (const c of split(Buffer.concat(msgs), cuts)) f.push(c);
          const expected = Buffer.concat(msgs.flatMap((m) => (m[0] === 0x44 ? [] : m[0] === 0x43 ? repl : [m])));
          expect(r.bytes.equals(expected)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with a barrier type, a handler that batches messages itself keeps the stream order (property)", () => {
    fc.assert(
      fc.property(
        fc.array(arbMessage, { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (msgs, cuts) => {
          // like the backend half with onDataRows: DataRows are collected and emitted (doubled) as a batch
          const out: Buffer[] = [];
          let batch: Buffer[] = [];
          const flushBatch = () => {
            for (const b of batch) out.push(b, b);
            batch = [];
          };
          const f = new MessageFramer(
            {
              forward: (b) => {
                flushBatch();
                out.push(Buffer.from(b));
              },
              message: (_t, buf, start, end) => {
                batch.push(Buffer.from(buf.subarray(start, end)));
                return [];
              },
              flush: () => flushBatch(),
            },
            { legalTypes: BACKEND_TYPES, maxMessageBytes: 1 << 20, peer: "server" },
          );
          f.setBarrier([0x44]);
          for (const c of split(Buffer.concat(msgs), cuts)) f.push(c);
          const expected = Buffer.concat(msgs.flatMap((m) => (m[0] === 0x44 ? [m, m] : [m])));
          expect(Buffer.concat(out).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("pauses on PAUSE, holds later input, and continues in order on resume()", () => {
    const a = message(0x44, Buffer.from("a"));
    const p = message(0x43, Buffer.from("x\0"));
    const b = message(0x44, Buffer.from("b"));
    let paused = false;
    const r = new Recorder((t) => {
      if (t === 0x43 && !paused) {
        paused = true;
        return PAUSE;
      }
      return KEEP;
    });
    const f = new MessageFramer(r, { legalTypes: BACKEND_TYPES, maxMessageBytes: 1 << 20, peer: "server" });
    f.setInspect([0x43], true);
    f.push(Buffer.concat([a, p, b.subarray(0, 3)]));
    expect(f.isPaused).toBe(true);
    f.push(b.subarray(3));
    expect(r.bytes.equals(a)).toBe(true);
    r.forward(message(0x43, Buffer.from("y\0"))); // the handler's own answer for the paused message
    f.resume();
    expect(r.bytes.equals(Buffer.concat([a, message(0x43, Buffer.from("y\0")), b]))).toBe(true);
  });

  it("rejects illegal types, lengths below 4 and oversized messages with 08P01", () => {
    const mk = () =>
      new MessageFramer(new Recorder(), { legalTypes: BACKEND_TYPES, maxMessageBytes: 1000, peer: "server" });
    const bad = [
      Buffer.from([0x01, 0, 0, 0, 4]),
      Buffer.from([0x44, 0, 0, 0, 3]),
      Buffer.from([0x44, 0, 0, 0x03, 0xe9]),
      Buffer.from([0x44, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (const b of bad) {
      const f = mk();
      let err: unknown;
      try {
        f.push(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PgProtocolError);
      expect((err as PgProtocolError).sqlstate).toBe("08P01");
    }
    // a header split across chunks is checked as well
    const f = mk();
    f.push(Buffer.from([0x44, 0x00]));
    expect(() => f.push(Buffer.from([0x10, 0x00, 0x00]))).toThrow(/exceeds limit of 1000 bytes/);
  });
});

// Streaming framer for one direction of a PostgreSQL v3 connection (after startup).
//
// It finds message boundaries in incoming chunks without copying. Messages whose type is not marked for
// inspection are never materialised: contiguous runs of them are handed on as ONE slice of the chunk
// (a message that continues into the next chunk is streamed on piecewise, so a 1 GiB DataRow costs no memory).
// Inspected types are shown to the handler as (buf, start, end); the handler answers KEEP (stays in the run,
// zero-copy), a replacement (Buffer / Buffer[]; empty array = drop), or PAUSE (the handler took the message and
// will call resume() once it has emitted its output — used by asynchronous hooks).
// Only an inspected message that spans chunks is assembled into its own buffer (bounded by maxMessageBytes).
import { PgProtocolError } from "./errors.js";
import { typeName } from "./message-types.js";

export const KEEP = undefined;
export const PAUSE: unique symbol = Symbol("pause");
export type Verdict = undefined | Buffer | Buffer[] | typeof PAUSE;

export interface FrameHandler {
  /** Bytes to pass on unchanged: whole messages, or a piece of a streamed (non-inspected) message. */
  forward(bytes: Buffer): void;
  /** An inspected message: bytes [start, end) of buf, header included. Must not retain buf unless it returns PAUSE. */
  message(type: number, buf: Buffer, start: number, end: number): Verdict;
  /** Called once at the end of every push()/resume(): the moment to write out what was collected. */
  flush(): void;
}

export interface FramerOptions {
  /** Which type bytes are legal in this direction (256 entries, 1 = legal). */
  legalTypes: Uint8Array;
  /** Largest message (type byte excluded, length field included) accepted. */
  maxMessageBytes: number;
  /** Direction label for error messages ("client" / "server"). */
  peer: string;
}

export class MessageFramer {
  /** 1 = call handler.message() for this type; 2 = also forward the pending run first (for handlers that
   *  emit output of their own from message(), e.g. batching). */
  readonly inspect = new Uint8Array(256);
  /** Bytes still to stream of a non-inspected message that began in an earlier chunk. */
  private skip = 0;
  /** Partial header (type + length) carried over from the previous chunk. */
  private readonly head = Buffer.alloc(5);
  private headLen = 0;
  /** Assembly buffer of an inspected message that spans chunks. */
  private asm: Buffer | null = null;
  private asmLen = 0;
  private held: Buffer | null = null;
  private paused = false;
  /** Total messages seen (cheap counter for metrics/tests). */
  messages = 0;

  constructor(
    private readonly handler: FrameHandler,
    private readonly opts: FramerOptions,
  ) {}

  /** True while the output stream is inside a message (no message may be injected now). */
  get midMessage(): boolean {
    return this.skip > 0;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** True when no byte of a message is held, assembled or still streaming (the stream may change hands). */
  get atBoundary(): boolean {
    return this.skip === 0 && this.headLen === 0 && this.asm === null && this.held === null && !this.paused;
  }

  setInspect(types: Iterable<number>, on: boolean): void {
    for (const t of types) this.inspect[t] = on ? 1 : 0;
  }

  /** Inspect these types, forwarding everything before them first (ordering barrier). */
  setBarrier(types: Iterable<number>): void {
    for (const t of types) this.inspect[t] = 2;
  }

  /** Feed one chunk. Throws PgProtocolError on an illegal type or length (the connection must then end). */
  push(chunk: Buffer): void {
    if (this.paused) {
      this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
      return;
    }
    try {
      this.process(chunk);
    } finally {
      this.handler.flush();
    }
  }

  /** Continue after a PAUSE verdict. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = null;
    try {
      if (held) this.process(held);
    } finally {
      this.handler.flush();
    }
  }

  private checkHeader(type: number, len: number): void {
    if (this.opts.legalTypes[type] !== 1)
      throw new PgProtocolError(`invalid message type ${typeName(type)} from ${this.opts.peer}`);
    if (len < 4)
      throw new PgProtocolError(`invalid message length ${len} for ${typeName(type)} from ${this.opts.peer}`);
    if (len > this.opts.maxMessageBytes)
      throw new PgProtocolError(
        `message ${typeName(type)} of ${len} bytes from ${this.opts.peer} exceeds limit of ${this.opts.maxMessageBytes} bytes`,
      );
  }

  private process(chunk: Buffer): void {
    const h = this.handler;
    const n = chunk.length;
    let pos = 0;

    // 1. continue a streamed message
    if (this.skip > 0) {
      if (n <= this.skip) {
        this.skip -= n;
        h.forward(chunk);
        return;
      }
      pos = this.skip;
      this.skip = 0;
      // the streamed tail becomes the start of this chunk's run
    }
    let runStart = 0;

    // 2. continue an assembly
    if (this.asm !== null) {
      const asm = this.asm;
      const take = Math.min(asm.length - this.asmLen, n);
      chunk.copy(asm, this.asmLen, 0, take);
      this.asmLen += take;
      pos = take;
      runStart = take;
      if (this.asmLen < asm.length) return;
      this.asm = null;
      if (this.deliverWhole(asm, asm[0], 0, asm.length, true)) {
        this.hold(chunk, pos);
        return;
      }
    }

    // 3. complete a partial header
    if (this.headLen > 0) {
      const take = Math.min(5 - this.headLen, n - pos);
      chunk.copy(this.head, this.headLen, pos, pos + take);
      this.headLen += take;
      pos += take;
      runStart = pos;
      if (this.headLen < 5) return;
      this.headLen = 0;
      const type = this.head[0];
      const len = this.head.readUInt32BE(1);
      this.checkHeader(type, len);
      this.messages++;
      const bodyLeft = len - 4;
      if (this.inspect[type] === 0) {
        h.forward(Buffer.from(this.head)); // the header we consumed earlier (rare path: header split by a chunk)
        const avail = n - pos;
        if (avail < bodyLeft) {
          this.skip = bodyLeft - avail;
          if (avail > 0) h.forward(chunk.subarray(pos));
          return;
        }
        runStart = pos;
        pos += bodyLeft;
      } else {
        const msg = Buffer.allocUnsafe(1 + len);
        this.head.copy(msg, 0, 0, 5);
        const avail = n - pos;
        const take = Math.min(avail, bodyLeft);
        chunk.copy(msg, 5, pos, pos + take);
        pos += take;
        runStart = pos;
        if (take < bodyLeft) {
          this.asm = msg;
          this.asmLen = 5 + take;
          return;
        }
        if (this.deliverWhole(msg, type, 0, msg.length, true)) {
          this.hold(chunk, pos);
          return;
        }
      }
    }

    // 4. the fast loop over whole messages in this chunk
    const inspect = this.inspect;
    while (pos < n) {
      if (n - pos < 5) {
        if (pos > runStart) h.forward(chunk.subarray(runStart, pos));
        chunk.copy(this.head, 0, pos, n);
        this.headLen = n - pos;
        return;
      }
      const type = chunk[pos];
      const len = chunk.readUInt32BE(pos + 1);
      if (this.opts.legalTypes[type] !== 1 || len < 4 || len > this.opts.maxMessageBytes) {
        // pass on the good messages before the bad one, then fail
        if (pos > runStart) h.forward(chunk.subarray(runStart, pos));
        this.checkHeader(type, len);
      }
      this.messages++;
      const end = pos + 1 + len;
      if (inspect[type] === 0) {
        if (end > n) {
          this.skip = end - n;
          h.forward(runStart === 0 ? chunk : chunk.subarray(runStart, n));
          return;
        }
        pos = end;
        continue;
      }
      if (end > n) {
        if (pos > runStart) h.forward(chunk.subarray(runStart, pos));
        const msg = Buffer.allocUnsafe(1 + len);
        chunk.copy(msg, 0, pos, n);
        this.asm = msg;
        this.asmLen = n - pos;
        return;
      }
      if (inspect[type] === 2 && pos > runStart) {
        h.forward(chunk.subarray(runStart, pos));
        runStart = pos;
      }
      let verdict: Verdict;
      try {
        verdict = h.message(type, chunk, pos, end);
      } catch (e) {
        // a message the handler could not decode: pass on the good ones before it, then fail
        if (pos > runStart) h.forward(chunk.subarray(runStart, pos));
        throw e;
      }
      if (verdict === undefined) {
        pos = end;
        continue;
      }
      if (pos > runStart) h.forward(chunk.subarray(runStart, pos));
      pos = end;
      runStart = end;
      if (verdict === PAUSE) {
        this.hold(chunk, pos);
        return;
      }
      this.emit(verdict);
    }
    if (runStart === 0 && pos === n)
      h.forward(chunk); // the common case: the whole chunk, no new view
    else if (pos > runStart) h.forward(chunk.subarray(runStart, pos));
  }

  /** Deliver an assembled message. Returns true when the handler paused. */
  private deliverWhole(buf: Buffer, type: number, start: number, end: number, owned: boolean): boolean {
    const verdict = this.handler.message(type, buf, start, end);
    if (verdict === undefined) {
      this.handler.forward(owned ? buf : buf.subarray(start, end));
      return false;
    }
    if (verdict === PAUSE) return true;
    this.emit(verdict);
    return false;
  }

  private emit(v: Buffer | Buffer[]): void {
    if (Buffer.isBuffer(v)) {
      if (v.length > 0) this.handler.forward(v);
    } else for (const b of v) if (b.length > 0) this.handler.forward(b);
  }

  private hold(chunk: Buffer, pos: number): void {
    this.paused = true;
    if (pos < chunk.length) this.held = chunk.subarray(pos);
  }
}

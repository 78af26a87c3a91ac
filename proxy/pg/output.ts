// Write coalescing for one socket: slices collected while one incoming chunk is processed are written
// together at the end (one write for one slice; several small ones copied into one write; otherwise
// one writev). Plain TCP sockets are written straight to their handle (socket-fast-path.ts); TLS sockets,
// or a socket whose stream still has writes of its own in flight, go through socket.write.
import type { Socket } from "node:net";
import { RawWrites } from "./socket-fast-path.js";

/** Below this many bytes, several pieces are copied into one buffer instead of being written with writev. */
const SMALL_WRITE = 16 * 1024;

export class Output {
  /** Collected pieces: parts[0..count) (the array keeps its capacity between flushes). */
  private readonly parts: Buffer[] = [];
  private count = 0;
  bytes = 0;
  private sock: Socket;
  private raw: RawWrites | undefined;

  constructor(socket: Socket) {
    this.sock = socket;
    this.raw = RawWrites.for(socket);
  }

  get socket(): Socket {
    return this.sock;
  }

  /** Switch to another socket (the TLS socket after the client upgraded). */
  set socket(s: Socket) {
    this.sock = s;
    this.raw = RawWrites.for(s);
  }

  add(b: Buffer): void {
    this.parts[this.count++] = b;
  }

  get pending(): number {
    return this.count;
  }

  /** True while written bytes are still queued (so memory they point into must not be reused yet). */
  get queued(): boolean {
    return this.sock.writableLength > 0 || (this.raw !== undefined && this.raw.pending > 0);
  }

  /** Write what was collected. Returns false when the socket's buffer is full (caller applies backpressure). */
  flush(): boolean {
    const n = this.count;
    if (n === 0) return true;
    const parts = this.parts;
    this.count = 0;
    const s = this.sock;
    if (s.destroyed || !s.writable) {
      release(parts, n);
      return true;
    }
    let total = 0;
    for (let i = 0; i < n; i++) total += parts[i].length;
    this.bytes += total;
    const raw = this.raw;
    if (raw !== undefined) {
      const written = n === 1 || total > SMALL_WRITE ? raw.write(parts, n) : raw.write([concat(parts, n, total)], 1);
      if (written) {
        release(parts, n);
        return raw.pending === 0 || s.destroyed;
      }
    }
    let ok: boolean;
    if (n === 1) {
      ok = s.write(parts[0]);
    } else if (total <= SMALL_WRITE) {
      // a few small pieces (rewritten messages between forwarded runs): one copy + one write is cheaper
      // than Node's writev machinery
      ok = s.write(concat(parts, n, total));
    } else {
      s.cork();
      for (let i = 0; i < n; i++) s.write(parts[i]);
      s.uncork();
      ok = s.writableLength < s.writableHighWaterMark;
    }
    release(parts, n);
    return ok;
  }

  /** Call f once everything written so far has left for the kernel (after flush() returned false). */
  onDrain(f: () => void): void {
    const s = this.sock;
    if (this.raw !== undefined && this.raw.pending > 0) this.raw.whenFlushed(() => this.onDrain(f));
    else if (s.writableLength > 0) s.once("drain", () => this.onDrain(f));
    else f();
  }
}

const EMPTY = Buffer.alloc(0);

/** Drop the references to written pieces (their memory may be a reused read buffer). */
function release(parts: Buffer[], n: number): void {
  for (let i = 0; i < n; i++) parts[i] = EMPTY;
}

function concat(parts: Buffer[], n: number, total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    out.set(parts[i], pos);
    pos += parts[i].length;
  }
  return out;
}

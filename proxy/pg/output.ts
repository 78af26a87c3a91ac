// Write coalescing for one socket: slices collected while one incoming chunk is processed are written
// together at the end (one write for one slice; several small ones copied into one write; otherwise
// cork/uncork = one writev).
import type { Socket } from "node:net";

/** Below this many bytes, several pieces are copied into one buffer instead of being written with writev. */
const SMALL_WRITE = 16 * 1024;

export class Output {
  private readonly parts: Buffer[] = [];
  bytes = 0;

  constructor(public socket: Socket) {}

  add(b: Buffer): void {
    this.parts.push(b);
  }

  get pending(): number {
    return this.parts.length;
  }

  /** Write what was collected. Returns false when the socket's buffer is full (caller applies backpressure). */
  flush(): boolean {
    const parts = this.parts;
    const n = parts.length;
    if (n === 0) return true;
    const s = this.socket;
    if (s.destroyed || !s.writable) {
      parts.length = 0;
      return true;
    }
    let ok: boolean;
    let total = 0;
    for (let i = 0; i < n; i++) total += parts[i].length;
    if (n === 1) {
      this.bytes += total;
      ok = s.write(parts[0]);
    } else if (total <= SMALL_WRITE) {
      // a few small pieces (rewritten messages between forwarded runs): one copy + one write is cheaper
      // than Node's writev machinery
      this.bytes += total;
      ok = s.write(Buffer.concat(parts, total));
    } else {
      s.cork();
      for (let i = 0; i < n; i++) {
        this.bytes += parts[i].length;
        s.write(parts[i]);
      }
      s.uncork();
      ok = s.writableLength < s.writableHighWaterMark;
    }
    parts.length = 0;
    return ok;
  }
}

// Streaming packet framer for one direction of a MySQL connection. It finds packet boundaries (3-byte length +
// sequence id) without copying, asks a handler what to do with each logical packet, and forwards consecutive
// untouched packets as ONE slice of the received chunk. Packets of 0xFFFFFF bytes continue in the next packet
// (> 16 MiB logical packets): a forwarded one streams through fragment by fragment, one the handler must inspect
// is reassembled (bounded by maxWholeBytes) and handed over in one Buffer.
import { MAX_PACKET_PAYLOAD } from "./constants.js";

/** The handler's verdicts. */
export const FORWARD = 0; // forward the packet's bytes unchanged (joined into the current run)
export const CONSUMED = 1; // the handler dealt with it (it called flushRun() before writing anything itself)
export const WHOLE = 2; // only for split packets: reassemble the logical packet and call again with flags WHOLE_PKT
export const SKIP = 3; // drop this packet and all its continuation fragments
export const PAUSE = 4; // consumed; stop framing until resume() (async hook in progress)
export type Verdict = 0 | 1 | 2 | 3 | 4;

/** Flags passed to the handler. */
export const SPLIT = 1; // this is the first fragment; the payload continues in following packets
export const WHOLE_PKT = 2; // buf is the reassembled logical packet (seq = first fragment, lastSeq() = last)

export interface PacketHandler {
  /** payload = buf[start, start + len). */
  onPacket(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict;
}

export class PacketTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`packet exceeds the inspection limit of ${limit} bytes`);
    this.name = "PacketTooLargeError";
  }
}

const EMPTY = Buffer.alloc(0);

export class PacketFramer {
  /** Added (mod 256) to the sequence id of every forwarded packet; 0 = forward bytes untouched. */
  seqDelta = 0;
  private buf: Buffer = EMPTY;
  private pos = 0;
  private runStart = -1;
  private parts: Buffer[] = [];
  private partsLen = 0;
  private need = 4;
  private contMode = 0; // 0 none, 1 forwarding continuation fragments, 2 skipping them, 3 collecting
  private collected: Buffer[] = [];
  private collectedLen = 0;
  private collectSeq = 0;
  private lastFragSeq = 0;
  private paused = false;
  private processing = false;

  constructor(
    private readonly handler: PacketHandler,
    private readonly forward: (slice: Buffer) => void,
    private readonly maxWholeBytes: number,
  ) {}

  /** Sequence id of the last fragment of the packet passed with WHOLE_PKT. */
  lastSeq(): number {
    return this.lastFragSeq;
  }

  /** Bytes received but not yet framed (used to check nothing is pending before a TLS upgrade). */
  buffered(): number {
    return this.buf.length - this.pos + this.partsLen;
  }

  push(chunk: Buffer): void {
    if (this.partsLen > 0) {
      this.parts.push(chunk);
      this.partsLen += chunk.length;
      if (this.partsLen < this.need) return;
      this.buf = Buffer.concat(this.parts, this.partsLen);
      this.pos = 0;
      this.parts = [];
      this.partsLen = 0;
    } else if (this.pos < this.buf.length) {
      const rest = this.buf.length - this.pos;
      if (rest + chunk.length < this.need) {
        this.parts.push(this.buf.subarray(this.pos), chunk);
        this.partsLen = rest + chunk.length;
        this.buf = EMPTY;
        this.pos = 0;
        return;
      }
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    } else {
      this.buf = chunk;
      this.pos = 0;
    }
    this.process();
  }

  /** Take the bytes received but not framed yet (before handing the socket to TLS). */
  takeUnframed(): Buffer {
    const parts = this.pos < this.buf.length ? [this.buf.subarray(this.pos), ...this.parts] : this.parts;
    const out = Buffer.concat(parts);
    this.buf = EMPTY;
    this.pos = 0;
    this.parts = [];
    this.partsLen = 0;
    this.need = 4;
    return out;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.processing) this.process();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** No byte of a packet is held, collected or still streaming (the stream may change hands). */
  get atBoundary(): boolean {
    return this.buffered() === 0 && this.contMode === 0 && !this.paused && !this.processing;
  }

  /** Forward the run of untouched packets seen so far (call before writing anything of your own). */
  flushRun(): void {
    if (this.runStart >= 0) {
      if (this.pos > this.runStart) this.forward(this.buf.subarray(this.runStart, this.pos));
      this.runStart = -1;
    }
  }

  private markForward(pktStart: number, seq: number): void {
    if (this.seqDelta !== 0) this.buf[pktStart + 3] = (seq + this.seqDelta) & 0xff;
    if (this.runStart < 0) this.runStart = pktStart;
  }

  private process(): void {
    this.processing = true;
    try {
      const buf = this.buf;
      while (!this.paused) {
        const avail = buf.length - this.pos;
        if (avail < 4) {
          this.need = 4;
          break;
        }
        const pktStart = this.pos;
        const len = buf[pktStart] | (buf[pktStart + 1] << 8) | (buf[pktStart + 2] << 16);
        const seq = buf[pktStart + 3];
        if (avail < 4 + len) {
          this.need = 4 + len;
          break;
        }
        const payload = pktStart + 4;
        const end = payload + len;
        const more = len === MAX_PACKET_PAYLOAD;
        if (this.contMode !== 0) {
          if (this.contMode === 1) this.markForward(pktStart, seq);
          else if (this.contMode === 3) this.collect(buf.subarray(payload, end), seq);
          else this.flushRun();
          this.pos = end;
          if (more) continue;
          const mode = this.contMode;
          this.contMode = 0;
          if (mode === 3) this.deliverWhole();
          continue;
        }
        const verdict = this.handler.onPacket(buf, payload, len, seq, more ? SPLIT : 0);
        if (verdict === FORWARD) {
          this.markForward(pktStart, seq);
          if (more) this.contMode = 1;
        } else if (verdict === WHOLE && more) {
          this.flushRun();
          this.collected = [];
          this.collectedLen = 0;
          this.collectSeq = seq;
          this.collect(buf.subarray(payload, end), seq);
          this.contMode = 3;
        } else if (verdict === SKIP && more) {
          this.flushRun();
          this.contMode = 2;
        } else {
          if (this.runStart >= 0) this.flushRun();
          if (verdict === PAUSE) this.paused = true;
        }
        this.pos = end;
      }
      this.flushRun();
      // keep an unframed tail for the next chunk
      if (this.pos >= buf.length) {
        this.buf = EMPTY;
        this.pos = 0;
      }
    } finally {
      this.processing = false;
    }
  }

  private collect(part: Buffer, seq: number): void {
    this.collectedLen += part.length;
    if (this.collectedLen > this.maxWholeBytes) throw new PacketTooLargeError(this.maxWholeBytes);
    this.collected.push(part);
    this.lastFragSeq = seq;
  }

  private deliverWhole(): void {
    const whole = Buffer.concat(this.collected, this.collectedLen);
    this.collected = [];
    this.collectedLen = 0;
    const verdict = this.handler.onPacket(whole, 0, whole.length, this.collectSeq, WHOLE_PKT);
    if (verdict === PAUSE) this.paused = true;
  }
}

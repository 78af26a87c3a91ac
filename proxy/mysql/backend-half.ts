// The backend half of a MySQL session: reads server packets in the command phase, matches them to the pending
// response queue (OK / ERR / resultsets with column definitions and text or binary rows, multi-resultsets,
// prepare answers, LOCAL INFILE requests), keeps the session context current (prepared statements, database),
// and forwards untouched packets as raw slices. Resultsets a hook claims are re-emitted with the columns the
// hook chose and rows transformed in batches.
import { buildColumnDefinition, type ColumnDefinition, parseColumnDefinition } from "./column-definition.js";
import { Com, Err, Status } from "./constants.js";
import {
  CONSUMED,
  FORWARD,
  type PacketFramer,
  type PacketHandler,
  SPLIT,
  type Verdict,
  WHOLE,
  WHOLE_PKT,
} from "./framer.js";
import { isRefusal } from "./hooks.js";
import { errPayload, framePacket, isTerminator, okStatus, terminatorStatus } from "./packets.js";
import type { PendingResponse } from "./pending.js";
import { PrepareAnswer } from "./prepare-answer.js";
import { RowBatchImpl } from "./row-batch.js";
import type { SessionCore } from "./session-core.js";
import { MalformedPacketError, PayloadReader } from "./wire.js";

const S_IDLE = 0;
const S_FIRST = 1;
const S_COLS = 2;
const S_COLS_EOF = 3;
const S_ROWS = 4;
const S_PREPARE = 5;
const S_SINGLE = 10;
const S_RAW_SINGLE = 11;
const S_FIELDS = 12;
const S_CHANGE_USER = 13;
const S_INFILE_SWALLOW = 14;

const BATCH_ROWS = 1024;
const BATCH_BYTES = 1 << 20;
const MAX_COLUMNS = 65535;

export class BackendHalf implements PacketHandler {
  framer!: PacketFramer;
  private state = S_IDLE;
  private current: PendingResponse | undefined;
  private remaining = 0;
  private columns: ColumnDefinition[] = [];
  /** Packets of a claimed resultset's header (column count + definitions [+ EOF]) held until the hook ran. */
  private held: Buffer[] | undefined;
  private heldFirstSeq = 0;
  private batch: RowBatchImpl | undefined;
  private batchOutSeq = 0;
  private outSeq = 0; // next sequence id the client expects (valid while we emit our own packets)
  private discarding = false;
  private infileClientSeq = 0;
  private localsDue = false;
  private prep: PrepareAnswer | undefined;

  constructor(readonly core: SessionCore) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  onPacket(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    const verdict = this.step(buf, start, len, seq, flags);
    if (!this.localsDue) return verdict;
    // answers of smgate queued behind the response that just ended go out after its last packet
    this.localsDue = false;
    if (verdict === FORWARD && !(flags & SPLIT)) {
      this.framer.flushRun();
      const pkt = buf.subarray(start - 4, start + len);
      if (this.framer.seqDelta !== 0) pkt[3] = (seq + this.framer.seqDelta) & 0xff;
      this.core.writeClient(pkt);
      this.drainLocals();
      return CONSUMED;
    }
    if (verdict !== FORWARD) this.drainLocals();
    else this.localsDue = true;
    return verdict;
  }

  private drainLocals(): void {
    while (this.core.pending.length > 0 && this.core.pending[0].kind === "local") {
      this.emit(this.core.pending.shift()!.local!);
    }
  }

  private step(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    if (!this.current && !this.startNext()) return this.unsolicited(buf, start, len, seq, flags);
    const cur = this.current!;
    const binary = cur.kind === "binary-resultset" || cur.kind === "fetch";
    const head = len > 0 ? buf[start] : -1;
    switch (this.state) {
      case S_FIRST: {
        if (head === 0x00) {
          const status = okStatus(buf, start, len);
          this.core.ctx.serverStatus = status;
          if (status & Status.MORE_RESULTS_EXISTS) cur.resultIndex++;
          else this.finish();
          return this.pass();
        }
        if (head === 0xff) {
          this.finish();
          return this.pass();
        }
        if (head === 0xfb && !binary) return this.localInfile(seq);
        let count: number;
        if (len === 1 && head < 0xfb) count = head;
        else {
          const r = new PayloadReader(buf, start, start + len);
          count = r.lenenc("column count");
          if (r.remaining !== 0) throw new MalformedPacketError("invalid column count packet");
        }
        if (count <= 0 || count > MAX_COLUMNS) throw new MalformedPacketError("invalid column count packet");
        this.columns = [];
        this.remaining = count;
        this.state = S_COLS;
        if (this.core.hooks?.onColumnDefinitions && !this.discarding) {
          this.held = [Buffer.from(buf.subarray(start, start + len))];
          this.heldFirstSeq = seq;
          return CONSUMED;
        }
        this.held = undefined;
        return this.pass();
      }
      case S_COLS: {
        // cheap structural check (catalog "def", minimum size) so pure relaying still rejects garbage metadata
        if (
          len < 22 ||
          buf[start] !== 3 ||
          buf[start + 1] !== 0x64 ||
          buf[start + 2] !== 0x65 ||
          buf[start + 3] !== 0x66
        ) {
          throw new MalformedPacketError("invalid column definition");
        }
        if (--this.remaining === 0) this.state = this.core.ctx.deprecateEof ? S_ROWS : S_COLS_EOF;
        if (this.held) {
          // definitions are decoded only for resultsets a hook may claim; pure relaying never parses them
          this.columns.push(parseColumnDefinition(buf, start, len, this.core.ctx.extendedMetadata));
          this.held.push(Buffer.from(buf.subarray(start, start + len)));
          if (this.state === S_ROWS) this.releaseHeader(seq, binary);
          return CONSUMED;
        }
        return this.pass();
      }
      case S_COLS_EOF: {
        if (head !== 0xfe) throw new MalformedPacketError("expected EOF after column definitions");
        this.state = S_ROWS;
        const cursor = binary && (terminatorStatus(buf, start, len, 0) & Status.CURSOR_EXISTS) !== 0;
        let verdict: Verdict;
        if (this.held) {
          this.held.push(Buffer.from(buf.subarray(start, start + len)));
          this.releaseHeader(seq, binary);
          verdict = CONSUMED;
        } else verdict = this.pass();
        if (cursor) this.finish(); // rows follow with COM_STMT_FETCH
        return verdict;
      }
      case S_ROWS:
        return this.row(buf, start, len, seq, flags);
      case S_PREPARE: {
        const verdict = this.prep!.onPacket(buf, start, len, seq);
        if (this.prep!.done) this.finish();
        return verdict;
      }
      case S_SINGLE: {
        if (head === 0x00 || head === 0xfe) {
          this.applySideEffects(cur);
          this.core.ctx.serverStatus = terminatorStatus(buf, start, len, head === 0x00 ? 0xffffffff : 0);
        }
        this.finish();
        return this.pass();
      }
      case S_RAW_SINGLE:
        this.finish();
        return this.pass();
      case S_FIELDS: {
        if (head === 0xff || isTerminator(buf, start, len, this.core.ctx.capabilities)) this.finish();
        return this.pass();
      }
      case S_CHANGE_USER: {
        if (flags & SPLIT) throw new MalformedPacketError("oversized authentication packet");
        this.core.authFromServer(Buffer.from(buf.subarray(start, start + len)), seq);
        return CONSUMED;
      }
      case S_INFILE_SWALLOW: {
        // the server's answer to the empty file we sent: the client gets an ERR instead
        if (head === 0x00 && okStatus(buf, start, len) & Status.MORE_RESULTS_EXISTS) {
          this.discarding = true;
          this.state = S_FIRST;
        } else this.finish();
        this.emit(
          framePacket(
            errPayload(
              Err.NOT_ALLOWED_COMMAND,
              "smgate: LOAD DATA LOCAL INFILE is disabled on this gateway (mysql.local_infile)",
            ),
            this.infileClientSeq,
          ).bytes,
        );
        return CONSUMED;
      }
      default:
        throw new MalformedPacketError("unexpected packet from server");
    }
  }

  /** Called by the session when authentication of COM_CHANGE_USER finished. */
  changeUserDone(): void {
    if (this.state === S_CHANGE_USER) this.finish();
  }

  /** Write bytes of our own to the client, after the run of forwarded packets before them. */
  emit(bytes: Buffer): void {
    this.framer.flushRun();
    this.core.writeClient(bytes);
  }

  pass(): Verdict {
    return this.discarding ? CONSUMED : FORWARD;
  }

  private applySideEffects(cur: PendingResponse): void {
    const ctx = this.core.ctx;
    if (cur.command === Com.INIT_DB && cur.database !== undefined) ctx.database = cur.database;
    if (cur.command === Com.RESET_CONNECTION) ctx.statements.clear();
    if (cur.command === Com.STMT_RESET && cur.stmt) cur.stmt.longData.clear();
  }

  private localInfile(seq: number): Verdict {
    if (this.core.allowLocalInfile) {
      this.core.startInfileRelay();
      return this.pass();
    }
    // answer the server with an empty file; swallow its answer and give the client an ERR instead
    this.core.log.warn({ conn: this.core.ctx.connectionId }, "server requested LOCAL INFILE; refused (disabled)");
    this.infileClientSeq = (seq + this.framer.seqDelta) & 0xff;
    this.core.writeServer(framePacket(Buffer.alloc(0), (seq + 1) & 0xff).bytes);
    this.state = S_INFILE_SWALLOW;
    return CONSUMED;
  }

  /** All column definitions of a claimed resultset are in: ask the hook, then emit the header. */
  private releaseHeader(lastSeq: number, binary: boolean): void {
    const cur = this.current!;
    const held = this.held!;
    this.held = undefined;
    const view = this.core.hooks?.onColumnDefinitions?.(this.core.ctx, cur, this.columns, false);
    let out: Buffer[];
    if (view) {
      const hidden = new Set(view.hide ?? []);
      const shown = view.columns.filter((_, i) => !hidden.has(i));
      const countPayload = Buffer.from([shown.length]);
      out = [shown.length < 0xfb ? countPayload : lenencPayload(shown.length)];
      for (const c of shown) out.push(buildColumnDefinition(c, this.core.ctx.extendedMetadata));
      if (!this.core.ctx.deprecateEof) out.push(held[held.length - 1]);
      this.batch = new RowBatchImpl(this.columns, view.columns, binary, hidden);
    } else {
      out = held;
    }
    let s = (this.heldFirstSeq + this.framer.seqDelta) & 0xff;
    for (const p of out) {
      const f = framePacket(p, s);
      this.emit(f.bytes);
      s = f.nextSeq;
    }
    this.outSeq = s;
    this.framer.seqDelta = (s - ((lastSeq + 1) & 0xff)) & 0xff;
  }

  private row(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    const cur = this.current!;
    const whole = (flags & WHOLE_PKT) !== 0;
    if (!whole && isTerminator(buf, start, len, this.core.ctx.capabilities)) {
      // after a refusal the rest of the response is still parsed (to find its end) but not forwarded
      if (this.flushBatch() && this.batch) this.framer.seqDelta = (this.outSeq - seq) & 0xff;
      const status = terminatorStatus(buf, start, len, this.core.ctx.capabilities);
      this.core.ctx.serverStatus = status;
      this.endResultset();
      if (status & Status.MORE_RESULTS_EXISTS) {
        cur.resultIndex++;
        this.state = S_FIRST;
      } else this.finish();
      return this.pass();
    }
    if (!whole && len > 0 && buf[start] === 0xff) {
      if (this.flushBatch() && this.batch) this.framer.seqDelta = (this.outSeq - seq) & 0xff;
      this.endResultset();
      this.finish();
      return this.pass();
    }
    if (!this.batch || this.discarding) return this.pass();
    if (flags & SPLIT) return WHOLE;
    if (this.batch.size === 0) this.batchOutSeq = (seq + this.framer.seqDelta) & 0xff;
    this.batch.add(whole ? buf : buf.subarray(start, start + len));
    const lastIn = whole ? this.framer.lastSeq() : seq;
    // rows we hold shift what follows: recomputed when the batch is written
    this.framer.seqDelta = (this.batchOutSeq + this.batch.size - ((lastIn + 1) & 0xff)) & 0xff;
    if (this.batch.size >= BATCH_ROWS || this.batch.bytes >= BATCH_BYTES) {
      if (!this.flushBatch()) return CONSUMED;
      this.framer.seqDelta = (this.outSeq - ((lastIn + 1) & 0xff)) & 0xff;
    }
    return CONSUMED;
  }

  /** Transform and write the held rows. Returns false when the hook refused (ERR sent, rest discarded). */
  private flushBatch(): boolean {
    const batch = this.batch;
    if (!batch || batch.size === 0 || this.discarding) return !this.discarding;
    const cur = this.current!;
    let refusal: unknown;
    let out: { bytes: Buffer; nextSeq: number } | undefined;
    try {
      refusal = this.core.hooks?.onRows?.(this.core.ctx, cur, batch);
      if (!isRefusal(refusal)) out = batch.encodeBatch(this.batchOutSeq);
    } catch (err) {
      // a hook that throws, or a value it set that does not fit the column type shown: fail closed
      this.core.log.error({ conn: this.core.ctx.connectionId, err: (err as Error).name }, "row transformation failed");
      refusal = { error: { ...Err.NOT_SUPPORTED_YET, message: "smgate: result transformation failed" } };
    }
    if (isRefusal(refusal)) {
      this.emit(framePacket(errPayload(refusal.error, refusal.error.message), this.batchOutSeq).bytes);
      batch.clear();
      this.discarding = true;
      return false;
    }
    if (out === undefined) throw new Error("row batch not encoded"); // unreachable: no refusal means encoded
    this.emit(out.bytes);
    batch.clear();
    this.outSeq = out.nextSeq;
    this.batchOutSeq = out.nextSeq;
    return true;
  }

  private endResultset(): void {
    this.batch = undefined;
  }

  private startNext(): boolean {
    for (;;) {
      const next = this.core.pending.shift();
      if (!next) return false;
      if (next.kind === "local") {
        this.emit(next.local!);
        continue;
      }
      this.begin(next);
      return true;
    }
  }

  private begin(p: PendingResponse): void {
    this.current = p;
    this.discarding = false;
    this.framer.seqDelta = p.seqDelta & 0xff;
    this.batch = undefined;
    this.held = undefined;
    switch (p.kind) {
      case "resultset":
      case "binary-resultset":
        this.state = S_FIRST;
        break;
      case "fetch":
        this.state = S_ROWS;
        this.columns = p.stmt?.columns ?? [];
        if (p.stmt && this.core.hooks?.onColumnDefinitions) {
          const view = this.core.hooks.onColumnDefinitions(this.core.ctx, p, this.columns, false);
          if (view) {
            this.batch = new RowBatchImpl(this.columns, view.columns, true, new Set(view.hide ?? []));
          }
        }
        break;
      case "prepare":
        this.state = S_PREPARE;
        this.prep = new PrepareAnswer(this, p);
        break;
      case "field-list":
        this.state = S_FIELDS;
        break;
      case "single":
        this.state = S_SINGLE;
        break;
      case "raw-single":
        this.state = S_RAW_SINGLE;
        break;
      case "change-user":
        this.state = S_CHANGE_USER;
        break;
      default:
        throw new MalformedPacketError(`unexpected pending kind ${p.kind}`);
    }
  }

  private finish(): void {
    const started = this.current?.startedAt;
    if (started !== undefined) this.core.observeBackendSeconds?.((performance.now() - started) / 1000);
    this.current = undefined;
    this.state = S_IDLE;
    this.batch = undefined;
    this.held = undefined;
    this.prep = undefined;
    // answers smgate gave itself that were waiting behind this response (sent after the current packet)
    if (this.core.pending.length > 0 && this.core.pending[0].kind === "local") this.localsDue = true;
    else if (this.core.draining) queueMicrotask(() => this.core.responseFinished());
  }

  private unsolicited(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    void seq;
    if (flags & SPLIT || len === 0 || buf[start] !== 0xff) {
      throw new MalformedPacketError("packet from the server while no response was expected");
    }
    // the server reports an error on its own (shutdown, connection killed, timeout): relay it
    this.framer.seqDelta = 0;
    return FORWARD;
  }
}

function lenencPayload(n: number): Buffer {
  const b = Buffer.allocUnsafe(n <= 0xffff ? 3 : 4);
  if (n <= 0xffff) {
    b[0] = 0xfc;
    b.writeUInt16LE(n, 1);
  } else {
    b[0] = 0xfd;
    b.writeUIntLE(n, 1, 3);
  }
  return b;
}

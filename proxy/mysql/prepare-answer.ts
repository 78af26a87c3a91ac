// The answer to one COM_STMT_PREPARE: STMT_PREPARE_OK (statement id, column and parameter counts), parameter
// definitions [+ EOF], column definitions [+ EOF]. Registers the statement in the session context (with the
// plan the prepare hook attached) and, when a hook may change what the client sees, holds the answer and
// re-emits it with the hook's view of the parameters and columns.
import { buildColumnDefinition, parseColumnDefinition } from "./column-definition.js";
import { CONSUMED, type PacketFramer, type Verdict } from "./framer.js";
import { framePacket } from "./packets.js";
import type { PendingResponse } from "./pending.js";
import type { PreparedStatement } from "./session-context.js";
import type { SessionCore } from "./session-core.js";
import { MalformedPacketError } from "./wire.js";

export interface PrepareAnswerHost {
  readonly core: SessionCore;
  readonly framer: PacketFramer;
  /** FORWARD, or CONSUMED while the rest of a refused response is being discarded. */
  pass(): Verdict;
  /** Write bytes of our own to the client (after the run of forwarded packets). */
  emit(bytes: Buffer): void;
}

const FIRST = 0;
const PARAMS = 1;
const PARAMS_EOF = 2;
const COLS = 3;
const COLS_EOF = 4;

export class PrepareAnswer {
  /** The answer is complete (the backend half then finishes the response). */
  done = false;
  private state = FIRST;
  private remaining = 0;
  private columnCount = 0;
  private stmt: PreparedStatement | undefined;
  /** Packets held for onColumnDefinitions, and the sequence id of the first one. */
  private held: Buffer[] | undefined;
  private firstSeq = 0;

  constructor(
    private readonly host: PrepareAnswerHost,
    private readonly request: PendingResponse,
  ) {}

  onPacket(buf: Buffer, start: number, len: number, seq: number): Verdict {
    const ctx = this.host.core.ctx;
    const head = len > 0 ? buf[start] : -1;
    switch (this.state) {
      case FIRST: {
        if (head === 0xff) {
          this.done = true;
          return this.host.pass();
        }
        if (head !== 0x00 || len < 12) throw new MalformedPacketError("invalid COM_STMT_PREPARE answer");
        const id = buf.readUInt32LE(start + 1);
        const ncols = buf.readUInt16LE(start + 5);
        const nparams = buf.readUInt16LE(start + 7);
        const cur = this.request;
        const preparing = cur.preparing ?? { sql: cur.sql ?? "" };
        const stmt: PreparedStatement = {
          id,
          sql: cur.sql ?? preparing.sql,
          originalSql: cur.originalSql ?? preparing.sql,
          paramCount: nparams,
          params: [],
          columns: [],
          paramTypes: undefined,
          longData: new Set<number>(),
          plan: preparing.plan,
        };
        ctx.statements.set(id, stmt);
        cur.stmt = stmt;
        this.stmt = stmt;
        this.columnCount = ncols;
        if (this.host.core.hooks?.onColumnDefinitions && this.host.pass() !== CONSUMED) {
          this.held = [];
          this.firstSeq = seq;
        }
        const verdict = this.hold(buf, start, len);
        if (nparams > 0) {
          this.state = PARAMS;
          this.remaining = nparams;
        } else this.columns(ncols, seq);
        return verdict;
      }
      case PARAMS: {
        this.stmt!.params.push(parseColumnDefinition(buf, start, len, ctx.extendedMetadata));
        const verdict = this.hold(buf, start, len);
        if (--this.remaining === 0) {
          if (ctx.deprecateEof) this.columns(this.columnCount, seq);
          else this.state = PARAMS_EOF;
        }
        return verdict;
      }
      case PARAMS_EOF: {
        if (head !== 0xfe) throw new MalformedPacketError("expected EOF after parameter definitions");
        const verdict = this.hold(buf, start, len);
        this.columns(this.columnCount, seq);
        return verdict;
      }
      case COLS: {
        this.stmt!.columns.push(parseColumnDefinition(buf, start, len, ctx.extendedMetadata));
        const verdict = this.hold(buf, start, len);
        if (--this.remaining === 0) {
          if (ctx.deprecateEof) this.complete(seq);
          else this.state = COLS_EOF;
        }
        return verdict;
      }
      default: {
        if (head !== 0xfe) throw new MalformedPacketError("expected EOF after column definitions");
        const verdict = this.hold(buf, start, len);
        this.complete(seq);
        return verdict;
      }
    }
  }

  private hold(buf: Buffer, start: number, len: number): Verdict {
    if (!this.held) return this.host.pass();
    this.held.push(Buffer.from(buf.subarray(start, start + len)));
    return CONSUMED;
  }

  private columns(ncols: number, seq: number): void {
    this.remaining = ncols;
    if (ncols > 0) this.state = COLS;
    else this.complete(seq);
  }

  /** The answer is complete: let the hook choose the definitions shown, then emit what was held. */
  private complete(lastSeq: number): void {
    this.done = true;
    const held = this.held;
    this.held = undefined;
    const stmt = this.stmt;
    const hook = this.host.core.hooks?.onColumnDefinitions;
    if (!held || !stmt || !hook) return;
    const ctx = this.host.core.ctx;
    const pView = stmt.params.length > 0 ? hook(ctx, this.request, stmt.params, true) : undefined;
    const cView = stmt.columns.length > 0 ? hook(ctx, this.request, stmt.columns, false) : undefined;
    let out = held;
    if (pView || cView) {
      const ext = ctx.extendedMetadata;
      const eof = ctx.deprecateEof ? undefined : held.find((p, i) => i > 0 && p[0] === 0xfe && p.length < 9);
      const hidden = new Set(cView?.hide ?? []);
      const shown = (cView?.columns ?? stmt.columns).filter((_, i) => !hidden.has(i));
      // parameters a rewrite added (computed companion values) are hidden from the client, which then binds
      // only its own: stmt.paramCount becomes the client's count (COM_STMT_EXECUTE is parsed with it)
      const hiddenParams = new Set(pView?.hide ?? []);
      const shownParams = (pView?.columns ?? stmt.params).filter((_, i) => !hiddenParams.has(i));
      if (hiddenParams.size > 0) stmt.paramCount = shownParams.length;
      const ok = Buffer.from(held[0]);
      ok.writeUInt16LE(shown.length, 5);
      ok.writeUInt16LE(shownParams.length, 7);
      out = [ok];
      if (shownParams.length > 0) {
        for (const c of shownParams) out.push(buildColumnDefinition(c, ext));
        if (eof) out.push(eof);
      }
      if (shown.length > 0) {
        for (const c of shown) out.push(buildColumnDefinition(c, ext));
        if (eof) out.push(eof);
      }
    }
    const framer = this.host.framer;
    let s = (this.firstSeq + framer.seqDelta) & 0xff;
    for (const p of out) {
      const f = framePacket(p, s);
      this.host.emit(f.bytes);
      s = f.nextSeq;
    }
    framer.seqDelta = (s - ((lastSeq + 1) & 0xff)) & 0xff;
  }
}

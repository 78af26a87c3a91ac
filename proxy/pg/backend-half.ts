// Backend half of a session: frames the server's messages and passes them to the client.
// Always: ReadyForQuery status (idle detection). During startup: Authentication (strips SCRAM -PLUS),
// BackendKeyData (replaced by smgate's own key), ParameterStatus. With hooks: matches every response to
// the pipeline entry that produced it (statements, portals, row descriptions), and hands DataRow batches,
// RowDescription and ParameterDescription to the hooks.
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeParameterDescription,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeRowDescription,
  decodeSaslMechanisms,
  encodeAuthenticationSASL,
  encodeErrorFields,
  encodeParameterDescription,
  encodeRowDescription,
} from "./backend-messages.js";
import { type FrameHandler, KEEP, MessageFramer, type Verdict } from "./framer.js";
import { isRefusal, type SessionHooks } from "./hooks.js";
import { AUTH, B, BACKEND_TYPES } from "./message-types.js";
import type { Output } from "./output.js";
import type { PendingRequest, Portal, PreparedStatement, SessionContext } from "./session-context.js";

const DROP: Buffer[] = [];
const STARTUP_TYPES = [B.Authentication, B.BackendKeyData, B.ParameterStatus, B.ErrorResponse];
const TRACKED_BACKEND_TYPES = [
  B.ParseComplete,
  B.BindComplete,
  B.CloseComplete,
  B.ParameterDescription,
  B.RowDescription,
  B.NoData,
  B.CommandComplete,
  B.EmptyQueryResponse,
  B.PortalSuspended,
  B.ErrorResponse,
];

export interface BackendOwner {
  readonly ctx: SessionContext;
  readonly hooks: SessionHooks | undefined;
  outstanding: number;
  /** Replace the server's key with smgate's; returns the BackendKeyData to send to the client. */
  onBackendKey(pid: number, secret: number): Buffer;
  onAuthenticated(): void;
  /** First ReadyForQuery: startup is over. */
  onReady(): void;
  /** Called at the end of each processed server chunk (after the client output was written). */
  onClientOutputFlushed(ok: boolean): void;
  onStartupError(buf: Buffer, start: number, end: number): void;
  /** The server sent a FATAL/PANIC ErrorResponse: it is about to close, and has told the client why. */
  onServerFatal(): void;
}

export class BackendHalf implements FrameHandler {
  readonly framer: MessageFramer;
  private startup = true;
  private batch: Buffer[] = [];
  private batchTarget: PendingRequest | undefined;
  /** A hook aborted the current result: drop server messages until ReadyForQuery. */
  private aborting = false;

  constructor(
    private readonly owner: BackendOwner,
    private readonly out: Output,
    maxMessageBytes: number,
  ) {
    this.framer = new MessageFramer(this, { legalTypes: BACKEND_TYPES, maxMessageBytes, peer: "server" });
    this.framer.setInspect([B.ReadyForQuery, ...STARTUP_TYPES], true);
    if (owner.hooks) this.framer.setInspect(TRACKED_BACKEND_TYPES, true);
    if (owner.hooks?.onDataRows) this.framer.setBarrier([B.DataRow]);
  }

  forward(bytes: Buffer): void {
    if (this.batch.length > 0) this.flushBatch();
    this.out.add(bytes);
  }

  flush(): void {
    if (this.batch.length > 0) this.flushBatch();
    this.owner.onClientOutputFlushed(this.out.flush());
  }

  /** Messages smgate emits on its own (synthetic answers), written at the next flush. */
  emit(bytes: Buffer): void {
    this.forward(bytes);
  }

  message(type: number, buf: Buffer, start: number, end: number): Verdict {
    if (this.aborting && type !== B.ReadyForQuery) {
      // a hook aborted the result: the rest of the response up to ReadyForQuery is dropped (still tracked)
      if (type === B.DataRow) return DROP;
      if (this.batch.length > 0) this.flushBatch();
      return this.owner.hooks ? this.tracked(type, buf, start, end) : DROP;
    }
    if (type === B.ReadyForQuery) this.aborting = false;
    if (type === B.DataRow) {
      // only inspected when hooks.onDataRows exists
      if (this.batch.length === 0) this.batchTarget = this.owner.ctx.head();
      this.batch.push(buf.subarray(start, end));
      return DROP;
    }
    if (this.batch.length > 0) this.flushBatch();
    if (this.startup) {
      const v = this.startupMessage(type, buf, start, end);
      if (v !== KEEP || type !== B.ReadyForQuery) return v;
    }
    const o = this.owner;
    if (type === B.ReadyForQuery) {
      o.ctx.transactionStatus = decodeReadyForQuery(buf, start, end);
      if (o.outstanding > 0) o.outstanding--;
      if (!o.hooks) return KEEP;
      return this.tracked(type, buf, start, end);
    }
    if (type === B.ParameterStatus) {
      const p = decodeParameterStatus(buf, start, end);
      o.ctx.serverParams.set(p.name, p.value);
      return KEEP;
    }
    if (type === B.ErrorResponse && isFatalError(buf, start, end)) o.onServerFatal();
    if (!o.hooks) return KEEP;
    return this.tracked(type, buf, start, end);
  }

  private startupMessage(type: number, buf: Buffer, start: number, end: number): Verdict {
    const o = this.owner;
    switch (type) {
      case B.Authentication: {
        const a = decodeAuthentication(buf, start, end);
        if (a.code === AUTH.Ok) o.onAuthenticated();
        if (a.code === AUTH.SASL) {
          // SCRAM-SHA-256-PLUS binds to the TLS channel, which smgate terminates: offer only what can pass.
          const mechs = decodeSaslMechanisms(a.body);
          if (mechs?.some((m) => m.endsWith("-PLUS"))) {
            return encodeAuthenticationSASL(mechs.filter((m) => !m.endsWith("-PLUS")));
          }
        }
        return KEEP; // every other code (including other products' methods) is relayed unchanged
      }
      case B.BackendKeyData: {
        const k = decodeBackendKeyData(buf, start, end);
        return o.onBackendKey(k.pid, k.secret);
      }
      case B.ParameterStatus: {
        const p = decodeParameterStatus(buf, start, end);
        o.ctx.serverParams.set(p.name, p.value);
        return KEEP;
      }
      case B.ErrorResponse:
        if (isFatalError(buf, start, end)) o.onServerFatal();
        o.onStartupError(buf, start, end);
        return KEEP;
      case B.ReadyForQuery:
        this.startup = false;
        this.framer.setInspect([B.Authentication, B.BackendKeyData], false);
        o.onReady();
        return KEEP;
    }
    return KEEP;
  }

  private flushBatch(): void {
    const rows = this.batch;
    this.batch = [];
    const hooks = this.owner.hooks;
    const target = this.batchTarget;
    // an Execute's row shape is its portal's (known from Describe P, or Describe S + Bind formats)
    if (target && target.rowDescription === undefined && target.portal)
      target.rowDescription = target.portal.rowDescription;
    const out = hooks?.onDataRows?.(this.owner.ctx, target, rows) ?? rows;
    this.batchTarget = undefined;
    if (isRefusal(out)) {
      this.out.add(encodeErrorFields({ S: "ERROR", V: "ERROR", ...out.error }));
      this.aborting = true;
      return;
    }
    for (const r of out) this.out.add(r);
  }

  // ---------- pipeline matching (hooks installed) ----------

  private tracked(type: number, buf: Buffer, start: number, end: number): Verdict {
    const ctx = this.owner.ctx;
    const hooks = this.owner.hooks!;
    const head = ctx.head();
    let verdict: Verdict = KEEP;
    const hidden = head?.hidden === true;
    switch (type) {
      case B.ParseComplete:
      case B.BindComplete:
      case B.CloseComplete:
        this.pop();
        break;
      case B.ParameterDescription: {
        const types = decodeParameterDescription(buf, start, end);
        const stmt: PreparedStatement | undefined = head?.statement;
        if (stmt) stmt.paramDescription = types;
        const shown = hooks.onParameterDescription?.(ctx, stmt, types);
        if (shown) verdict = encodeParameterDescription(shown);
        break;
      }
      case B.RowDescription: {
        const fields = decodeRowDescription(buf, start, end);
        if (head) {
          if (head.kind === "describe-statement" && head.statement) head.statement.rowDescription = fields;
          if (head.kind === "describe-portal" && head.portal) head.portal.rowDescription = fields;
          head.rowDescription = fields;
        }
        const shown = hooks.onRowDescription?.(ctx, head, fields);
        if (shown) verdict = encodeRowDescription(shown);
        if (head && head.kind !== "query") this.pop();
        break;
      }
      case B.NoData:
        if (head?.kind === "describe-statement" && head.statement) head.statement.rowDescription = null;
        if (head?.kind === "describe-portal" && head.portal) head.portal.rowDescription = null;
        this.pop();
        break;
      case B.CommandComplete:
      case B.EmptyQueryResponse:
        if (head?.kind === "query") head.rowDescription = undefined;
        else this.pop();
        break;
      case B.PortalSuspended:
        this.pop();
        break;
      case B.ErrorResponse:
        if (head && head.kind !== "query" && head.kind !== "sync" && head.kind !== "function") this.discardUntilSync();
        break;
      case B.ReadyForQuery: {
        // ends a query / function call / sync; portals of finished transactions are gone
        while (ctx.pipeline.length > 0) {
          const e = ctx.pipeline[0];
          if (e.kind === "query" || e.kind === "sync" || e.kind === "function") {
            this.pop();
            if (ctx.transactionStatus === "I") dropPortalsBefore(ctx.portals, e.seq);
            break;
          }
          if (e.kind === "synthetic") break;
          this.rollback(e);
          ctx.pipeline.shift();
        }
        break;
      }
    }
    if (hidden) return DROP;
    if (this.aborting) return this.withSynthetic(DROP, buf, start, end);
    return this.withSynthetic(verdict, buf, start, end);
  }

  private pendingSynthetic: Buffer[] = [];

  private pop(): void {
    this.owner.ctx.pipeline.shift();
    this.collectSynthetic();
  }

  /** Move synthetic entries that reached the head into pendingSynthetic (sent right after the current message). */
  private collectSynthetic(): void {
    const q = this.owner.ctx.pipeline;
    while (q.length > 0 && q[0].kind === "synthetic") {
      const e = q.shift()!;
      if (e.synthetic) this.pendingSynthetic.push(...e.synthetic);
    }
  }

  private withSynthetic(verdict: Verdict, buf: Buffer, start: number, end: number): Verdict {
    if (this.pendingSynthetic.length === 0) return verdict;
    const out: Buffer[] = [];
    if (verdict === KEEP) out.push(buf.subarray(start, end));
    else if (Buffer.isBuffer(verdict)) out.push(verdict);
    else if (Array.isArray(verdict)) out.push(...verdict);
    out.push(...this.pendingSynthetic);
    this.pendingSynthetic = [];
    return out;
  }

  /** Emit synthetic entries at the head right now (called when the server has nothing outstanding). */
  drainSynthetic(): void {
    this.collectSynthetic();
    if (this.pendingSynthetic.length === 0) return;
    for (const b of this.pendingSynthetic) this.out.add(b);
    this.pendingSynthetic = [];
    this.owner.onClientOutputFlushed(this.out.flush());
  }

  /** After an extended-protocol error the server skips everything up to Sync: so do we (rolling back). */
  private discardUntilSync(): void {
    const q = this.owner.ctx.pipeline;
    const dropped: PendingRequest[] = [];
    while (q.length > 0 && q[0].kind !== "sync" && q[0].kind !== "query" && q[0].kind !== "function") {
      dropped.push(q.shift()!);
    }
    for (let i = dropped.length - 1; i >= 0; i--) this.rollback(dropped[i]);
  }

  private rollback(e: PendingRequest): void {
    const ctx = this.owner.ctx;
    if (e.kind === "parse" && e.statement) {
      if (ctx.statements.get(e.statement.name) === e.statement) {
        if (e.previous && e.statement.name !== "")
          ctx.statements.set(e.statement.name, e.previous as PreparedStatement);
        else ctx.statements.delete(e.statement.name);
      }
    } else if (e.kind === "bind" && e.portal) {
      if (ctx.portals.get(e.portal.name) === e.portal) {
        if (e.previous) ctx.portals.set(e.portal.name, e.previous as Portal);
        else ctx.portals.delete(e.portal.name);
      }
    } else if (e.kind === "close" && e.previous && e.closeName !== undefined) {
      if (e.closeTarget === "S") ctx.statements.set(e.closeName, e.previous as PreparedStatement);
      else ctx.portals.set(e.closeName, e.previous as Portal);
    }
  }
}

const SEVERITY_FATAL = Buffer.from("SFATAL\0");
const SEVERITY_PANIC = Buffer.from("SPANIC\0");

/** Does this ErrorResponse carry severity FATAL or PANIC? (no allocation: byte comparison in place) */
function isFatalError(buf: Buffer, start: number, end: number): boolean {
  return fieldAt(buf, start + 5, end, SEVERITY_FATAL) || fieldAt(buf, start + 5, end, SEVERITY_PANIC);
}

/** True when `field` (code byte + value + NUL) is one of the fields of the ErrorResponse body [pos, end). */
function fieldAt(buf: Buffer, pos: number, end: number, field: Buffer): boolean {
  while (pos < end && buf[pos] !== 0) {
    const nul = buf.indexOf(0, pos + 1);
    if (nul < 0 || nul >= end) return false;
    if (nul + 1 - pos === field.length && buf.compare(field, 0, field.length, pos, nul + 1) === 0) return true;
    pos = nul + 1;
  }
  return false;
}

function dropPortalsBefore(portals: Map<string, Portal>, seq: number): void {
  if (portals.size === 0) return;
  for (const [name, p] of portals) if (p.seq < seq) portals.delete(name);
}

// Frontend half of a session: frames the client's messages and passes them to the server.
// Without hooks it only counts Sync/Query/FunctionCall (for idle detection) and forwards raw runs.
// With hooks it tracks Parse/Bind/Describe/Execute/Close/Sync into the shared pipeline queue and lets
// hooks rewrite or refuse statements.
import { encodeErrorFields, encodeReadyForQuery } from "./backend-messages.js";
import { type FrameHandler, KEEP, MessageFramer, type Verdict } from "./framer.js";
import {
  decodeBind,
  decodeClose,
  decodeDescribe,
  decodeExecute,
  decodeParse,
  decodeQuery,
  encodeBind,
  encodeParse,
  encodeQuery,
} from "./frontend-messages.js";
import { isRefusal, type Refusal, type SessionHooks } from "./hooks.js";
import { F, FRONTEND_TYPES } from "./message-types.js";
import type { Output } from "./output.js";
import type { PendingRequest, Portal, PreparedStatement, SessionContext } from "./session-context.js";

const DROP: Buffer[] = [];
/** Frontend types looked at when hooks are installed. */
export const TRACKED_FRONTEND_TYPES = [
  F.Parse,
  F.Bind,
  F.Describe,
  F.Execute,
  F.Close,
  F.Sync,
  F.Query,
  F.FunctionCall,
];

export interface FrontendOwner {
  readonly ctx: SessionContext;
  readonly hooks: SessionHooks | undefined;
  /** Number of Sync/Query/FunctionCall sent whose ReadyForQuery has not arrived yet. */
  outstanding: number;
  clientTerminated: boolean;
  onServerOutputFlushed(ok: boolean): void;
  /** Emit queued synthetic responses that reached the head of the pipeline (client output). */
  drainSynthetic(): void;
}

export class FrontendHalf implements FrameHandler {
  readonly framer: MessageFramer;
  private skipUntilSync = false;

  constructor(
    private readonly owner: FrontendOwner,
    private readonly out: Output,
    maxMessageBytes: number,
  ) {
    this.framer = new MessageFramer(this, { legalTypes: FRONTEND_TYPES, maxMessageBytes, peer: "client" });
    this.framer.setInspect([F.Sync, F.Query, F.FunctionCall, F.Terminate], true);
    if (owner.hooks) this.framer.setInspect(TRACKED_FRONTEND_TYPES, true);
  }

  forward(bytes: Buffer): void {
    this.out.add(bytes);
  }

  flush(): void {
    this.owner.onServerOutputFlushed(this.out.flush());
  }

  message(type: number, buf: Buffer, start: number, end: number): Verdict {
    const o = this.owner;
    if (type === F.Terminate) {
      o.clientTerminated = true;
      return KEEP;
    }
    if (!o.hooks) {
      o.outstanding++; // Sync, Query, FunctionCall
      return KEEP;
    }
    if (this.skipUntilSync) {
      if (type !== F.Sync) return DROP;
      this.skipUntilSync = false;
    }
    const ctx = o.ctx;
    const hooks = o.hooks;
    switch (type) {
      case F.Sync:
        o.outstanding++;
        this.enqueue({ kind: "sync", seq: ctx.nextSeq() });
        return KEEP;
      case F.Query:
        return this.onQuery(hooks, buf, start, end);
      case F.FunctionCall:
        o.outstanding++;
        this.enqueue({ kind: "function", seq: ctx.nextSeq() });
        return KEEP;
      case F.Parse:
        return this.onParse(hooks, buf, start, end);
      case F.Bind:
        return this.onBind(hooks, buf, start, end);
      case F.Describe: {
        const d = decodeDescribe(buf, start, end);
        if (d.target === "S")
          this.enqueue({ kind: "describe-statement", seq: ctx.nextSeq(), statement: ctx.statements.get(d.name) });
        else this.enqueue({ kind: "describe-portal", seq: ctx.nextSeq(), portal: ctx.portals.get(d.name) });
        return KEEP;
      }
      case F.Execute: {
        const e = decodeExecute(buf, start, end);
        const portal = ctx.portals.get(e.portal);
        const r = hooks.onExecute?.(ctx, portal, e.maxRows);
        if (isRefusal(r)) return this.refuseExtended(r);
        this.enqueue({ kind: "execute", seq: ctx.nextSeq(), portal, rowDescription: portalRowDescription(portal) });
        return KEEP;
      }
      case F.Close: {
        const c = decodeClose(buf, start, end);
        const entry: PendingRequest = { kind: "close", seq: ctx.nextSeq(), closeTarget: c.target, closeName: c.name };
        if (c.target === "S") {
          entry.previous = ctx.statements.get(c.name);
          ctx.statements.delete(c.name);
        } else {
          entry.previous = ctx.portals.get(c.name);
          ctx.portals.delete(c.name);
        }
        this.enqueue(entry);
        return KEEP;
      }
    }
    return KEEP;
  }

  private enqueue(req: PendingRequest): void {
    this.owner.ctx.pipeline.push(req);
  }

  private onQuery(hooks: SessionHooks, buf: Buffer, start: number, end: number): Verdict {
    const o = this.owner;
    const ctx = o.ctx;
    const sql = decodeQuery(buf, start, end);
    const r = hooks.onQuery?.(ctx, sql);
    if (isRefusal(r)) {
      // answered by smgate in pipeline order: ErrorResponse + ReadyForQuery; nothing goes to the server
      this.enqueue({
        kind: "synthetic",
        seq: ctx.nextSeq(),
        synthetic: [
          encodeErrorFields({ S: "ERROR", V: "ERROR", ...r.error }),
          encodeReadyForQuery(ctx.transactionStatus),
        ],
      });
      o.drainSynthetic();
      return DROP;
    }
    o.outstanding++;
    this.enqueue({ kind: "query", seq: ctx.nextSeq(), sql });
    return r ? encodeQuery(r.sql) : KEEP;
  }

  private onParse(hooks: SessionHooks, buf: Buffer, start: number, end: number): Verdict {
    const ctx = this.owner.ctx;
    const p = decodeParse(buf, start, end);
    const stmt: PreparedStatement = { name: p.name, sql: p.sql, serverSql: p.sql, paramTypes: p.paramTypes };
    const previous = ctx.statements.get(p.name);
    ctx.statements.set(p.name, stmt);
    const r = hooks.onParse?.(ctx, stmt);
    if (isRefusal(r)) {
      if (previous) ctx.statements.set(p.name, previous);
      else ctx.statements.delete(p.name);
      return this.refuseExtended(r);
    }
    this.enqueue({ kind: "parse", seq: ctx.nextSeq(), statement: stmt, previous });
    if (!r) return KEEP;
    if (r.sql !== undefined) stmt.serverSql = r.sql;
    if (r.paramTypes) stmt.paramTypes = r.paramTypes;
    return encodeParse({ name: p.name, sql: stmt.serverSql, paramTypes: stmt.paramTypes });
  }

  private onBind(hooks: SessionHooks, buf: Buffer, start: number, end: number): Verdict {
    const ctx = this.owner.ctx;
    const b = decodeBind(buf, start, end);
    const seq = ctx.nextSeq();
    const portal: Portal = {
      name: b.portal,
      statement: ctx.statements.get(b.statement),
      paramFormats: b.paramFormats,
      resultFormats: b.resultFormats,
      seq,
    };
    const stmtRows = portal.statement?.rowDescription;
    if (stmtRows !== undefined) portal.rowDescription = withResultFormats(stmtRows, b.resultFormats);
    const previous = ctx.portals.get(b.portal);
    ctx.portals.set(b.portal, portal);
    const r = hooks.onBind?.(ctx, portal, b.params);
    if (isRefusal(r)) {
      if (previous) ctx.portals.set(b.portal, previous);
      else ctx.portals.delete(b.portal);
      return this.refuseExtended(r);
    }
    this.enqueue({ kind: "bind", seq, portal, previous });
    if (!r) return KEEP;
    if (r.paramFormats) portal.paramFormats = r.paramFormats;
    // the server's row shape follows the formats the server is asked for (portal.resultFormats stays the client's)
    if (r.resultFormats && stmtRows !== undefined) portal.rowDescription = withResultFormats(stmtRows, r.resultFormats);
    return encodeBind({
      portal: b.portal,
      statement: b.statement,
      params: r.params,
      paramFormats: portal.paramFormats,
      resultFormats: r.resultFormats ?? b.resultFormats,
    });
  }

  /** Refuse an extended-protocol message: error in pipeline order, then discard until Sync (like the server). */
  private refuseExtended(r: Refusal): Verdict {
    const ctx = this.owner.ctx;
    this.enqueue({
      kind: "synthetic",
      seq: ctx.nextSeq(),
      synthetic: [encodeErrorFields({ S: "ERROR", V: "ERROR", ...r.error })],
    });
    this.skipUntilSync = true;
    this.owner.drainSynthetic();
    return DROP;
  }
}

/** Apply Bind result-format codes to a statement's row description (0 codes = text; 1 code = all). */
export function withResultFormats(
  fields: import("./backend-messages.js").FieldDescription[] | null,
  formats: number[],
): import("./backend-messages.js").FieldDescription[] | null {
  if (fields === null) return null;
  return fields.map((f, i) => ({
    ...f,
    format: formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : (formats[i] ?? 0),
  }));
}

function portalRowDescription(p: Portal | undefined) {
  return p?.rowDescription;
}

// The frontend half of a MySQL session: reads client commands in the command phase, registers the response each
// one expects, tracks prepared statements (parameter types, long data), maps KILL to backend thread ids, calls
// the rewrite hooks, refuses what the gateway does not relay, and forwards untouched commands as raw slices.
import { buildExecutePacket, parseExecute, querySqlOffset, startsWithKill } from "./commands.js";
import { Com, Err, type ErrSpec } from "./constants.js";
import {
  CONSUMED,
  FORWARD,
  type PacketFramer,
  type PacketHandler,
  SKIP,
  SPLIT,
  type Verdict,
  WHOLE,
  WHOLE_PKT,
} from "./framer.js";
import { parseChangeUser } from "./handshake.js";
import { isRefusal, type PreparingStatement } from "./hooks.js";
import { buildKillSql, parseKill } from "./kill.js";
import { errPayload, framePacket } from "./packets.js";
import { type PendingResponse, pendingResponse, type ResponseKind } from "./pending.js";
import type { PreparedStatement } from "./session-context.js";
import type { SessionCore } from "./session-core.js";
import { MalformedPacketError } from "./wire.js";

/** Commands answered with exactly one OK / ERR / EOF packet. (COM_SHUTDOWN is not relayed: a gateway client does not
 * stop the server through the legacy command; SQL SHUTDOWN remains subject to the server's privileges.) */
const SINGLE = new Set<number>([
  Com.PING,
  Com.INIT_DB,
  Com.RESET_CONNECTION,
  Com.STMT_RESET,
  Com.SET_OPTION,
  Com.DEBUG,
  Com.REFRESH,
]);

export class FrontendHalf implements PacketHandler {
  framer!: PacketFramer;
  private infile = false;

  constructor(private readonly core: SessionCore) {}

  startInfile(): void {
    this.infile = true;
  }

  onPacket(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    const core = this.core;
    if (this.infile) {
      if (len === 0) this.infile = false;
      return FORWARD;
    }
    if (core.authInProgress) {
      if (flags & SPLIT) throw new MalformedPacketError("oversized authentication packet");
      core.authFromClient(Buffer.from(buf.subarray(start, start + len)), seq);
      return CONSUMED;
    }
    if (len === 0) throw new MalformedPacketError("empty command packet");
    if (seq !== 0) throw new MalformedPacketError(`command packet with sequence id ${seq} (expected 0)`);
    const lastSeq = flags & WHOLE_PKT ? this.framer.lastSeq() : seq;
    const cmd = buf[start];
    switch (cmd) {
      case Com.QUERY:
        return this.query(buf, start, len, lastSeq, flags);
      case Com.STMT_PREPARE:
        return this.prepare(buf, start, len, lastSeq, flags);
      case Com.STMT_EXECUTE:
        return this.execute(buf, start, len, lastSeq, flags);
      case Com.STMT_SEND_LONG_DATA: {
        if (len < 7) throw new MalformedPacketError("short COM_STMT_SEND_LONG_DATA");
        core.ctx.statements.get(buf.readUInt32LE(start + 1))?.longData.add(buf.readUInt16LE(start + 5));
        return FORWARD; // no response
      }
      case Com.STMT_CLOSE: {
        if (len < 5) throw new MalformedPacketError("short COM_STMT_CLOSE");
        core.ctx.statements.delete(buf.readUInt32LE(start + 1));
        return FORWARD; // no response
      }
      case Com.STMT_RESET: {
        if (len < 5) throw new MalformedPacketError("short COM_STMT_RESET");
        this.expect("single", cmd, lastSeq, { stmt: core.ctx.statements.get(buf.readUInt32LE(start + 1)) });
        return FORWARD;
      }
      case Com.STMT_FETCH: {
        if (len < 9) throw new MalformedPacketError("short COM_STMT_FETCH");
        this.expect("fetch", cmd, lastSeq, { stmt: core.ctx.statements.get(buf.readUInt32LE(start + 1)) });
        return FORWARD;
      }
      case Com.INIT_DB:
        this.expect("single", cmd, lastSeq, { database: buf.toString("utf8", start + 1, start + len) });
        return FORWARD;
      case Com.SET_OPTION: {
        if (len < 3) throw new MalformedPacketError("short COM_SET_OPTION");
        if (buf.readUInt16LE(start + 1) === 0 && !core.allowMultiStatements) {
          return this.refuse(
            Err.NOT_ALLOWED_COMMAND,
            "smgate: multi-statements are disabled on this gateway",
            lastSeq,
            cmd,
          );
        }
        this.expect("single", cmd, lastSeq);
        return FORWARD;
      }
      case Com.STATISTICS:
        this.expect("raw-single", cmd, lastSeq);
        return FORWARD;
      case Com.PROCESS_INFO:
        this.expect("resultset", cmd, lastSeq);
        return FORWARD;
      case Com.FIELD_LIST:
        this.expect("field-list", cmd, lastSeq);
        return FORWARD;
      case Com.PROCESS_KILL: {
        if (len < 5) throw new MalformedPacketError("short COM_PROCESS_KILL");
        const backendId = core.registry.backendThreadId(buf.readUInt32LE(start + 1));
        if (backendId === undefined) {
          return this.refuse(Err.NO_SUCH_THREAD, `Unknown thread id: ${buf.readUInt32LE(start + 1)}`, lastSeq, cmd);
        }
        const payload = Buffer.alloc(5);
        payload[0] = Com.PROCESS_KILL;
        payload.writeUInt32LE(backendId, 1);
        this.sendOwn(payload, "single", cmd, lastSeq);
        return CONSUMED;
      }
      case Com.QUIT:
        core.quit();
        return FORWARD;
      case Com.CHANGE_USER: {
        if (flags & SPLIT) throw new MalformedPacketError("oversized COM_CHANGE_USER");
        const cu = parseChangeUser(Buffer.from(buf.subarray(start, start + len)), core.ctx.capabilities);
        this.expect("change-user", cmd, lastSeq, { resetsSession: true });
        if (!core.startChangeUser(cu.authPluginName ?? core.ctx.authPlugin, seq)) return CONSUMED;
        core.ctx.user = cu.user;
        core.ctx.database = cu.database || undefined;
        if (cu.attributes.size > 0) core.ctx.setAttributes(cu.attributes);
        return FORWARD;
      }
      default:
        if (SINGLE.has(cmd)) {
          this.expect("single", cmd, lastSeq, cmd === Com.RESET_CONNECTION ? { resetsSession: true } : undefined);
          return FORWARD;
        }
        core.log.warn({ conn: core.ctx.connectionId, command: cmd }, "refused unsupported command");
        this.refuse(
          Err.UNKNOWN_COM,
          `smgate: command 0x${cmd.toString(16).padStart(2, "0")} is not supported through the gateway`,
          lastSeq,
          cmd,
        );
        return flags & SPLIT ? SKIP : CONSUMED;
    }
  }

  private query(buf: Buffer, start: number, len: number, lastSeq: number, flags: number): Verdict {
    const core = this.core;
    const sqlOff = querySqlOffset(buf, start, len, core.ctx.queryAttributes);
    const end = start + len;
    if (startsWithKill(buf, sqlOff, end)) return this.kill(buf, start, sqlOff, end, lastSeq);
    const hook = core.hooks?.onQuery;
    if (!hook) {
      this.expect("resultset", Com.QUERY, lastSeq);
      return FORWARD;
    }
    if (flags & SPLIT) return WHOLE;
    const sql = buf.toString("utf8", sqlOff, end);
    const p = this.expect("resultset", Com.QUERY, lastSeq, { sql, originalSql: sql });
    const decision = hook(core.ctx, p, sql);
    if (decision === undefined) return this.forwardAs(p, buf, start, len, flags);
    if (isRefusal(decision)) return this.refuseQueued(p, decision.error, lastSeq);
    p.sql = decision.sql;
    this.sendOwn(this.withSql(buf, start, sqlOff, decision.sql), undefined, Com.QUERY, lastSeq, p);
    return CONSUMED;
  }

  private prepare(buf: Buffer, start: number, len: number, lastSeq: number, flags: number): Verdict {
    const core = this.core;
    const hook = core.hooks?.onPrepare;
    if (!hook) {
      const sql = flags & SPLIT ? "" : buf.toString("utf8", start + 1, start + len);
      this.expect("prepare", Com.STMT_PREPARE, lastSeq, { sql, originalSql: sql });
      return FORWARD;
    }
    if (flags & SPLIT) return WHOLE;
    const sql = buf.toString("utf8", start + 1, start + len);
    const preparing: PreparingStatement = { sql };
    const p = this.expect("prepare", Com.STMT_PREPARE, lastSeq, { sql, originalSql: sql, preparing });
    const decision = hook(core.ctx, preparing);
    if (decision === undefined) return this.forwardAs(p, buf, start, len, flags);
    if (isRefusal(decision)) return this.refuseQueued(p, decision.error, lastSeq);
    p.sql = decision.sql;
    this.sendOwn(this.withSql(buf, start, start + 1, decision.sql), undefined, Com.STMT_PREPARE, lastSeq, p);
    return CONSUMED;
  }

  private execute(buf: Buffer, start: number, len: number, lastSeq: number, flags: number): Verdict {
    const core = this.core;
    if (len < 10) throw new MalformedPacketError("short COM_STMT_EXECUTE");
    const stmt = core.ctx.statements.get(buf.readUInt32LE(start + 1));
    const hook = stmt ? core.hooks?.onExecute : undefined;
    if (hook && flags & SPLIT) return WHOLE;
    if (!hook && !core.ctx.queryAttributes && keepsBoundTypes(buf, start, len, stmt)) {
      // relay-only hot path: parameters were bound before and are not re-sent; nothing to parse or record
      this.expect("binary-resultset", Com.STMT_EXECUTE, lastSeq).stmt = stmt;
      if (stmt && stmt.longData.size > 0) stmt.longData.clear();
      return FORWARD;
    }
    // parameter types are tracked per statement; values are decoded only when a hook wants them
    const parsed = parseExecute(buf, start, len, stmt, core.ctx.queryAttributes, hook !== undefined);
    if (stmt && parsed.newParamsBound && parsed.types) stmt.paramTypes = parsed.types.slice(0, stmt.paramCount);
    const p = this.expect("binary-resultset", Com.STMT_EXECUTE, lastSeq);
    p.stmt = stmt;
    if (!hook || !stmt || !parsed.values || !parsed.types) {
      if (stmt && stmt.longData.size > 0) stmt.longData.clear();
      return FORWARD;
    }
    const decision = hook(core.ctx, stmt, { types: parsed.types, values: parsed.values });
    if (stmt.longData.size > 0) stmt.longData.clear();
    if (decision === undefined) return this.forwardAs(p, buf, start, len, flags);
    if (isRefusal(decision)) return this.refuseQueued(p, decision.error, lastSeq);
    let packet: { bytes: Buffer; nextSeq: number };
    try {
      packet = buildExecutePacket(parsed, decision.params, core.ctx.queryAttributes);
    } catch (err) {
      // a rewritten value that does not fit its declared type: refuse (fail closed), keep the session
      core.log.error({ conn: core.ctx.connectionId, err: (err as Error).name }, "parameter transformation failed");
      const error = { ...Err.NOT_SUPPORTED_YET, message: "smgate: parameter transformation failed" };
      return this.refuseQueued(p, error, lastSeq);
    }
    this.sendFramed(packet, p, lastSeq);
    return CONSUMED;
  }

  private kill(buf: Buffer, start: number, sqlOff: number, end: number, lastSeq: number): Verdict {
    const core = this.core;
    const parsed = parseKill(buf.toString("utf8", sqlOff, end));
    if (parsed.kind === "unsupported") return this.refuse(Err.NOT_SUPPORTED_YET, parsed.reason, lastSeq, Com.QUERY);
    if (parsed.kind !== "kill") throw new MalformedPacketError("KILL detection mismatch");
    const backendId = core.registry.backendThreadId(parsed.id);
    if (backendId === undefined) {
      return this.refuse(Err.NO_SUCH_THREAD, `Unknown thread id: ${parsed.id}`, lastSeq, Com.QUERY);
    }
    core.log.info({ conn: core.ctx.connectionId, target: parsed.id, backend: backendId }, "KILL mapped");
    this.sendOwn(
      this.withSql(buf, start, sqlOff, buildKillSql(parsed.modifier, backendId)),
      "resultset",
      Com.QUERY,
      lastSeq,
    );
    return CONSUMED;
  }

  /** Payload = original bytes up to `sqlOff` (command byte, query attributes) + new SQL text. */
  private withSql(buf: Buffer, start: number, sqlOff: number, sql: string): Buffer {
    return Buffer.concat([buf.subarray(start, sqlOff), Buffer.from(sql, "utf8")]);
  }

  /** Forward a command the hook left unchanged (it may have been reassembled: reframe it then). */
  private forwardAs(p: PendingResponse, buf: Buffer, start: number, len: number, flags: number): Verdict {
    if (!(flags & WHOLE_PKT)) return FORWARD;
    const f = framePacket(buf.subarray(start, start + len), 0);
    p.seqDelta = (this.framer.lastSeq() - (f.nextSeq - 1)) & 0xff;
    this.core.writeServer(f.bytes);
    return CONSUMED;
  }

  /** Send a payload of our own for the client's command; the response's sequence ids are translated. */
  private sendOwn(
    payload: Buffer,
    kind: ResponseKind | undefined,
    cmd: number,
    lastSeq: number,
    existing?: PendingResponse,
  ): void {
    this.sendFramed(framePacket(payload, 0), existing ?? this.expect(kind ?? "resultset", cmd, lastSeq), lastSeq);
  }

  /** sendOwn for a command already framed from sequence id 0 (`nextSeq`: the id after its last packet). */
  private sendFramed(f: { bytes: Buffer; nextSeq: number }, p: PendingResponse, lastSeq: number): void {
    p.seqDelta = (lastSeq - (f.nextSeq - 1)) & 0xff;
    this.framer.flushRun();
    this.core.writeServer(f.bytes);
  }

  private expect(
    kind: ResponseKind,
    command: number,
    lastSeq: number,
    extra?: Partial<PendingResponse>,
  ): PendingResponse {
    void lastSeq;
    const p = pendingResponse(kind, command);
    if (extra !== undefined) Object.assign(p, extra);
    if (this.core.observeBackendSeconds) p.startedAt = performance.now();
    this.core.pending.push(p);
    return p;
  }

  private refuse(spec: ErrSpec, message: string, lastSeq: number, cmd: number): Verdict {
    this.framer.flushRun();
    this.core.answerLocally(errPayload(spec, message), (lastSeq + 1) & 0xff, cmd);
    return CONSUMED;
  }

  /** A hook refused a command already registered as pending: turn that entry into a local answer. */
  private refuseQueued(p: PendingResponse, error: ErrSpec & { message: string }, lastSeq: number): Verdict {
    const idx = this.core.pending.lastIndexOf(p);
    if (idx >= 0) this.core.pending.splice(idx, 1);
    return this.refuse(error, error.message, lastSeq, p.command);
  }
}

/**
 * COM_STMT_EXECUTE (without query attributes) of a known statement whose new-params-bound flag is 0, or one
 * without parameters: the statement's recorded parameter types stay valid, so the packet needs no parsing.
 */
function keepsBoundTypes(buf: Buffer, start: number, len: number, stmt: PreparedStatement | undefined): boolean {
  if (!stmt) return false;
  const n = stmt.paramCount;
  if (n === 0) return true;
  const flagAt = start + 10 + ((n + 7) >> 3);
  return flagAt < start + len && buf[flagAt] === 0;
}

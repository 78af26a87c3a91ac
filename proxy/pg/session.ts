// One client connection: startup (SSLRequest/GSSENCRequest/CancelRequest), TLS to the client, the server
// connection (with its own TLS), authentication relay, then the frontend and backend halves forwarding
// with backpressure; error handling, drain and close. Never throws out of its event handlers: every
// failure ends this session only.
import type { Socket } from "node:net";
import type { Logger } from "../log.js";
import { nativeRelay, type RelayEvent, RelayProto, RelayReason, resumeReading } from "../native/relay.js";
import { type BackendTarget, connectBackend } from "./backend-connect.js";
import { BackendHalf, type BackendOwner } from "./backend-half.js";
import { decodeErrorFields, encodeBackendKeyData, encodeErrorResponse } from "./backend-messages.js";
import { type CancelRegistry, sendCancel } from "./cancel.js";
import type { ClientTlsTerminator } from "./client-tls.js";
import { PgProtocolError, SQLSTATE } from "./errors.js";
import { FrontendHalf, type FrontendOwner } from "./frontend-half.js";
import { decodeStartupPacket, encodeTerminate } from "./frontend-messages.js";
import type { HooksFactory, SessionHooks } from "./hooks.js";
import { Output } from "./output.js";
import { SessionContext } from "./session-context.js";
import { readIntoBuffer } from "./socket-fast-path.js";
import { readStartupPacket } from "./startup-reader.js";

export interface SessionOptions {
  backend: BackendTarget;
  /** TLS offered to clients (answer 'S' to SSLRequest); undefined = answer 'N'. */
  clientTls?: ClientTlsTerminator;
  maxMessageBytes: number;
  /** Time allowed for startup + authentication (default 60 s, like authentication_timeout). */
  authTimeoutMs?: number;
  hooks?: HooksFactory;
  /** Hand sessions without hooks to the native relay once they are ready (when the addon is built). */
  nativeRelay?: boolean;
  cancel: CancelRegistry;
  logger: Logger;
}

export interface SessionOwner {
  onSessionClosed(s: PgSession): void;
}

type Phase = "startup" | "auth" | "ready" | "closed";
const EMPTY: Buffer = Buffer.alloc(0);

export class PgSession implements FrontendOwner, BackendOwner {
  readonly ctx: SessionContext;
  hooks: SessionHooks | undefined;
  private pendingSyncs = 0;
  /** When the oldest request still awaiting its ReadyForQuery was sent (0 = none): statement timeout. */
  busySince = 0;
  /** busySince value for which a timeout cancel was already sent. */
  private cancelledAt = 0;
  private serverKey: { pid: number; secret: number } | undefined;

  /** Sync/Query/FunctionCall sent whose ReadyForQuery has not arrived yet. */
  get outstanding(): number {
    return this.pendingSyncs;
  }

  set outstanding(n: number) {
    if (n > this.pendingSyncs) {
      if (this.pendingSyncs === 0) this.busySince = Date.now();
    } else this.busySince = n === 0 ? 0 : Date.now(); // a ReadyForQuery: the next request starts now
    this.pendingSyncs = n;
  }
  clientTerminated = false;
  phase: Phase = "startup";
  readonly startedAt = Date.now();
  private draining = false;
  private client: Socket;
  private server: Socket | undefined;
  private front: FrontendHalf | undefined;
  private back: BackendHalf | undefined;
  private readonly clientOut: Output;
  private serverOut: Output | undefined;
  private proxyPid = 0;
  private authTimer: NodeJS.Timeout | undefined;
  private clientWaitsForServerDrain = false;
  /** The server already told the client why it is closing (FATAL ErrorResponse). */
  private serverSentFatal = false;
  private serverWaitsForClientDrain = false;
  private readonly log: Logger;
  /** Id of this session in the native relay while it relays it (undefined = JavaScript relays it). */
  private nativeId: number | undefined;
  /** A session without hooks on a listener with native_relay: handed to the relay when it can be. */
  private nativeWanted = false;
  private nativeScheduled = false;
  /** The session was handed to the native relay (its sockets' reads were stopped at the handle). */
  private wasNative = false;
  /** After the native relay: a message was left partly forwarded in that direction. */
  private nativeMid = { up: false, down: false };

  constructor(
    socket: Socket,
    id: number,
    private readonly opts: SessionOptions,
    private readonly owner: SessionOwner,
  ) {
    this.client = socket;
    this.ctx = new SessionContext(id, `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`);
    this.clientOut = new Output(socket);
    this.log = opts.logger.child({ session: id, client: this.ctx.clientAddress });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on("error", (e) => this.log.debug({ err: e.message }, "client socket error"));
    socket.on("close", () => this.onClientClosed());
  }

  start(): void {
    this.authTimer = setTimeout(
      () => this.terminate(SQLSTATE.CONNECTION_FAILURE, "authentication timeout"),
      this.opts.authTimeoutMs ?? 60_000,
    );
    this.authTimer.unref();
    this.run().catch((e) => this.fail(e, "client"));
  }

  get closed(): boolean {
    return this.phase === "closed";
  }

  // ---------- startup ----------

  private async run(): Promise<void> {
    let sock = this.client;
    let pending: Buffer = EMPTY;
    let startup: Extract<ReturnType<typeof decodeStartupPacket>, { kind: "startup" }> | undefined;
    for (let i = 0; i < 4 && !startup; i++) {
      const r = await readStartupPacket(sock, pending, this.opts.authTimeoutMs ?? 60_000);
      if (!r || this.closed) return this.close("client left during startup");
      pending = r.rest;
      const p = decodeStartupPacket(r.packet);
      switch (p.kind) {
        case "ssl":
          // bytes after an SSLRequest would be read as if encrypted (CVE-2021-23214): refuse
          if (pending.length > 0) throw new PgProtocolError("received unencrypted data after SSL request");
          if (this.opts.clientTls && !this.ctx.clientTls) {
            sock.write("S");
            sock = await this.upgradeClient(sock);
            this.ctx.clientTls = true;
          } else sock.write("N");
          break;
        case "gssenc":
          if (pending.length > 0) throw new PgProtocolError("received unencrypted data after GSSENC request");
          sock.write("N");
          break;
        case "cancel":
          await this.opts.cancel.cancel(p.pid, p.secret).then(
            (found) => this.log.info({ found }, "cancel request"),
            (e: Error) => this.log.warn({ err: e.message }, "cancel request could not be forwarded"),
          );
          return this.close("cancel request handled");
        case "startup":
          startup = p;
          break;
      }
    }
    if (!startup) throw new PgProtocolError("too many startup negotiation packets");
    const ctx = this.ctx;
    for (const [k, v] of startup.params) ctx.startupParams.set(k, v);
    ctx.user = startup.params.get("user") ?? "";
    ctx.database = startup.params.get("database") ?? ctx.user;
    ctx.applicationName = startup.params.get("application_name") ?? "";
    this.phase = "auth";
    this.hooks = this.opts.hooks?.(ctx);
    if (this.hooks?.ready) {
      // e.g. the encryption layer loading this database's catalog before the first statement can arrive
      try {
        await this.hooks.ready;
      } catch (e) {
        this.log.warn({ err: (e as Error)?.message }, "session hooks failed to get ready");
      }
      if (this.closed) return;
    }

    let conn: Awaited<ReturnType<typeof connectBackend>>;
    try {
      conn = await connectBackend(this.opts.backend);
    } catch (e) {
      throw e instanceof PgProtocolError ? e : new PgProtocolError(String(e), SQLSTATE.CONNECTION_FAILURE);
    }
    if (this.closed) {
      conn.socket.destroy();
      return;
    }
    const server = conn.socket;
    this.server = server;
    ctx.backendTls = conn.tls;
    this.serverOut = new Output(server);
    this.front = new FrontendHalf(this, this.serverOut, this.opts.maxMessageBytes);
    this.back = new BackendHalf(this, this.clientOut, this.opts.maxMessageBytes);
    server.on("error", (e) => this.log.debug({ err: e.message }, "server socket error"));
    server.on("close", () => this.onServerClosed());
    const fromServer = (chunk: Buffer) => {
      if (this.closed) return;
      try {
        this.back!.framer.push(chunk);
      } catch (e) {
        this.fail(e, "server");
      }
    };
    if (conn.setReader) {
      conn.setReader({
        onChunk: fromServer,
        canReuse: () => !this.back!.framer.isPaused && !this.clientOut.queued,
      });
    } else server.on("data", fromServer);
    const fromClient = (chunk: Buffer) => {
      if (this.closed) return;
      try {
        this.front!.framer.push(chunk);
      } catch (e) {
        this.fail(e, "client");
      }
    };
    this.log.info(
      {
        user: ctx.user,
        database: ctx.database,
        app: ctx.applicationName,
        tls: ctx.clientTls,
        backendTls: ctx.backendTls,
      },
      "session starting",
    );
    server.write(startup.raw);
    if (pending.length > 0) fromClient(pending); // bytes that came right after the startup packet
    // Nothing keeps a view of a client chunk once it is written — not the framer, the halves, the context, nor the
    // hooks (they copy what they keep: test/pg-encrypt/client-chunk-reuse.test.ts) — so reads go into a reused
    // buffer (bytes the socket already buffered are delivered first).
    const fastRead = readIntoBuffer(sock, {
      onChunk: fromClient,
      canReuse: () => !this.front!.framer.isPaused && !this.serverOut!.queued,
    });
    if (!fastRead) sock.on("data", fromClient);
    server.resume();
    sock.resume();
  }

  private async upgradeClient(raw: Socket): Promise<Socket> {
    const ts = await this.opts.clientTls!.upgrade(raw);
    ts.on("error", (e) => this.log.debug({ err: e.message }, "client TLS socket error"));
    ts.on("close", () => this.onClientClosed());
    this.client = ts;
    this.clientOut.socket = ts;
    return ts;
  }

  // ---------- owner callbacks from the halves ----------

  onBackendKey(pid: number, secret: number): Buffer {
    this.ctx.backendPid = pid;
    this.serverKey = { pid, secret };
    if (this.proxyPid) this.opts.cancel.release(this.proxyPid);
    const k = this.opts.cancel.issue({ backend: this.opts.backend, pid, secret });
    this.proxyPid = k.pid;
    return encodeBackendKeyData(k.pid, k.secret);
  }

  onAuthenticated(): void {
    this.log.debug("authenticated by server");
  }

  onReady(): void {
    this.phase = "ready";
    if (this.authTimer) clearTimeout(this.authTimer);
    this.log.debug({ backendPid: this.ctx.backendPid }, "session ready");
    this.nativeWanted = !this.hooks && this.opts.nativeRelay === true && nativeRelay !== undefined;
    if (this.nativeWanted) this.scheduleNative();
    try {
      this.hooks?.onSessionReady?.(this.ctx);
    } catch (e) {
      this.log.error({ err: (e as Error)?.name }, "onSessionReady hook failed");
    }
  }

  onServerFatal(): void {
    this.serverSentFatal = true;
  }

  onStartupError(buf: Buffer, start: number, end: number): void {
    try {
      const f = decodeErrorFields(buf, start, end);
      this.log.info({ sqlstate: f.C, severity: f.V ?? f.S }, "server refused the session");
      this.hooks?.onSessionRefused?.(this.ctx, f.C ?? "");
    } catch {
      /* relayed as-is; the client will judge */
    }
  }

  onServerOutputFlushed(ok: boolean): void {
    if (ok || this.clientWaitsForServerDrain || !this.server) return;
    this.clientWaitsForServerDrain = true;
    this.client.pause();
    this.serverOut!.onDrain(() => {
      this.clientWaitsForServerDrain = false;
      if (!this.closed) this.client.resume();
    });
  }

  onClientOutputFlushed(ok: boolean): void {
    // a hand-over that could not happen yet (bytes in flight) is tried again once the server answered everything
    if (this.nativeWanted && this.nativeId === undefined && this.pendingSyncs === 0) this.scheduleNative();
    if (!ok && !this.serverWaitsForClientDrain && this.server) {
      this.serverWaitsForClientDrain = true;
      this.server.pause();
      this.clientOut.onDrain(() => {
        this.serverWaitsForClientDrain = false;
        if (!this.closed) this.server?.resume();
      });
    }
    if (this.draining && this.isIdle())
      this.terminate(SQLSTATE.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
  }

  drainSynthetic(): void {
    if (this.back && !this.back.framer.midMessage && this.outstandingResponses() === 0) this.back.drainSynthetic();
  }

  private outstandingResponses(): number {
    const q = this.ctx.pipeline;
    let n = 0;
    for (const e of q) if (e.kind !== "synthetic") n++;
    return q.length > 0 && q[0].kind === "synthetic" ? 0 : n;
  }

  /**
   * limits.statement_timeout_ms: cancel (with the server's own key) a request running longer than timeoutMs.
   * Called periodically by the listener; sends at most one cancel per request.
   */
  enforceStatementTimeout(now: number, timeoutMs: number): void {
    const since = this.nativeId !== undefined ? (nativeRelay?.state(this.nativeId)?.busySince ?? 0) : this.busySince;
    if (since === 0 || since === this.cancelledAt || now - since < timeoutMs || !this.serverKey) return;
    this.cancelledAt = since;
    this.log.info({ timeoutMs }, "statement timeout: cancelling the running statement");
    sendCancel(this.opts.backend, this.serverKey.pid, this.serverKey.secret).catch((e: Error) =>
      this.log.warn({ err: e.message }, "statement timeout cancel could not be sent"),
    );
  }

  // ---------- native relay ----------

  /** The server-to-client stream is inside a message (smgate must not write one of its own now). */
  private serverMidMessage(): boolean {
    return this.nativeMid.down || this.back?.framer.midMessage === true;
  }

  private clientMidMessage(): boolean {
    return this.nativeMid.up || this.front?.framer.midMessage === true;
  }

  /**
   * Hand the session to the native relay: only at a point where JavaScript holds no byte of either stream
   * (both framers at a message boundary, nothing queued for writing) and both sockets are plain TCP.
   */
  private goNative(): void {
    const relay = nativeRelay;
    const server = this.server;
    if (!relay || !server || this.closed || this.hooks || this.nativeId !== undefined || this.draining) return;
    if (!this.front?.framer.atBoundary || !this.back?.framer.atBoundary) return;
    if (this.clientOut.pending > 0 || this.clientOut.queued || this.serverOut?.pending || this.serverOut?.queued)
      return;
    if (this.clientWaitsForServerDrain || this.serverWaitsForClientDrain) return;
    const r = relay.handOver(
      this.client,
      server,
      {
        proto: RelayProto.pg,
        maxMessage: this.opts.maxMessageBytes,
        outstanding: this.pendingSyncs,
        busySince: this.busySince,
        tx: this.ctx.transactionStatus.charCodeAt(0),
      },
      (e) => this.fromNative(e),
    );
    if (r.error) this.log.warn({ err: r.error }, "native relay refused the session; relaying in JavaScript");
    const id = r.id;
    if (id === undefined) {
      if (!r.retry) this.nativeWanted = false; // TLS on a leg, or the relay refused: stay in JavaScript
      return;
    }
    this.nativeId = id;
    this.wasNative = true;
    this.log.debug({ relay: id }, "session relayed natively");
  }

  /** Try the hand-over after this turn of the event loop (once per turn). */
  private scheduleNative(): void {
    if (this.nativeScheduled) return;
    this.nativeScheduled = true;
    setImmediate(() => {
      this.nativeScheduled = false;
      this.goNative();
    });
  }

  /** Take the session back (synchronously) before smgate writes to or closes its sockets. */
  private takeBackFromNative(): void {
    if (this.nativeId === undefined) return;
    const e = nativeRelay?.abort(this.nativeId);
    this.nativeId = undefined;
    if (e) this.applyNativeState(e);
    // it left the relay on its own a moment ago and its event (with the stream state) is still on its way:
    // smgate cannot know where either stream stands, so it writes nothing of its own into them
    else this.nativeMid = { up: true, down: true };
  }

  private applyNativeState(e: RelayEvent): void {
    this.nativeId = undefined;
    this.pendingSyncs = e.outstanding;
    this.busySince = e.busySince;
    this.ctx.transactionStatus = String.fromCharCode(e.tx) as SessionContext["transactionStatus"];
    if (e.clientTerminated) this.clientTerminated = true;
    if (e.serverFatal) this.serverSentFatal = true;
    this.nativeMid = { up: e.upMid, down: e.downMid };
    this.serverOut!.bytes += e.bytesUp;
    this.clientOut.bytes += e.bytesDown;
  }

  /** The native relay gave the session back: finish what made it leave. */
  private fromNative(e: RelayEvent): void {
    if (this.closed || this.nativeId !== e.id) return;
    this.applyNativeState(e);
    switch (e.reason) {
      case RelayReason.ClientEof:
        this.onClientClosed();
        return;
      case RelayReason.ServerEof:
        this.onServerClosed();
        return;
      case RelayReason.ClientError:
      case RelayReason.ServerError: {
        const side = e.reason === RelayReason.ClientError ? "client" : "server";
        this.log.debug({ err: e.error }, `${side} socket error`);
        this.close(`${side} socket error`, true);
        return;
      }
      case RelayReason.ProtocolClient:
        this.fail(new PgProtocolError(e.error), "client");
        return;
      case RelayReason.ProtocolServer:
        this.fail(new PgProtocolError(e.error), "server");
        return;
      case RelayReason.Idle:
        this.terminate(SQLSTATE.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
        return;
      default:
        this.fail(new Error(`native relay ended the session with reason ${e.reason}`), "client");
        return;
    }
  }

  // ---------- lifecycle ----------

  isIdle(): boolean {
    return (
      this.nativeId === undefined &&
      this.phase === "ready" &&
      this.outstanding === 0 &&
      this.ctx.transactionStatus === "I" &&
      this.ctx.pipeline.length === 0 &&
      !this.front?.framer.midMessage &&
      !this.back?.framer.midMessage
    );
  }

  /** Graceful shutdown: close now if idle, otherwise at the end of the current transaction. */
  drain(): void {
    this.draining = true;
    if (this.nativeId !== undefined) {
      nativeRelay?.drain(this.nativeId); // an Idle event comes back at the end of the current transaction
      return;
    }
    if (this.phase !== "ready" || this.isIdle())
      this.terminate(SQLSTATE.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
  }

  /** End the session with a FATAL ErrorResponse to the client (if at a message boundary) and Terminate to the server. */
  terminate(sqlstate: string, message: string): void {
    if (this.closed) return;
    this.takeBackFromNative();
    if (!this.serverMidMessage() && this.client.writable) {
      this.clientOut.flush();
      this.client.write(encodeErrorResponse("FATAL", sqlstate, message));
    }
    if (this.server?.writable && this.front && !this.clientMidMessage() && this.phase === "ready") {
      this.server.write(encodeTerminate());
    }
    this.close(message);
  }

  private fail(e: unknown, side: "client" | "server"): void {
    if (this.closed) return;
    if (e instanceof PgProtocolError) {
      this.log.warn({ side, sqlstate: e.sqlstate, err: e.message }, "protocol error; closing session");
      const msg = side === "server" ? `invalid message from server: ${e.message}` : e.message;
      this.terminate(e.sqlstate, msg);
    } else {
      const err = e as Error;
      this.log.error(
        { side, err: err?.name, stack: err?.stack?.split("\n").slice(0, 4).join(" | ") },
        "internal error; closing session",
      );
      this.terminate("XX000", "internal error in smgate");
    }
  }

  private onClientClosed(): void {
    if (this.closed) return;
    const busy = this.outstanding > 0 || this.ctx.pipeline.length > 0 || this.ctx.transactionStatus !== "I";
    if (busy && this.phase === "ready") this.log.info("client disconnected mid-request; releasing server connection");
    const s = this.server;
    if (s && !busy && this.front && !this.clientMidMessage() && s.writable && !this.clientTerminated) {
      s.end(encodeTerminate());
    }
    this.close("client disconnected", busy);
  }

  private onServerClosed(): void {
    if (this.closed) return;
    if (!this.clientTerminated && !this.serverSentFatal) {
      const during = this.phase === "ready" ? "" : " during startup";
      this.log.warn(`server closed the connection${during}`);
      if (!this.serverMidMessage() && this.client.writable) {
        this.clientOut.flush();
        this.client.write(
          encodeErrorResponse(
            "FATAL",
            SQLSTATE.CONNECTION_FAILURE,
            `server closed the connection unexpectedly${during}`,
          ),
        );
      }
    }
    this.close("server closed");
  }

  close(reason: string, destroyServer = false): void {
    if (this.closed) return;
    this.takeBackFromNative();
    const wasReady = this.phase === "ready";
    this.phase = "closed";
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.proxyPid) this.opts.cancel.release(this.proxyPid);
    try {
      this.hooks?.onSessionEnd?.(this.ctx);
    } catch (e) {
      this.log.error({ err: (e as Error)?.name }, "onSessionEnd hook failed");
    }
    const c = this.client;
    const s = this.server;
    c.end();
    if (s) {
      if (destroyServer) s.destroy();
      else s.end();
    }
    if (this.wasNative) {
      // reads were stopped for the relay: restart them so each socket sees its peer's FIN and closes now, not
      // at the timer below (bytes read from here on are dropped: the session is closed)
      resumeReading(c);
      if (s) resumeReading(s);
    }
    const timer = setTimeout(() => {
      c.destroy();
      s?.destroy();
    }, 2000);
    timer.unref();
    c.once("close", () => {
      if (s?.destroyed !== false) clearTimeout(timer);
    });
    if (wasReady || reason !== "cancel request handled")
      this.log.info(
        {
          reason,
          ms: Date.now() - this.startedAt,
          toServer: this.serverOut?.bytes ?? 0,
          toClient: this.clientOut.bytes,
        },
        "session closed",
      );
    this.owner.onSessionClosed(this);
  }
}

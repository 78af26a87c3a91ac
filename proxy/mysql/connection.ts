// One client connection through the MySQL gateway: connects to the backend, relays the handshake v10 with
// smgate's capability policy and its own connection id, upgrades either leg to TLS independently, relays
// authentication (auth-relay.ts), then runs the frontend and backend halves over one shared session context.
// Protocol violations end this connection with an ERR packet and a log line; they never reach the process.
import net from "node:net";
import tls from "node:tls";
import type { Logger } from "pino";
import { nativeRelay, type RelayEvent, RelayProto, RelayReason, resumeReading } from "../native/relay.js";
import { AuthRelay } from "./auth-relay.js";
import { BackendHalf } from "./backend-half.js";
import { Cap, Com, Err, type ErrSpec, MARIADB_EXTENDED_METADATA, Status } from "./constants.js";
import {
  CONSUMED,
  PAUSE,
  PacketFramer,
  type PacketHandler,
  PacketTooLargeError,
  SPLIT,
  type Verdict,
} from "./framer.js";
import { FrontendHalf } from "./frontend-half.js";
import {
  buildHandshakeResponse,
  buildServerHandshake,
  buildSslRequest,
  capabilitiesForClient,
  capabilitiesForServer,
  type HandshakeResponse,
  isSslRequest,
  parseHandshakeResponse,
  parseServerHandshake,
  type ServerHandshake,
} from "./handshake.js";
import type { MysqlHooksFactory, MysqlSessionHooks } from "./hooks.js";
import type { ConnectionRegistry } from "./kill.js";
import { errPacket, framePacket } from "./packets.js";
import { type PendingResponse, pendingResponse } from "./pending.js";
import { MysqlSessionContext } from "./session-context.js";
import type { SessionCore } from "./session-core.js";
import { upgradeServerSide, upgradeVerifyingClient } from "./tls-upgrade.js";
import { MalformedPacketError } from "./wire.js";

export interface ConnectionSettings {
  backend: { host: string; port: number };
  /** TLS offered to clients (CLIENT_SSL advertised only when set). */
  clientTls?: tls.SecureContext;
  /** Client certificates required and verified against this CA (PEMs of the listener, tls.ca set). */
  clientCertPems?: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer };
  /** TLS to the server (SSLRequest + upgrade); undefined = plain. */
  backendTls?: tls.ConnectionOptions;
  allowLocalInfile: boolean;
  allowMultiStatements: boolean;
  maxMessageBytes: number;
  connectTimeoutMs: number;
  /** The handshake and authentication must finish within this time (slow-client protection). */
  authTimeoutMs: number;
  hooksFactory?: MysqlHooksFactory;
  /** Hand the session to the native relay between commands while it has no hooks (when the addon is built). */
  nativeRelay?: boolean;
  /** Backend latency per command (smgate_backend_statement_seconds{protocol="mysql"}). */
  observeBackendSeconds?: (seconds: number) => void;
}

type Phase = "connecting" | "await-response" | "await-response-tls" | "backend-tls" | "auth" | "command" | "closed";

export class MysqlConnection implements SessionCore {
  readonly ctx: MysqlSessionContext;
  hooks: MysqlSessionHooks | undefined;
  readonly pending: PendingResponse[] = [];
  private phase: Phase = "connecting";
  private client: net.Socket;
  private server!: net.Socket;
  private readonly clientFramer: PacketFramer;
  private readonly serverFramer: PacketFramer;
  private readonly frontend: FrontendHalf;
  private readonly backend: BackendHalf;
  private auth: AuthRelay | undefined;
  private serverHello!: ServerHandshake;
  private advertised = 0;
  private advertisedExt = 0;
  private clientBlocked = false;
  private serverBlocked = false;
  private quitting = false;
  private drainRequested = false;
  private authTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onClientData = (d: Buffer) => this.feed(this.clientFramer, d, "client");
  private readonly onServerData = (d: Buffer) => {
    this.feed(this.serverFramer, d, "server");
    if (this.nativeWanted && !this.nativeScheduled && this.pending.length === 0 && !this.backend.busy) {
      // after this tick: the stream's own read-more tick would restart a handle stopped now
      this.nativeScheduled = true;
      setImmediate(() => {
        this.nativeScheduled = false;
        this.goNative();
      });
    }
  };
  private nativeScheduled = false;
  /** A session without hooks on a listener with native_relay: relayed natively between commands. */
  private nativeWanted = false;
  /** Id of this session in the native relay while it relays it (undefined = JavaScript relays it). */
  private nativeId: number | undefined;
  /** The session was handed to the relay once (its client socket's reads may be stopped at the handle). */
  private wasNative = false;
  /** After the native relay: the server-to-client stream was left inside a packet. */
  private nativeDownMid = false;

  constructor(
    socket: net.Socket,
    connectionId: number,
    readonly log: Logger,
    readonly registry: ConnectionRegistry,
    private readonly settings: ConnectionSettings,
    private readonly onClose: (conn: MysqlConnection) => void,
  ) {
    this.client = socket;
    this.ctx = new MysqlSessionContext(connectionId, socket.remoteAddress);
    this.frontend = new FrontendHalf(this);
    this.backend = new BackendHalf(this);
    const clientHandler: PacketHandler = {
      onPacket: (b, s, l, q, f) =>
        this.phase === "command" ? this.frontend.onPacket(b, s, l, q, f) : this.handshakeFromClient(b, s, l, q, f),
    };
    const serverHandler: PacketHandler = {
      onPacket: (b, s, l, q, f) =>
        this.phase === "command" ? this.backend.onPacket(b, s, l, q, f) : this.handshakeFromServer(b, s, l, q, f),
    };
    this.clientFramer = new PacketFramer(clientHandler, (b) => this.writeServer(b), settings.maxMessageBytes);
    this.serverFramer = new PacketFramer(serverHandler, (b) => this.writeClient(b), settings.maxMessageBytes);
    this.frontend.framer = this.clientFramer;
    this.backend.framer = this.serverFramer;
  }

  get allowLocalInfile(): boolean {
    return this.settings.allowLocalInfile;
  }

  get allowMultiStatements(): boolean {
    return this.settings.allowMultiStatements;
  }

  get observeBackendSeconds(): ((seconds: number) => void) | undefined {
    return this.settings.observeBackendSeconds;
  }

  get draining(): boolean {
    return this.drainRequested;
  }

  get authInProgress(): boolean {
    return this.auth !== undefined;
  }

  get backendThreadId(): number | undefined {
    return this.phase === "command" ? this.ctx.backendThreadId : undefined;
  }

  start(): void {
    this.client.setNoDelay(true);
    this.attachClient(this.client);
    const { host, port } = this.settings.backend;
    const server = net.connect({ host, port });
    this.server = server;
    server.setNoDelay(true);
    server.setTimeout(this.settings.connectTimeoutMs, () => {
      if (this.phase === "connecting") this.fatal(Err.SERVER_LOST, "smgate: timeout connecting to the MySQL server", 0);
    });
    server.once("connect", () => server.setTimeout(0));
    this.attachServer(server);
    const authTimer = setTimeout(() => {
      if (this.phase !== "command" && !this.closed) {
        this.log.info({ conn: this.ctx.connectionId, phase: this.phase }, "handshake timeout");
        this.fatal(Err.NET_READ_INTERRUPTED, "smgate: timeout waiting for the handshake to complete", 2);
      }
    }, this.settings.authTimeoutMs);
    authTimer.unref();
    this.authTimer = authTimer;
  }

  // ---- sockets -------------------------------------------------------------------------------------------

  private attachClient(s: net.Socket): void {
    s.on("data", this.onClientData);
    s.on("error", (err) => this.socketError("client", err));
    s.on("close", () => this.close("client closed"));
    s.on("drain", () => {
      this.clientBlocked = false;
      if (!this.serverFramer.isPaused) this.server?.resume();
    });
  }

  private attachServer(s: net.Socket): void {
    s.on("data", this.onServerData);
    s.on("error", (err) => this.socketError("server", err));
    s.on("close", () => {
      if (this.phase !== "closed" && !this.quitting) {
        this.log.info({ conn: this.ctx.connectionId }, "server closed the connection");
      }
      this.endClient();
    });
    s.on("drain", () => {
      this.serverBlocked = false;
      this.client.resume();
    });
  }

  writeClient(bytes: Buffer): void {
    if (this.closed) return;
    if (!this.client.write(bytes) && !this.clientBlocked) {
      this.clientBlocked = true;
      this.server?.pause();
    }
  }

  writeServer(bytes: Buffer): void {
    if (this.closed) return;
    if (!this.server.write(bytes) && !this.serverBlocked) {
      this.serverBlocked = true;
      this.client.pause();
    }
  }

  private feed(framer: PacketFramer, data: Buffer, from: "client" | "server"): void {
    if (this.closed) return;
    try {
      framer.push(data);
    } catch (err) {
      this.protocolError(err, from);
    }
  }

  /** Run event-driven work so that a failure ends this connection, never the process. */
  private guard(from: "client" | "server", work: () => void): void {
    try {
      work();
    } catch (err) {
      this.protocolError(err, from);
    }
  }

  private protocolError(err: unknown, from: "client" | "server"): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.log.warn({ conn: this.ctx.connectionId, from, err: reason }, "protocol error; closing connection");
    if (err instanceof PacketTooLargeError) {
      this.fatal(Err.PACKET_TOO_LARGE, `smgate: ${reason}`, 0);
    } else if (from === "client") {
      this.fatal(Err.NET_READ_ERROR, `smgate: malformed packet from the client (${reason})`, 0);
    } else {
      this.fatal(Err.MALFORMED_PACKET, `smgate: malformed packet from the server (${reason})`, 0);
    }
  }

  private socketError(from: string, err: Error): void {
    this.log.debug({ conn: this.ctx.connectionId, from, code: (err as NodeJS.ErrnoException).code }, "socket error");
    if (from === "server" && this.phase === "connecting") {
      this.fatal(
        Err.SERVER_LOST,
        `smgate: cannot reach the MySQL server (${(err as NodeJS.ErrnoException).code ?? "error"})`,
        0,
      );
      return;
    }
    this.close(`${from} socket error`);
  }

  /** Send an ERR to the client (best effort) and end the connection. */
  fatal(spec: ErrSpec, message: string, seq: number): void {
    if (this.closed) return;
    this.takeBackFromNative();
    try {
      if (!this.nativeDownMid) this.client.write(errPacket(spec, message, seq));
    } catch {
      // the client is gone
    }
    this.client.end();
    this.close(`fatal ${spec.code}`);
  }

  private endClient(): void {
    if (this.closed) return;
    this.client.end();
    this.close("server closed");
  }

  close(reason: string): void {
    if (this.closed) return;
    this.takeBackFromNative();
    this.closed = true;
    this.phase = "closed";
    this.log.debug({ conn: this.ctx.connectionId, reason }, "connection closed");
    clearTimeout(this.authTimer);
    this.server?.destroy();
    if (!this.client.writableEnded) this.client.end();
    if (this.wasNative) resumeReading(this.client); // so it sees the client's FIN now, not at the timer
    setTimeout(() => this.client.destroy(), 1000).unref();
    try {
      this.hooks?.onSessionEnd?.(this.ctx);
    } catch {
      // hooks must not break teardown
    }
    this.onClose(this);
  }

  /** Forcefully end (gateway shutdown). */
  destroy(): void {
    this.takeBackFromNative();
    this.client.destroy();
    this.close("gateway shutdown");
  }

  // ---- SessionCore ---------------------------------------------------------------------------------------

  startInfileRelay(): void {
    this.frontend.startInfile();
  }

  startChangeUser(plugin: string, clientSeq: number): boolean {
    this.auth = new AuthRelay(this.authIo(), plugin, this.serverHello.nonce, 0);
    if (!this.auth.checkPlugin(plugin, clientSeq)) return false;
    return true;
  }

  authFromServer(payload: Buffer, seq: number): void {
    if (!this.auth) throw new MalformedPacketError("authentication packet outside authentication");
    this.auth.fromServer(payload, seq);
  }

  authFromClient(payload: Buffer, seq: number): void {
    if (!this.auth) throw new MalformedPacketError("authentication packet outside authentication");
    this.auth.fromClient(payload, seq);
  }

  answerLocally(payload: Buffer, seq: number, command: number): void {
    const bytes = framePacket(payload, seq).bytes;
    if (this.pending.length === 0 && !this.backend.busy) this.writeClient(bytes);
    else this.pending.push({ kind: "local", command, seqDelta: 0, resultIndex: 0, local: bytes });
  }

  quit(): void {
    this.quitting = true;
  }

  responseFinished(): void {
    this.closeIfDrainedAndIdle();
  }

  /** Graceful shutdown: close now if idle outside a transaction, else as soon as that becomes true. */
  beginShutdown(): void {
    this.drainRequested = true;
    if (this.phase !== "command") return; // handshakes in progress end at the deadline
    if (this.nativeId !== undefined) {
      nativeRelay?.drain(this.nativeId); // an Idle event comes back once no transaction is open
      return;
    }
    this.closeIfDrainedAndIdle();
  }

  private closeIfDrainedAndIdle(): void {
    if (!this.drainRequested || this.closed || this.phase !== "command") return;
    if (this.backend.busy || this.pending.length > 0 || this.auth) return;
    if (this.ctx.serverStatus & Status.IN_TRANS) return;
    this.fatal(Err.SERVER_SHUTDOWN, "smgate: gateway shutdown in progress", 0);
  }

  private authIo() {
    return {
      clientTls: this.ctx.clientTls,
      backendTls: this.ctx.backendTls,
      toClient: (payload: Buffer, seq: number) => this.writeClient(framePacket(payload, seq).bytes),
      toServer: (payload: Buffer, seq: number) => this.writeServer(framePacket(payload, seq).bytes),
      fail: (spec: ErrSpec, message: string, seq: number) => {
        this.log.warn({ conn: this.ctx.connectionId, code: spec.code }, "authentication refused by smgate");
        const initial = this.phase !== "command"; // not a COM_CHANGE_USER
        this.fatal(spec, message, seq);
        if (initial) this.sessionRefused(spec.code);
      },
      done: (ok: boolean, plugin: string, errno?: number) => this.authDone(ok, plugin, errno),
    };
  }

  /** Initial authentication failed: tell the hooks factory's observer (never lets it break the connection). */
  private sessionRefused(errno: number): void {
    try {
      this.settings.hooksFactory?.onSessionRefused?.(this.ctx, errno);
    } catch {
      // observers must not break teardown
    }
  }

  private authDone(ok: boolean, plugin: string, errno = 0): void {
    this.auth = undefined;
    this.ctx.authPlugin = plugin;
    if (this.phase === "command") {
      // COM_CHANGE_USER finished
      if (ok) this.ctx.statements.clear();
      this.backend.changeUserDone();
      return;
    }
    if (!ok) {
      this.log.info({ conn: this.ctx.connectionId, user: this.ctx.user }, "authentication failed");
      this.sessionRefused(errno);
      return; // the server closes the connection after its ERR
    }
    this.phase = "command";
    clearTimeout(this.authTimer);
    if (this.drainRequested) queueMicrotask(() => this.closeIfDrainedAndIdle());
    this.log.info(
      {
        conn: this.ctx.connectionId,
        user: this.ctx.user,
        app: this.ctx.app,
        tls: this.ctx.clientTls,
        backendTls: this.ctx.backendTls,
      },
      "session started",
    );
    try {
      this.hooks = this.settings.hooksFactory?.(this.ctx);
    } catch (err) {
      this.log.error({ conn: this.ctx.connectionId, err: (err as Error).name }, "hooks factory failed");
      this.fatal(Err.ACCESS_DENIED, "smgate: session setup failed", 0);
      return;
    }
    // per-command latency metrics are measured in JavaScript: such sessions stay here
    this.nativeWanted =
      this.settings.nativeRelay === true &&
      !this.hooks &&
      !this.settings.observeBackendSeconds &&
      nativeRelay !== undefined;
    if (this.nativeWanted) setImmediate(() => this.goNative());
    const ready = this.hooks?.ready;
    if (ready) {
      // e.g. the encryption layer loading the catalog: client commands wait (buffered) until it is ready
      this.clientFramer.pause();
      const resume = () => {
        if (this.closed) return;
        this.guard("client", () => this.clientFramer.resume());
      };
      ready.then(resume, (err: unknown) => {
        this.log.warn(
          { conn: this.ctx.connectionId, err: (err as Error)?.message },
          "session hooks failed to get ready",
        );
        resume();
      });
    }
  }

  // ---- native relay --------------------------------------------------------------------------------------

  /**
   * Hand the session to the native relay between commands: nothing pending or in progress, no byte of either
   * stream held here, both sockets plain TCP. The relay hands it back before any command JavaScript must handle.
   */
  private goNative(): void {
    const relay = nativeRelay;
    if (!relay || this.closed || this.phase !== "command" || this.nativeId !== undefined) return;
    if (this.drainRequested || this.auth || this.quitting || this.backend.busy || this.pending.length > 0) return;
    if (!this.clientFramer.atBoundary || !this.serverFramer.atBoundary || this.clientFramer.seqDelta !== 0) return;
    if (this.serverFramer.seqDelta !== 0 || this.clientBlocked || this.serverBlocked) return;
    const client = this.client;
    const server = this.server;
    if (client.writableLength > 0 || server.writableLength > 0) return;
    const r = relay.handOver(
      client,
      server,
      {
        proto: RelayProto.mysql,
        maxMessage: this.settings.maxMessageBytes,
        outstanding: 0,
        busySince: 0,
        tx: (this.ctx.serverStatus & Status.IN_TRANS ? "T" : "I").charCodeAt(0),
        caps: this.ctx.capabilities,
        localInfile: this.settings.allowLocalInfile,
      },
      (e) => this.fromNative(e),
    );
    if (r.error) this.log.warn({ conn: this.ctx.connectionId, err: r.error }, "native relay refused the session");
    const id = r.id;
    if (id === undefined) {
      if (!r.retry) this.nativeWanted = false;
      return;
    }
    this.nativeId = id;
    this.wasNative = true;
  }

  /** Take the session back (synchronously) before smgate writes to or closes its sockets. */
  private takeBackFromNative(): void {
    if (this.nativeId === undefined) return;
    const e = nativeRelay?.abort(this.nativeId);
    this.nativeId = undefined;
    if (e) this.applyNativeState(e);
  }

  private applyNativeState(e: RelayEvent): void {
    this.nativeId = undefined;
    const inTrans = e.tx === "T".charCodeAt(0);
    this.ctx.serverStatus = inTrans
      ? this.ctx.serverStatus | Status.IN_TRANS
      : this.ctx.serverStatus & ~Status.IN_TRANS;
    if (e.clientTerminated) this.quitting = true;
    this.nativeDownMid = e.downMid;
  }

  /** The native relay gave the session back: finish what made it leave, or go on in JavaScript. */
  private fromNative(e: RelayEvent): void {
    if (this.closed || this.nativeId !== e.id) return;
    this.applyNativeState(e);
    switch (e.reason) {
      case RelayReason.Handback:
        // a command or a server packet only JavaScript handles: frame it (and what follows) here, then read on.
        // Server bytes stop only at the first packet of a COM_QUERY response (a LOCAL INFILE request).
        if (e.heldServer) {
          if (e.outstanding > 0) this.pending.push(pendingResponse("resultset", Com.QUERY));
          this.onServerData(e.heldServer);
        }
        if (e.held && !this.closed) this.onClientData(e.held);
        if (!this.closed) {
          resumeReading(this.client);
          resumeReading(this.server);
        }
        return;
      case RelayReason.ClientEof:
        this.close("client closed");
        return;
      case RelayReason.ServerEof:
        if (!this.quitting) this.log.info({ conn: this.ctx.connectionId }, "server closed the connection");
        this.endClient();
        return;
      case RelayReason.ClientError:
      case RelayReason.ServerError:
        this.close(`${e.reason === RelayReason.ClientError ? "client" : "server"} socket error`);
        return;
      case RelayReason.ProtocolClient:
        this.protocolError(new MalformedPacketError(e.error), "client");
        return;
      case RelayReason.ProtocolServer:
        this.protocolError(new MalformedPacketError(e.error), "server");
        return;
      case RelayReason.Idle:
        this.closeIfDrainedAndIdle();
        return;
      default:
        this.close(`native relay ended the session (${e.reason})`);
    }
  }

  // ---- handshake phase -----------------------------------------------------------------------------------

  private handshakeFromServer(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    if (flags & SPLIT) throw new MalformedPacketError("oversized handshake packet");
    const payload = Buffer.from(buf.subarray(start, start + len));
    if (this.phase === "connecting") {
      if (payload[0] === 0xff) {
        // e.g. "Host is blocked" / "Too many connections": relay and close
        this.writeClient(framePacket(payload, 0).bytes);
        this.endClient();
        return CONSUMED;
      }
      const hello = parseServerHandshake(payload);
      this.serverHello = hello;
      this.ctx.backendThreadId = hello.connectionId;
      this.ctx.serverVersion = hello.serverVersion;
      this.advertised = capabilitiesForClient(hello.capabilities, {
        clientTls: this.settings.clientTls !== undefined,
        allowLocalInfile: this.settings.allowLocalInfile,
        allowMultiStatements: this.settings.allowMultiStatements,
      });
      if (this.settings.backendTls && !(hello.capabilities & Cap.SSL)) {
        this.fatal(
          Err.SSL_CONNECTION_ERROR,
          "smgate: backend_tls is configured but the MySQL server does not offer TLS",
          0,
        );
        return CONSUMED;
      }
      // MariaDB extensions: only extended metadata passes (no progress, bulk, metadata cache)
      this.advertisedExt =
        hello.capabilities & Cap.LONG_PASSWORD ? 0 : hello.mariadbExtCaps & MARIADB_EXTENDED_METADATA;
      const toClient: ServerHandshake = {
        ...hello,
        connectionId: this.ctx.connectionId,
        capabilities: this.advertised,
        mariadbExtCaps: this.advertisedExt,
      };
      this.writeClient(framePacket(buildServerHandshake(toClient), 0).bytes);
      this.phase = "await-response";
      void seq;
      return CONSUMED;
    }
    if (this.phase === "auth" && this.auth) {
      this.auth.fromServer(payload, seq);
      return CONSUMED;
    }
    throw new MalformedPacketError("unexpected packet from the server during the handshake");
  }

  private handshakeFromClient(buf: Buffer, start: number, len: number, seq: number, flags: number): Verdict {
    if (flags & SPLIT) throw new MalformedPacketError("oversized handshake packet");
    if (this.phase === "await-response") {
      if (isSslRequest(buf, start, len)) {
        if (!this.settings.clientTls) throw new MalformedPacketError("client requested TLS, which was not offered");
        this.phase = "await-response-tls";
        // the TLS ClientHello may already sit behind the SSLRequest in our buffer: upgrade once framing stopped
        queueMicrotask(() => this.guard("client", () => this.upgradeClient()));
        return PAUSE;
      }
      if (this.settings.clientCertPems) {
        // a listener that requires client certificates must not be bypassed by a plain connection
        this.fatal(Err.ACCESS_DENIED, "smgate: this listener requires TLS with a client certificate", (seq + 1) & 0xff);
        return CONSUMED;
      }
      this.onHandshakeResponse(Buffer.from(buf.subarray(start, start + len)), seq);
      return CONSUMED;
    }
    if (this.phase === "await-response-tls") {
      this.onHandshakeResponse(Buffer.from(buf.subarray(start, start + len)), seq);
      return CONSUMED;
    }
    if (this.phase === "auth" && this.auth) {
      this.auth.fromClient(Buffer.from(buf.subarray(start, start + len)), seq);
      return CONSUMED;
    }
    throw new MalformedPacketError("unexpected packet from the client during the handshake");
  }

  private upgradeClient(): void {
    if (this.closed) return;
    const raw = this.client;
    raw.off("data", this.onClientData);
    raw.removeAllListeners("drain");
    const early = this.clientFramer.takeUnframed();
    this.ctx.clientTls = true;
    if (this.settings.clientCertPems) {
      upgradeVerifyingClient(
        raw,
        early,
        this.settings.clientCertPems,
        (secure) => {
          const cn = secure.getPeerCertificate()?.subject?.CN;
          this.ctx.clientCertificateCN = typeof cn === "string" ? cn : undefined;
          this.attachClientTls(secure);
        },
        (reason) => {
          this.log.warn({ conn: this.ctx.connectionId, reason }, "client TLS / certificate verification failed");
          this.close("client certificate rejected");
        },
      );
      this.clientFramer.resume();
      return;
    }
    this.attachClientTls(upgradeServerSide(raw, early, this.settings.clientTls!));
    this.clientFramer.resume();
  }

  private attachClientTls(secure: tls.TLSSocket): void {
    if (this.closed) {
      secure.destroy();
      return;
    }
    this.client = secure;
    secure.on("data", this.onClientData);
    secure.on("error", (err) => this.socketError("client-tls", err));
    secure.on("close", () => this.close("client closed"));
    secure.on("drain", () => {
      this.clientBlocked = false;
      if (!this.serverFramer.isPaused) this.server?.resume();
    });
  }

  private onHandshakeResponse(payload: Buffer, clientSeq: number): void {
    const resp = parseHandshakeResponse(payload);
    const ctx = this.ctx;
    ctx.user = resp.user;
    ctx.database = resp.database || undefined;
    ctx.setAttributes(resp.attributes);
    ctx.charset = resp.charset;
    const backendTls = this.settings.backendTls !== undefined;
    ctx.backendTls = backendTls;
    const caps = capabilitiesForServer(resp.capabilities, this.advertised, backendTls);
    ctx.capabilities = caps & ~Cap.SSL;
    const plugin = resp.authPluginName ?? this.serverHello.authPluginName;
    const ext = caps & Cap.LONG_PASSWORD ? 0 : resp.mariadbExtCaps & this.advertisedExt;
    ctx.mariadbExtCaps = ext;
    const toServer: HandshakeResponse = { ...resp, capabilities: caps, mariadbExtCaps: ext };
    if (!(caps & Cap.PLUGIN_AUTH)) toServer.authPluginName = undefined;
    if (!backendTls) {
      this.beginAuth(plugin, clientSeq, 1, toServer);
      return;
    }
    // SSLRequest to the server, TLS upgrade, then the response
    this.writeServer(framePacket(buildSslRequest(caps, resp.maxPacketSize, resp.charset, ext), 1).bytes);
    this.phase = "backend-tls";
    const raw = this.server;
    raw.off("data", this.onServerData);
    const secure = tls.connect({ ...this.settings.backendTls, socket: raw });
    this.server = secure;
    secure.on("data", this.onServerData);
    secure.on("error", (err) => {
      if (this.phase === "backend-tls") {
        this.log.warn({ conn: ctx.connectionId, err: err.message }, "backend TLS failed");
        this.fatal(Err.SSL_CONNECTION_ERROR, "smgate: TLS to the MySQL server failed", (clientSeq + 1) & 0xff);
      } else this.socketError("server-tls", err);
    });
    secure.on("drain", () => {
      this.serverBlocked = false;
      this.client.resume();
    });
    secure.once("secureConnect", () => this.guard("server", () => this.beginAuth(plugin, clientSeq, 2, toServer)));
  }

  private beginAuth(plugin: string, clientSeq: number, serverSeq: number, toServer: HandshakeResponse): void {
    if (this.closed) return;
    this.phase = "auth";
    this.auth = new AuthRelay(this.authIo(), plugin, this.serverHello.nonce, (serverSeq - clientSeq) & 0xff);
    if (!this.auth.checkPlugin(plugin, clientSeq)) return;
    this.writeServer(framePacket(buildHandshakeResponse(toServer), serverSeq).bytes);
  }
}

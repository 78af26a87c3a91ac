// The PostgreSQL listener: accepts client connections, enforces max_connections, owns the sessions and
// the cancel-key registry, and shuts down gracefully (stop accepting, let sessions finish their current
// transaction up to a deadline, then terminate the rest with 57P01).
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../log.js";
import type { BackendTarget } from "./backend-connect.js";
import { encodeErrorResponse } from "./backend-messages.js";
import { CancelRegistry } from "./cancel.js";
import type { ClientTlsTerminator } from "./client-tls.js";
import { SQLSTATE } from "./errors.js";
import type { HooksFactory } from "./hooks.js";
import { PgSession, type SessionOwner } from "./session.js";

export interface PgListenerOptions {
  host: string;
  port: number;
  backend: BackendTarget;
  clientTls?: ClientTlsTerminator;
  maxConnections: number;
  maxMessageBytes: number;
  authTimeoutMs?: number;
  /** limits.statement_timeout_ms: cancel statements running longer (checked 4× per period, at most 1 s apart). */
  statementTimeoutMs?: number;
  hooks?: HooksFactory;
  /** Hand sessions without hooks to the native relay (when the addon is built). */
  nativeRelay?: boolean;
  logger: Logger;
  /** Worker index (0..127) encoded in issued cancel keys. */
  workerIndex?: number;
  /** Accept connections on an existing server (node:cluster workers share one). */
  server?: Server;
}

export class PgListener implements SessionOwner {
  readonly sessions = new Set<PgSession>();
  readonly cancel: CancelRegistry;
  private readonly server: Server;
  private nextId = 1;
  private closing = false;
  private readonly log: Logger;
  private idleWaiters: (() => void)[] = [];
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PgListenerOptions) {
    this.cancel = new CancelRegistry(opts.workerIndex ?? 0);
    this.log = opts.logger.child({ listener: "pg" });
    this.server = opts.server ?? createServer({ noDelay: true, pauseOnConnect: true });
    this.server.on("connection", (s: Socket) => this.accept(s));
    this.server.on("error", (e) => this.log.error({ err: e.message }, "listener error"));
    const timeout = opts.statementTimeoutMs;
    if (timeout && timeout > 0) {
      this.timeoutTimer = setInterval(
        () => {
          const now = Date.now();
          for (const s of this.sessions) s.enforceStatementTimeout(now, timeout);
        },
        Math.max(10, Math.min(1000, Math.floor(timeout / 4))),
      );
      this.timeoutTimer.unref();
    }
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once("error", onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off("error", onError);
        const a = this.address();
        this.log.info(
          { listen: `${a.address}:${a.port}`, backend: `${this.opts.backend.host}:${this.opts.backend.port}` },
          "pg listener ready",
        );
        resolve(a);
      });
    });
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  private accept(socket: Socket): void {
    socket.on("error", () => {}); // per-session handlers log; this keeps an early reset from being unhandled
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.sessions.size >= this.opts.maxConnections) {
      this.log.warn({ max: this.opts.maxConnections }, "connection refused: max_connections reached");
      socket.end(encodeErrorResponse("FATAL", SQLSTATE.TOO_MANY_CONNECTIONS, "sorry, too many clients already"));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const session = new PgSession(
      socket,
      this.nextId++,
      {
        backend: this.opts.backend,
        clientTls: this.opts.clientTls,
        maxMessageBytes: this.opts.maxMessageBytes,
        authTimeoutMs: this.opts.authTimeoutMs,
        hooks: this.opts.hooks,
        nativeRelay: this.opts.nativeRelay,
        cancel: this.cancel,
        logger: this.opts.logger,
      },
      this,
    );
    this.sessions.add(session);
    session.start();
  }

  onSessionClosed(s: PgSession): void {
    this.sessions.delete(s);
    if (this.sessions.size === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * Graceful shutdown: stop accepting; idle sessions end now, busy ones at the end of their transaction;
   * after deadlineMs the rest are terminated. Resolves when every session is gone.
   */
  async shutdown(deadlineMs = 10_000): Promise<void> {
    this.closing = true;
    if (this.timeoutTimer) clearInterval(this.timeoutTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.log.info({ sessions: this.sessions.size, deadlineMs }, "pg listener draining");
    for (const s of [...this.sessions]) s.drain();
    if (this.sessions.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([idle, deadline]);
      clearTimeout(timer);
      for (const s of [...this.sessions]) {
        s.terminate(SQLSTATE.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
      }
    }
    // sockets that never became sessions (refused, half-open) must not hold shutdown forever
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000).unref())]);
    this.log.info("pg listener closed");
  }
}

// The native relay (native/, a C addon): moves a passthrough session's bytes between its two plain TCP sockets
// on its own thread with an epoll loop, instead of one JavaScript event per read. JavaScript keeps startup,
// authentication, TLS and every hooked session; it hands a session over once it is ready and needs no hooks,
// and gets it back (an event) when it ends, must be drained, or sends something only JavaScript handles.
// Loading is optional: without the built addon (no C toolchain at install) every session stays in JavaScript.
import { createRequire } from "node:module";
import type { Socket } from "node:net";

/** Why a session left the native relay (native/src/relay.h). */
export const RelayReason = {
  ClientEof: 1,
  ServerEof: 2,
  ClientError: 3,
  ServerError: 4,
  ProtocolClient: 5,
  ProtocolServer: 6,
  Idle: 7,
  Handback: 8,
  Aborted: 9,
} as const;

export const RelayProto = { pg: 0, mysql: 1 } as const;

/** Session state when it leaves the relay (or on request). */
export interface RelayEvent {
  id: number;
  reason: number;
  outstanding: number;
  busySince: number;
  /** Character code of the transaction status ('I', 'T', 'E'). */
  tx: number;
  clientTerminated: boolean;
  serverFatal: boolean;
  /** A message is partly forwarded in that direction (smgate must not write one of its own there). */
  upMid: boolean;
  downMid: boolean;
  bytesUp: number;
  bytesDown: number;
  error: string;
  /** Handback: client bytes not forwarded (may start with the command JavaScript must handle). */
  held?: Buffer;
  /** Handback: server bytes not forwarded (may start with the packet JavaScript must handle). */
  heldServer?: Buffer;
}

export interface AttachState {
  proto: number;
  maxMessage: number;
  outstanding: number;
  busySince: number;
  tx: number;
  /** MySQL: the session's capability flags. */
  caps?: number;
  localInfile?: boolean;
}

interface Binding {
  init(onEvent: (e: RelayEvent) => void): void;
  attach(id: number, clientFd: number, serverFd: number, state: AttachState): void;
  drain(id: number): boolean;
  abort(id: number): RelayEvent | undefined;
  state(id: number): RelayEvent | undefined;
  count(): number;
}

function load(): { binding?: Binding; error?: string } {
  try {
    const require = createRequire(import.meta.url);
    // from dist/proxy/native/relay.js (built) or proxy/native/relay.ts (tests run the sources)
    const here = new URL(".", import.meta.url).pathname;
    const up = here.includes("/dist/proxy/") ? "../../../" : "../../";
    const binding = require(`${up}native/build/Release/smgate_relay.node`) as Binding;
    return { binding };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}

/** What handOver did: the relay id, or why not. */
export interface HandOver {
  id?: number;
  retry: boolean;
  error?: string;
}

/** Sessions handed to the relay, by id, each with the callback that takes it back. */
type Owner = (e: RelayEvent) => void;

class NativeRelay {
  private readonly owners = new Map<number, Owner>();
  private started = false;
  private nextId = 1;

  constructor(private readonly binding: Binding) {}

  private start(): void {
    if (this.started) return;
    this.binding.init((e) => {
      const owner = this.owners.get(e.id);
      this.owners.delete(e.id);
      owner?.(e);
    });
    this.started = true;
  }

  /**
   * Hand two sockets to the relay. Both must be plain TCP, not reading (paused at the handle) and with nothing
   * queued for writing. Returns the relay id, or undefined when the sockets cannot be handed over.
   */
  /** Both sockets are plain TCP with a file descriptor (TLS sessions stay in JavaScript). */
  canAttach(client: Socket, server: Socket): boolean {
    return socketFd(client) !== undefined && socketFd(server) !== undefined;
  }

  attach(client: Socket, server: Socket, state: AttachState, onEvent: Owner): number | undefined {
    const cfd = socketFd(client);
    const sfd = socketFd(server);
    if (cfd === undefined || sfd === undefined) return undefined;
    this.start();
    const id = this.nextId++;
    this.binding.attach(id, cfd, sfd, state);
    this.owners.set(id, onEvent);
    return id;
  }

  /**
   * Stop both sockets' reads and hand them to the relay. On failure reads are restarted and `retry` says whether a
   * later attempt can succeed (false: a leg is TLS); `error` is the relay's refusal, if it refused.
   */
  handOver(client: Socket, server: Socket, state: AttachState, onEvent: Owner): HandOver {
    if (!this.canAttach(client, server)) return { retry: false };
    let id: number | undefined;
    let error: string | undefined;
    if (stopReading(client) && stopReading(server)) {
      try {
        id = this.attach(client, server, state, onEvent);
      } catch (e) {
        error = (e as Error).message;
      }
    }
    if (id !== undefined) return { id, retry: true };
    resumeReading(client);
    resumeReading(server);
    return { retry: error === undefined, error };
  }

  /** Ask for an Idle event as soon as the session is idle. */
  drain(id: number): void {
    this.binding.drain(id);
  }

  /** Take the session back now; the relay no longer touches its sockets. Undefined if it already left. */
  abort(id: number): RelayEvent | undefined {
    const e = this.binding.abort(id);
    if (e) this.owners.delete(id);
    return e;
  }

  state(id: number): RelayEvent | undefined {
    return this.binding.state(id);
  }

  get count(): number {
    return this.started ? this.binding.count() : 0;
  }
}

/** The file descriptor of a plain TCP socket (undefined for TLS or a closed socket). */
function socketFd(s: Socket): number | undefined {
  const h = (s as unknown as { _handle?: { fd?: number; constructor?: { name?: string } } })._handle;
  if (h?.constructor?.name !== "TCP" || typeof h.fd !== "number" || h.fd < 0) return undefined;
  return h.fd;
}

/**
 * Stop a socket's reads at its handle (not only the stream: a paused net.Socket may keep reading into its
 * buffer). Returns false when bytes were already read into the stream's buffer (they would be lost to the relay).
 * Call it outside the socket's 'data' handlers (e.g. from setImmediate): a read-more tick the stream scheduled
 * after a 'data' event would otherwise start the handle again.
 */
export function stopReading(s: Socket): boolean {
  const h = (s as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (!h || typeof h.readStop !== "function") return false;
  s.pause();
  if (h.reading !== false) {
    h.reading = false;
    h.readStop();
  }
  return s.readableLength === 0;
}

/**
 * Restart reads on a socket after stopReading(). The stream alone may not restart the handle (a read it asked
 * for before the stop still counts as in progress), so the handle is restarted here.
 */
export function resumeReading(s: Socket): void {
  s.resume();
  const h = (s as unknown as { _handle?: { reading?: boolean; readStart?: () => number } })._handle;
  if (h && !s.destroyed && h.reading === false && typeof h.readStart === "function") {
    h.reading = true;
    h.readStart();
  }
}

const loaded = load();

/** The relay, or undefined when the addon is not built (NATIVE_RELAY_ERROR says why). */
export const nativeRelay: NativeRelay | undefined = loaded.binding ? new NativeRelay(loaded.binding) : undefined;
export const NATIVE_RELAY_ERROR = loaded.error;

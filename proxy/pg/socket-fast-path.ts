// Socket I/O without Node's stream machinery, for plaintext TCP sockets on the relay's hot path.
//
// Relaying one pgbench transaction is two reads and two writes; measured on the project machine, net.Socket's
// Readable 'data' path (a fresh 64 KiB allocation per read, push/addChunk/emit, maybeReadMore ticks) and
// Writable path (writeOrBuffer, a WriteWrap + callback + afterWrite tick per write) cost more CPU than the
// relay logic itself. So, for plain TCP sockets:
// - readIntoBuffer: reads go straight into a buffer the caller may reuse (net's `onread` mechanism, which
//   connect() offers publicly, installed here on an accepted socket); no 'data' events.
// - RawWrites: writes go straight to the TCP handle (what Socket#write ends up calling), with our own count
//   of writes the kernel did not take at once, for backpressure and for knowing when a read buffer that
//   queued bytes point into may be reused.
// Both use Node internals (net.Socket's onread symbols, TCPWrap's useUserBuffer/writeBuffer/writev and the
// stream_wrap binding's WriteWrap, unchanged from Node 12 to 22). They are probed once; when anything is
// missing, or the socket is TLS, callers get `false`/`undefined` and use the public API instead.
import { Socket } from "node:net";
import { getSystemErrorName } from "node:util";

/** The part of Node's TCPWrap used here. */
interface TcpHandle {
  writeBuffer(req: object, data: Buffer): number;
  writev(req: object, chunks: Buffer[], allBuffers: boolean): number;
  useUserBuffer(buf: Uint8Array): void;
}

interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: unknown;
  writes: RawWrites;
}

interface Internals {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}

function probe(): Internals | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding(
      "stream_wrap",
    ) as {
      WriteWrap?: new () => WriteReq;
      streamBaseState?: Int32Array;
      kLastWriteWasAsync?: number;
    };
    // the symbols under which net.Socket keeps its `onread` settings (typed for connect() only)
    const opts = { onread: { buffer: Buffer.alloc(1), callback: () => true } };
    const s = new Socket(opts as ConstructorParameters<typeof Socket>[0]);
    const syms = new Map(Object.getOwnPropertySymbols(s).map((k) => [k.description, k]));
    s.destroy();
    const kBuffer = syms.get("kBuffer");
    const kBufferCb = syms.get("kBufferCb");
    const kBufferGen = syms.get("kBufferGen");
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding;
    if (!kBuffer || !kBufferCb || !kBufferGen || !WriteWrap || !streamBaseState) return undefined;
    if (typeof kLastWriteWasAsync !== "number") return undefined;
    return { WriteWrap, streamBaseState, kLastWriteWasAsync, kBuffer, kBufferCb, kBufferGen };
  } catch {
    return undefined;
  }
}

const internals = probe();

/** True when this Node offers the internals the fast paths need (tests assert it, so a Node upgrade that
 *  removes them is noticed instead of silently falling back). */
export const FAST_PATH_AVAILABLE = internals !== undefined;

/** The socket's TCP handle when the fast paths apply to it (plain TCP, not TLS, still open). */
function tcpHandle(socket: Socket): TcpHandle | undefined {
  if (!internals || socket.destroyed) return undefined;
  const h = (socket as unknown as { _handle?: { constructor?: { name?: string } } })._handle;
  if (h?.constructor?.name !== "TCP") return undefined;
  const t = h as unknown as TcpHandle;
  if (typeof t.writeBuffer !== "function" || typeof t.writev !== "function" || typeof t.useUserBuffer !== "function")
    return undefined;
  return t;
}

/** Receives a socket's bytes (the chunk is a view of the read buffer, valid until onChunk returns unless
 *  canReuse() says the buffer may not be reused). */
export interface ChunkReader {
  onChunk(chunk: Buffer): void;
  /** True when nothing still refers to the last chunk, so its memory can be read into again. */
  canReuse(): boolean;
}

/**
 * Read an accepted (paused) plain TCP socket with `onread` into a buffer of `size` bytes that is reused while
 * reader.canReuse() says so. Bytes the stream had already buffered are delivered first, synchronously.
 * Returns false (nothing changed) when the fast path does not apply; the caller then listens for 'data'.
 * Pause/resume, 'end' and 'close' keep working as for any net.Socket.
 */
export function readIntoBuffer(socket: Socket, reader: ChunkReader, size = 64 * 1024): boolean {
  const handle = tcpHandle(socket);
  if (!handle || !internals) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  let buf = Buffer.allocUnsafe(size);
  s[internals.kBuffer] = buf;
  s[internals.kBufferCb] = (n: number, b: Buffer) => {
    reader.onChunk(b.subarray(0, n));
    return true; // flow control is socket.pause()/resume()
  };
  s[internals.kBufferGen] = () => {
    if (!reader.canReuse()) buf = Buffer.allocUnsafe(size);
    return buf;
  };
  handle.useUserBuffer(buf);
  for (let c: Buffer | null = socket.read(); c !== null; c = socket.read()) reader.onChunk(c);
  return true;
}

function onWriteComplete(this: WriteReq, status: number): void {
  this.buffer = null;
  this.writes.completed(status);
}

/**
 * Direct writes to one plain TCP socket. A write the kernel takes at once costs one syscall and nothing else;
 * the rest of a write it cannot take is queued by libuv (in order, before any later write, raw or not).
 */
export class RawWrites {
  /** Writes (partly) queued in libuv, not completed yet. */
  pending = 0;
  private waiters: (() => void)[] = [];
  private req: WriteReq | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly handle: TcpHandle,
  ) {}

  /** Raw writes for this socket, or undefined when they do not apply (TLS, no internals). */
  static for(socket: Socket): RawWrites | undefined {
    const handle = tcpHandle(socket);
    return handle ? new RawWrites(socket, handle) : undefined;
  }

  /**
   * Write buffers (one, or several with writev). Returns false when the socket is gone or its stream has
   * writes of its own in flight (ordering: the caller then uses socket.write).
   */
  write(parts: Buffer[], n: number): boolean {
    const socket = this.socket;
    const handle = this.handle;
    // the handle is gone once the socket is destroyed
    if ((socket as unknown as { _handle: unknown })._handle !== handle || socket.writableLength > 0 || !internals)
      return false;
    // a request object is reused until a write goes asynchronous (libuv then owns it until completion)
    let req = this.req;
    if (req === undefined) {
      req = new internals.WriteWrap();
      req.handle = handle;
      req.oncomplete = onWriteComplete;
      req.writes = this;
      req.async = false;
      req.bytes = 0;
      req.buffer = null;
      this.req = req;
    }
    const err = n === 1 ? handle.writeBuffer(req, parts[0]) : handle.writev(req, parts.slice(0, n), true);
    if (err !== 0) {
      socket.destroy(writeError(err));
      return true;
    }
    if (internals.streamBaseState[internals.kLastWriteWasAsync] !== 0) {
      req.async = true;
      req.buffer = n === 1 ? parts[0] : parts.slice(0, n); // keep the memory alive while libuv writes it
      this.req = undefined;
      this.pending++;
    }
    return true;
  }

  /** Called by a queued write's completion. */
  completed(status: number): void {
    this.pending--;
    if (status < 0 && !this.socket.destroyed) this.socket.destroy(writeError(status));
    if (this.pending === 0 && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  /** Call f once no raw write is queued any more. */
  whenFlushed(f: () => void): void {
    if (this.pending === 0) f();
    else this.waiters.push(f);
  }
}

function writeError(status: number): Error {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = String(status);
  }
  return Object.assign(new Error(`write ${code}`), { code, errno: status, syscall: "write" });
}

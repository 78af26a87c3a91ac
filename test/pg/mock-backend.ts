// Test helper: a scripted fake PostgreSQL server on port 0. It reads the untyped startup packet(s)
// (answering SSLRequest with 'N'), then hands the socket and the startup parameters to a script.
// Messages are built with plain Buffer code here (not smgate's encoders) to stay independent.
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

export function msg(type: string, ...parts: (Buffer | string | number)[]): Buffer {
  const bodies = parts.map((p) => {
    if (Buffer.isBuffer(p)) return p;
    if (typeof p === "string") return Buffer.from(`${p}\0`, "utf8");
    const b = Buffer.alloc(4);
    b.writeInt32BE(p);
    return b;
  });
  const body = Buffer.concat(bodies);
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export const authOk = () => msg("R", 0);
export const readyForQuery = (s = "I") => msg("Z", Buffer.from(s));
export function backendKeyData(pid: number, secret: number): Buffer {
  return msg("K", pid, secret);
}
export function errorResponse(code: string, message: string, severity = "ERROR"): Buffer {
  return msg("E", Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${message}\0\0`, "utf8"));
}
export function rowDescription1(name: string): Buffer {
  const n = Buffer.alloc(2);
  n.writeInt16BE(1);
  const rest = Buffer.alloc(18);
  rest.writeUInt32BE(0, 0);
  rest.writeInt16BE(0, 4);
  rest.writeUInt32BE(25, 6);
  rest.writeInt16BE(-1, 10);
  rest.writeInt32BE(-1, 12);
  rest.writeInt16BE(0, 16);
  return msg("T", n, Buffer.from(`${name}\0`), rest);
}
export function dataRow1(value: string): Buffer {
  const n = Buffer.alloc(2);
  n.writeInt16BE(1);
  const v = Buffer.from(value);
  const l = Buffer.alloc(4);
  l.writeInt32BE(v.length);
  return msg("D", n, l, v);
}

export interface MockConnection {
  socket: Socket;
  params: Map<string, string>;
  /** Resolves with the next complete typed message from the client (type letter + body). */
  next(): Promise<{ type: string; body: Buffer }>;
}

export type MockScript = (c: MockConnection) => void | Promise<void>;

export interface MockBackend {
  port: number;
  server: Server;
  connections: number;
  cancels: { pid: number; secret: number }[];
  close(): Promise<void>;
}

export async function startMockBackend(script: MockScript): Promise<MockBackend> {
  const state: MockBackend = {
    port: 0,
    server: createServer(),
    connections: 0,
    cancels: [],
    close: () => new Promise<void>((r) => state.server.close(() => r())),
  };
  const sockets = new Set<Socket>();
  state.server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    let started = false;
    const queue: { type: string; body: Buffer }[] = [];
    let waiter: (() => void) | undefined;
    const conn: MockConnection = {
      socket,
      params: new Map(),
      async next() {
        while (queue.length === 0) {
          if (socket.destroyed) throw new Error("mock: client gone");
          await new Promise<void>((r) => {
            waiter = r;
            socket.once("close", r);
          });
        }
        return queue.shift()!;
      },
    };
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readUInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readUInt32BE(4);
          const pkt = buf.subarray(0, len);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) {
            socket.write("N");
            continue;
          }
          if (code === 80877102) {
            state.cancels.push({ pid: pkt.readInt32BE(8), secret: pkt.readInt32BE(12) });
            socket.end();
            return;
          }
          const parts = pkt.subarray(8).toString("utf8").split("\0");
          for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) conn.params.set(parts[i], parts[i + 1]);
          started = true;
          state.connections++;
          Promise.resolve(script(conn)).catch(() => socket.destroy());
          continue;
        }
        if (buf.length < 5) return;
        const len = buf.readUInt32BE(1);
        if (buf.length < 1 + len) return;
        queue.push({ type: String.fromCharCode(buf[0]), body: buf.subarray(5, 1 + len) });
        buf = buf.subarray(1 + len);
        waiter?.();
      }
    });
  });
  await new Promise<void>((r) => state.server.listen(0, "127.0.0.1", () => r()));
  state.port = (state.server.address() as AddressInfo).port;
  const close = state.close;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await close();
  };
  return state;
}

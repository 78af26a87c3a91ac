// A minimal hand-written MySQL client for protocol and fuzz tests: connects, answers the handshake with
// caching_sha2_password (the mock backend's fast path) and then lets the test write arbitrary bytes and read
// packets back.
import net from "node:net";
import { CAP, packet, sha2Token } from "./mock-server.js";

export interface RawPacket {
  seq: number;
  payload: Buffer;
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => resolve(new RawClient(s)));
      s.setNoDelay(true);
      s.once("error", reject);
    });
  }

  /** Next packet, or undefined when the connection closed / nothing came within `ms`. */
  async read(ms = 2000): Promise<RawPacket | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.buf.length >= 4) {
        const len = this.buf.readUIntLE(0, 3);
        if (this.buf.length >= 4 + len) {
          const p = { seq: this.buf[3], payload: this.buf.subarray(4, 4 + len) };
          this.buf = this.buf.subarray(4 + len);
          return p;
        }
      }
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Handshake + caching_sha2_password fast path against the mock; returns the OK packet. */
  async login(password: string, extraCaps = 0): Promise<RawPacket> {
    const hs = await this.read();
    if (!hs) throw new Error("no handshake");
    const p = hs.payload;
    let o = 1;
    o = p.indexOf(0, o) + 1 + 4; // server version, connection id
    const part1 = p.subarray(o, o + 8);
    o += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
    const part2 = p.subarray(o, o + 12);
    const nonce = Buffer.concat([part1, part2]);
    const caps =
      CAP.LONG_PASSWORD |
      CAP.PROTOCOL_41 |
      CAP.SECURE_CONNECTION |
      CAP.PLUGIN_AUTH |
      CAP.TRANSACTIONS |
      CAP.MULTI_RESULTS |
      extraCaps;
    const head = Buffer.alloc(32);
    head.writeUInt32LE(caps >>> 0, 0);
    head.writeUInt32LE(16 * 1024 * 1024, 4);
    head[8] = 0x21;
    const token = sha2Token(password, nonce);
    const resp = Buffer.concat([
      head,
      Buffer.from("fuzz\0"),
      Buffer.from([token.length]),
      token,
      Buffer.from("caching_sha2_password\0"),
    ]);
    this.write(packet(resp, 1));
    for (;;) {
      const r = await this.read();
      if (!r) throw new Error("closed during login");
      if (r.payload[0] === 0x00 || r.payload[0] === 0xff) return r;
    }
  }

  /** Handshake as `user` with an empty password (mysql_native_password), e.g. root on the test MariaDB. */
  async loginNative(user: string, database: string | undefined, deprecateEof: boolean): Promise<RawPacket> {
    const hs = await this.read();
    if (!hs) throw new Error("no handshake");
    let caps =
      CAP.LONG_PASSWORD |
      CAP.PROTOCOL_41 |
      CAP.SECURE_CONNECTION |
      CAP.PLUGIN_AUTH |
      CAP.TRANSACTIONS |
      CAP.MULTI_RESULTS |
      0x40000; // PS_MULTI_RESULTS
    if (database) caps |= CAP.CONNECT_WITH_DB;
    if (deprecateEof) caps |= CAP.DEPRECATE_EOF;
    const head = Buffer.alloc(32);
    head.writeUInt32LE(caps >>> 0, 0);
    head.writeUInt32LE(16 * 1024 * 1024, 4);
    head[8] = 0x2d; // utf8mb4_general_ci
    const parts = [head, Buffer.from(`${user}\0`), Buffer.from([0])];
    if (database) parts.push(Buffer.from(`${database}\0`));
    parts.push(Buffer.from("mysql_native_password\0"));
    this.write(packet(Buffer.concat(parts), 1));
    const r = await this.read();
    if (!r) throw new Error("closed during login");
    return r;
  }

  /** Read one complete response: OK / ERR / other single packet, or a whole resultset (all packets). */
  async readResponse(deprecateEof: boolean): Promise<RawPacket[]> {
    const first = await this.read();
    if (!first) throw new Error("connection closed");
    const h = first.payload[0];
    if (h === 0x00 || h === 0xff || h === 0xfe || first.payload.length === 0 || h > 0xfb) return [first];
    const out = [first];
    const n = h;
    for (let i = 0; i < n; i++) out.push((await this.read())!);
    if (!deprecateEof) out.push((await this.read())!);
    for (;;) {
      const p = await this.read();
      if (!p) throw new Error("connection closed in resultset");
      out.push(p);
      if (p.payload[0] === 0xff) return out;
      if (p.payload[0] === 0xfe && p.payload.length < (deprecateEof ? 0xffffff : 9)) {
        const status = deprecateEof ? p.payload.readUInt16LE(3) : p.payload.readUInt16LE(3);
        if (status & 0x08) return [...out, ...(await this.readResponse(deprecateEof))];
        return out;
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

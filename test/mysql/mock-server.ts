// A small, independent MySQL server for tests that the real MariaDB cannot cover: caching_sha2_password (fast
// path, full path over TLS and with the RSA public-key exchange), auth switch, TLS on the server leg, LOCAL INFILE
// requests the client did not allow, and scripted / random server bytes for fuzzing. Packets are hand-built here
// (not with the gateway's own codec) so the tests check the gateway against an independent implementation.
import { constants, createHash, generateKeyPairSync, privateDecrypt, randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { upgradeServerSide } from "../../proxy/mysql/tls-upgrade.js";

export const CAP = {
  LONG_PASSWORD: 1,
  CONNECT_WITH_DB: 8,
  LOCAL_FILES: 0x80,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC: 0x200000,
  DEPRECATE_EOF: 0x1000000,
};

export function packet(payload: Buffer, seq: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq & 0xff;
  return Buffer.concat([h, payload]);
}

export const okPayload = () => Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
export function errPayload(code: number, state: string, msg: string): Buffer {
  const h = Buffer.alloc(3);
  h[0] = 0xff;
  h.writeUInt16LE(code, 1);
  return Buffer.concat([h, Buffer.from(`#${state}${msg}`)]);
}

function lenencStr(s: string | Buffer): Buffer {
  const b = typeof s === "string" ? Buffer.from(s) : s;
  if (b.length >= 251) throw new Error("mock: short strings only");
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** One VARCHAR column definition + text resultset with the given string rows. */
export function textResultset(column: string, rows: (string | null)[], seq0: number, deprecateEof: boolean): Buffer {
  const out: Buffer[] = [];
  let seq = seq0;
  out.push(packet(Buffer.from([1]), seq++));
  const def = Buffer.concat([
    lenencStr("def"),
    lenencStr("db"),
    lenencStr("t"),
    lenencStr("t"),
    lenencStr(column),
    lenencStr(column),
    Buffer.from([0x0c, 0x21, 0x00, 0x00, 0x01, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00]),
  ]);
  out.push(packet(def, seq++));
  const eof = Buffer.from([0xfe, 0, 0, 0x02, 0]);
  if (!deprecateEof) out.push(packet(eof, seq++));
  for (const r of rows) out.push(packet(r === null ? Buffer.from([0xfb]) : lenencStr(r), seq++));
  out.push(packet(deprecateEof ? Buffer.from([0xfe, 0, 0, 0x02, 0, 0, 0]) : eof, seq++));
  return Buffer.concat(out);
}

export function sha2Token(password: string, nonce: Buffer): Buffer {
  const s1 = createHash("sha256").update(password).digest();
  const s2 = createHash("sha256").update(s1).digest();
  const s3 = createHash("sha256")
    .update(Buffer.concat([s2, nonce]))
    .digest();
  return Buffer.from(s1.map((b, i) => b ^ s3[i]));
}

export interface MockOptions {
  /** Plugin named in the initial handshake. */
  initialPlugin: "mysql_native_password" | "caching_sha2_password";
  /** caching_sha2_password account (switching to it when the initial plugin differs). */
  password: string;
  /** true: the fast path (0x03) succeeds for a correct token; false: always full authentication (0x04). */
  fastPath: boolean;
  tls?: { cert: Buffer; key: Buffer };
  /** Answer to COM_QUERY (payload without command byte); default: one-row resultset echoing the SQL. */
  onQuery?: (sql: string, reply: (bytes: Buffer) => void, deprecateEof: boolean) => void;
  /** Replace the whole server side with raw bytes sent right after accept (fuzzing). */
  raw?: Buffer;
  /** Answer to COM_STMT_EXECUTE (default OK). */
  onExecute?: (reply: (bytes: Buffer) => void, deprecateEof: boolean) => void;
  /** Extra capability bits to advertise (e.g. CLIENT_QUERY_ATTRIBUTES 1 << 27). */
  extraCaps?: number;
  /** Bytes sent after successful authentication (fuzzing the command phase). */
  afterAuth?: Buffer;
}

export interface MockEvents {
  /** What the server received as the final password proof: "token" | "cleartext-tls" | "rsa" */
  proofs: string[];
  /** Cleartext password ever seen on a plain (non-TLS) server connection: must stay empty. */
  cleartextOnPlain: string[];
  clientCaps: number[];
  queries: string[];
  /** Empty packets received in the command phase (end of a LOCAL INFILE transfer). */
  emptyPackets: number;
}

export interface MockServer {
  port: number;
  events: MockEvents;
  close(): Promise<void>;
}

export async function startMockServer(opts: MockOptions): Promise<MockServer> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const events: MockEvents = { proofs: [], cleartextOnPlain: [], clientCaps: [], queries: [], emptyPackets: 0 };
  const sockets = new Set<net.Socket>();

  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.setNoDelay(true);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => {});
    if (opts.raw) {
      raw.end(opts.raw);
      return;
    }
    let sock: net.Socket = raw;
    let secure = false;
    let buf = Buffer.alloc(0);
    let nonce: Buffer = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33));
    let state: "response" | "switch" | "full" | "key" | "command" = "response";
    let deprecateEof = false;
    const send = (payload: Buffer, seq: number) => sock.write(packet(payload, seq));
    let caps =
      CAP.LONG_PASSWORD |
      CAP.PROTOCOL_41 |
      CAP.SECURE_CONNECTION |
      CAP.PLUGIN_AUTH |
      CAP.PLUGIN_AUTH_LENENC |
      CAP.CONNECT_ATTRS |
      CAP.CONNECT_WITH_DB |
      CAP.TRANSACTIONS |
      CAP.MULTI_RESULTS |
      CAP.DEPRECATE_EOF |
      CAP.LOCAL_FILES;
    if (opts.tls) caps |= CAP.SSL;
    caps = (caps | (opts.extraCaps ?? 0)) >>> 0;
    const hs = Buffer.concat([
      Buffer.from([10]),
      Buffer.from("8.0.99-mock\0"),
      Buffer.from([7, 0, 0, 0]),
      nonce.subarray(0, 8),
      Buffer.from([0]),
      Buffer.from([caps & 0xff, (caps >> 8) & 0xff, 0x21, 0x02, 0x00, (caps >> 16) & 0xff, (caps >> 24) & 0xff, 21]),
      Buffer.alloc(10),
      nonce.subarray(8),
      Buffer.from([0]),
      Buffer.from(`${opts.initialPlugin}\0`),
    ]);
    send(hs, 0);

    const fail = (seq: number) => send(errPayload(1045, "28000", "Access denied (mock)"), seq);
    const succeed = (seq: number) => {
      send(okPayload(), seq);
      state = "command";
      if (opts.afterAuth) sock.write(opts.afterAuth);
    };
    const verifyToken = (token: Buffer, seq: number) => {
      const good = token.equals(sha2Token(opts.password, nonce));
      if (good && opts.fastPath) {
        events.proofs.push("token");
        send(Buffer.from([0x01, 0x03]), seq);
        succeed(seq + 1);
      } else {
        send(Buffer.from([0x01, 0x04]), seq);
        state = "full";
      }
    };
    const onPacket = (payload: Buffer, seq: number) => {
      if (state === "response") {
        const c = payload.readUInt32LE(0);
        if (payload.length === 32 && c & CAP.SSL && opts.tls) {
          sock.removeAllListeners("data");
          const early = buf;
          buf = Buffer.alloc(0);
          const t = upgradeServerSide(raw, early, tls.createSecureContext(opts.tls));
          t.on("error", () => {});
          t.on("data", onData);
          sock = t;
          secure = true;
          return;
        }
        events.clientCaps.push(c);
        deprecateEof = (c & CAP.DEPRECATE_EOF) !== 0;
        let p = 32;
        const userEnd = payload.indexOf(0, p);
        p = userEnd + 1;
        const alen = payload[p];
        const authResp = payload.subarray(p + 1, p + 1 + alen);
        p += 1 + alen;
        if (c & CAP.CONNECT_WITH_DB) p = payload.indexOf(0, p) + 1;
        const plugin = payload.toString("latin1", p, payload.indexOf(0, p));
        if (plugin !== "caching_sha2_password" || opts.initialPlugin !== "caching_sha2_password") {
          nonce = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33));
          send(
            Buffer.concat([Buffer.from([0xfe]), Buffer.from("caching_sha2_password\0"), nonce, Buffer.from([0])]),
            seq + 1,
          );
          state = "switch";
          return;
        }
        verifyToken(authResp, seq + 1);
        return;
      }
      if (state === "switch") {
        verifyToken(payload, seq + 1);
        return;
      }
      if (state === "full") {
        if (secure) {
          const pw = payload.toString("utf8", 0, payload.indexOf(0));
          events.proofs.push("cleartext-tls");
          if (pw === opts.password) succeed(seq + 1);
          else fail(seq + 1);
          return;
        }
        if (payload.length === 1 && payload[0] === 0x02) {
          send(Buffer.concat([Buffer.from([0x01]), Buffer.from(pem)]), seq + 1);
          state = "key";
          return;
        }
        events.cleartextOnPlain.push(payload.toString("latin1"));
        fail(seq + 1);
        return;
      }
      if (state === "key") {
        let ok = false;
        try {
          const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, payload);
          const pw = Buffer.from(plain.map((b, i) => b ^ nonce[i % nonce.length]));
          ok = pw.toString("utf8", 0, pw.indexOf(0)) === opts.password;
        } catch {
          ok = false;
        }
        events.proofs.push("rsa");
        if (ok) succeed(seq + 1);
        else fail(seq + 1);
        return;
      }
      // command phase
      if (payload.length === 0) {
        events.emptyPackets++;
        send(okPayload(), seq + 1);
        return;
      }
      const cmd = payload[0];
      if (cmd === 0x01) {
        sock.end();
        return;
      }
      if (cmd === 0x0e || cmd === 0x17) {
        // PING, and COM_STMT_EXECUTE of the one fake statement (answered with OK or the scripted reply)
        if (cmd === 0x17 && opts.onExecute) opts.onExecute((b) => sock.write(b), deprecateEof);
        else send(okPayload(), 1);
        return;
      }
      if (cmd === 0x16) {
        // COM_STMT_PREPARE: statement id 1 with 2 parameters and 1 column, whatever the SQL
        let seq = 1;
        const def = (name: string) =>
          Buffer.concat([
            lenencStr("def"),
            lenencStr("db"),
            lenencStr("t"),
            lenencStr("t"),
            lenencStr(name),
            lenencStr(name),
            Buffer.from([0x0c, 0x21, 0x00, 0x00, 0x01, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00]),
          ]);
        const eof = Buffer.from([0xfe, 0, 0, 0x02, 0]);
        send(Buffer.from([0x00, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0]), seq++);
        send(def("?"), seq++);
        send(def("?"), seq++);
        if (!deprecateEof) send(eof, seq++);
        send(def("c"), seq++);
        if (!deprecateEof) send(eof, seq++);
        return;
      }
      if (cmd === 0x19 || cmd === 0x18) return; // STMT_CLOSE, SEND_LONG_DATA: no response
      if (cmd === 0x03) {
        const sql = payload.toString("latin1", 1);
        events.queries.push(sql);
        if (opts.onQuery) opts.onQuery(sql, (b) => sock.write(b), deprecateEof);
        else sock.write(textResultset("q", [sql], 1, deprecateEof));
        return;
      }
      send(errPayload(1047, "08S01", "Unknown command (mock)"), 1);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUIntLE(0, 3);
        if (buf.length < 4 + len) break;
        const payload = buf.subarray(4, 4 + len);
        const seq = buf[3];
        buf = buf.subarray(4 + len);
        onPacket(payload, seq);
      }
    };
    raw.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    events,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

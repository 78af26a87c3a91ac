// Connection-phase packets: the server's Initial Handshake v10, the client's SSLRequest / HandshakeResponse41,
// COM_CHANGE_USER, auth switch requests, and the capability policy smgate applies between the two legs.
import { CAPS_NEVER, Cap } from "./constants.js";
import { MalformedPacketError, PayloadReader, PayloadWriter } from "./wire.js";

export interface ServerHandshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** Full nonce (part 1 + part 2 without the trailing NUL), usually 20 bytes. */
  nonce: Buffer;
  capabilities: number;
  charset: number;
  status: number;
  /** MariaDB extended capabilities (only meaningful when the CLIENT_MYSQL / LONG_PASSWORD bit is clear). */
  mariadbExtCaps: number;
  authPluginName: string;
}

export function parseServerHandshake(payload: Buffer): ServerHandshake {
  const r = new PayloadReader(payload);
  const protocolVersion = r.u8("protocol version");
  if (protocolVersion !== 10)
    throw new MalformedPacketError(`unsupported handshake protocol version ${protocolVersion}`);
  const serverVersion = r.nulString("server version");
  const connectionId = r.u32("connection id");
  const part1 = r.bytes(8, "auth plugin data part 1");
  r.skip(1);
  let capabilities = r.u16("capability flags");
  let charset = 0;
  let status = 0;
  let mariadbExtCaps = 0;
  let authDataLen = 0;
  let part2: Buffer = Buffer.alloc(0);
  let authPluginName = "mysql_native_password";
  if (r.remaining > 0) {
    charset = r.u8("charset");
    status = r.u16("status flags");
    capabilities = (capabilities | (r.u16("capability flags (upper)") << 16)) >>> 0;
    authDataLen = r.u8("auth plugin data length");
    r.skip(6, "reserved");
    mariadbExtCaps = r.u32("reserved / MariaDB extended capabilities");
    if (capabilities & Cap.SECURE_CONNECTION) {
      const n = Math.max(13, authDataLen - 8);
      part2 = r.bytes(Math.min(n, r.remaining), "auth plugin data part 2");
      if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
    }
    if (capabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPluginName = r.nulString("auth plugin name", true);
  }
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    nonce: Buffer.concat([part1, part2]),
    capabilities,
    charset,
    status,
    mariadbExtCaps,
    authPluginName,
  };
}

export function buildServerHandshake(h: ServerHandshake): Buffer {
  const w = new PayloadWriter(128);
  w.u8(10).nulString(h.serverVersion).u32(h.connectionId);
  w.bytes(h.nonce.subarray(0, 8)).u8(0);
  w.u16(h.capabilities & 0xffff)
    .u8(h.charset)
    .u16(h.status)
    .u16(h.capabilities >>> 16);
  w.u8(h.capabilities & Cap.PLUGIN_AUTH ? h.nonce.length + 1 : 0);
  w.zeros(6).u32(h.mariadbExtCaps);
  if (h.capabilities & Cap.SECURE_CONNECTION) {
    const part2 = h.nonce.subarray(8);
    w.bytes(part2);
    for (let i = part2.length; i < 12; i++) w.u8(0);
    w.u8(0);
  }
  if (h.capabilities & Cap.PLUGIN_AUTH) w.nulString(h.authPluginName);
  return w.finish();
}

export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
  mariadbExtCaps: number;
  user: string;
  authResponse: Buffer;
  database?: string;
  authPluginName?: string;
  attributes: Map<string, string>;
}

/** True when a client packet in the connection phase is the 32-byte SSLRequest. */
export function isSslRequest(payload: Buffer, start: number, len: number): boolean {
  return len === 32 && (payload.readUInt32LE(start) & Cap.SSL) !== 0;
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new PayloadReader(payload);
  const capabilities = r.u32("client capabilities");
  if (!(capabilities & Cap.PROTOCOL_41)) throw new MalformedPacketError("client does not speak protocol 4.1");
  const maxPacketSize = r.u32("max packet size");
  const charset = r.u8("charset");
  r.skip(19, "filler");
  const mariadbExtCaps = r.u32("filler / MariaDB extended capabilities");
  const user = r.nulString("user name");
  let authResponse: Buffer;
  if (capabilities & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    authResponse = r.lenencBytes("auth response") ?? Buffer.alloc(0);
  } else if (capabilities & Cap.SECURE_CONNECTION) {
    authResponse = r.bytes(r.u8("auth response length"), "auth response");
  } else {
    authResponse = r.nulBytes("auth response", true);
  }
  let database: string | undefined;
  if (capabilities & Cap.CONNECT_WITH_DB && r.remaining > 0) database = r.nulString("database", true);
  let authPluginName: string | undefined;
  if (capabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPluginName = r.nulString("auth plugin name", true);
  const attributes =
    capabilities & Cap.CONNECT_ATTRS && r.remaining > 0 ? parseConnectAttributes(r) : new Map<string, string>();
  return {
    capabilities,
    maxPacketSize,
    charset,
    mariadbExtCaps,
    user,
    authResponse: Buffer.from(authResponse),
    database,
    authPluginName,
    attributes,
  };
}

/** Connection attributes: lenenc total length, then lenenc key / value pairs. */
export function parseConnectAttributes(r: PayloadReader): Map<string, string> {
  const total = r.lenenc("connection attributes length");
  if (total < 0 || total > r.remaining) throw new MalformedPacketError("connection attributes overrun the packet");
  const end = r.pos + total;
  const sub = new PayloadReader(r.buf, r.pos, end);
  const attrs = new Map<string, string>();
  while (sub.remaining > 0) {
    const k = sub.lenencString("attribute name");
    const v = sub.lenencString("attribute value");
    attrs.set(k, v);
  }
  r.pos = end;
  return attrs;
}

function writeConnectAttributes(w: PayloadWriter, attrs: Map<string, string>): void {
  const inner = new PayloadWriter(128);
  for (const [k, v] of attrs) inner.lenencString(k).lenencString(v);
  w.lenencBytes(inner.finish());
}

/** The 32-byte SSLRequest smgate sends to the server before upgrading the backend leg. */
export function buildSslRequest(capabilities: number, maxPacketSize: number, charset: number, ext: number): Buffer {
  const w = new PayloadWriter(32);
  w.u32(capabilities | Cap.SSL)
    .u32(maxPacketSize)
    .u8(charset)
    .zeros(19)
    .u32(ext);
  return w.finish();
}

export function buildHandshakeResponse(h: HandshakeResponse): Buffer {
  const w = new PayloadWriter(256);
  w.u32(h.capabilities).u32(h.maxPacketSize).u8(h.charset).zeros(19).u32(h.mariadbExtCaps);
  w.nulString(h.user);
  if (h.capabilities & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenencBytes(h.authResponse);
  else if (h.capabilities & Cap.SECURE_CONNECTION) w.u8(h.authResponse.length).bytes(h.authResponse);
  else w.nulString(h.authResponse);
  if (h.capabilities & Cap.CONNECT_WITH_DB) w.nulString(h.database ?? "");
  if (h.capabilities & Cap.PLUGIN_AUTH) w.nulString(h.authPluginName ?? "");
  if (h.capabilities & Cap.CONNECT_ATTRS) writeConnectAttributes(w, h.attributes);
  return w.finish();
}

export interface ChangeUser {
  user: string;
  authResponse: Buffer;
  database: string;
  charset?: number;
  authPluginName?: string;
  attributes: Map<string, string>;
}

/** COM_CHANGE_USER (payload includes the 0x11 command byte). */
export function parseChangeUser(payload: Buffer, capabilities: number): ChangeUser {
  const r = new PayloadReader(payload, 1);
  const user = r.nulString("user name");
  const authResponse =
    capabilities & Cap.SECURE_CONNECTION ? r.bytes(r.u8("auth response length")) : r.nulBytes("auth response");
  const database = r.nulString("database", true);
  let charset: number | undefined;
  let authPluginName: string | undefined;
  let attributes = new Map<string, string>();
  if (r.remaining >= 2) charset = r.u16("charset");
  if (capabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPluginName = r.nulString("auth plugin name", true);
  if (capabilities & Cap.CONNECT_ATTRS && r.remaining > 0) attributes = parseConnectAttributes(r);
  return { user, authResponse: Buffer.from(authResponse), database, charset, authPluginName, attributes };
}

export interface AuthSwitchRequest {
  pluginName: string;
  data: Buffer;
}

/** Auth switch request (0xFE header) from the server. */
export function parseAuthSwitch(payload: Buffer): AuthSwitchRequest {
  const r = new PayloadReader(payload, 1);
  if (r.remaining === 0) return { pluginName: "mysql_old_password", data: Buffer.alloc(0) };
  const pluginName = r.nulString("auth plugin name", true);
  let data = r.rest();
  if (data.length > 0 && data[data.length - 1] === 0) data = data.subarray(0, data.length - 1);
  return { pluginName, data: Buffer.from(data) };
}

export interface CapabilityPolicy {
  /** A TLS certificate is configured for the client leg. */
  clientTls: boolean;
  allowLocalInfile: boolean;
  allowMultiStatements: boolean;
}

/** Capabilities smgate advertises to the client, derived from what the server offered. */
export function capabilitiesForClient(serverCaps: number, p: CapabilityPolicy): number {
  let caps = serverCaps & ~CAPS_NEVER;
  if (!p.allowLocalInfile) caps &= ~Cap.LOCAL_FILES;
  if (!p.allowMultiStatements) caps &= ~Cap.MULTI_STATEMENTS;
  caps = p.clientTls ? caps | Cap.SSL : caps & ~Cap.SSL;
  return caps >>> 0;
}

/** Capabilities smgate sends to the server: what the client asked for, within what we advertised. */
export function capabilitiesForServer(clientCaps: number, advertised: number, backendTls: boolean): number {
  let caps = clientCaps & (advertised | Cap.SSL_VERIFY_SERVER_CERT | Cap.REMEMBER_OPTIONS | Cap.LONG_PASSWORD);
  caps = backendTls ? caps | Cap.SSL : caps & ~Cap.SSL;
  return caps >>> 0;
}

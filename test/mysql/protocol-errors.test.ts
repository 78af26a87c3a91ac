// Malformed packets end only the offending connection, with an ERR packet carrying the documented code
// (1158 malformed client packet, 2027 malformed server packet, 1047 unsupported command, 1148 LOCAL INFILE
// refused), while the gateway keeps serving other connections.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MysqlGateway, startMysqlGateway } from "../../proxy/mysql/index.js";
import { silentLogger } from "./gateway-harness.js";
import { errPayload, type MockServer, packet, startMockServer, textResultset } from "./mock-server.js";
import { RawClient } from "./raw-client.js";

const PASSWORD = "pw";
let mock: MockServer;
let gw: MysqlGateway;
let nextServerReply: ((sql: string, reply: (b: Buffer) => void, deprecateEof: boolean) => void) | undefined;

beforeAll(async () => {
  mock = await startMockServer({
    initialPlugin: "caching_sha2_password",
    password: PASSWORD,
    fastPath: true,
    onQuery: (sql, reply, de) =>
      nextServerReply ? nextServerReply(sql, reply, de) : reply(textResultset("q", [sql], 1, de)),
  });
  gw = await startMysqlGateway({ listen: "127.0.0.1:0", backend: `127.0.0.1:${mock.port}`, logger: silentLogger });
});

afterAll(async () => {
  await gw.close();
  await mock.close();
});

function errCode(p: { payload: Buffer } | undefined): number | undefined {
  return p && p.payload[0] === 0xff ? p.payload.readUInt16LE(1) : undefined;
}

async function loggedIn(): Promise<RawClient> {
  const c = await RawClient.connect(gw.address().port);
  const ok = await c.login(PASSWORD);
  expect(ok.payload[0]).toBe(0x00);
  return c;
}

async function stillServing(): Promise<void> {
  nextServerReply = undefined;
  const c = await loggedIn();
  c.write(packet(Buffer.from("\x03SELECT 1", "latin1"), 0));
  const first = await c.read();
  expect(first?.payload[0]).toBe(1); // column count
  c.close();
}

describe("protocol errors end the connection, not the gateway", () => {
  it("a truncated COM_STMT_EXECUTE from the client gets ERR 1158 and a closed connection", async () => {
    const c = await loggedIn();
    c.write(packet(Buffer.from([0x17, 1, 0]), 0));
    const r = await c.read();
    expect(errCode(r)).toBe(1158);
    expect(r!.payload.toString("latin1", 3, 9)).toBe("#08S01");
    expect(await c.read(500)).toBeUndefined();
    expect(c.closed).toBe(true);
    await stillServing();
  });

  it("a command packet with a non-zero sequence id is malformed (1158)", async () => {
    const c = await loggedIn();
    c.write(packet(Buffer.from("\x03SELECT 1", "latin1"), 5));
    expect(errCode(await c.read())).toBe(1158);
    await stillServing();
  });

  it("a replication command is refused with 1047 and the session continues", async () => {
    const c = await loggedIn();
    c.write(packet(Buffer.from([0x12, 0, 0, 0, 0]), 0));
    expect(errCode(await c.read())).toBe(1047);
    c.write(packet(Buffer.from("\x03SELECT 2", "latin1"), 0));
    expect((await c.read())?.payload[0]).toBe(1);
    c.close();
  });

  it("a malformed resultset from the server gets ERR 2027 to the client", async () => {
    const c = await loggedIn();
    nextServerReply = (_sql, reply) =>
      reply(Buffer.concat([packet(Buffer.from([0x00 + 0x01]), 1), packet(Buffer.from([0x03, 0x64]), 2)]));
    c.write(packet(Buffer.from("\x03SELECT 3", "latin1"), 0));
    let p = await c.read();
    while (p && p.payload[0] !== 0xff) p = await c.read();
    expect(errCode(p)).toBe(2027);
    expect(await c.read(500)).toBeUndefined();
    await stillServing();
  });

  it("an unsolicited server ERR (e.g. connection killed) is relayed", async () => {
    const c = await loggedIn();
    nextServerReply = (_sql, reply) => {
      reply(packet(errPayload(1317, "70100", "Query execution was interrupted"), 1));
      reply(packet(errPayload(1927, "70100", "Connection was killed"), 0));
    };
    c.write(packet(Buffer.from("\x03SELECT 4", "latin1"), 0));
    expect(errCode(await c.read())).toBe(1317);
    expect(errCode(await c.read())).toBe(1927);
    c.close();
    await stillServing();
  });

  it("LOAD DATA LOCAL requested by the server anyway: empty file to the server, ERR 1148 to the client", async () => {
    const c = await loggedIn();
    const emptyBefore = mock.events.emptyPackets;
    nextServerReply = (_sql, reply) => {
      reply(packet(Buffer.concat([Buffer.from([0xfb]), Buffer.from("/etc/passwd")]), 1));
    };
    c.write(packet(Buffer.from("\x03LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t", "latin1"), 0));
    const r = await c.read();
    expect(errCode(r)).toBe(1148);
    expect(r!.seq).toBe(1);
    expect(mock.events.emptyPackets).toBe(emptyBefore + 1); // the server got an empty file, no contents
    // the session is still usable afterwards
    nextServerReply = undefined;
    c.write(packet(Buffer.from("\x03SELECT 5", "latin1"), 0));
    expect((await c.read())?.payload[0]).toBe(1);
    c.close();
  });
});

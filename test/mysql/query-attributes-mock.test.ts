// CLIENT_QUERY_ATTRIBUTES (MySQL 8.0.23+ servers and clients) against a MOCK server that advertises it: COM_QUERY
// packets carrying attributes are parsed (hooks and KILL mapping see the SQL text after them) and reach the
// server byte for byte when not rewritten.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MysqlGateway, startMysqlGateway } from "../../proxy/mysql/index.js";
import { silentLogger } from "./gateway-harness.js";
import { type MockServer, packet, startMockServer } from "./mock-server.js";
import { RawClient } from "./raw-client.js";

const QUERY_ATTRIBUTES = 1 << 27;
let mock: MockServer;
let gw: MysqlGateway;
const seenByHook: string[] = [];

beforeAll(async () => {
  mock = await startMockServer({
    initialPlugin: "caching_sha2_password",
    password: "pw",
    fastPath: true,
    extraCaps: QUERY_ATTRIBUTES,
  });
  gw = await startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `127.0.0.1:${mock.port}`,
    logger: silentLogger,
    hooks: () => ({
      onQuery: (_ctx, _req, sql) => {
        seenByHook.push(sql);
        return sql.includes("REWRITE") ? { sql: "SELECT 'rewritten'" } : undefined;
      },
    }),
  });
});

afterAll(async () => {
  await gw.close();
  await mock.close();
});

/** COM_QUERY with two attributes (VAR_STRING "trace_id"="abc", LONGLONG "n"=7, second one NULL-less). */
function queryWithAttributes(sql: string): Buffer {
  const longlong = Buffer.alloc(8);
  longlong.writeBigInt64LE(7n);
  return Buffer.concat([
    Buffer.from([0x03, 2, 1]), // command, parameter_count, parameter_set_count
    Buffer.from([0x00]), // NULL bitmap
    Buffer.from([0x01]), // new_params_bind_flag
    Buffer.from([0xfd, 0x00, 8]),
    Buffer.from("trace_id"),
    Buffer.from([0x08, 0x00, 1]),
    Buffer.from("n"),
    Buffer.from([3]),
    Buffer.from("abc"),
    longlong,
    Buffer.from(sql),
  ]);
}

describe("query attributes (mock server with CLIENT_QUERY_ATTRIBUTES)", () => {
  it("parses attributes before the SQL text and relays the packet unchanged", async () => {
    const c = await RawClient.connect(gw.address().port);
    expect((await c.login("pw", QUERY_ATTRIBUTES)).payload[0]).toBe(0x00);
    const payload = queryWithAttributes("SELECT 'attrs'");
    c.write(packet(payload, 0));
    const first = await c.read();
    expect(first?.payload[0]).toBe(1);
    expect(seenByHook).toContain("SELECT 'attrs'");
    expect(mock.events.queries.at(-1)).toBe(payload.subarray(1).toString("latin1"));
    c.close();
  });

  it("keeps the attributes when a hook rewrites the SQL, and a KILL behind attributes is still mapped", async () => {
    const c = await RawClient.connect(gw.address().port);
    expect((await c.login("pw", QUERY_ATTRIBUTES)).payload[0]).toBe(0x00);
    for (;;) if (!(await c.read(50))) break;
    c.write(packet(queryWithAttributes("SELECT REWRITE"), 0));
    await c.read();
    const sent = mock.events.queries.at(-1)!;
    expect(sent.endsWith("SELECT 'rewritten'")).toBe(true);
    expect(sent.startsWith(queryWithAttributes("").subarray(1).toString("latin1"))).toBe(true);
    for (;;) if (!(await c.read(50))) break;
    c.write(packet(queryWithAttributes("KILL QUERY 999999"), 0));
    const err = await c.read();
    expect(err?.payload[0]).toBe(0xff);
    expect(err?.payload.readUInt16LE(1)).toBe(1094); // not a connection of this gateway: never reaches the server
    c.close();
  });
});

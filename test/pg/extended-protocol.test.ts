// Raw extended-protocol traffic through the gateway against the real PostgreSQL 15, checked with
// pg-protocol's own parser: portals with row limits (PortalSuspended), pipelined batches with an error
// in the middle, Describe/Close/Flush, binary result bytes, ParameterStatus, SSL/GSSENC negotiation
// refusals, and messages larger than a TCP chunk.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./gateway-fixture.js";
import { names, RawClient, serialize } from "./raw-client.js";

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.stop();
});

function sslRequestPacket(code: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(code, 4);
  return b;
}

describe("extended protocol through smgate (raw messages)", () => {
  it("suspends portals at the Execute row limit and resumes them (PortalSuspended)", async () => {
    const c = await RawClient.startup(gw.port);
    c.send(
      serialize.parse({ text: "SELECT g FROM generate_series(1, 10) g" }),
      serialize.bind({ portal: "p1" }),
      serialize.execute({ portal: "p1", rows: 3 }),
      serialize.execute({ portal: "p1", rows: 3 }),
      serialize.execute({ portal: "p1", rows: 0 }),
      serialize.sync(),
    );
    const msgs = await c.untilReady();
    expect(names(msgs)).toEqual([
      "parseComplete",
      "bindComplete",
      ...Array(3).fill("dataRow"),
      "portalSuspended",
      ...Array(3).fill("dataRow"),
      "portalSuspended",
      ...Array(4).fill("dataRow"),
      "commandComplete",
      "readyForQuery",
    ]);
    const values = msgs
      .filter((m) => m.name === "dataRow")
      .map((m) => (m as unknown as { fields: string[] }).fields[0]);
    expect(values).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    c.end();
  });

  it("answers a pipelined batch in order; after an error the server skips to Sync", async () => {
    const c = await RawClient.startup(gw.port);
    const batch: Buffer[] = [];
    for (const sql of ["SELECT 1", "SELECT 1/(g-g) FROM generate_series(1,1) g", "SELECT 3"]) {
      batch.push(serialize.parse({ text: sql }), serialize.bind({}), serialize.execute({}), serialize.sync());
    }
    // and one more without a Sync between statements: the error skips the rest up to Sync
    batch.push(
      serialize.parse({ text: "SELECT 1/(g-g) FROM generate_series(1,1) g" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.parse({ text: "SELECT 5" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    );
    c.send(...batch);
    const msgs = await c.untilReady(4);
    expect(names(msgs)).toEqual([
      "parseComplete",
      "bindComplete",
      "dataRow",
      "commandComplete",
      "readyForQuery",
      "parseComplete",
      "bindComplete",
      "error",
      "readyForQuery",
      "parseComplete",
      "bindComplete",
      "dataRow",
      "commandComplete",
      "readyForQuery",
      "parseComplete",
      "bindComplete",
      "error",
      "readyForQuery",
    ]);
    c.end();
  });

  it("relays Describe (statement and portal), Close and Flush", async () => {
    const c = await RawClient.startup(gw.port);
    c.send(
      serialize.parse({ name: "s1", text: "SELECT $1::int AS a, 'x'::text AS b", types: [23] }),
      serialize.describe({ type: "S", name: "s1" }),
      serialize.flush(),
    );
    const first = await c.waitFor((m) => m.name === "rowDescription");
    expect(names(first)).toEqual(["parseComplete", "parameterDescription", "rowDescription"]);
    expect((first[1] as unknown as { dataTypeIDs: number[] }).dataTypeIDs).toEqual([23]);
    const fields = (first[2] as unknown as { fields: { name: string; dataTypeID: number }[] }).fields;
    expect(fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ["a", 23],
      ["b", 25],
    ]);
    c.send(
      serialize.bind({ statement: "s1", portal: "", values: ["7"] }),
      serialize.describe({ type: "P", name: "" }),
      serialize.execute({}),
      serialize.close({ type: "S", name: "s1" }),
      serialize.sync(),
      serialize.parse({ text: "CREATE TEMP TABLE smg_pg_nodata (x int)" }),
      serialize.describe({ type: "S", name: "" }),
      serialize.sync(),
    );
    const rest = await c.untilReady(2);
    expect(names(rest)).toEqual([
      "bindComplete",
      "rowDescription",
      "dataRow",
      "commandComplete",
      "closeComplete",
      "readyForQuery",
      "parseComplete",
      "parameterDescription",
      "noData",
      "readyForQuery",
    ]);
    c.end();
  });

  it("passes binary result bytes exactly (Bind result format 1), including 0x00 and 0xff", async () => {
    const c = await RawClient.startup(gw.port);
    const raw: Buffer[] = [];
    c.socket.on("data", (b: Buffer) => raw.push(b));
    c.send(
      serialize.parse({ text: "SELECT '\\x00ff0a0d'::bytea AS b, 258::int2 AS s" }),
      serialize.bind({ binary: true }),
      serialize.execute({}),
      serialize.sync(),
    );
    await c.untilReady();
    // DataRow per the protocol: 'D', Int32 len 20, Int16 2 columns, Int32 4 + bytea bytes, Int32 2 + int2 big-endian
    const expected = Buffer.from("44" + "00000014" + "0002" + "00000004" + "00ff0a0d" + "00000002" + "0102", "hex");
    expect(Buffer.concat(raw).includes(expected)).toBe(true);
    c.end();
  });

  it("relays ParameterStatus changes and notices", async () => {
    const c = await RawClient.startup(gw.port);
    c.send(serialize.query("SET application_name = 'smg-raw-test'"));
    const msgs = await c.untilReady();
    const ps = msgs.find((m) => m.name === "parameterStatus") as unknown as {
      parameterName: string;
      parameterValue: string;
    };
    expect(ps).toMatchObject({ parameterName: "application_name", parameterValue: "smg-raw-test" });
    c.end();
  });

  it("answers SSLRequest with N when client TLS is not configured, and GSSENCRequest with N", async () => {
    for (const code of [80877103, 80877104]) {
      const c = await RawClient.connect(gw.port);
      const raw: Buffer[] = [];
      c.socket.on("data", (b: Buffer) => raw.push(b));
      c.socket.write(sslRequestPacket(code));
      await new Promise((r) => setTimeout(r, 100));
      expect(Buffer.concat(raw).toString("latin1")).toBe("N");
      // the same connection continues with a plaintext startup up to ReadyForQuery(I)
      c.socket.write(serialize.startup({ user: "postgres", database: "test" }));
      const rfq = Buffer.from("5a0000000549", "hex");
      for (let i = 0; i < 100 && !Buffer.concat(raw).includes(rfq); i++) await new Promise((r) => setTimeout(r, 20));
      expect(Buffer.concat(raw).includes(rfq)).toBe(true);
      c.socket.destroy();
    }
  });

  it("relays a FunctionCall and its FunctionCallResponse", async () => {
    const c = await RawClient.startup(gw.port);
    c.send(serialize.query("SELECT 'int4abs'::regproc::oid AS oid"));
    const oidRow = (await c.untilReady()).find((m) => m.name === "dataRow") as unknown as { fields: string[] };
    const oid = Number(oidRow.fields[0]);
    // pg-protocol cannot parse 'V', so read this answer as raw bytes
    c.socket.removeAllListeners("data");
    const raw: Buffer[] = [];
    c.socket.on("data", (b: Buffer) => raw.push(b));
    // 'F': Int32 oid, Int16 1 arg format (0 text), Int16 1 arg, Int32 len + "-5", Int16 result format 0
    const arg = Buffer.from("-5");
    const body = Buffer.alloc(4 + 2 + 2 + 2 + 4 + arg.length + 2);
    let o = body.writeUInt32BE(oid, 0);
    o = body.writeInt16BE(1, o);
    o = body.writeInt16BE(0, o);
    o = body.writeInt16BE(1, o);
    o = body.writeInt32BE(arg.length, o);
    o += arg.copy(body, o);
    body.writeInt16BE(0, o);
    const head = Buffer.from([0x46, 0, 0, 0, 0]);
    head.writeUInt32BE(body.length + 4, 1);
    c.socket.write(Buffer.concat([head, body]));
    // expected: 'V' len 9, Int32 1, "5"; then ReadyForQuery 'I'
    const expected = Buffer.from("56" + "00000009" + "00000001" + "35" + "5a0000000549", "hex");
    for (let i = 0; i < 100 && !Buffer.concat(raw).equals(expected); i++) await new Promise((r) => setTimeout(r, 20));
    expect(Buffer.concat(raw).toString("hex")).toBe(expected.toString("hex"));
    c.socket.destroy();
  });

  it("streams messages larger than one TCP chunk both ways (5 MB parameter and result)", async () => {
    const c = await RawClient.startup(gw.port);
    const big = "x".repeat(5 * 1024 * 1024);
    c.send(
      serialize.parse({ text: "SELECT length($1::text) AS n, $1::text AS echo" }),
      serialize.bind({ values: [big] }),
      serialize.execute({}),
      serialize.sync(),
    );
    const msgs = await c.untilReady();
    const row = msgs.find((m) => m.name === "dataRow") as unknown as { fields: string[] };
    expect(row.fields[0]).toBe(String(big.length));
    expect(row.fields[1] === big).toBe(true);
    c.end();
  });

  it("reassembles a batch sent one byte per write", async () => {
    const c = await RawClient.startup(gw.port);
    const bytes = Buffer.concat([
      serialize.parse({ text: "SELECT 'abc' AS t" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
      serialize.query("SELECT 2 AS two"),
    ]);
    c.socket.setNoDelay(true);
    for (let i = 0; i < bytes.length; i++) {
      c.socket.write(bytes.subarray(i, i + 1));
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    const msgs = await c.untilReady(2);
    expect(names(msgs)).toEqual([
      "parseComplete",
      "bindComplete",
      "dataRow",
      "commandComplete",
      "readyForQuery",
      "rowDescription",
      "dataRow",
      "commandComplete",
      "readyForQuery",
    ]);
    c.end();
  });
});

// Every relayed command, sent by a hand-written client through the gateway to the real MariaDB, with and without
// CLIENT_DEPRECATE_EOF: COM_PING, COM_INIT_DB, COM_STMT_PREPARE / SEND_LONG_DATA / EXECUTE / RESET / CLOSE,
// COM_STATISTICS, COM_FIELD_LIST, COM_RESET_CONNECTION, COM_SET_OPTION refusal, pipelined commands answered in
// order, COM_QUIT. The session context is checked after each state change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlGateway, MysqlSessionContext } from "../../proxy/mysql/index.js";
import { createDatabase, direct, dropDatabase, startGateway } from "./gateway-harness.js";
import { packet } from "./mock-server.js";
import { RawClient } from "./raw-client.js";

let gw: MysqlGateway;
let db: string;
const sessions: MysqlSessionContext[] = [];

beforeAll(async () => {
  db = await createDatabase("smg_mysql_cmd");
  const d = await direct(db);
  await d.query("CREATE TABLE t_fields (id INT, name VARCHAR(10))");
  await d.end();
  gw = await startGateway({
    // this test reads the session context JavaScript keeps per command (the native relay keeps none)
    nativeRelay: false,
    hooks: (ctx) => {
      sessions.push(ctx);
      return undefined;
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await dropDatabase(db);
});

const cmd = (code: number, ...body: Buffer[]) => packet(Buffer.concat([Buffer.from([code]), ...body]), 0);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

for (const deprecateEof of [false, true]) {
  describe(`commands through the gateway (DEPRECATE_EOF ${deprecateEof ? "on" : "off"})`, () => {
    it("relays every supported command and keeps the session context current", async () => {
      const c = await RawClient.connect(gw.address().port);
      const ok = await c.loginNative("root", db, deprecateEof);
      expect(ok.payload[0]).toBe(0x00);
      const ctx = sessions[sessions.length - 1];
      expect(ctx.database).toBe(db);
      expect(ctx.deprecateEof).toBe(deprecateEof);

      c.write(cmd(0x0e));
      expect((await c.readResponse(deprecateEof))[0].payload[0]).toBe(0x00);

      c.write(cmd(0x02, Buffer.from("information_schema")));
      expect((await c.readResponse(deprecateEof))[0].payload[0]).toBe(0x00);
      expect(ctx.database).toBe("information_schema");
      c.write(cmd(0x02, Buffer.from(db)));
      await c.readResponse(deprecateEof);

      // prepare: OK + 2 param defs (+EOF) + 2 column defs (+EOF)
      c.write(cmd(0x16, Buffer.from("SELECT CONCAT(?, '') AS a, ? + 1 AS b")));
      const prepOk = await c.read();
      expect(prepOk?.payload[0]).toBe(0x00);
      const stmtId = prepOk!.payload.readUInt32LE(1);
      expect(prepOk!.payload.readUInt16LE(5)).toBe(2);
      expect(prepOk!.payload.readUInt16LE(7)).toBe(2);
      for (let i = 0; i < (deprecateEof ? 4 : 6); i++) await c.read();
      const stmt = ctx.statements.get(stmtId);
      expect(stmt?.paramCount).toBe(2);
      expect(stmt?.columns.map((col) => col.name)).toEqual(["a", "b"]);

      // long data for parameter 0 in two pieces, then execute with only parameter 1 inline
      c.write(cmd(0x18, u32(stmtId), u16(0), Buffer.from("hello ")));
      c.write(cmd(0x18, u32(stmtId), u16(0), Buffer.from("world")));
      const longlong = Buffer.alloc(8);
      longlong.writeBigInt64LE(41n);
      c.write(
        cmd(0x17, u32(stmtId), Buffer.from([0]), u32(1), Buffer.from([0x00, 0x01]), u16(0xfd), u16(0x08), longlong),
      );
      const res = await c.readResponse(deprecateEof);
      const row = res.find((p, i) => i > 2 && p.payload[0] === 0x00 && p.payload.includes(Buffer.from("hello world")));
      expect(row).toBeDefined();
      expect(stmt?.paramTypes?.map((t) => t.type)).toEqual([0xfd, 0x08]);
      expect(stmt?.longData.size).toBe(0);

      c.write(cmd(0x1a, u32(stmtId)));
      expect((await c.readResponse(deprecateEof))[0].payload[0]).toBe(0x00);
      c.write(cmd(0x19, u32(stmtId))); // no response
      c.write(cmd(0x17, u32(stmtId), Buffer.from([0]), u32(1)));
      const unknown = (await c.readResponse(deprecateEof))[0].payload;
      expect(ctx.statements.has(stmtId)).toBe(false);
      expect(unknown[0]).toBe(0xff);
      expect(unknown.readUInt16LE(1)).toBe(1243); // ER_UNKNOWN_STMT_HANDLER from the server

      c.write(cmd(0x09));
      expect((await c.read())?.payload.toString()).toMatch(/^Uptime: \d+/);

      c.write(cmd(0x04, Buffer.from("t_fields\0")));
      const fields: Buffer[] = [];
      for (;;) {
        const p = (await c.read())!.payload;
        if (p[0] === 0xfe || p[0] === 0xff) break;
        fields.push(p);
      }
      expect(fields).toHaveLength(2);

      c.write(cmd(0x16, Buffer.from("SELECT 1")));
      const p2 = await c.readResponse(deprecateEof);
      void p2;
      for (let i = 0; i < (deprecateEof ? 1 : 2); i++) await c.read();
      expect(ctx.statements.size).toBe(1);
      c.write(cmd(0x1f));
      expect((await c.readResponse(deprecateEof))[0].payload[0]).toBe(0x00);
      expect(ctx.statements.size).toBe(0);

      // pipelined: PING, refused SET_OPTION(multi-statements on), PING — answers arrive in order
      c.write(Buffer.concat([cmd(0x0e), cmd(0x1b, u16(0)), cmd(0x0e)]));
      const a1 = await c.read();
      const a2 = await c.read();
      const a3 = await c.read();
      expect([a1?.payload[0], a2?.payload[0], a3?.payload[0]]).toEqual([0x00, 0xff, 0x00]);
      expect(a2!.payload.readUInt16LE(1)).toBe(1148);

      // read-only cursor: COM_STMT_EXECUTE answers with the columns only, rows come with COM_STMT_FETCH
      c.write(cmd(0x16, Buffer.from("SELECT seq FROM seq_1_to_5")));
      const cur = await c.read();
      const curId = cur!.payload.readUInt32LE(1);
      for (let i = 0; i < (deprecateEof ? 1 : 2); i++) await c.read();
      c.write(cmd(0x17, u32(curId), Buffer.from([0x01]), u32(1)));
      const header: number[] = [];
      for (;;) {
        const p = (await c.read())!.payload;
        header.push(p[0]);
        if (p[0] === 0xfe || p[0] === 0xff) break;
      }
      expect(header[0]).toBe(1); // one column
      let fetched = 0;
      for (let round = 0; round < 3; round++) {
        c.write(cmd(0x1c, u32(curId), u32(2)));
        for (;;) {
          const p = (await c.read())!.payload;
          if (p[0] === 0xfe || p[0] === 0xff) break;
          fetched++;
        }
      }
      expect(fetched).toBe(5);
      c.write(cmd(0x0e));
      expect((await c.read())?.payload[0]).toBe(0x00);

      c.write(cmd(0x01));
      expect(await c.read(2000)).toBeUndefined();
      expect(c.closed).toBe(true);
    });
  });
}

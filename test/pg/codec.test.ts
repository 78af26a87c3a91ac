// Message codecs checked against an independent implementation: node-postgres' pg-protocol.
// Frontend: our encoders must produce the same bytes as pg-protocol's serializer, and our decoders must
// read its output back. Backend: pg-protocol's Parser must read what our encoders write.
import { serialize } from "pg-protocol";
import type { BackendMessage } from "pg-protocol/dist/messages.js";
import { Parser } from "pg-protocol/dist/parser.js";
import { describe, expect, it } from "vitest";
import * as be from "../../proxy/pg/backend-messages.js";
import { PgProtocolError } from "../../proxy/pg/errors.js";
import * as fe from "../../proxy/pg/frontend-messages.js";
import { B } from "../../proxy/pg/message-types.js";

function parseBackend(buf: Buffer): BackendMessage[] {
  const out: BackendMessage[] = [];
  new Parser().parse(buf, (m) => out.push(m));
  return out;
}

describe("frontend codec vs pg-protocol serialize", () => {
  it("encodes byte-identically", () => {
    const pairs: [string, Buffer, Buffer][] = [
      ["encodeQuery", fe.encodeQuery("SELECT 'é' AS x"), serialize.query("SELECT 'é' AS x")],
      [
        "encodeParse",
        fe.encodeParse({ name: "s1", sql: "SELECT $1, $2", paramTypes: [23, 25] }),
        serialize.parse({ name: "s1", text: "SELECT $1, $2", types: [23, 25] }),
      ],
      ["encodeDescribe", fe.encodeDescribe({ target: "S", name: "s1" }), serialize.describe({ type: "S", name: "s1" })],
      ["encodeClose", fe.encodeClose({ target: "P", name: "p" }), serialize.close({ type: "P", name: "p" })],
      ["encodeExecute", fe.encodeExecute({ portal: "p", maxRows: 7 }), serialize.execute({ portal: "p", rows: 7 })],
      ["encodeSync", fe.encodeSync(), serialize.sync()],
      ["encodeFlush", fe.encodeFlush(), serialize.flush()],
      ["encodeTerminate", fe.encodeTerminate(), serialize.end()],
      ["encodeCopyData", fe.encodeCopyData(Buffer.from([0, 1, 255])), serialize.copyData(Buffer.from([0, 1, 255]))],
      ["encodeCopyDone", fe.encodeCopyDone(), serialize.copyDone()],
      ["encodeCopyFail", fe.encodeCopyFail("stop"), serialize.copyFail("stop")],
      ["encodeCancelRequest", fe.encodeCancelRequest(1234, -5), serialize.cancel(1234, -5)],
      ["encodeSSLRequest", fe.encodeSSLRequest(), serialize.requestSsl()],
      [
        "encodeStartup",
        fe.encodeStartup({
          user: "u",
          database: "d",
          client_encoding: "UTF8",
        }) /* pg-protocol appends client_encoding */,
        serialize.startup({ user: "u", database: "d" }),
      ],
    ];
    for (const [name, ours, theirs] of pairs) expect(ours.toString("hex"), name).toBe(theirs.toString("hex"));
  });

  it("decodes pg-protocol's messages", () => {
    const bind = serialize.bind({ portal: "p", statement: "s", values: ["a", null, Buffer.from([0, 255])] });
    const b = fe.decodeBind(bind, 0, bind.length);
    expect(b.portal).toBe("p");
    expect(b.statement).toBe("s");
    expect(b.params.map((v) => (v === null ? null : v.toString("hex")))).toEqual(["61", null, "00ff"]);
    // re-encoding gives the same bytes
    expect(fe.encodeBind(b).equals(bind)).toBe(true);
    const parse = serialize.parse({ name: "n", text: "SELECT 1", types: [20] });
    expect(fe.decodeParse(parse, 0, parse.length)).toEqual({ name: "n", sql: "SELECT 1", paramTypes: [20] });
    const exec = serialize.execute({ portal: "x", rows: 3 });
    expect(fe.decodeExecute(exec, 0, exec.length)).toEqual({ portal: "x", maxRows: 3 });
    const q = serialize.query("SELECT 1");
    expect(fe.decodeQuery(q, 0, q.length)).toBe("SELECT 1");
    const d = serialize.describe({ type: "P", name: "" });
    expect(fe.decodeDescribe(d, 0, d.length)).toEqual({ target: "P", name: "" });
    const st = serialize.startup({ user: "alice", database: "db", application_name: "app" });
    const sp = fe.decodeStartupPacket(st);
    expect(sp.kind).toBe("startup");
    if (sp.kind === "startup")
      expect(Object.fromEntries(sp.params)).toMatchObject({ user: "alice", database: "db", application_name: "app" });
    expect(fe.decodeStartupPacket(serialize.cancel(77, 88))).toEqual({ kind: "cancel", pid: 77, secret: 88 });
    expect(fe.decodeStartupPacket(serialize.requestSsl())).toEqual({ kind: "ssl" });
  });

  it("rejects malformed frontend messages with 08P01", () => {
    const q = serialize.query("SELECT 1");
    const noNul = Buffer.from(q.subarray(0, q.length - 1));
    noNul.writeUInt32BE(noNul.length - 1, 1);
    expect(() => fe.decodeQuery(noNul, 0, noNul.length)).toThrow(PgProtocolError);
    const bind = serialize.bind({ values: ["abc"] });
    const truncated = bind.subarray(0, bind.length - 3);
    expect(() => fe.decodeBind(truncated, 0, truncated.length)).toThrow(/truncated Bind/);
    const startupNoUser = fe.encodeStartup({ database: "d" });
    expect(() => fe.decodeStartupPacket(startupNoUser)).toThrow(/no PostgreSQL user name/);
  });
});

describe("backend codec vs pg-protocol Parser", () => {
  it("writes messages pg-protocol reads back", () => {
    const fields: be.FieldDescription[] = [
      { name: "id", tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
      { name: "名前", tableOid: 16384, columnAttr: 2, typeOid: 25, typeSize: -1, typeModifier: -1, format: 1 },
    ];
    const stream = Buffer.concat([
      be.encodeAuthentication(0),
      be.encodeAuthenticationSASL(["SCRAM-SHA-256"]),
      be.encodeBackendKeyData(42, -7),
      be.encodeParameterStatus("client_encoding", "UTF8"),
      be.encodeRowDescription(fields),
      be.encodeDataRow([Buffer.from("1"), null]),
      be.encodeCommandComplete("SELECT 1"),
      be.encodeParameterDescription([23, 25]),
      be.encodeErrorResponse("ERROR", "42501", "permission denied", { D: "detail" }),
      be.encodeNotification({ pid: 9, channel: "ch", payload: "p" }),
      be.encodeCopyResponse(B.CopyInResponse, { format: 0, columnFormats: [0, 0] }),
      be.encodeEmpty(B.PortalSuspended),
      be.encodeEmpty(B.NoData),
      be.encodeReadyForQuery("T"),
    ]);
    const m = parseBackend(stream) as unknown as Record<string, unknown>[];
    expect(m.map((x) => x.name)).toEqual([
      "authenticationOk",
      "authenticationSASL",
      "backendKeyData",
      "parameterStatus",
      "rowDescription",
      "dataRow",
      "commandComplete",
      "parameterDescription",
      "error",
      "notification",
      "copyInResponse",
      "portalSuspended",
      "noData",
      "readyForQuery",
    ]);
    expect(m[1].mechanisms).toEqual(["SCRAM-SHA-256"]);
    expect(m[2]).toMatchObject({ processID: 42, secretKey: -7 });
    expect(m[3]).toMatchObject({ parameterName: "client_encoding", parameterValue: "UTF8" });
    expect(
      (m[4].fields as { name: string; dataTypeID: number; format: string }[]).map((f) => [
        f.name,
        f.dataTypeID,
        f.format,
      ]),
    ).toEqual([
      ["id", 23, "text"],
      ["名前", 25, "binary"],
    ]);
    expect(m[5].fields).toEqual(["1", null]);
    expect(m[6].text).toBe("SELECT 1");
    expect(m[7].dataTypeIDs).toEqual([23, 25]);
    expect(m[8]).toMatchObject({ severity: "ERROR", code: "42501", message: "permission denied", detail: "detail" });
    expect(m[9]).toMatchObject({ processId: 9, channel: "ch", payload: "p" });
    expect(m[13].status).toBe("T");
  });

  it("decodes what it encodes (row descriptions, data rows, errors)", () => {
    const rd = be.encodeRowDescription([
      { name: "a", tableOid: 1, columnAttr: 2, typeOid: 3, typeSize: -1, typeModifier: 5, format: 1 },
    ]);
    expect(be.decodeRowDescription(rd, 0, rd.length)[0]).toMatchObject({
      name: "a",
      typeOid: 3,
      typeModifier: 5,
      format: 1,
    });
    const dr = be.encodeDataRow([Buffer.from([0, 255]), null, Buffer.alloc(0)]);
    expect(be.decodeDataRow(dr, 0, dr.length).map((v) => (v === null ? null : v.toString("hex")))).toEqual([
      "00ff",
      null,
      "",
    ]);
    const er = be.encodeErrorResponse("FATAL", "08P01", "bad");
    expect(be.decodeErrorFields(er, 0, er.length)).toMatchObject({ S: "FATAL", C: "08P01", M: "bad" });
  });

  it("reads SASL mechanism lists, and refuses to treat other code-10 bodies as one", () => {
    expect(be.decodeSaslMechanisms(Buffer.from("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))).toEqual([
      "SCRAM-SHA-256-PLUS",
      "SCRAM-SHA-256",
    ]);
    // openGauss AUTH_REQ_SHA256 (also code 10): Int32 method + binary salt — not a name list
    expect(be.decodeSaslMechanisms(Buffer.from([0, 0, 0, 2, 0x8f, 0x11, 0x00, 0x41]))).toBeNull();
    expect(be.decodeSaslMechanisms(Buffer.from("SCRAM-SHA-256\0"))).toBeNull();
  });
});

// Hooked sessions may read the client's bytes into a REUSED buffer (socket-fast-path.ts readIntoBuffer): that is
// only safe if nothing — framer, frontend half, session context, the encryption layer's hooks or the metrics
// observer — keeps a view of a client chunk after the chunk was processed and its output written. This drives
// every message the hooks look at (simple Query, Parse, Describe, Bind with text and binary parameters, Execute,
// Close, Sync) through the production hook stack, each chunk read into one reused buffer, and after every chunk
// (1) searches everything the session keeps for a view of that buffer's memory and (2) overwrites the buffer;
// the statements keep working and their parameters are still encrypted from what the client sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeSessions } from "../../proxy/metrics-hooks.js";
import { BackendHalf, type BackendOwner } from "../../proxy/pg/backend-half.js";
import {
  encodeCommandComplete,
  encodeEmpty,
  encodeParameterDescription,
  encodeReadyForQuery,
} from "../../proxy/pg/backend-messages.js";
import { FrontendHalf, type FrontendOwner } from "../../proxy/pg/frontend-half.js";
import {
  decodeBind,
  decodeQuery,
  encodeBind,
  encodeClose,
  encodeDescribe,
  encodeExecute,
  encodeParse,
  encodeQuery,
  encodeSync,
} from "../../proxy/pg/frontend-messages.js";
import type { SessionHooks } from "../../proxy/pg/hooks.js";
import { B, F } from "../../proxy/pg/message-types.js";
import type { Output } from "../../proxy/pg/output.js";
import { SessionContext } from "../../proxy/pg/session-context.js";
import { type EncryptedGateway, startEncryptedGateway } from "./encrypt-fixture.js";

const POLICY = `
version: 1
tables:
  public.ins:
    columns:
      note:   { protect: encrypt, key: k }
      mobile: { protect: fpe, format: cn-mobile, key: k }
access:
  - name: all
    match: {}
    plaintext: ["public.ins.*"]
`;

/** Output stand-in: what a flush writes is copied (the socket takes the bytes at that moment). */
class CapturedOutput {
  parts: Buffer[] = [];
  written: Buffer[] = [];
  add(b: Buffer): void {
    this.parts.push(b);
  }
  flush(): boolean {
    for (const p of this.parts) this.written.push(Buffer.from(p));
    this.parts = [];
    return true;
  }
  get pending(): number {
    return this.parts.length;
  }
  get queued(): boolean {
    return false;
  }
}

/** Every typed-array view reachable from `roots` whose memory is `memory` (own properties, Maps, Sets, arrays). */
function viewsInto(memory: ArrayBufferLike, roots: unknown[]): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, path: string, depth: number) => {
    if (v === null || (typeof v !== "object" && typeof v !== "function") || seen.has(v) || depth > 40) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer === memory) found.push(path);
      return;
    }
    if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k, `${path}.key`, depth + 1);
        visit(x, `${path}[${String(k)}]`, depth + 1);
      }
      return;
    }
    if (v instanceof Set) {
      for (const x of v) visit(x, `${path}.item`, depth + 1);
      return;
    }
    if (typeof v === "function") return;
    for (const k of Reflect.ownKeys(v as object)) {
      let x: unknown;
      try {
        x = (v as Record<string | symbol, unknown>)[k];
      } catch {
        continue;
      }
      visit(x, `${path}.${String(k)}`, depth + 1);
    }
  };
  for (let i = 0; i < roots.length; i++) visit(roots[i], `root${i}`, 0);
  return found;
}

describe("hooked sessions keep no view of a client chunk", () => {
  let g: EncryptedGateway;
  beforeAll(async () => {
    g = await startEncryptedGateway({
      tag: "chunkreuse",
      schemaSql: "CREATE TABLE ins (id serial PRIMARY KEY, note text, mobile text)",
      policyYaml: POLICY,
      keys: ["k"],
    });
  }, 60_000);
  afterAll(async () => {
    await g?.stop();
  });

  it("after every chunk nothing refers to the read buffer, and overwriting it changes nothing", () => {
    const ctx = new SessionContext(1, "127.0.0.1:40000");
    ctx.user = "postgres";
    ctx.database = g.db;
    let inner: SessionHooks | undefined;
    const hooks = observeSessions(
      (c) => {
        inner = g.enc.hooks(c);
        return inner;
      },
      { metrics: g.metrics },
    )(ctx);
    const owner: FrontendOwner & BackendOwner = {
      ctx,
      hooks,
      outstanding: 0,
      clientTerminated: false,
      onServerOutputFlushed: () => {},
      onClientOutputFlushed: () => {},
      drainSynthetic: () => {},
      onBackendKey: () => Buffer.alloc(0),
      onAuthenticated: () => {},
      onReady: () => {},
      onStartupError: () => {},
      onServerFatal: () => {},
    };
    const toServer = new CapturedOutput();
    const toClient = new CapturedOutput();
    const front = new FrontendHalf(owner, toServer as unknown as Output, 1 << 20);
    const back = new BackendHalf(owner, toClient as unknown as Output, 1 << 20);
    back.framer.push(encodeReadyForQuery("I")); // startup is over
    hooks!.onSessionReady?.(ctx);

    // one read buffer, reused for every chunk (its own memory: not Node's shared pool)
    const readBuf = Buffer.alloc(64 * 1024);
    const roots = () => [front, back, ctx, hooks, inner];
    const client = (...msgs: Buffer[]) => {
      const sentBefore = toServer.written.length;
      const n = msgs.reduce((a, m) => a + m.length, 0);
      let pos = 0;
      for (const m of msgs) pos += m.copy(readBuf, pos);
      front.framer.push(readBuf.subarray(0, n));
      expect(viewsInto(readBuf.buffer, roots())).toEqual([]);
      readBuf.fill(0xee);
      return toServer.written.slice(sentBefore);
    };
    const server = (...msgs: Buffer[]) => back.framer.push(Buffer.concat(msgs));
    const bindsIn = (out: Buffer[]) => splitMessages(Buffer.concat(out)).filter((m) => m[0] === F.Bind);

    // simple query: literals encrypted
    const q = splitMessages(
      Buffer.concat(client(encodeQuery("insert into ins (note, mobile) values ('n0', '13800000000')"))),
    );
    expect(q).toHaveLength(1);
    const rewritten = decodeQuery(q[0], 0, q[0].length);
    expect(rewritten).not.toContain("'n0'");
    expect(rewritten).toContain("smg1:");
    server(encodeCommandComplete("INSERT 0 1"), encodeReadyForQuery("I"));

    // Parse + Describe S + Sync
    const SQL = "insert into ins (note, mobile) values ($1, $2)";
    client(
      encodeParse({ name: "s1", sql: SQL, paramTypes: [] }),
      encodeDescribe({ target: "S", name: "s1" }),
      encodeSync(),
    );
    server(
      encodeEmpty(B.ParseComplete),
      encodeParameterDescription([25, 25]),
      encodeEmpty(B.NoData),
      encodeReadyForQuery("I"),
    );
    expect(ctx.statements.get("s1")?.sql).toBe(SQL);

    // Bind (text, then binary parameters) + Describe P + Execute + Sync, several times
    for (let i = 1; i <= 6; i++) {
      const binary = i % 2 === 0;
      const note = Buffer.from(`note ${i}`);
      const mobile = Buffer.from(String(13800000000 + i));
      const out = client(
        encodeBind({
          portal: "",
          statement: "s1",
          paramFormats: binary ? [1] : [],
          params: [note, mobile],
          resultFormats: [],
        }),
        encodeDescribe({ target: "P", name: "" }),
        encodeExecute({ portal: "", maxRows: 0 }),
        encodeSync(),
      );
      const binds = bindsIn(out);
      expect(binds).toHaveLength(1);
      const b = decodeBind(binds[0], 0, binds[0].length);
      expect(b.statement).toBe("s1");
      expect(b.paramFormats).toEqual([0, 0]);
      expect(b.params[0]?.toString()).toMatch(/^smg1:/);
      expect(b.params[1]?.toString()).toMatch(/^138\d{8}$/);
      expect(b.params[1]?.toString()).not.toBe(mobile.toString());
      server(
        encodeEmpty(B.BindComplete),
        encodeEmpty(B.NoData),
        encodeCommandComplete("INSERT 0 1"),
        encodeReadyForQuery("I"),
      );
      expect(ctx.pipeline).toHaveLength(0);
    }

    // Close + Sync
    client(encodeClose({ target: "S", name: "s1" }), encodeSync());
    server(encodeEmpty(B.CloseComplete), encodeReadyForQuery("I"));
    expect(ctx.statements.has("s1")).toBe(false);
    expect(ctx.pipeline).toHaveLength(0);
  });
});

/** Whole messages of a frontend byte stream (copies). */
function splitMessages(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos + 1);
    out.push(Buffer.from(buf.subarray(pos, pos + 1 + len)));
    pos += 1 + len;
  }
  return out;
}

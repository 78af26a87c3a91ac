// Measurement script (not a test): CPU per encrypted prepared INSERT in smgate's JavaScript hooked path, without
// sockets — what pgbench -M prepared sends per transaction (Bind + Describe P + Execute + Sync, one chunk) through
// the frontend half, the session observer and the encryption hooks (RND envelope + FPE cn-mobile), and the
// server's answer (BindComplete, NoData, CommandComplete, ReadyForQuery) through the backend half. Deterministic
// where the end-to-end bench (bench/scenarios/pg-encrypted.ts) is at the mercy of the shared machine; socket I/O,
// 'data' events and kernel time are not in it. Run:
//   npx tsc -p test/pg-encrypt/tsconfig.measure.json && node /tmp/smg-measure/test/pg-encrypt/measure-insert-path.js
import { observeSessions } from "../../proxy/metrics-hooks.js";
import { BackendHalf, type BackendOwner } from "../../proxy/pg/backend-half.js";
import { encodeCommandComplete, encodeEmpty, encodeReadyForQuery } from "../../proxy/pg/backend-messages.js";
import { FrontendHalf, type FrontendOwner } from "../../proxy/pg/frontend-half.js";
import {
  encodeBind,
  encodeDescribe,
  encodeExecute,
  encodeParse,
  encodeSync,
} from "../../proxy/pg/frontend-messages.js";
import { B } from "../../proxy/pg/message-types.js";
import type { Output } from "../../proxy/pg/output.js";
import { SessionContext } from "../../proxy/pg/session-context.js";
import { startEncryptedGateway } from "./encrypt-fixture.js";

const N = Number(process.env.N ?? 200_000);
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

/** Output stand-in: counts what a flush would write. */
class CountingOutput {
  private parts: Buffer[] = [];
  bytes = 0;
  add(b: Buffer): void {
    this.parts.push(b);
  }
  flush(): boolean {
    for (const p of this.parts) this.bytes += p.length;
    this.parts.length = 0;
    return true;
  }
  get pending(): number {
    return this.parts.length;
  }
  get queued(): boolean {
    return false;
  }
}

async function main() {
  const g = await startEncryptedGateway({
    tag: "measins",
    schemaSql: "CREATE TABLE ins (id bigserial PRIMARY KEY, note text NOT NULL, mobile text NOT NULL)",
    policyYaml: POLICY,
    keys: ["k"],
  });
  try {
    const ctx = new SessionContext(1, "127.0.0.1:40000");
    ctx.user = "postgres";
    ctx.database = g.db;
    const hooks = observeSessions(g.enc.hooks, { metrics: g.metrics })(ctx)!;
    await hooks.ready;
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
    const toServer = new CountingOutput();
    const front = new FrontendHalf(owner, toServer as unknown as Output, 1 << 30);
    const back = new BackendHalf(owner, new CountingOutput() as unknown as Output, 1 << 30);
    back.framer.push(encodeReadyForQuery("I"));
    hooks.onSessionReady?.(ctx);
    const sql = "insert into ins (note, mobile) values ($1, $2)";
    front.framer.push(Buffer.concat([encodeParse({ name: "P0_1", sql, paramTypes: [] }), encodeSync()]));
    back.framer.push(Buffer.concat([encodeEmpty(B.ParseComplete), encodeReadyForQuery("I")]));
    const note = Buffer.from("patient diagnosis note for the insert benchmark");
    const chunks = Array.from({ length: 1000 }, (_, i) =>
      Buffer.concat([
        encodeBind({
          portal: "",
          statement: "P0_1",
          paramFormats: [],
          params: [note, Buffer.from(String(13800000000 + i * 99991))],
          resultFormats: [],
        }),
        encodeDescribe({ target: "P", name: "" }),
        encodeExecute({ portal: "", maxRows: 0 }),
        encodeSync(),
      ]),
    );
    const reply = Buffer.concat([
      encodeEmpty(B.BindComplete),
      encodeEmpty(B.NoData),
      encodeCommandComplete("INSERT 0 1"),
      encodeReadyForQuery("I"),
    ]);
    const read = Buffer.alloc(64 * 1024);
    const tx = (i: number) => {
      const c = chunks[i % chunks.length];
      c.copy(read); // like a socket read into a reused buffer
      front.framer.push(read.subarray(0, c.length));
      back.framer.push(reply);
    };
    for (let i = 0; i < 20_000; i++) tx(i); // warm-up (JIT)
    if (ctx.pipeline.length !== 0) throw new Error(`pipeline not drained: ${ctx.pipeline.length}`);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) tx(i);
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `${N} encrypted prepared INSERTs through the hooked path: ${((cpu.user + cpu.system) / N).toFixed(2)} µs CPU/insert, ` +
        `${(ns / 1000 / N).toFixed(2)} µs wall/insert, ${(toServer.bytes / (N + 20_001)).toFixed(0)} bytes/insert to the server`,
    );
  } finally {
    await g.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Measurement script (not a test): CPU per encrypted prepared INSERT in smgate's MySQL JavaScript hooked path,
// without sockets — what sysbench's prepared INSERT sends per event (one COM_STMT_EXECUTE: INT id, VARCHAR name
// → RND envelope, VARCHAR phone → FPE cn-mobile, INT amount; types bound on the first execute only) through the
// client framer, the frontend half, the session observer and the encryption hooks, and the server's OK through
// the server framer and the backend half (with the backend-latency histogram the gateway installs). Deterministic
// where the end-to-end bench (bench/scenarios/mysql-encrypted.ts) is at the mercy of the shared machine; socket
// I/O, 'data' events and kernel time are not in it. Run:
//   npx tsc -p test/mysql-encrypt/tsconfig.measure-insert.json && ln -sfn "$PWD/node_modules" /tmp/smg-measure-mysql-ins/ &&
//   node /tmp/smg-measure-mysql-ins/test/mysql-encrypt/measure-insert-path.js
import pino from "pino";
import { observeMysqlSessions } from "../../proxy/metrics-hooks-mysql.js";
import { BackendHalf } from "../../proxy/mysql/backend-half.js";
import { Cap, ColType, Com } from "../../proxy/mysql/constants.js";
import { PacketFramer } from "../../proxy/mysql/framer.js";
import { FrontendHalf } from "../../proxy/mysql/frontend-half.js";
import type { PreparingStatement } from "../../proxy/mysql/hooks.js";
import type { ConnectionRegistry } from "../../proxy/mysql/kill.js";
import { framePacket, okPayload } from "../../proxy/mysql/packets.js";
import type { PendingResponse } from "../../proxy/mysql/pending.js";
import { MysqlSessionContext } from "../../proxy/mysql/session-context.js";
import type { SessionCore } from "../../proxy/mysql/session-core.js";
import { PayloadWriter } from "../../proxy/mysql/wire.js";
import { startEncryptedMysql } from "./encrypt-fixture.js";

const N = Number(process.env.N ?? 100_000);
const POLICY = `
version: 1
tables:
  $DB.ins:
    columns:
      name:  { protect: encrypt, key: k }
      phone: { protect: fpe, format: cn-mobile, key: k }
access:
  - name: all
    match: {}
    plaintext: ["$DB.ins.*"]
`;
const SQL = "INSERT INTO ins (id, name, phone, amount) VALUES (?, ?, ?, ?)";

/** COM_STMT_EXECUTE of statement 1 for row `id` (types sent when `bind`), framed with sequence id 0. */
function execute(id: number, bind: boolean): Buffer {
  const w = new PayloadWriter(96);
  w.u8(Com.STMT_EXECUTE)
    .u32(1)
    .u8(0)
    .u32(1)
    .u8(0)
    .u8(bind ? 1 : 0);
  if (bind) w.u16(ColType.LONG).u16(ColType.VAR_STRING).u16(ColType.VAR_STRING).u16(ColType.LONG);
  w.u32(id)
    .lenencString(`patient name ${id}`)
    .lenencString(`138${String(id).padStart(8, "0")}`)
    .u32(id);
  return framePacket(w.finish(), 0).bytes;
}

async function main() {
  const g = await startEncryptedMysql({
    tag: "measins",
    schemaSql: "CREATE TABLE ins (id INT PRIMARY KEY, name VARCHAR(300), phone VARCHAR(11), amount INT)",
    policyYaml: POLICY,
    keys: ["k"],
  });
  try {
    const ctx = new MysqlSessionContext(1, "127.0.0.1");
    ctx.user = "root";
    ctx.database = g.db;
    ctx.capabilities = Cap.PROTOCOL_41 | Cap.DEPRECATE_EOF;
    const hooks = observeMysqlSessions(g.enc.hooks, { metrics: g.metrics })(ctx);
    if (!hooks) throw new Error("no hooks");
    await hooks.ready;
    const preparing: PreparingStatement = { sql: SQL };
    const prep = hooks.onPrepare?.(ctx, preparing);
    if (prep && "error" in prep) throw new Error(`prepare refused: ${prep.error.message}`);
    ctx.statements.set(1, {
      id: 1,
      sql: prep?.sql ?? SQL,
      originalSql: SQL,
      paramCount: 4,
      params: [],
      columns: [],
      paramTypes: undefined,
      longData: new Set(),
      plan: preparing.plan,
    });
    let toServer = 0;
    let toClient = 0;
    const core = {
      ctx,
      hooks,
      pending: [] as PendingResponse[],
      log: pino({ level: "silent" }),
      registry: {} as ConnectionRegistry,
      allowLocalInfile: false,
      allowMultiStatements: false,
      observeBackendSeconds: (s: number) => g.metrics.backendSeconds.observe({ protocol: "mysql" }, s),
      writeClient: (b: Buffer) => {
        toClient += b.length;
      },
      writeServer: (b: Buffer) => {
        toServer += b.length;
      },
      startInfileRelay() {},
      startChangeUser: () => false,
      authFromServer() {},
      authFromClient() {},
      authInProgress: false,
      answerLocally() {
        throw new Error("a command was refused");
      },
      responseFinished() {},
      draining: false,
      quit() {},
    } satisfies SessionCore;
    const frontend = new FrontendHalf(core);
    const backend = new BackendHalf(core);
    const clientFramer = new PacketFramer(frontend, core.writeServer, 1 << 24);
    const serverFramer = new PacketFramer(backend, core.writeClient, 1 << 24);
    frontend.framer = clientFramer;
    backend.framer = serverFramer;
    const ok = framePacket(okPayload(0x0002, 1), 1).bytes;
    const packets = Array.from({ length: 1000 }, (_, i) => execute(i + 2, false));
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        clientFramer.push(packets[i % packets.length]);
        serverFramer.push(ok);
      }
    };
    clientFramer.push(execute(1, true));
    serverFramer.push(ok);
    run(20_000); // warm-up (JIT)
    const best: number[] = [];
    for (let round = 0; round < 5; round++) {
      const c0 = process.cpuUsage();
      run(N);
      const c = process.cpuUsage(c0);
      best.push((c.user + c.system) / N);
    }
    best.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        n: N,
        cpu_us_per_insert_best: +best[0].toFixed(2),
        cpu_us_per_insert_median: +best[2].toFixed(2),
        bytes_to_server_per_insert: Math.round(toServer / (5 * N + 20_001)),
        bytes_to_client_per_insert: Math.round(toClient / (5 * N + 20_001)),
      }),
    );
  } finally {
    await g.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

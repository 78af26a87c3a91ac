// Measurement script (not a test): rows/s of a decrypting SELECT through smgate — 100,000 rows with one
// randomized (SM4-CTR envelope) and one FPE (digits) column — next to the same SELECT of a plaintext table
// read directly from the server. Run (after a build of this file, see docs/ENCRYPTION-PG.md "Performance"):
//   npx tsc -p test/pg-encrypt/tsconfig.measure.json && node /tmp/smg-measure/test/pg-encrypt/measure-decrypt-select.js
import pg from "pg";
import { adminQuery, PG, startEncryptedGateway, withClient } from "./encrypt-fixture.js";

const ROWS = Number(process.env.ROWS ?? 100_000);
const POLICY = `
version: 1
tables:
  public.t:
    columns:
      a: { protect: encrypt, key: k }
      b: { protect: fpe, format: digits, key: k }
access:
  - name: all
    match: {}
    plaintext: ["public.t.*"]
`;

const raw = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

interface Run {
  rows: number;
  ms: number;
  /** CPU time of this process (client + gateway; the server is another process) */
  cpuMs: number;
}

async function timeSelect(c: pg.Client, sql: string): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await c.query({ text: sql, rowMode: "array", types: raw });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return { rows: r.rowCount ?? 0, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function main() {
  const g = await startEncryptedGateway({
    tag: "measure",
    schemaSql:
      "CREATE TABLE t (id int PRIMARY KEY, a text, b text); CREATE TABLE p (id int PRIMARY KEY, a text, b text)",
    policyYaml: POLICY,
    keys: ["k"],
  });
  try {
    // load through smgate (multi-row literal INSERTs: one statement per 1,000 rows)
    await withClient(g.client(), async (c) => {
      for (let start = 0; start < ROWS; start += 1000) {
        const vals: string[] = [];
        for (let i = start; i < Math.min(ROWS, start + 1000); i++)
          vals.push(`(${i}, 'patient diagnosis text ${i}', '${String(13800000000 + i)}')`);
        await c.query(`INSERT INTO t (id, a, b) VALUES ${vals.join(", ")}`);
      }
    });
    await adminQuery(
      `INSERT INTO p SELECT g, 'patient diagnosis text ' || g, (13800000000 + g)::text FROM generate_series(0, ${ROWS - 1}) g`,
      g.db,
    );
    const results: Record<string, Run[]> = { smgate: [], direct: [] };
    await withClient(g.client(), async (viaGateway) => {
      await withClient(new pg.Client({ ...PG, database: g.db }), async (direct) => {
        for (let run = 0; run < 3; run++) {
          results.smgate.push(await timeSelect(viaGateway, "SELECT id, a, b FROM t"));
          results.direct.push(await timeSelect(direct, "SELECT id, a, b FROM p"));
        }
      });
    });
    const best = (xs: Run[]) => xs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const s = best(results.smgate);
    const d = best(results.direct);
    const rps = (x: { rows: number; ms: number }) => Math.round((x.rows / x.ms) * 1000);
    const minCpu = (xs: Run[]) => Math.min(...xs.map((x) => x.cpuMs));
    // the gateway's own CPU per row: process CPU through smgate minus the same client reading directly
    const gatewayCpuMs = minCpu(results.smgate) - minCpu(results.direct);
    console.log(
      JSON.stringify(
        {
          rows: s.rows,
          smgate_ms: Math.round(s.ms),
          smgate_rows_per_s: rps(s),
          direct_ms: Math.round(d.ms),
          direct_rows_per_s: rps(d),
          ratio: +(rps(s) / rps(d)).toFixed(3),
          gateway_cpu_ms: Math.round(gatewayCpuMs),
          rows_per_gateway_cpu_s: Math.round((s.rows / gatewayCpuMs) * 1000),
          runs: results,
        },
        null,
        1,
      ),
    );
  } finally {
    await g.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Measurement script (not a test): rows/s of a decrypting SELECT through smgate's MySQL gateway — ROWS rows
// (default 50,000) with one randomized (SM4-CTR envelope) and one FPE (digits) column, text and binary
// protocol — next to the same SELECT of a plaintext table read directly from MariaDB. Run:
//   npx tsc -p test/mysql-encrypt/tsconfig.measure.json &&
//   flock /tmp/smgate-bench.lock node /tmp/smg-measure-mysql/test/mysql-encrypt/measure-decrypt-select.js
import mysql from "mysql2/promise";
import { MARIADB, startEncryptedMysql } from "./encrypt-fixture.js";

const ROWS = Number(process.env.ROWS ?? 50_000);
const POLICY = `
version: 1
tables:
  $DB.t:
    columns:
      a: { protect: encrypt, key: k }
      b: { protect: fpe, format: digits, key: k }
access:
  - name: all
    match: {}
    plaintext: ["$DB.t.*"]
`;

interface Run {
  rows: number;
  ms: number;
}

async function timeSelect(c: mysql.Connection, sql: string, binary: boolean): Promise<Run> {
  const t0 = process.hrtime.bigint();
  const [rows] = binary
    ? await c.execute<mysql.RowDataPacket[]>(`${sql} WHERE id >= ?`, [0])
    : await c.query<mysql.RowDataPacket[]>({ sql, rowsAsArray: true });
  return { rows: rows.length, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

async function main() {
  const g = await startEncryptedMysql({
    tag: "measure",
    schemaSql:
      "CREATE TABLE t (id INT PRIMARY KEY, a MEDIUMTEXT, b VARCHAR(20)); CREATE TABLE p (id INT PRIMARY KEY, a MEDIUMTEXT, b VARCHAR(20))",
    policyYaml: POLICY,
    keys: ["k"],
  });
  try {
    const via = await g.client();
    const direct = await mysql.createConnection({ ...MARIADB, database: g.db });
    for (let start = 0; start < ROWS; start += 1000) {
      const vals: string[] = [];
      for (let i = start; i < Math.min(ROWS, start + 1000); i++)
        vals.push(`(${i}, 'patient diagnosis text ${i}', '${String(13800000000 + i)}')`);
      await via.query(`INSERT INTO t (id, a, b) VALUES ${vals.join(", ")}`);
      await direct.query(`INSERT INTO p (id, a, b) VALUES ${vals.join(", ")}`);
    }
    const results: Record<string, Run[]> = { smgate_text: [], direct_text: [], smgate_binary: [], direct_binary: [] };
    for (let run = 0; run < 3; run++) {
      results.smgate_text.push(await timeSelect(via, "SELECT id, a, b FROM t", false));
      results.direct_text.push(await timeSelect(direct, "SELECT id, a, b FROM p", false));
      results.smgate_binary.push(await timeSelect(via, "SELECT id, a, b FROM t", true));
      results.direct_binary.push(await timeSelect(direct, "SELECT id, a, b FROM p", true));
    }
    await via.end();
    await direct.end();
    const best = (xs: Run[]) => xs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const rps = (x: Run) => Math.round((x.rows / x.ms) * 1000);
    const out: Record<string, unknown> = { rows: ROWS };
    for (const p of ["text", "binary"]) {
      const s = best(results[`smgate_${p}`]);
      const d = best(results[`direct_${p}`]);
      out[p] = { smgate_rows_per_s: rps(s), direct_rows_per_s: rps(d), ratio: +(rps(s) / rps(d)).toFixed(3) };
    }
    console.log(JSON.stringify({ ...out, runs: results }, null, 1));
  } finally {
    await g.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

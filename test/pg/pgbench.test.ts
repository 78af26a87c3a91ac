// pgbench through the gateway: -i (client-side COPY) into a fresh database, then -S and -N with the
// simple, extended and prepared protocols, 4 clients, 3 s each; every run must finish with 0 failed
// transactions and the data written through the gateway must be in the server.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  directClient,
  dropTestDatabase,
  startTestGateway,
  type TestGateway,
} from "./gateway-fixture.js";

const run = promisify(execFile);
let gw: TestGateway;
let db: string;

beforeAll(async () => {
  gw = await startTestGateway();
  db = await createTestDatabase("pgbench");
  await run("pgbench", ["-h", "127.0.0.1", "-p", String(gw.port), "-U", "postgres", "-i", "-s", "1", "-q", db]);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  if (db) await dropTestDatabase(db);
});

async function pgbench(args: string[]): Promise<{ tps: number; failed: number; processed: number }> {
  const { stdout } = await run(
    "pgbench",
    ["-h", "127.0.0.1", "-p", String(gw.port), "-U", "postgres", "-c", "4", "-j", "2", "-T", "3", ...args, db],
    {
      maxBuffer: 1 << 24,
    },
  );
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  return {
    tps: num(/tps = ([\d.]+)/),
    failed: num(/number of failed transactions: (\d+)/),
    processed: num(/number of transactions actually processed: (\d+)/),
  };
}

describe("pgbench through smgate", () => {
  it("initialised the database through the gateway (COPY of 100,000 accounts)", async () => {
    const d = directClient(db);
    await d.connect();
    const r = await d.query("SELECT count(*)::int AS n FROM pgbench_accounts");
    await d.end();
    expect(r.rows[0].n).toBe(100000);
  });

  for (const mode of ["simple", "extended", "prepared"]) {
    it(`-S -M ${mode}: 0 failed transactions`, async () => {
      const r = await pgbench(["-S", "-M", mode]);
      expect(r.failed).toBe(0);
      expect(r.processed).toBeGreaterThan(100);
    });
  }

  for (const mode of ["simple", "prepared"]) {
    it(`-N -M ${mode}: 0 failed transactions, history rows written`, async () => {
      const d = directClient(db);
      await d.connect();
      const before = (await d.query("SELECT count(*)::int AS n FROM pgbench_history")).rows[0].n;
      const r = await pgbench(["-n", "-N", "-M", mode]); // -n: no vacuum (which would truncate pgbench_history)
      const after = (await d.query("SELECT count(*)::int AS n FROM pgbench_history")).rows[0].n;
      await d.end();
      expect(r.failed).toBe(0);
      expect(after - before).toBe(r.processed);
    });
  }
});

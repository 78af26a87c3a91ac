// `smgate demo` (what `npm start` runs): an embedded PostgreSQL (PGlite + pglite-socket) needing no setup, a
// sample policy and keystore in a temp folder, smgate in front, sample patients loaded through smgate, then
// what the application sees next to what is stored — and what an analyst and a forbidden query get.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import pg from "pg";
import { AUDIT_KEY_NAME } from "../audit/chain.js";
import { DEMO_POLICY, DEMO_TABLE_SQL, demoPatients } from "../demo/sample.js";
import { initKeyStore } from "../keystore/open.js";
import { loadConfig } from "../policy/config.js";
import { createLogger } from "../proxy/log.js";
import { pgEncryptionFromConfig } from "../proxy/pg/encrypt/from-config.js";
import { startGateway } from "../proxy/server.js";

const raw = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

function table(rows: Record<string, unknown>[], cols: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "NULL" : String(v));
  const width = (s: string) => [...s].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 2 : 1), 0);
  const widths = cols.map((c) => Math.max(width(c), ...rows.map((r) => width(cell(r[c])))));
  const line = (vals: string[]) => vals.map((v, i) => v + " ".repeat(widths[i] - width(v))).join("  ");
  return [line(cols), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))]
    .map((l) => `  ${l}`)
    .join("\n");
}

export async function runDemo(opts: { rows: number; keep: boolean }): Promise<void> {
  const say = (s = "") => process.stdout.write(`${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), "smgate-demo-"));
  say(`smgate demo — working folder ${dir}`);
  say("starting an embedded PostgreSQL (PGlite, first start takes a few seconds) …");
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ dataDir: join(dir, "pgdata") });
  const dbServer = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 16 });
  await dbServer.start();
  const dbPort = portOf(dbServer);
  await db.exec(DEMO_TABLE_SQL);

  const env = { ...process.env, SMGATE_DEMO_MASTER: randomBytes(16).toString("hex"), SMGATE_CATALOG_USER: "postgres" };
  writeFileSync(join(dir, "policy.yaml"), DEMO_POLICY);
  writeFileSync(
    join(dir, "smgate.yaml"),
    `pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:${dbPort} }
keystore: { provider: env, path: ./keystore.json, master_key_env: SMGATE_DEMO_MASTER }
policy: ./policy.yaml
audit: { path: ./audit.log }
`,
  );
  const config = loadConfig(join(dir, "smgate.yaml"));
  const ks = await initKeyStore(config.keystore, { env });
  ks.createKey("patients");
  ks.createKey(AUDIT_KEY_NAME);
  ks.save();
  ks.close();
  say('keystore created (master → KEK → DEK "patients"), policy written:');
  say(
    DEMO_POLICY.split("\n")
      .slice(0, 10)
      .map((l) => `    ${l}`)
      .join("\n"),
  );

  const logger = createLogger({ level: "warn" });
  const saved = process.env;
  process.env = env;
  const enc = await pgEncryptionFromConfig(config, { logger, env });
  process.env = saved;
  const gateway = await startGateway(config, { logger, pgHooks: enc?.hooks });
  const gw = gateway.listeners[0].address();
  say(`smgate listening on 127.0.0.1:${gw.port} in front of PGlite on 127.0.0.1:${dbPort}`);

  const connect = async (app: string) => {
    const c = new pg.Client({
      host: "127.0.0.1",
      port: gw.port,
      user: "postgres",
      database: "postgres",
      application_name: app,
      types: raw,
    });
    await c.connect();
    return c;
  };
  try {
    const app = await connect("his");
    const patients = demoPatients(opts.rows);
    for (const p of patients) {
      await app.query(
        "INSERT INTO patients (id, name, id_card, phone, diagnosis, balance) VALUES ($1, $2, $3, $4, $5, $6)",
        [p.id, p.name, p.id_card, p.phone, p.diagnosis, p.balance],
      );
    }
    say(`\n${patients.length} patients inserted through smgate by the application (application_name=his).`);
    const cols = ["id", "name", "id_card", "phone", "diagnosis", "balance"];
    const seen = await app.query(`SELECT ${cols.join(", ")} FROM patients ORDER BY id LIMIT 5`);
    say("\nWhat the application sees through smgate:");
    say(table(seen.rows, cols));

    const direct = new pg.Client({
      host: "127.0.0.1",
      port: dbPort,
      user: "postgres",
      database: "postgres",
      types: raw,
    });
    await direct.connect();
    const stored = await direct.query(`SELECT ${cols.join(", ")}, balance_mac FROM patients ORDER BY id LIMIT 5`);
    await direct.end();
    say("\nWhat is stored in the database (read directly, bypassing smgate):");
    say(
      table(
        stored.rows.map((r) => ({
          ...r,
          name: short(r.name),
          diagnosis: short(r.diagnosis),
          balance_mac: short(r.balance_mac),
        })),
        [...cols, "balance_mac"],
      ),
    );

    const byName = await app.query("SELECT id, name FROM patients WHERE name = $1", [patients[0].name]);
    say(
      `\nEquality search on the deterministic column (WHERE name = '${patients[0].name}'): ${byName.rowCount} row(s)`,
    );
    try {
      await app.query("SELECT id FROM patients WHERE diagnosis LIKE '%糖尿病%'");
    } catch (e) {
      const err = e as { code?: string; message: string };
      say(`LIKE on the randomized column is refused: ${err.code} ${err.message}`);
    }
    await app.end();

    const bi = await connect("bi");
    const masked = await bi.query("SELECT id, name, id_card, phone FROM patients ORDER BY id LIMIT 3");
    say("\nWhat an analyst (application_name=bi) sees — masked, never plaintext:");
    say(table(masked.rows, ["id", "name", "id_card", "phone"]));
    try {
      await bi.query("DELETE FROM patients WHERE id = 1");
    } catch (e) {
      const err = e as { code?: string; message: string };
      say(`The analyst's DELETE is denied: ${err.code} ${err.message}`);
    }
    await bi.end();
  } finally {
    await gateway.shutdown(1000);
    enc?.close();
    await dbServer.stop();
    await db.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else say(`\nkept ${dir} (smgate.yaml, policy.yaml, keystore.json, audit.log, pgdata/)`);
  }
  say("\nDone. Next: docs/POLICY.md to write your policy, `smgate keys init`, `smgate start --config smgate.yaml`.");
}

function short(v: unknown): string {
  const s = v === null || v === undefined ? "NULL" : String(v);
  return s.length > 28 ? `${s.slice(0, 25)}…` : s;
}

/** The port the embedded server bound (it listens on port 0; getServerConn() reports "host:port"). */
function portOf(server: { getServerConn(): string }): number {
  const m = /:(\d+)$/.exec(server.getServerConn());
  if (!m || m[1] === "0") throw new Error("could not read the embedded PostgreSQL's port");
  return Number(m[1]);
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run a self-contained demo: embedded PostgreSQL, sample policy and keystore, smgate in front")
    .option("--rows <n>", "sample patients to load", "20")
    .option("--keep", "keep the temp folder (config, keystore, audit log, database) afterwards")
    .action(async (o: { rows: string; keep?: boolean }) => {
      await runDemo({ rows: Math.max(1, Number.parseInt(o.rows, 10) || 20), keep: o.keep === true });
    });
}

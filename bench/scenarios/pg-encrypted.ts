// Field-level encryption benchmarks (issue 6): a gateway target "smgate-encrypted" whose policy protects two
// columns of the bench tables — `note` randomized (SM4-CTR envelope, RND) and `mobile` FPE (FF1-SM4, cn-mobile)
// — measured against the same tables in plaintext read/written directly on the server.
//   pg-encrypted-select-1m  SELECT streaming 1,000,000 rows, both columns decrypted by smgate
//   pg-encrypted-insert-8c  single-row INSERTs (pgbench custom script, -M prepared, 8 clients), both encrypted
// Two databases with identical schemas: `<db>_enc` (loaded encrypted through smgate, read through smgate) and
// `<db>_plain` (the same values in plaintext, read directly), so both targets run the very same SQL.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { batchInsert } from "../drivers/pg-batch-insert.js";
import { streamQuery } from "../drivers/pg-stream.js";
import { runPgbench } from "../drivers/pgbench.js";
import { pgQuery } from "../net.js";
import type { BenchContext, RunningTarget, Scenario, TargetDefinition } from "../registry.js";
import { startSmgate } from "../targets/smgate.js";
import { pgbenchScenario } from "./pgbench.js";
import { streamScenario } from "./stream.js";

export const ENCRYPTED_TARGET = "smgate-encrypted";
export const SELECT_TABLE = "bench_people";
export const INSERT_TABLE = "bench_people_ins";
/** Rows of the streaming scenario's table (the figure; not tied to --rows). */
export const SELECT_ROWS = 1_000_000;
const KEY = "bench";
/** Rows read (not measured) before the measured stream. */
const WARMUP_ROWS = 50_000;

export const ENCRYPTED_POLICY = `version: 1
tables:
  public.${SELECT_TABLE}:
    columns:
      note:   { protect: encrypt, key: ${KEY} }
      mobile: { protect: fpe, format: cn-mobile, key: ${KEY} }
  public.${INSERT_TABLE}:
    columns:
      note:   { protect: encrypt, key: ${KEY} }
      mobile: { protect: fpe, format: cn-mobile, key: ${KEY} }
access:
  - name: bench
    match: {}
    plaintext: [public.${SELECT_TABLE}.*, public.${INSERT_TABLE}.*]
`;

const SCHEMA_SQL = [
  `create table ${SELECT_TABLE} (id integer primary key, note text not null, mobile text not null)`,
  `create unlogged table ${INSERT_TABLE} (id bigserial primary key, note text not null, mobile text not null)`,
];

/** Plaintext values of row i of the select table (the same generator as the server-side plaintext load). */
export function selectRow(i: number): [string, string, string] {
  return [String(i), `patient diagnosis note ${i}`, String(13800000000 + i)];
}

/** The same rows generated server-side (plaintext table). */
export const PLAIN_SELECT_LOAD = (rows: number) =>
  `insert into ${SELECT_TABLE} select g, 'patient diagnosis note ' || g, (13800000000 + g)::text from generate_series(0, ${rows - 1}) g`;

/** One single-row INSERT per transaction; the mobile number is random per row, the note a -D variable. */
export const INSERT_SCRIPT = `\\set m 13800000000 + random(0, 99999999)
insert into ${INSERT_TABLE} (note, mobile) values (:note, :m);
`;
export const INSERT_NOTE = "patient diagnosis note for the insert benchmark";

export const encDb = (ctx: BenchContext) => `${ctx.options.database}_enc`;
export const plainDb = (ctx: BenchContext) => `${ctx.options.database}_plain`;

function admin(ctx: BenchContext, database = "postgres") {
  const { host, port, user } = ctx.options.pg;
  return { host, port, user, database };
}

export const encryptedTarget: TargetDefinition = {
  name: ENCRYPTED_TARGET,
  description: "smgate with the encryption bench policy (note: RND envelope, mobile: FPE cn-mobile)",
  start: (ctx) => startSmgate(ctx, { name: ENCRYPTED_TARGET, policyYaml: ENCRYPTED_POLICY, keyNames: [KEY] }),
};

/** Creates both databases and their tables directly on the server (before smgate starts: its catalog sees them). */
async function createDatabases(ctx: BenchContext): Promise<void> {
  await ctx.once("pg-encrypted-databases", async () => {
    for (const db of [encDb(ctx), plainDb(ctx)]) {
      await pgQuery(admin(ctx), `drop database if exists "${db}" with (force)`);
      await pgQuery(admin(ctx), `create database "${db}"`);
      ctx.atEnd(async () => {
        await pgQuery(admin(ctx), `drop database if exists "${db}" with (force)`);
      });
      for (const sql of SCHEMA_SQL) await pgQuery(admin(ctx, db), sql);
    }
  });
}

/** Setup of the select scenario: both databases, and the plaintext table (generated on the server). */
async function setupSelect(ctx: BenchContext): Promise<void> {
  await createDatabases(ctx);
  await ctx.once("pg-encrypted-plain-load", async () => {
    await pgQuery(admin(ctx, plainDb(ctx)), PLAIN_SELECT_LOAD(SELECT_ROWS));
    await pgQuery(admin(ctx, plainDb(ctx)), `vacuum analyze ${SELECT_TABLE}`);
  });
}

/**
 * Loads the same 1M rows encrypted through smgate (COPY is refused on protected tables, so multi-row
 * parameterised INSERTs). Checks that what is stored is ciphertext and that smgate gives the plaintext back.
 */
async function loadEncryptedTable(ctx: BenchContext, gateway: RunningTarget): Promise<void> {
  await ctx.once("pg-encrypted-select-load", async () => {
    const rows = SELECT_ROWS;
    const { user } = ctx.options.pg;
    const through = { host: gateway.host, port: gateway.port, user, database: encDb(ctx) };
    const ms = await batchInsert({
      endpoint: through,
      table: SELECT_TABLE,
      columns: ["id", "note", "mobile"],
      total: rows,
      row: selectRow,
      batchRows: 2000,
      connections: 2,
    });
    ctx.log(`  loaded ${rows} rows encrypted through smgate in ${(ms / 1000).toFixed(1)} s`);
    await pgQuery(admin(ctx, encDb(ctx)), `vacuum analyze ${SELECT_TABLE}`);
    const stored = await pgQuery<{ note: string; mobile: string; n: string }>(
      admin(ctx, encDb(ctx)),
      `select note, mobile, (select count(*) from ${SELECT_TABLE}) as n from ${SELECT_TABLE} where id = 7`,
    );
    const want = selectRow(7);
    if (Number(stored[0]?.n) !== rows) throw new Error(`bench: encrypted table holds ${stored[0]?.n} rows`);
    if (!stored[0].note.startsWith("smg1:") || stored[0].mobile === want[2] || !/^138\d{8}$/.test(stored[0].mobile))
      throw new Error("bench: the encrypted table does not hold ciphertext (is the policy active?)");
    const shown = await pgQuery<{ note: string; mobile: string }>(
      through,
      `select note, mobile from ${SELECT_TABLE} where id = 7`,
    );
    if (shown[0]?.note !== want[1] || shown[0]?.mobile !== want[2])
      throw new Error("bench: smgate did not decrypt the loaded rows back to their plaintext");
  });
}

const selectSql = () => `select id, note, mobile from ${SELECT_TABLE}`;

function selectOn(database: (ctx: BenchContext) => string): Scenario {
  return streamScenario({
    name: "pg-encrypted-select-1m",
    description: "",
    client: "select",
    query: selectSql,
    rows: () => SELECT_ROWS,
    database,
    targets: [],
  });
}

/** Routes a target to the database holding its table: plaintext for direct, encrypted for the gateway. */
function dbFor(target: RunningTarget, ctx: BenchContext): string {
  return target.name === "direct" ? plainDb(ctx) : encDb(ctx);
}

export const encryptedSelectScenario: Scenario = (() => {
  const plain = selectOn(plainDb);
  const enc = selectOn(encDb);
  return {
    name: "pg-encrypted-select-1m",
    description:
      "SELECT streaming 1,000,000 rows, 2 encrypted columns (RND text, FPE cn-mobile) decrypted by smgate vs the plaintext table directly",
    targets: ["direct", ENCRYPTED_TARGET],
    ratios: [{ numerator: ENCRYPTED_TARGET, denominator: "direct" }],
    setup: setupSelect,
    async warmup(ctx, target) {
      if (target.name !== "direct") await loadEncryptedTable(ctx, target);
      // a short read of the same table first (JIT, buffer cache), not measured
      const ep = { host: target.host, port: target.port, user: ctx.options.pg.user, database: dbFor(target, ctx) };
      await streamQuery({ ...ep, sql: `${selectSql()} limit ${WARMUP_ROWS}`, timeoutMs: 10 * 60_000 });
    },
    async run(ctx, target) {
      const m = await (target.name === "direct" ? plain : enc).run(ctx, target);
      m.details = { ...m.details, database: dbFor(target, ctx), query: selectSql() };
      return m;
    },
  };
})();

async function writeInsertScript(ctx: BenchContext): Promise<string> {
  return await ctx.once("pg-encrypted-insert-script", async () => {
    const file = join(ctx.tmpDir, "encrypted-insert.sql");
    await writeFile(file, INSERT_SCRIPT);
    return file;
  });
}

async function truncateInsertTables(ctx: BenchContext): Promise<void> {
  for (const db of [encDb(ctx), plainDb(ctx)])
    await pgQuery(admin(ctx, db), `truncate ${INSERT_TABLE} restart identity`);
}

export const encryptedInsertScenario: Scenario = (() => {
  const spec = (database: (ctx: BenchContext) => string) =>
    pgbenchScenario({
      name: "pg-encrypted-insert-8c",
      description: "",
      script: { file: writeInsertScript },
      mode: "prepared",
      targets: [],
      setup: createDatabases,
      beforeEach: truncateInsertTables,
      database,
      extraArgs: ["-D", `note=${INSERT_NOTE}`],
    });
  const plain = spec(plainDb);
  const enc = spec(encDb);
  return {
    name: "pg-encrypted-insert-8c",
    description:
      "single-row INSERT, 2 encrypted columns (RND text, FPE cn-mobile), pgbench -f custom script -M prepared, --clients (8) vs the plaintext table directly",
    targets: ["direct", ENCRYPTED_TARGET],
    ratios: [{ numerator: ENCRYPTED_TARGET, denominator: "direct" }],
    setup: createDatabases,
    async warmup(ctx, target) {
      if (ctx.options.warmupSec <= 0) return;
      await ctx.once(`pg-encrypted-insert-warmup:${target.name}`, async () => {
        ctx.log(`  warm-up ${target.name} (encrypted-insert script, ${ctx.options.warmupSec} s)`);
        await runPgbench({
          host: target.host,
          port: target.port,
          user: ctx.options.pg.user,
          database: dbFor(target, ctx),
          script: { file: await writeInsertScript(ctx) },
          mode: "prepared",
          clients: ctx.options.clients,
          threads: ctx.options.threads,
          durationSec: ctx.options.warmupSec,
          extraArgs: ["-D", `note=${INSERT_NOTE}`],
        });
      });
    },
    async run(ctx, target) {
      const m = await (target.name === "direct" ? plain : enc).run(ctx, target);
      const rows = await pgQuery<{ n: string }>(
        admin(ctx, dbFor(target, ctx)),
        `select count(*) as n from ${INSERT_TABLE}`,
      );
      m.details = { ...m.details, database: dbFor(target, ctx), rowsInTable: Number(rows[0]?.n ?? 0) };
      if (target.name !== "direct") await checkInsertedCiphertext(ctx);
      return m;
    },
  };
})();

/** The inserted rows must be stored encrypted (the policy was active during the measurement). */
async function checkInsertedCiphertext(ctx: BenchContext): Promise<void> {
  const rows = await pgQuery<{ note: string }>(admin(ctx, encDb(ctx)), `select note from ${INSERT_TABLE} limit 1`);
  if (rows.length > 0 && !rows[0].note.startsWith("smg1:"))
    throw new Error("bench: rows inserted through smgate were stored in plaintext (is the policy active?)");
}

export const encryptedBenchScenarios: Scenario[] = [encryptedSelectScenario, encryptedInsertScenario];

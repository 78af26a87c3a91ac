// The `smgate migrate` engine: for each policy table, decides from the progress table (smgate_migration)
// whether to start, resume or skip; applies the DDL (ddl.ts); then walks the table in primary-key order, one
// transaction per batch (SELECT … FOR UPDATE, transform, UPDATE, progress row), so an interrupted run resumes
// after the last committed batch and a finished one is not repeated. Never logs values.
import { sm3 } from "../crypto/sm3.js";
import type { KeyRing } from "../keystore/keyring.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { ColumnProtection } from "../policy/policy-types.js";
import { ColumnCodec } from "../proxy/codec/column-codec.js";
import { CodecError } from "../proxy/codec/errors.js";
import type { LiveTable, MigrateDb, Operation, RunRecord } from "./db.js";
import { type DdlPlan, planDecryptDdl, planEncryptDdl, requireColumn } from "./ddl.js";
import { MigrateError } from "./errors.js";
import { type BatchCounts, type ColumnWork, readColumns, transformBatch, writeColumns } from "./transform.js";

export interface MigrateOptions {
  db: MigrateDb;
  policy: CompiledPolicy;
  /** hex SM3 of the policy file */
  policyDigest: string;
  keyRing: KeyRing;
  op: Operation;
  dryRun: boolean;
  batch: number;
  /** only this schema.table */
  table?: string;
  /** progress hooks (the CLI draws a bar) */
  onStart?(table: string, total: number, done: number): void;
  onBatch?(table: string, done: number): void;
  onEnd?(table: string): void;
  /** plan lines and notes */
  log(line: string): void;
}

export type TableStatus = "migrated" | "up-to-date" | "skipped" | "planned";

export interface TableOutcome {
  table: string;
  status: TableStatus;
  /** rows visited in this invocation */
  rows: number;
  counts: BatchCounts;
  /** DDL statements executed (or, for --dry-run, that would be) */
  ddl: string[];
  runId?: number;
  reason?: string;
}

/** Spec digest: SM3 over the table's protections in column order (what the data was transformed with). */
export function specDigest(prots: ColumnProtection[]): string {
  const sorted = [...prots].sort((a, b) => a.column.localeCompare(b.column));
  return sm3(Buffer.from(JSON.stringify(sorted), "utf8")).toString("hex");
}

function tableProtections(policy: CompiledPolicy, key: string): ColumnProtection[] {
  const tp = policy.tablePolicy(key);
  return tp ? [...tp.columns.values()] : [];
}

function keyIdOf(ring: KeyRing, name: string, column: string): number {
  try {
    return ring.active(name).keyId;
  } catch (err) {
    throw new MigrateError(`column ${column}: ${(err as Error).message}`, { cause: err });
  }
}

/** A KeyRing whose active key for `name` is a given (older) key id: FPE and MACs are read with it. */
function pinnedRing(ring: KeyRing, name: string, keyId: number): KeyRing {
  return {
    active: (n) => (n === name ? ring.byId(keyId) : ring.active(n)),
    byId: (id) => ring.byId(id),
    names: () => ring.names(),
    info: () => ring.info(),
  };
}

export async function runMigration(o: MigrateOptions): Promise<TableOutcome[]> {
  const names = o.table ? [o.table.toLowerCase()] : [...o.policy.protectedTables()].sort();
  if (o.table && !o.policy.tablePolicy(names[0])) {
    throw new MigrateError(`--table ${o.table}: the policy does not protect that table (name it as schema.table)`);
  }
  const out: TableOutcome[] = [];
  for (const name of names) {
    const t = await o.db.table(name);
    if (!t) {
      if (o.table)
        throw new MigrateError(`table ${name} does not exist in ${o.db.dialect} database "${o.db.database}"`);
      o.log(`${name}: skipped (not in ${o.db.dialect} database "${o.db.database}")`);
      out.push({ table: name, status: "skipped", rows: 0, counts: zero(), ddl: [], reason: "not in this database" });
      continue;
    }
    out.push(await migrateTable(o, t));
  }
  return out;
}

function zero(): BatchCounts {
  return { transformed: 0, alreadyDone: 0, companions: 0 };
}

interface Decision {
  action: "start" | "resume" | "nothing";
  run?: RunRecord;
  prots: ColumnProtection[];
  reason?: string;
  /** rekey/decrypt: the run whose keys the data carries now */
  from?: RunRecord;
}

function decide(o: MigrateOptions, t: LiveTable, latest: RunRecord | undefined): Decision {
  const fromPolicy = tableProtections(o.policy, t.key);
  const label = `${t.schema}.${t.name}`;
  const flag = (op: Operation) =>
    op === "encrypt" ? "smgate migrate (without --rekey/--decrypt)" : `smgate migrate --${op}`;
  if (latest && !latest.finishedAt) {
    if (latest.operation !== o.op) {
      throw new MigrateError(
        `${label}: an interrupted ${latest.operation} run (started ${latest.startedAt}, ${latest.rowsDone} rows done) must finish first: re-run ${flag(latest.operation)}`,
      );
    }
    return { action: "resume", run: latest, prots: latest.columns as ColumnProtection[] };
  }
  const encrypted = latest !== undefined && latest.operation !== "decrypt";
  if (o.op === "encrypt") {
    if (!encrypted) return { action: "start", prots: fromPolicy };
    if (latest.specDigest === specDigest(fromPolicy))
      return { action: "nothing", prots: fromPolicy, reason: "already under this policy" };
    throw new MigrateError(
      `${label}: the policy's protections for this table changed since it was migrated (run ${latest.id}); ` +
        "run smgate migrate --decrypt first (it uses the recorded protections), then migrate with the new policy",
    );
  }
  if (!encrypted) {
    return {
      action: "nothing",
      prots: [],
      reason: o.op === "decrypt" ? "not encrypted" : "not migrated yet: nothing to rekey",
    };
  }
  const prots = latest.columns as ColumnProtection[];
  if (o.op === "rekey") {
    const stale = prots.some((p) => latest.keyIds[p.column]?.to !== keyIdOf(o.keyRing, p.key, p.ad));
    const envelopes = prots.some((p) => p.protect === "encrypt");
    if (!stale && !envelopes) return { action: "nothing", prots, reason: "all columns already use the active keys" };
  }
  return { action: "start", prots, from: latest };
}

async function migrateTable(o: MigrateOptions, t0: LiveTable): Promise<TableOutcome> {
  const db = o.db;
  const label = `${t0.schema}.${t0.name}`;
  if (t0.primaryKey.length === 0) {
    throw new MigrateError(
      `table ${label} has no primary key: smgate migrate walks a table in primary-key order so it can resume; ` +
        `add one (ALTER TABLE ${label} ADD PRIMARY KEY (<unique not-null columns>), or add an identity / ` +
        "AUTO_INCREMENT id column) and run it again",
    );
  }
  const latest = await db.latestRun(t0.key);
  const d = decide(o, t0, latest);
  const outcome: TableOutcome = { table: t0.key, status: "up-to-date", rows: 0, counts: zero(), ddl: [] };
  if (d.action === "nothing") {
    outcome.reason = d.reason;
    return outcome;
  }
  const prots = d.prots;
  for (const p of prots) {
    requireColumn(t0, p.column);
    if (p.protect !== "mac" && t0.primaryKey.some((k) => k.toLowerCase() === p.column)) {
      throw new MigrateError(
        `${label}.${p.column} is part of the primary key and protected by ${p.protect}: migrate pages by primary key and cannot transform it`,
      );
    }
  }
  const pkNamable = !t0.primaryKey.some((k) => prots.some((p) => p.column === k.toLowerCase()));
  // decrypt reads with the key ids recorded in the envelopes / progress table: no active key needed
  const activeIds: Record<string, number> =
    o.op === "decrypt" ? {} : Object.fromEntries(prots.map((p) => [p.column, keyIdOf(o.keyRing, p.key, p.ad)]));

  if (o.dryRun) return dryRun(o, t0, d, prots, outcome);

  await db.ensureProgressTable();
  let run = d.run;
  if (!run) {
    const original: RunRecord["original"] = o.op === "encrypt" ? await recordOriginal(db, t0, prots) : d.from!.original;
    const keyIds: RunRecord["keyIds"] = {};
    for (const p of prots) {
      const from = d.from?.keyIds[p.column]?.to;
      keyIds[p.column] = o.op === "decrypt" ? { from } : { from, to: activeIds[p.column] };
    }
    const id = await db.insertRun({
      tableName: t0.key,
      operation: o.op,
      columns: prots,
      specDigest: specDigest(prots),
      policyDigest: o.policyDigest,
      keyIds,
      original,
      createdIndexes: d.from?.createdIndexes ?? [],
      rowsTotal: await db.countRows(t0),
    });
    run = (await db.latestRun(t0.key))!;
    if (run.id !== id) throw new MigrateError(`${label}: another migrate run started concurrently; run one at a time`);
  } else if (o.op !== "decrypt") {
    for (const p of prots) {
      if (run.keyIds[p.column]?.to !== activeIds[p.column]) {
        throw new MigrateError(
          `${label}.${p.column}: key "${p.key}" was rotated while run ${run.id} was unfinished; ` +
            "rotate back is not possible — restore the keystore from before the rotation to finish, or see docs/MIGRATE.md",
        );
      }
    }
  }
  outcome.runId = run.id;

  let t = t0;
  if (o.op === "encrypt" && !run.dataDone) {
    const plan = planEncryptDdl(db, t, prots, run.original, measured(run));
    for (const n of plan.notes) o.log(`${label}: note: ${n}`);
    await applyDdl(o, plan, label);
    outcome.ddl.push(...plan.statements);
    const created = [...new Set([...run.createdIndexes, ...plan.createdIndexes])];
    if (created.length !== run.createdIndexes.length) await db.setRunFields(run.id, { createdIndexes: created });
    run.createdIndexes = created;
    t = (await db.table(t.key))!;
  }

  if (!run.dataDone) {
    const works = buildWorks(o, t, prots, run);
    await walk(o, t, run, works, pkNamable, outcome);
  }

  if (o.op === "decrypt") {
    t = (await db.table(t.key))!;
    const plan = planDecryptDdl(db, t, prots, run.original, run.createdIndexes);
    for (const n of plan.notes) o.log(`${label}: note: ${n}`);
    await applyDdl(o, plan, label);
    outcome.ddl.push(...plan.statements);
  }
  await db.setRunFields(run.id, { finished: true });
  outcome.status = "migrated";
  return outcome;
}

function measured(run: RunRecord): Record<string, number> {
  return Object.fromEntries(Object.entries(run.original).map(([k, v]) => [k, v.maxOctets ?? 0]));
}

async function applyDdl(o: MigrateOptions, plan: DdlPlan, label: string): Promise<void> {
  for (const s of plan.statements) o.log(`${label}: ${s}`);
  try {
    await o.db.execDdl(plan.statements);
  } catch (err) {
    throw new MigrateError(`${label}: DDL failed: ${(err as Error).message}`, { cause: err });
  }
}

function buildWorks(o: MigrateOptions, t: LiveTable, prots: ColumnProtection[], run: RunRecord): ColumnWork[] {
  const db = o.db;
  const companion = (name: string | undefined) => {
    if (!name || o.op === "decrypt") return undefined;
    const live = requireColumn(t, name);
    return { live, form: live.kind === "binary" ? db.storedFormOf(live) : ("text" as const) };
  };
  return prots.map((p) => {
    const live = requireColumn(t, p.column);
    const ids = run.keyIds[p.column] ?? {};
    const codec = new ColumnCodec(p, o.keyRing);
    const readId = o.op === "encrypt" ? undefined : ids.from;
    const readCodec = readId === undefined ? codec : new ColumnCodec(p, pinnedRing(o.keyRing, p.key, readId));
    return {
      p,
      live,
      form: db.storedFormOf(live),
      codec,
      readCodec,
      activeKeyId: o.op === "decrypt" ? -1 : keyIdOf(o.keyRing, p.key, p.ad),
      keyChanged: o.op === "rekey" && ids.from !== ids.to,
      bidx: companion(p.bidxColumn),
      mac: companion(p.macColumn),
      rowKey: (p.rowKey ?? []).map((k) => requireColumn(t, k)),
    };
  });
}

async function walk(
  o: MigrateOptions,
  t: LiveTable,
  run: RunRecord,
  works: ColumnWork[],
  pkNamable: boolean,
  outcome: TableOutcome,
): Promise<void> {
  const db = o.db;
  const label = `${t.schema}.${t.name}`;
  const read = readColumns(works);
  const write = writeColumns(works, o.op);
  let after = run.lastPk;
  let done = run.rowsDone;
  o.onStart?.(label, Math.max(run.rowsTotal, done), done);
  try {
    for (;;) {
      await db.begin();
      try {
        const rows = await db.selectBatch(t, read, after, o.batch);
        if (rows.length === 0) {
          await db.recordProgress(run.id, null, 0, true);
          await db.commit();
          break;
        }
        const res = transformBatch({ table: label, op: o.op, pkNamable }, works, read, rows);
        await db.updateRows(t, write, res.changed);
        after = rows[rows.length - 1].pk;
        await db.recordProgress(run.id, after, rows.length, false);
        await db.commit();
        done += rows.length;
        outcome.rows += rows.length;
        outcome.counts.transformed += res.counts.transformed;
        outcome.counts.alreadyDone += res.counts.alreadyDone;
        outcome.counts.companions += res.counts.companions;
        o.onBatch?.(label, done);
      } catch (err) {
        await db.rollback().catch(() => undefined);
        const where = pkNamable && after ? ` (batch after primary key (${after.join(", ")}))` : "";
        if (err instanceof MigrateError) throw err;
        if (err instanceof CodecError) throw new MigrateError(`${label}${where}: ${err.message}`, { cause: err });
        throw new MigrateError(
          `${label}${where}: batch rolled back, progress kept at ${done} rows: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  } finally {
    o.onEnd?.(label);
  }
}

async function dryRun(
  o: MigrateOptions,
  t: LiveTable,
  d: Decision,
  prots: ColumnProtection[],
  outcome: TableOutcome,
): Promise<TableOutcome> {
  const db = o.db;
  const label = `${t.schema}.${t.name}`;
  const rows = await db.countRows(t);
  const resumeNote = d.run ? ` (resuming run ${d.run.id} after ${d.run.rowsDone} rows)` : "";
  o.log(`${label}: ${o.op} ${rows} rows in batches of ${o.batch}${resumeNote}`);
  let plan: DdlPlan = { statements: [], createdIndexes: [], notes: [] };
  if (o.op === "encrypt") {
    const original = d.run?.original ?? (await recordOriginal(db, t, prots));
    plan = planEncryptDdl(db, t, prots, original, measured({ original } as RunRecord));
  } else if (o.op === "decrypt") {
    const src = d.run ?? d.from!;
    plan = planDecryptDdl(db, t, prots, src.original, src.createdIndexes);
  }
  for (const n of plan.notes) o.log(`${label}: note: ${n}`);
  for (const s of plan.statements) o.log(`${label}: DDL ${s}`);
  if (plan.statements.length === 0) o.log(`${label}: no DDL needed`);
  outcome.status = "planned";
  outcome.rows = rows;
  outcome.ddl = plan.statements;
  return outcome;
}

/** Column shapes before the first change (and the longest stored value of envelope columns, for sizing). */
async function recordOriginal(db: MigrateDb, t: LiveTable, prots: ColumnProtection[]): Promise<RunRecord["original"]> {
  const out: RunRecord["original"] = {};
  for (const p of prots) {
    if (p.protect === "mac") continue;
    const c = requireColumn(t, p.column);
    const maxOctets = p.protect === "encrypt" ? await db.maxOctets(t, c.name) : 0;
    out[c.name] = { typeText: c.typeText, nullable: c.nullable, defaultExpr: c.defaultExpr, maxOctets };
  }
  return out;
}

// One batch of `smgate migrate` in memory: given the rows read (text forms), computes what each protected and
// companion cell must hold after the operation, using ColumnCodec so the bytes are exactly what the gateway
// writes and reads. Envelopes are self-identifying (already-encrypted values are detected per value, and
// rekey only touches envelopes whose key id is not the active one); FPE values are not, so for FPE the
// caller's progress table is what guarantees each row is transformed once.
import { envelopeKeyId, isEnvelopeText } from "../crypto/envelope.js";
import { encodeRowKey } from "../crypto/integrity-mac.js";
import type { ColumnProtection } from "../policy/policy-types.js";
import type { ColumnCodec } from "../proxy/codec/column-codec.js";
import { CodecError } from "../proxy/codec/errors.js";
import { decodeStored, type StoredForm } from "../proxy/codec/stored-form.js";
import type { BatchRow, LiveColumn, Operation } from "./db.js";
import { MigrateError } from "./errors.js";

export interface CompanionWork {
  live: LiveColumn;
  form: StoredForm;
}

export interface ColumnWork {
  p: ColumnProtection;
  live: LiveColumn;
  /** how envelopes are stored in this column */
  form: StoredForm;
  /** writes with the key name's active key */
  codec: ColumnCodec;
  /** FPE: reads with the key the data was written with (rekey / decrypt) */
  readCodec: ColumnCodec;
  /** the active key id of p.key (the id envelopes must carry after rekey) */
  activeKeyId: number;
  /** FPE / MAC / blind index: true when the recorded key differs from the active one (rekey) */
  keyChanged: boolean;
  bidx?: CompanionWork;
  mac?: CompanionWork;
  /** row_key columns (live), for MACs */
  rowKey: LiveColumn[];
}

export interface BatchCounts {
  /** cells whose stored value changed (protected columns only) */
  transformed: number;
  /** non-NULL protected cells already in the target form */
  alreadyDone: number;
  /** companion cells written */
  companions: number;
}

export interface BatchResult {
  /** rows with at least one changed cell; values in the order of `writeColumns` */
  changed: BatchRow[];
  counts: BatchCounts;
}

type Cell = Buffer | null;

/** The columns a batch must read: protected columns, their companions and row-key columns, each once. */
export function readColumns(works: ColumnWork[]): LiveColumn[] {
  const out = new Map<string, LiveColumn>();
  for (const w of works) {
    out.set(w.live.name, w.live);
    if (w.bidx) out.set(w.bidx.live.name, w.bidx.live);
    if (w.mac) out.set(w.mac.live.name, w.mac.live);
    for (const k of w.rowKey) out.set(k.name, k);
  }
  return [...out.values()];
}

/** The columns a batch writes for the operation (decrypt leaves companions alone: they are dropped after). */
export function writeColumns(works: ColumnWork[], op: Operation): LiveColumn[] {
  const out = new Map<string, LiveColumn>();
  for (const w of works) {
    if (w.p.protect !== "mac") out.set(w.live.name, w.live);
    if (op !== "decrypt") {
      if (w.bidx) out.set(w.bidx.live.name, w.bidx.live);
      if (w.mac) out.set(w.mac.live.name, w.mac.live);
    }
  }
  return [...out.values()];
}

function isEnvelope(v: Buffer, form: StoredForm): boolean {
  if (form === "text") return isEnvelopeText(v.toString("latin1"));
  const b = decodeStored(v, form);
  return b.length >= 21 && (b[0] === 0x01 ? b.length >= 37 : b[0] === 0x02);
}

function same(a: Cell, b: Cell): boolean {
  return a === null ? b === null : b !== null && a.equals(b);
}

export interface BatchContext {
  table: string;
  op: Operation;
  /** primary-key columns are safe to name in messages (none of them is protected) */
  pkNamable: boolean;
}

export function transformBatch(
  ctx: BatchContext,
  works: ColumnWork[],
  read: LiveColumn[],
  rows: BatchRow[],
): BatchResult {
  const at = new Map(read.map((c, i) => [c.name, i] as const));
  const next: Cell[][] = rows.map((r) => r.values.slice());
  const counts: BatchCounts = { transformed: 0, alreadyDone: 0, companions: 0 };
  const column = (i: number): Cell[] => rows.map((r) => r.values[i]);
  const where = (k: number) => (ctx.pkNamable ? ` in the row with primary key (${rows[k].pk.join(", ")})` : "");

  const ordered = [...works.filter((w) => w.p.protect !== "mac"), ...works.filter((w) => w.p.protect === "mac")];
  for (const w of ordered) {
    const ci = at.get(w.live.name)!;
    const stored = column(ci);
    const name = `${ctx.table}.${w.live.name}`;
    let plain: Cell[] = stored;
    if (w.p.protect === "encrypt") {
      const envAt: number[] = [];
      const plainAt: number[] = [];
      stored.forEach((v, k) => {
        if (v !== null) (isEnvelope(v, w.form) ? envAt : plainAt).push(k);
      });
      const revealed = revealEach(
        w,
        envAt.map((k) => stored[k]!),
        (j, err) => {
          if (w.form !== "text") return false; // a binary plaintext may start like an envelope: treat as plaintext
          throw new MigrateError(`${name}${where(envAt[j])}: stored value looks like an envelope but ${err}`);
        },
      );
      plain = stored.slice();
      const toProtect: number[] = [...plainAt];
      envAt.forEach((k, j) => {
        const r = revealed[j];
        if (r === undefined) {
          toProtect.push(k); // binary value that is not an envelope after all
          return;
        }
        plain[k] = r;
        if (ctx.op === "rekey" && envelopeKeyId(decodeStored(stored[k]!, w.form)) !== w.activeKeyId) toProtect.push(k);
        else if (ctx.op !== "decrypt") counts.alreadyDone++;
      });
      if (ctx.op === "decrypt") {
        envAt.forEach((k, j) => {
          if (revealed[j] === undefined) return;
          next[k][ci] = plain[k];
          counts.transformed++;
        });
        counts.alreadyDone += plainAt.length;
      } else if (toProtect.length) {
        const enc = w.codec.protect(
          toProtect.map((k) => plain[k]),
          w.form,
        );
        toProtect.forEach((k, j) => {
          next[k][ci] = enc[j];
        });
        counts.transformed += toProtect.length;
      }
    } else if (w.p.protect === "fpe") {
      if (ctx.op === "encrypt") {
        const enc = protectChecked(w, stored, (k, reason) => {
          throw new MigrateError(
            `${name}${where(k)}: the value is not a valid ${w.p.format} (${reason}); fix or NULL it and run again`,
          );
        });
        stored.forEach((v, k) => {
          next[k][ci] = enc[k];
          if (v !== null) counts.transformed++;
        });
      } else if (ctx.op === "decrypt" || w.keyChanged) {
        plain = guard(name, () => w.readCodec.reveal(stored, w.form));
        const out = ctx.op === "decrypt" ? plain : w.codec.protect(plain, w.form);
        stored.forEach((v, k) => {
          next[k][ci] = out[k];
          if (v !== null) counts.transformed++;
        });
      } else if (w.bidx) {
        plain = guard(name, () => w.readCodec.reveal(stored, w.form));
      }
    }
    if (ctx.op === "decrypt") continue;
    if (w.bidx) {
      const bi = at.get(w.bidx.live.name)!;
      const b = w.codec.blindIndex(plain, w.bidx.form);
      b.forEach((v, k) => {
        next[k][bi] = v;
      });
    }
  }
  if (ctx.op !== "decrypt") {
    for (const w of works) {
      if (!w.mac) continue;
      const mi = at.get(w.mac.live.name)!;
      const vi = at.get(w.live.name)!;
      const keyIdx = w.rowKey.map((c) => at.get(c.name)!);
      const rowKeys = next.map((row) => encodeRowKey(keyIdx.map((i) => row[i])));
      const macs = w.codec.mac(
        rowKeys,
        next.map((row) => row[vi]),
        w.mac.form,
      );
      macs.forEach((m, k) => {
        next[k][mi] = m;
      });
    }
  }
  const write = writeColumns(works, ctx.op);
  const wi = write.map((c) => at.get(c.name)!);
  const companionNames = new Set(works.flatMap((w) => [w.bidx?.live.name, w.mac?.live.name]).filter(Boolean));
  const changed: BatchRow[] = [];
  rows.forEach((r, k) => {
    let diff = false;
    wi.forEach((i, j) => {
      if (!same(r.values[i], next[k][i])) {
        diff = true;
        if (companionNames.has(write[j].name)) counts.companions++;
      }
    });
    if (diff) changed.push({ pk: r.pk, values: wi.map((i) => next[k][i]) });
  });
  return { changed, counts };
}

/** Reveals values one batch at a time; on a failure, finds the failing value and asks onError what to do. */
function revealEach(
  w: ColumnWork,
  values: Buffer[],
  onError: (index: number, reason: string) => false,
): (Buffer | undefined)[] {
  if (values.length === 0) return [];
  try {
    return w.codec.reveal(values, w.form) as Buffer[];
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
  }
  return values.map((v, j) => {
    try {
      return w.codec.reveal([v], w.form)[0] as Buffer;
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      const reason =
        err.kind === "key_unavailable"
          ? `its key is not usable (${err.message})`
          : "it does not decrypt (integrity check failed: tampered, or a different keystore)";
      onError(j, reason);
      return undefined;
    }
  });
}

function guard<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CodecError) throw new MigrateError(`${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** FPE protect of a batch; when a value is not in the format, finds the first bad one and reports its row. */
function protectChecked(w: ColumnWork, values: Cell[], onBad: (index: number, reason: string) => never): Cell[] {
  try {
    return w.codec.protect(values, w.form);
  } catch (err) {
    if (!(err instanceof CodecError) || err.kind !== "bad_value") throw err;
  }
  values.forEach((v, k) => {
    if (v === null) return;
    try {
      w.codec.protect([v], w.form);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      // the crypto message says what is wrong with the format, never the value; drop its "value N:" position
      const reason = (err.cause instanceof Error ? err.cause.message : err.message).replace(/value \d+: /, "");
      onBad(k, reason);
    }
  });
  throw new MigrateError(`${w.p.ad}: FPE failed for the batch but for no single value`);
}

// The encryption layer's SessionHooks for one PostgreSQL client session: analyses every statement (shape
// cache), enforces the policy for the session's subject (startup user, application_name, client address,
// database), encrypts literals and parameters bound for protected columns, adds companion values, shows
// plaintext types, and decrypts / masks / verifies result rows in batches.

import type { SubjectAccess } from "../../../policy/compile.js";
import { reportDenial } from "../../encrypt/security-events.js";
import type { AnalysedStatement } from "../../rewrite/engine.js";
import type { ResultColumn, StatementPart, StatementPlan } from "../../rewrite/types.js";
import type { FieldDescription } from "../backend-messages.js";
import type { Refusal, SessionHooks } from "../hooks.js";
import type { PendingRequest, Portal, PreparedStatement, SessionContext } from "../session-context.js";
import { checkAccess } from "./access-check.js";
import { binaryToText, OID } from "./pg-types.js";
import {
  encryptLiterals,
  isPreparedPlan,
  literalReader,
  type PreparedPlan,
  prepare,
  renderLiteral,
} from "./prepared-plan.js";
import { EncryptRefusal, refusal, refusalFromError, SQLSTATE_DENIED, SQLSTATE_UNSUPPORTED } from "./refusals.js";
import { applyRowTransform, buildRowTransform, type RowTransform } from "./row-transform.js";
import type { DatabaseState, EncryptionRuntime } from "./runtime.js";
import {
  columnType,
  computeSlots,
  groupTargets,
  isByteaType,
  oidOfCatalogType,
  type TargetGroup,
  transformGroups,
  unknownSource,
  type Value,
} from "./value-transforms.js";

const DDL = /^\s*(create|alter|drop|comment|grant|revoke)\b/i;

type Analysed = { refusal: Refusal } | { a: AnalysedStatement; st: DatabaseState; passthrough: boolean };

interface PortalRows {
  fields: FieldDescription[] | null | undefined;
  transform: RowTransform | undefined;
}

export class EncryptionSession implements SessionHooks {
  readonly ready: Promise<unknown>;
  private access: SubjectAccess | undefined;
  private accessGeneration = 0;
  private readonly checked = new WeakMap<StatementPlan, number>();
  private readonly queryState = new WeakMap<PendingRequest, { part: number; transform?: RowTransform }>();
  private ddlSeen = false;

  constructor(
    private readonly rt: EncryptionRuntime,
    ctx: SessionContext,
  ) {
    this.ready = rt.catalogs.ensure(ctx.database);
  }

  private subject(ctx: SessionContext): SubjectAccess {
    if (!this.access || this.accessGeneration !== this.rt.generation) {
      const subject = ctx.subject();
      // the session records "address:port"; policy CIDR rules match the address alone
      this.access = this.rt.policy.resolveSubject({ ...subject, address: hostOf(subject.address) });
      this.accessGeneration = this.rt.generation;
    }
    return this.access;
  }

  private searchPath(ctx: SessionContext): string[] {
    return [ctx.user, "public"];
  }

  /** Analysis + refusal + access check shared by Query and Parse. */
  private analyse(ctx: SessionContext, sql: string): Analysed {
    const rt = this.rt;
    if (this.ddlSeen) {
      this.ddlSeen = false;
      void rt.catalogs.refresh(ctx.database);
    }
    if (DDL.test(sql)) {
      this.ddlSeen = true;
      const db = ctx.database;
      setTimeout(() => rt.catalogs.refreshSoon(db, 0), 250).unref();
    }
    const st = rt.dbState(ctx.database);
    let a: AnalysedStatement;
    try {
      a = st.engine.analyse(sql, { searchPath: this.searchPath(ctx) });
    } catch {
      rt.metrics?.refusals.inc({ reason: "analysis_failed" });
      return { refusal: refusal(SQLSTATE_UNSUPPORTED, "smgate: the statement could not be analysed; refused") };
    }
    const p = a.plan;
    rt.metrics?.shapeCache.inc({ result: p.passthrough && a.shape.key === "" ? "bypass" : a.cached ? "hit" : "miss" });
    if (p.refusal) {
      rt.metrics?.refusals.inc({ reason: p.refusal.sqlstate });
      if (p.refusal.sqlstate === "42P01") rt.catalogs.refreshSoon(ctx.database);
      rt.audit?.record({
        type: "refusal",
        actor: ctx.user,
        app: ctx.applicationName,
        address: ctx.clientAddress,
        outcome: "refused",
        detail: p.refusal.sqlstate,
      });
      return {
        refusal: refusal(
          p.refusal.sqlstate,
          `smgate: ${p.refusal.message}`,
          p.refusal.sqlstate === "42P01"
            ? "the catalog is being refreshed; retry if the table was just created"
            : undefined,
        ),
      };
    }
    if (p.passthrough) return { a, st, passthrough: true };
    if (p.parts.some((x) => x.kind === "copy")) {
      rt.metrics?.refusals.inc({ reason: SQLSTATE_UNSUPPORTED });
      return {
        refusal: refusal(SQLSTATE_UNSUPPORTED, "smgate: COPY on protected tables is not supported by this gateway yet"),
      };
    }
    const denied = this.deniedBy(ctx, p);
    if (denied) return { refusal: denied };
    return { a, st, passthrough: false };
  }

  private deniedBy(ctx: SessionContext, p: StatementPlan): Refusal | undefined {
    const access = this.subject(ctx);
    if (this.checked.get(p) === this.accessGeneration) return undefined;
    const d = checkAccess(p, access);
    if (!d) {
      this.checked.set(p, this.accessGeneration);
      return undefined;
    }
    const target = reportDenial(
      this.rt,
      { user: ctx.user, app: ctx.applicationName, address: ctx.clientAddress },
      d,
      SQLSTATE_DENIED,
    );
    return refusal(
      SQLSTATE_DENIED,
      `permission denied by smgate policy: ${d.op} on ${d.column ? "column" : "table"} ${target}`,
    );
  }

  // ---------------- frontend ----------------

  onQuery(ctx: SessionContext, sql: string): undefined | { sql: string } | Refusal {
    const r = this.analyse(ctx, sql);
    if ("refusal" in r) return r.refusal;
    if (r.passthrough || !r.a.plan.rewrites) return undefined;
    const { a, st } = r;
    try {
      const enc = encryptLiterals(this.rt, st.catalog, st.engine, sql, a);
      const slots = computeSlots(
        this.rt,
        st.catalog,
        a.plan.slots,
        literalReader(st.engine, sql, a, a.plan.slots.map((s) => s.column.ad).join(",")),
      ).map((v) => renderLiteral(this.rt, v));
      return { sql: st.engine.rewrite(sql, a, enc, slots) };
    } catch (e) {
      return refusalFromError(e);
    }
  }

  onParse(ctx: SessionContext, stmt: PreparedStatement): undefined | { sql?: string; paramTypes?: number[] } | Refusal {
    const r = this.analyse(ctx, stmt.sql);
    if ("refusal" in r) return r.refusal;
    if (r.passthrough) {
      stmt.plan = undefined;
      return undefined;
    }
    try {
      const prep = prepare(this.rt, r.st.catalog, r.st.engine, stmt.sql, r.a, stmt.paramTypes);
      stmt.plan = prep.plan;
      if (prep.sql === undefined && prep.paramTypes === undefined) return undefined;
      return {
        ...(prep.sql !== undefined ? { sql: prep.sql } : {}),
        ...(prep.paramTypes ? { paramTypes: prep.paramTypes } : {}),
      };
    } catch (e) {
      return refusalFromError(e);
    }
  }

  /** A prepared plan still valid under the policy in force (re-checked after reloads), or a refusal. */
  private current(ctx: SessionContext, prep: PreparedPlan): Refusal | undefined {
    if (prep.protectionGeneration !== this.rt.protectionGeneration) {
      const st = this.rt.dbState(ctx.database);
      const again = st.engine.analyse(prep.sql, { searchPath: this.searchPath(ctx) }).plan;
      const same = JSON.stringify(planEffect(again)) === JSON.stringify(planEffect(prep.a.plan));
      if (!same)
        return refusal(
          SQLSTATE_UNSUPPORTED,
          "smgate: the protection policy changed since this statement was prepared; prepare it again",
        );
      prep.protectionGeneration = this.rt.protectionGeneration;
    }
    return this.deniedBy(ctx, prep.a.plan);
  }

  onBind(
    ctx: SessionContext,
    portal: Portal,
    params: (Buffer | null)[],
  ): undefined | { params: (Buffer | null)[]; paramFormats?: number[]; resultFormats?: number[] } | Refusal {
    const prep = portal.statement?.plan;
    if (!isPreparedPlan(prep)) return undefined;
    const stale = this.current(ctx, prep);
    if (stale) return stale;
    const plan = prep.a.plan;
    const fmts = portal.paramFormats;
    const converted = new Set<number>();
    const catalog = prep.catalog;
    try {
      const textOf = (n: number, hint?: number): Value => {
        const v = params[n - 1];
        if (v === undefined) throw refusalError(`parameter $${n} is missing`);
        if (v === null) return null;
        if (fmtAt(fmts, n - 1) === 0) return v;
        const oid =
          prep.clientTypes[n - 1] || prep.shownTypes.get(n) || portal.statement?.paramDescription?.[n - 1] || hint || 0;
        if (!oid)
          throw refusalError(`binary parameter $${n} feeds a protected value but its type is unknown; declare it`);
        return binaryToText(oid, v); // the client's value stays as sent unless it is replaced below
      };
      const shape = bindShape(prep);
      const out = params.slice();
      if (shape.targets.length > 0) {
        const n = shape.targets.length;
        const inputs = new Array<Value>(n);
        for (let i = 0; i < n; i++) inputs[i] = textOf(shape.targets[i]);
        const vals = transformGroups(this.rt, catalog, shape.groups, inputs);
        for (let i = 0; i < n; i++) {
          const at = shape.targets[i] - 1;
          out[at] = vals[i];
          converted.add(at);
        }
      }
      if (prep.slotParams.length > 0) {
        const lit = literalReader(prep.engine, prep.sql, prep.a, "");
        const slots = prep.slotParams.map((sp) => plan.slots[sp.slot]);
        const vals = computeSlots(this.rt, catalog, slots, (src, col) => {
          if (src.kind === "param")
            return textOf(src.n, oidOfCatalogType(columnType(catalog, col.schema, col.table, col.column)));
          if (src.kind === "unknown") return unknownSource(slots.map((s) => s.column.ad).join(","));
          return lit(src);
        });
        while (out.length < prep.base) out.push(null);
        prep.slotParams.forEach((sp, i) => {
          out[sp.n - 1] = vals[i];
        });
      }
      let paramFormats: number[] | undefined;
      if (converted.size > 0 || prep.slotParams.length > 0) {
        paramFormats = out.map((_, i) => (i >= params.length || converted.has(i) ? 0 : fmtAt(fmts, i)));
      }
      const resultFormats = serverResultFormats(prep.part, portal.resultFormats);
      const r: { params: (Buffer | null)[]; paramFormats?: number[]; resultFormats?: number[] } = { params: out };
      if (paramFormats) r.paramFormats = paramFormats;
      if (resultFormats) r.resultFormats = resultFormats;
      return r;
    } catch (e) {
      return refusalFromError(e);
    }
  }

  // ---------------- backend ----------------

  onParameterDescription(_ctx: SessionContext, stmt: PreparedStatement | undefined, types: number[]) {
    const prep = stmt?.plan;
    if (!isPreparedPlan(prep)) return undefined;
    const shown = types.slice(0, prep.base);
    for (const [n, oid] of prep.shownTypes) if (n <= shown.length) shown[n - 1] = oid;
    return shown;
  }

  onRowDescription(ctx: SessionContext, request: PendingRequest | undefined, fields: FieldDescription[]) {
    if (!request) return undefined;
    if (request.kind === "query") {
      const sql = request.sql;
      if (sql === undefined) return undefined;
      const st = this.rt.dbState(ctx.database);
      const state = this.queryState.get(request) ?? { part: 0 };
      this.queryState.set(request, state);
      const plan = st.engine.analyse(sql, { searchPath: this.searchPath(ctx) }).plan;
      const part = matchPart(plan.parts, state, fields);
      if (plan.passthrough && !st.catalog) return undefined;
      state.transform = this.build(ctx, st.catalog, fields, part, undefined);
      return state.transform?.fields;
    }
    const stmt = request.kind === "describe-statement" ? request.statement : request.portal?.statement;
    const prep = stmt?.plan;
    if (!isPreparedPlan(prep)) return undefined;
    if (request.kind === "describe-statement") {
      return this.build(ctx, prep.catalog, fields, prep.part, undefined)?.fields;
    }
    if (request.kind === "describe-portal" && request.portal) {
      const t = this.build(ctx, prep.catalog, fields, prep.part, request.portal.resultFormats);
      request.portal.plan = { fields, transform: t } satisfies PortalRows;
      return t?.fields;
    }
    return undefined;
  }

  private build(
    ctx: SessionContext,
    catalog: DatabaseState["catalog"],
    fields: FieldDescription[],
    part: StatementPart | undefined,
    clientFormats: number[] | undefined,
  ): RowTransform | undefined {
    return buildRowTransform({
      rt: this.rt,
      catalog,
      access: this.subject(ctx),
      fields,
      resultColumns: part?.resultColumns,
      macChecks: part?.macChecks,
      clientFormats,
    });
  }

  onDataRows(ctx: SessionContext, request: PendingRequest | undefined, rows: Buffer[]): Buffer[] | Refusal | undefined {
    if (!request) return undefined;
    let t: RowTransform | undefined;
    if (request.kind === "query") t = this.queryState.get(request)?.transform;
    else if (request.kind === "execute" && request.portal) {
      const portal = request.portal;
      const prep = portal.statement?.plan;
      if (!isPreparedPlan(prep)) return undefined;
      const cached = portal.plan as PortalRows | undefined;
      const fields = request.rowDescription ?? portal.rowDescription;
      if (cached && cached.fields === fields) t = cached.transform;
      else {
        const f = fields ?? syntheticFields(prep, portal.resultFormats);
        if (!f) return undefined;
        t = this.build(ctx, prep.catalog, f, prep.part, portal.resultFormats);
        portal.plan = { fields, transform: t } satisfies PortalRows;
      }
    }
    if (!t) return undefined;
    return applyRowTransform(this.rt, t, rows);
  }
}

/** What every Bind of a prepared statement transforms: parameter numbers bound for protected columns, grouped. */
interface BindShape {
  /** parameter numbers ($n) with a target, in plan order */
  targets: number[];
  /** targets[i]'s target grouped per column + transform (positions index `targets`) */
  groups: TargetGroup[];
}

const bindShapes = new WeakMap<PreparedPlan, BindShape>();

/** The plan's BindShape, computed at the first Bind (the plan's params and catalog never change). */
function bindShape(prep: PreparedPlan): BindShape {
  let s = bindShapes.get(prep);
  if (s === undefined) {
    const params = prep.a.plan.params.filter((p) => p.target);
    s = { targets: params.map((p) => p.n), groups: groupTargets(params.map((p) => p.target!)) };
    bindShapes.set(prep, s);
  }
  return s;
}

/** Parts that may return rows without the analysis knowing their columns (SHOW, EXPLAIN, FETCH, …). */
const OPAQUE_KINDS = new Set(["utility", "other"]);

/**
 * The statement part a RowDescription of a multi-statement simple query belongs to. Parts are consumed in
 * order; a part matches when its result columns have the fields' count and names, or — with no part of
 * unknown shape in between — just the count. No match: undefined (the rows are then handled from the
 * RowDescription's table OIDs alone).
 */
export function matchPart(
  parts: StatementPart[],
  state: { part: number },
  fields: FieldDescription[],
): StatementPart | undefined {
  for (let i = state.part; i < parts.length; i++) {
    const cols = parts[i].resultColumns;
    if (cols && cols.length === fields.length && cols.every((c, j) => c.name === fields[j].name)) {
      state.part = i + 1;
      return parts[i];
    }
  }
  for (let i = state.part; i < parts.length; i++) {
    const p = parts[i];
    if (p.resultColumns) {
      if (p.resultColumns.length !== fields.length) continue;
      state.part = i + 1;
      return p;
    }
    if (OPAQUE_KINDS.has(p.kind)) {
      state.part = i + 1; // this result most likely comes from the opaque statement
      return undefined;
    }
  }
  return undefined;
}

/** "127.0.0.1:5432" / "::1:5432" → the address without the port. */
export function hostOf(address: string): string {
  const m = /^(.*):\d+$/.exec(address);
  return m ? m[1] : address;
}

function fmtAt(codes: number[], i: number): number {
  if (codes.length === 0) return 0;
  if (codes.length === 1) return codes[0];
  return codes[i] ?? 0;
}

function refusalError(message: string): EncryptRefusal {
  return new EncryptRefusal(SQLSTATE_UNSUPPORTED, `smgate: ${message}`);
}

/** What a plan does to values and results (to compare plans across policy reloads). */
function planEffect(p: StatementPlan) {
  return { r: p.refusal, params: p.params, literals: p.literals, slots: p.slots, edits: p.edits, parts: p.parts };
}

/** Columns smgate transforms are asked in text; others keep the client's format. undefined = unchanged. */
function serverResultFormats(part: StatementPart | undefined, client: number[]): number[] | undefined {
  const cols = part?.resultColumns;
  if (!cols || !client.some((f) => f === 1)) return undefined;
  const special = specialColumns(part!);
  if (special.size === 0) return undefined;
  const out: number[] = [];
  let visible = 0;
  for (let i = 0; i < cols.length; i++) {
    if (cols[i].hidden) {
      out.push(0);
      continue;
    }
    const cf = fmtAt(client, visible++);
    out.push(special.has(i) ? 0 : cf);
  }
  return out;
}

function specialColumns(part: StatementPart): Set<number> {
  const s = new Set<number>();
  (part.resultColumns ?? []).forEach((c: ResultColumn, i) => {
    if (c.source || c.hidden) s.add(i);
  });
  for (const m of part.macChecks) {
    s.add(m.valueIndex);
    s.add(m.macIndex);
    for (const k of m.rowKeyIndexes) s.add(k);
  }
  return s;
}

/** Execute without Describe: the row shape from the analysis (types from the catalog, formats as asked). */
function syntheticFields(prep: PreparedPlan, clientFormats: number[]): FieldDescription[] | undefined {
  const cols = prep.part?.resultColumns;
  if (!cols) return undefined;
  const server = serverResultFormats(prep.part, clientFormats);
  let visible = 0;
  return cols.map((c, i) => {
    const fmt = server ? server[i] : c.hidden ? 0 : fmtAt(clientFormats, visible++);
    const t = c.source ? columnType(prep.catalog, c.source.schema, c.source.table, c.source.column) : undefined;
    const oid = c.source && isByteaType(t) ? OID.bytea : OID.text;
    return { name: c.name, tableOid: 0, columnAttr: 0, typeOid: oid, typeSize: -1, typeModifier: -1, format: fmt };
  });
}

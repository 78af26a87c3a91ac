// The encryption layer's MysqlSessionHooks for one client session: analyses every statement (shape cache),
// enforces the policy for the session's subject (user, program_name connection attribute, client address,
// database), encrypts literals and COM_STMT_EXECUTE parameters bound for protected columns, adds companion
// values, shows plaintext types in column definitions, hides companion columns, and decrypts / masks /
// verifies result rows in batches. Anything that cannot be analysed on a protected table is refused.

import type { SubjectAccess } from "../../../policy/compile.js";
import { checkAccess } from "../../encrypt/access-check.js";
import { reportDenial } from "../../encrypt/security-events.js";
import type { AnalysedStatement } from "../../rewrite/engine.js";
import type { StatementPart, StatementPlan } from "../../rewrite/types.js";
import type { ColumnDefinition } from "../column-definition.js";
import type { ColumnView, ExecuteParams, MysqlSessionHooks, PreparingStatement, Refusal, RowBatch } from "../hooks.js";
import type { PendingResponse } from "../pending.js";
import type { MysqlSessionContext, PreparedStatement } from "../session-context.js";
import { executeParams, isMysqlPreparedPlan, type MysqlPreparedPlan, prepare } from "./prepared-plan.js";
import { analysisRefusal, denialRefusal, ER_NOT_SUPPORTED, refusal, refusalFromError } from "./refusals.js";
import { applyRowTransform, buildRowTransform, type RowTransform } from "./row-transform.js";
import type { EngineState, MysqlEncryptionRuntime } from "./runtime.js";
import { rewriteQuery } from "./statement-values.js";

const DDL = /^\s*(create|alter|drop|rename|truncate|grant|revoke)\b/i;
/** `USE db` sent as COM_QUERY (COM_INIT_DB is tracked by the gateway itself). */
const USE = /^\s*use\s+(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$]+))\s*;?\s*$/i;

type Analysed = { refusal: Refusal } | { a: AnalysedStatement; st: EngineState; passthrough: boolean };

/** What a COM_QUERY request carries for its resultsets. */
interface QueryPlan {
  kind: "smgate-mysql-query";
  plan: StatementPlan;
}

export class MysqlEncryptionSession implements MysqlSessionHooks {
  readonly ready: Promise<unknown>;
  private access: SubjectAccess | undefined;
  private accessGeneration = 0;
  private readonly checked = new WeakMap<StatementPlan, number>();
  private readonly transforms = new WeakMap<PendingResponse, RowTransform | undefined>();
  private ddlSeen = false;

  constructor(private readonly rt: MysqlEncryptionRuntime) {
    this.ready = rt.catalogs.ensure();
    // the gateway calls hooks detached from this object
    this.onQuery = this.onQuery.bind(this);
    this.onPrepare = this.onPrepare.bind(this);
    this.onExecute = this.onExecute.bind(this);
    this.onColumnDefinitions = this.onColumnDefinitions.bind(this);
    this.onRows = this.onRows.bind(this);
  }

  private subject(ctx: MysqlSessionContext): SubjectAccess {
    if (!this.access || this.accessGeneration !== this.rt.generation) {
      this.access = this.rt.policy.resolveSubject(ctx.subject());
      this.accessGeneration = this.rt.generation;
    }
    return this.access;
  }

  private searchPath(ctx: MysqlSessionContext): string[] {
    // no current database: unqualified names resolve nowhere (the server refuses them too)
    return [ctx.database ?? "\u0000"];
  }

  private analyse(ctx: MysqlSessionContext, sql: string): Analysed {
    const rt = this.rt;
    if (this.ddlSeen) {
      this.ddlSeen = false;
      void rt.catalogs.refresh();
    }
    if (DDL.test(sql)) {
      this.ddlSeen = true;
      setTimeout(() => rt.catalogs.refreshSoon(0), 250).unref();
    }
    const st = rt.engineState();
    let a: AnalysedStatement;
    try {
      a = st.engine.analyse(sql, { searchPath: this.searchPath(ctx) });
    } catch {
      rt.metrics?.refusals.inc({ reason: "analysis_failed" });
      return { refusal: refusal(ER_NOT_SUPPORTED, "smgate: the statement could not be analysed; refused") };
    }
    const p = a.plan;
    rt.metrics?.shapeCache.inc({ result: p.passthrough && a.shape.key === "" ? "bypass" : a.cached ? "hit" : "miss" });
    if (p.refusal) {
      rt.metrics?.refusals.inc({ reason: p.refusal.sqlstate });
      if (p.refusal.sqlstate === "42P01") rt.catalogs.refreshSoon();
      rt.audit?.record({
        type: "refusal",
        actor: ctx.user,
        app: ctx.app,
        address: ctx.clientAddress,
        outcome: "refused",
        detail: p.refusal.sqlstate,
      });
      return { refusal: analysisRefusal(p.refusal.sqlstate, p.refusal.message) };
    }
    if (p.passthrough) return { a, st, passthrough: true };
    const denied = this.deniedBy(ctx, p);
    if (denied) return { refusal: denied };
    return { a, st, passthrough: false };
  }

  private deniedBy(ctx: MysqlSessionContext, p: StatementPlan): Refusal | undefined {
    const access = this.subject(ctx);
    if (this.checked.get(p) === this.accessGeneration) return undefined;
    const d = checkAccess(p, access);
    if (!d) {
      this.checked.set(p, this.accessGeneration);
      return undefined;
    }
    reportDenial(this.rt, { user: ctx.user, app: ctx.app, address: ctx.clientAddress }, d, d.column ? "1143" : "1142");
    return denialRefusal(d.op, ctx.user, d.table, d.column);
  }

  // ---------------- commands ----------------

  onQuery(ctx: MysqlSessionContext, request: PendingResponse, sql: string): undefined | { sql: string } | Refusal {
    const use = USE.exec(sql);
    if (use) {
      // the next statements resolve unqualified names in that database (if the server refuses the switch,
      // names resolve in a database the session is not in: protected names are then unknown and refused)
      ctx.database = use[1] !== undefined ? use[1].replace(/``/g, "`") : use[2];
      return undefined;
    }
    const r = this.analyse(ctx, sql);
    if ("refusal" in r) return r.refusal;
    request.plan = { kind: "smgate-mysql-query", plan: r.a.plan } satisfies QueryPlan;
    if (r.passthrough || !r.a.plan.rewrites) return undefined;
    try {
      return { sql: rewriteQuery(this.rt, r.st.catalog, r.st.engine, sql, r.a) };
    } catch (e) {
      return refusalFromError(e);
    }
  }

  onPrepare(ctx: MysqlSessionContext, stmt: PreparingStatement): undefined | { sql: string } | Refusal {
    const r = this.analyse(ctx, stmt.sql);
    if ("refusal" in r) return r.refusal;
    if (r.passthrough) {
      stmt.plan = undefined;
      return undefined;
    }
    try {
      const prep = prepare(this.rt, r.st.catalog, r.st.engine, stmt.sql, r.a);
      stmt.plan = prep.plan;
      return prep.sql === undefined ? undefined : { sql: prep.sql };
    } catch (e) {
      return refusalFromError(e);
    }
  }

  /** A prepared plan still valid under the policy in force (re-checked after reloads), or a refusal. */
  private current(ctx: MysqlSessionContext, prep: MysqlPreparedPlan): Refusal | undefined {
    if (prep.protectionGeneration !== this.rt.protectionGeneration) {
      const again = this.rt.engineState().engine.analyse(prep.sql, { searchPath: this.searchPath(ctx) }).plan;
      if (JSON.stringify(planEffect(again)) !== JSON.stringify(planEffect(prep.a.plan)))
        return refusal(
          ER_NOT_SUPPORTED,
          "smgate: the protection policy changed since this statement was prepared; prepare it again",
        );
      prep.protectionGeneration = this.rt.protectionGeneration;
    }
    return this.deniedBy(ctx, prep.a.plan);
  }

  onExecute(
    ctx: MysqlSessionContext,
    stmt: PreparedStatement,
    params: ExecuteParams,
  ): undefined | { params: ExecuteParams } | Refusal {
    const prep = stmt.plan;
    if (!isMysqlPreparedPlan(prep)) return undefined;
    const stale = this.current(ctx, prep);
    if (stale) return stale;
    try {
      const out = executeParams(this.rt, prep, params);
      return out ? { params: out } : undefined;
    } catch (e) {
      return refusalFromError(e);
    }
  }

  // ---------------- results ----------------

  onColumnDefinitions(
    ctx: MysqlSessionContext,
    request: PendingResponse,
    columns: ColumnDefinition[],
    params: boolean,
  ): ColumnView | undefined {
    const stmtPlan = request.stmt?.plan ?? request.preparing?.plan;
    const prep = isMysqlPreparedPlan(stmtPlan) ? stmtPlan : undefined;
    if (params) {
      // the slot markers smgate added are the server's parameters, not the client's
      const sp = prep?.serverParams;
      if (!sp || sp.length !== columns.length) return undefined;
      return { columns, hide: sp.flatMap((p, i) => ("slot" in p ? [i] : [])) };
    }
    let part: StatementPart | undefined;
    if (request.kind === "resultset") {
      const q = request.plan as QueryPlan | undefined;
      // every statement of a multi-statement text answers with one result (OK or resultset), in order
      if (q?.kind === "smgate-mysql-query") part = q.plan.parts[request.resultIndex];
      if (!part?.resultColumns) part = undefined;
    } else part = prep?.part;
    const t = buildRowTransform({
      rt: this.rt,
      access: this.subject(ctx),
      user: ctx.user,
      charset: ctx.charset,
      columns,
      resultColumns: part?.resultColumns,
      macChecks: part?.macChecks,
    });
    if (request.kind !== "prepare") this.transforms.set(request, t);
    return t?.view;
  }

  onRows(_ctx: MysqlSessionContext, request: PendingResponse, rows: RowBatch): undefined | Refusal {
    const t = this.transforms.get(request);
    return t ? applyRowTransform(this.rt, t, rows) : undefined;
  }
}

/** What a plan does to values and results (to compare plans across policy reloads). */
function planEffect(p: StatementPlan) {
  return { r: p.refusal, params: p.params, literals: p.literals, slots: p.slots, edits: p.edits, parts: p.parts };
}

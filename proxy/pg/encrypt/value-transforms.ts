// PostgreSQL side of the value transforms (the batching itself is dialect-neutral: proxy/encrypt/
// value-transforms.ts): stored forms follow the catalog type of the receiving column (bytea → "\x…" hex
// text, anything else → smg1: text / base64url companions), plus type OIDs of catalog type names.
import type { StoredForm } from "../../codec/stored-form.js";
import {
  companionColumn,
  groupTargets,
  type InputColumn,
  computeSlots as neutralComputeSlots,
  transformGroups as neutralTransformGroups,
  transformTargets as neutralTransformTargets,
  type SourceReader,
  type TargetGroup,
  type TransformEnv,
  type Value,
} from "../../encrypt/value-transforms.js";
import type { ProtectedColumnRef, SlotPlan, ValueTarget } from "../../rewrite/types.js";
import type { PgCatalog } from "./catalog.js";
import { EncryptRefusal, SQLSTATE_UNSUPPORTED } from "./refusals.js";
import type { EncryptionRuntime } from "./runtime.js";

/** The catalog type of a column ("text", "bytea", "character varying(20)", …) or undefined. */
export function columnType(catalog: PgCatalog | undefined, schema: string, table: string, column: string) {
  return catalog?.schema.table(schema, table)?.columns.find((c) => c.name === column)?.type;
}

export function isByteaType(type: string | undefined): boolean {
  return type === "bytea";
}

/** Stored form of values sent in text format to a column of this catalog type. */
export function textStoredForm(type: string | undefined): StoredForm {
  return isByteaType(type) ? "bytea-hex" : "text";
}

export { companionColumn, groupTargets, type InputColumn, type SourceReader, type TargetGroup, type Value };

export function companionForm(catalog: PgCatalog | undefined, ref: ProtectedColumnRef, kind: "blind-index" | "mac") {
  return textStoredForm(columnType(catalog, ref.schema, ref.table, companionColumn(ref, kind)));
}

/** Envs per runtime and catalog (a catalog object never changes; a reload brings a new one). */
const envCache = new WeakMap<EncryptionRuntime, { none?: TransformEnv; byCatalog: WeakMap<PgCatalog, TransformEnv> }>();

/** The neutral transforms' view of the runtime: stored forms follow this database's catalog types. */
function envOf(rt: EncryptionRuntime, catalog: PgCatalog | undefined): TransformEnv {
  let perRt = envCache.get(rt);
  if (perRt === undefined) {
    perRt = { byCatalog: new WeakMap() };
    envCache.set(rt, perRt);
  }
  let env = catalog === undefined ? perRt.none : perRt.byCatalog.get(catalog);
  if (env === undefined) {
    env = {
      codec: (p) => rt.codec(p),
      metrics: rt.metrics,
      storedForm: (c) => textStoredForm(columnType(catalog, c.schema, c.table, c.column)),
    };
    if (catalog === undefined) perRt.none = env;
    else perRt.byCatalog.set(catalog, env);
  }
  return env;
}

/** Transforms values bound for protected columns; `items[i]` → result[i]. One codec call per column+transform. */
export function transformTargets(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  items: { target: ValueTarget; value: Value }[],
): Value[] {
  return neutralTransformTargets(envOf(rt, catalog), items);
}

/**
 * transformTargets with the grouping done beforehand (groupTargets), for a prepared statement's every Bind:
 * `groups` must only ever be used with this `catalog` (their memo holds stored forms resolved in it).
 */
export function transformGroups(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  groups: readonly TargetGroup[],
  values: readonly Value[],
): Value[] {
  return neutralTransformGroups(envOf(rt, catalog), groups, values);
}

export function unknownSource(column: string): never {
  throw new EncryptRefusal(
    SQLSTATE_UNSUPPORTED,
    `column "${column}": smgate cannot compute its companion value (an input is neither a parameter nor a literal)`,
  );
}

/** Computes companion values (blind index / MAC) for the slots, batched per column. */
export function computeSlots(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  slots: readonly SlotPlan[],
  read: SourceReader,
): Value[] {
  return neutralComputeSlots(envOf(rt, catalog), slots, read);
}

const TYPE_OIDS: Record<string, number> = {
  boolean: 16,
  bytea: 17,
  bigint: 20,
  smallint: 21,
  integer: 23,
  text: 25,
  real: 700,
  "double precision": 701,
  character: 1042,
  "character varying": 1043,
  date: 1082,
  "time without time zone": 1083,
  "timestamp without time zone": 1114,
  "timestamp with time zone": 1184,
  numeric: 1700,
  uuid: 2950,
};

/** Type OID of a catalog type name (format_type output, modifiers ignored); undefined when not known here. */
export function oidOfCatalogType(type: string | undefined): number | undefined {
  if (!type) return undefined;
  return TYPE_OIDS[type.replace(/\(.*\)/, "")];
}

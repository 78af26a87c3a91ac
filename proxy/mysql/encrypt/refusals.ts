// The errors the MySQL encryption layer answers with, as ERR packets naming the table or column (never a
// value): policy denials 1142 (table) / 1143 (column) with SQLSTATE 42000, unsupported use of a protected
// column 1235 (ER_NOT_SUPPORTED_YET, 42000), unknown table 1146 (42S02, the catalog may be stale), integrity
// failure and unavailable keys 1105 (HY000), a value that does not fit its format 1366 (HY000).
import type { Op } from "../../../policy/policy-types.js";
import { CodecError } from "../../codec/errors.js";
import type { Refusal } from "../hooks.js";

export const ER_TABLE_DENIED = { code: 1142, state: "42000" } as const;
export const ER_COLUMN_DENIED = { code: 1143, state: "42000" } as const;
export const ER_NOT_SUPPORTED = { code: 1235, state: "42000" } as const;
export const ER_NO_SUCH_TABLE = { code: 1146, state: "42S02" } as const;
export const ER_INTEGRITY = { code: 1105, state: "HY000" } as const;
export const ER_KEY_UNAVAILABLE = { code: 1105, state: "HY000" } as const;
export const ER_BAD_VALUE = { code: 1366, state: "HY000" } as const;
export const ER_INTERNAL = { code: 1105, state: "HY000" } as const;

type Spec = { code: number; state: string };

export function refusal(spec: Spec, message: string): Refusal {
  return { error: { code: spec.code, state: spec.state, message } };
}

/** 1142 / 1143 in the server's own wording, naming smgate's policy as the reason. */
export function denialRefusal(op: Op, user: string, table: string, column?: string): Refusal {
  const cmd = op.toUpperCase();
  const t = table.slice(table.indexOf(".") + 1);
  return column
    ? refusal(
        ER_COLUMN_DENIED,
        `${cmd} command denied to user '${user}' for column '${column}' in table '${t}' (smgate policy: ${table}.${column})`,
      )
    : refusal(ER_TABLE_DENIED, `${cmd} command denied to user '${user}' for table '${t}' (smgate policy: ${table})`);
}

/** An analysis refusal of the rewrite engine (SQLSTATE-keyed) as the matching MySQL error. */
export function analysisRefusal(sqlstate: string, message: string): Refusal {
  if (sqlstate === "42P01") return refusal(ER_NO_SUCH_TABLE, `smgate: ${message}`);
  if (sqlstate === "XX000") return refusal(ER_INTERNAL, `smgate: ${message}`);
  return refusal(ER_NOT_SUPPORTED, `smgate: ${message}`);
}

/** Thrown inside the layer; turned into a Refusal at the hook boundary. */
export class EncryptRefusal extends Error {
  override name = "EncryptRefusal";
  constructor(
    readonly spec: Spec,
    message: string,
  ) {
    super(message);
  }
  toRefusal(): Refusal {
    return refusal(this.spec, this.message);
  }
}

export function unsupported(message: string): EncryptRefusal {
  return new EncryptRefusal(ER_NOT_SUPPORTED, `smgate: ${message}`);
}

/** CodecError (and anything else thrown while transforming values) → a refusal naming the column. */
export function refusalFromError(err: unknown): Refusal {
  if (err instanceof EncryptRefusal) return err.toRefusal();
  if (err instanceof CodecError) {
    switch (err.kind) {
      case "integrity":
        return refusal(ER_INTEGRITY, `smgate: ${err.message}`);
      case "key_unavailable":
        return refusal(ER_KEY_UNAVAILABLE, `smgate: ${err.message} (unknown, destroyed or not loaded)`);
      case "bad_value":
        return refusal(ER_BAD_VALUE, `smgate: ${err.message}`);
    }
  }
  if (err instanceof Error && err.name === "ValueEncodingError")
    return refusal(ER_NOT_SUPPORTED, `smgate: a protected value does not fit the type shown (${err.message})`);
  return refusal(ER_INTERNAL, "smgate: internal error while transforming protected values");
}

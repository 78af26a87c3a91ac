// The errors the encryption layer answers with, as ErrorResponse fields (SQLSTATE + message naming the
// table/column — never a value): policy denial 42501, unsupported use of a protected column 0A000, integrity
// failure XX001, key unavailable 58000 (the column's key is unknown, destroyed or not loaded), bad value 22P02.
import { CodecError } from "../../codec/errors.js";
import type { Refusal } from "../hooks.js";

export const SQLSTATE_DENIED = "42501";
export const SQLSTATE_UNSUPPORTED = "0A000";
export const SQLSTATE_INTEGRITY = "XX001";
export const SQLSTATE_KEY_UNAVAILABLE = "58000";
export const SQLSTATE_BAD_VALUE = "22P02";

export function refusal(sqlstate: string, message: string, hint?: string): Refusal {
  return { error: { C: sqlstate, M: message, ...(hint ? { H: hint } : {}) } };
}

/** Thrown inside the layer; turned into a Refusal at the hook boundary. */
export class EncryptRefusal extends Error {
  override name = "EncryptRefusal";
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
  toRefusal(): Refusal {
    return refusal(this.sqlstate, this.message, this.hint);
  }
}

/** CodecError (and anything else thrown while transforming values) → a refusal naming the column. */
export function refusalFromError(err: unknown): Refusal {
  if (err instanceof EncryptRefusal) return err.toRefusal();
  if (err instanceof CodecError) {
    switch (err.kind) {
      case "integrity":
        return refusal(SQLSTATE_INTEGRITY, `smgate: ${err.message}`);
      case "key_unavailable":
        return refusal(
          SQLSTATE_KEY_UNAVAILABLE,
          `smgate: ${err.message}`,
          "the key is unknown, destroyed or not loaded in the keystore",
        );
      case "bad_value":
        return refusal(SQLSTATE_BAD_VALUE, `smgate: ${err.message}`);
    }
  }
  if (err instanceof Error && err.name === "BinaryFormatError")
    return refusal(SQLSTATE_UNSUPPORTED, `smgate: ${err.message}`);
  return refusal("XX000", "smgate: internal error while transforming protected values");
}

// Errors the value codecs raise; the protocol layers map them to database-native errors (PostgreSQL
// SQLSTATE XX001 / 57P04-style, MySQL ERR packets). Messages name the column, never a value or a key.
export type CodecErrorKind = "integrity" | "key_unavailable" | "bad_value";

export class CodecError extends Error {
  override name = "CodecError";
  constructor(
    readonly kind: CodecErrorKind,
    /** lower-cased schema.table.column */
    readonly column: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Typed errors of the rewrite engine. Messages name schema.table.column and constructs, never values.

/** The statement must not reach the server (unsupported use of an encrypted column, unanalysable, …). */
export class RewriteRefusal extends Error {
  override readonly name = "RewriteRefusal";
  constructor(
    message: string,
    /** SQLSTATE for the client's ErrorResponse: 0A000 unsupported, 42601 syntax, 42P01/42703 unknown names. */
    readonly sqlstate: string = "0A000",
    /** "schema.table.column" when the refusal is about one protected column. */
    readonly column?: string,
  ) {
    super(message);
  }
}

/** The statement text could not be parsed (and touches a protected table, so it is refused). */
export class SqlParseError extends RewriteRefusal {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message, "42601");
  }
}

export function isRewriteRefusal(e: unknown): e is RewriteRefusal {
  return e instanceof RewriteRefusal;
}

/** A construct a dialect adapter does not model; refused when the statement touches a protected table. */
export class UnsupportedNode extends Error {
  constructor(readonly what: string) {
    super(`unsupported construct: ${what}`);
  }
}

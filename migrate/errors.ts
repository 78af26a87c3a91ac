// Errors of `smgate migrate`: one typed error whose message says what failed and what to do. Messages name
// tables, columns and primary-key positions, never a protected value or key bytes.
export class MigrateError extends Error {
  override name = "MigrateError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// Typed protocol errors of the PostgreSQL half. Each carries the SQLSTATE the client receives.
// Messages describe the problem (type byte, length, limit) and never include message payloads.

export const SQLSTATE = {
  PROTOCOL_VIOLATION: "08P01",
  CONNECTION_FAILURE: "08006",
  CONNECTION_EXCEPTION: "08000",
  ADMIN_SHUTDOWN: "57P01",
  TOO_MANY_CONNECTIONS: "53300",
  INSUFFICIENT_PRIVILEGE: "42501",
  FEATURE_NOT_SUPPORTED: "0A000",
} as const;

export class PgProtocolError extends Error {
  override name = "PgProtocolError";
  constructor(
    message: string,
    readonly sqlstate: string = SQLSTATE.PROTOCOL_VIOLATION,
  ) {
    super(message);
  }
}

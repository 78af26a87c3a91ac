// Typed error for every failure in crypto/. Messages name the operation, format or envelope position,
// never plaintext values or key bytes.

export type CryptoErrorCode = "BAD_ENVELOPE" | "BAD_TAG" | "UNKNOWN_KEY" | "KEY_DESTROYED" | "BAD_INPUT" | "FORMAT";

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CryptoError";
    this.code = code;
  }
}

// Typed errors of the plugin installer and key bundle; messages never contain key bytes, tokens or values.
export type PluginErrorCode =
  | "BAD_BUNDLE"
  | "BAD_TOKEN"
  | "BAD_POLICY"
  | "UNSUPPORTED"
  | "NO_PRIMARY_KEY"
  | "DB"
  | "BUILD"
  | "ALREADY_INSTALLED"
  | "NOT_INSTALLED";

export class PluginError extends Error {
  readonly code: PluginErrorCode;
  constructor(code: PluginErrorCode, message: string) {
    super(message);
    this.name = "PluginError";
    this.code = code;
  }
}

// The "env" provider: the 16-byte master key is given directly in an environment variable as 32 hex digits
// or base64. The keystore file keeps only a check value so a different key is reported, not misused.
import { KeystoreError } from "../errors.js";
import type { ProviderRecord } from "../file-format.js";
import { checkValueMatches, masterCheckValue, SoftwareMaster } from "./software-master.js";

/** Reads and decodes the master key; errors name the variable, never its value. */
export function readMasterKeyFromEnv(envName: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const raw = env[envName];
  if (raw === undefined || raw.trim() === "") {
    throw new KeystoreError("PROVIDER", `environment variable ${envName} (master_key_env) is not set`);
  }
  const text = raw.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{32}$/.test(text)) key = Buffer.from(text, "hex");
  else if (/^[A-Za-z0-9+/_-]{22}(==)?$/.test(text))
    key = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key === undefined || key.length !== 16) {
    throw new KeystoreError(
      "PROVIDER",
      `environment variable ${envName} must hold a 16-byte master key as 32 hex digits or base64 ` +
        `(generate one with: openssl rand -hex 16)`,
    );
  }
  return key;
}

export function createEnvMaster(masterKeyId: number, envName: string, env?: NodeJS.ProcessEnv): SoftwareMaster {
  const master = readMasterKeyFromEnv(envName, env);
  const record: ProviderRecord = { type: "env", check: masterCheckValue(masterKeyId, master).toString("base64") };
  return new SoftwareMaster("env", masterKeyId, master, record);
}

export function openEnvMaster(
  record: Extract<ProviderRecord, { type: "env" }>,
  masterKeyId: number,
  envName: string,
  path: string,
  env?: NodeJS.ProcessEnv,
): SoftwareMaster {
  const master = readMasterKeyFromEnv(envName, env);
  if (!checkValueMatches(masterKeyId, master, Buffer.from(record.check, "base64"))) {
    master.fill(0);
    throw new KeystoreError(
      "WRONG_PASSPHRASE",
      `the master key in ${envName} does not open keystore file ${path} (wrong key, or the check value was altered)`,
    );
  }
  return new SoftwareMaster("env", masterKeyId, master, record);
}

// The "file" provider: the master key is PBKDF2-HMAC-SM3(passphrase, salt) with the salt, iteration count
// and a check value stored in the keystore file.
import { KeystoreError } from "../errors.js";
import type { ProviderRecord } from "../file-format.js";
import { checkIterations, checkNewPassphrase, deriveKeyFromPassphrase, type KdfPolicy, newKdfParams } from "../kdf.js";
import { checkValueMatches, masterCheckValue, SoftwareMaster } from "./software-master.js";

export function createPassphraseMaster(
  masterKeyId: number,
  passphrase: string,
  iterations: number,
  policy: KdfPolicy,
): SoftwareMaster {
  checkNewPassphrase(passphrase, "keystore passphrase");
  const params = newKdfParams(iterations, policy);
  const master = deriveKeyFromPassphrase(passphrase, params);
  const record: ProviderRecord = {
    type: "file",
    kdf: { alg: params.alg, iterations: params.iterations, salt: params.salt.toString("base64") },
    check: masterCheckValue(masterKeyId, master).toString("base64"),
  };
  return new SoftwareMaster("file", masterKeyId, master, record);
}

export function openPassphraseMaster(
  record: Extract<ProviderRecord, { type: "file" }>,
  masterKeyId: number,
  passphrase: string,
  policy: KdfPolicy,
  path: string,
): SoftwareMaster {
  checkIterations(record.kdf.iterations, `keystore file ${path}`, policy);
  const master = deriveKeyFromPassphrase(passphrase, {
    alg: record.kdf.alg,
    iterations: record.kdf.iterations,
    salt: Buffer.from(record.kdf.salt, "base64"),
  });
  if (!checkValueMatches(masterKeyId, master, Buffer.from(record.check, "base64"))) {
    master.fill(0);
    throw new KeystoreError(
      "WRONG_PASSPHRASE",
      `wrong passphrase for keystore file ${path} (or its KDF parameters / check value were altered)`,
    );
  }
  return new SoftwareMaster("file", masterKeyId, master, record);
}

// A master key held in process memory (file and env providers): wrapping uses the SM4 envelope under the
// master's DataKey, and a check value HMAC-SM3(master, constant) tells a wrong passphrase/key apart from
// a damaged file.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { DataKey } from "../../crypto/data-key.js";
import type { ProviderRecord } from "../file-format.js";
import { parentDataKey, unwrapUnder, wrapUnder } from "../wrap.js";
import type { MasterKeyProvider } from "./master-provider.js";

const CHECK_LABEL = "smgate/keystore/v1/master-check";

export function masterCheckValue(masterKeyId: number, master: Buffer): Buffer {
  return createHmac("sm3", master).update(`${CHECK_LABEL}/${masterKeyId}`).digest();
}

export function checkValueMatches(masterKeyId: number, master: Buffer, expected: Buffer): boolean {
  const actual = masterCheckValue(masterKeyId, master);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export class SoftwareMaster implements MasterKeyProvider {
  readonly kind: "file" | "env";
  readonly #master: Buffer;
  readonly #dataKey: DataKey;
  readonly #record: ProviderRecord;

  constructor(kind: "file" | "env", masterKeyId: number, master: Buffer, record: ProviderRecord) {
    this.kind = kind;
    this.#master = master;
    this.#dataKey = parentDataKey(masterKeyId, master);
    this.#record = record;
  }

  record(): ProviderRecord {
    return this.#record;
  }

  wrap(ad: Buffer, key: Buffer): Buffer {
    return wrapUnder(this.#dataKey, ad, key);
  }

  unwrap(ad: Buffer, blob: Buffer): Buffer {
    return unwrapUnder(this.#dataKey, ad, blob);
  }

  close(): void {
    this.#master.fill(0);
  }
}

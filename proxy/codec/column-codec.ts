// The value transforms of one protected column, batched: protect (plaintext text form → stored form),
// reveal (stored → plaintext, integrity checked), blind index and integrity MAC companions. A batch is the
// non-NULL values of one column across many rows: one crypto call per batch, NULL stays NULL.

import { blindIndex } from "../../crypto/blind-index.js";
import type { DataKey } from "../../crypto/data-key.js";
import { decryptEnvelopes, encryptDet, encryptRnd } from "../../crypto/envelope.js";
import { CryptoError } from "../../crypto/errors.js";
import { type FpeFormatName, type FpeOptions, fpeDecrypt, fpeEncrypt } from "../../crypto/fpe/index.js";
import { integrityMac } from "../../crypto/integrity-mac.js";
import type { KeyRing } from "../../keystore/keyring.js";
import type { ColumnProtection } from "../../policy/policy-types.js";
import { CodecError } from "./errors.js";
import { decodeCompanion, decodeStoredBatch, encodeCompanion, encodeStored, type StoredForm } from "./stored-form.js";

/** Value bytes MACed for SQL NULL (cannot be the UTF-8 text form of any value). docs/FORMAT.md. */
export const MAC_NULL_VALUE = Buffer.from([0xff, 0xff, 0xff, 0xff]);

type Values = (Buffer | null)[];

export class ColumnCodec {
  readonly ad: Buffer;
  readonly name: string;
  private readonly fpeOpts: FpeOptions;

  constructor(
    readonly protection: ColumnProtection,
    private readonly keys: KeyRing,
  ) {
    this.ad = Buffer.from(protection.ad, "utf8");
    this.name = protection.ad;
    this.fpeOpts = {
      keep_prefix: protection.keep_prefix,
      keep_suffix: protection.keep_suffix,
      width: protection.width,
    };
  }

  /** The column's active data key; KeyUnavailable becomes a CodecError naming the column. */
  activeKey(): DataKey {
    try {
      return this.keys.active(this.protection.key);
    } catch (err) {
      throw new CodecError(
        "key_unavailable",
        this.name,
        `key "${this.protection.key}" for column ${this.name} is unavailable`,
        {
          cause: err,
        },
      );
    }
  }

  /** plaintext text-form values → what is stored (envelope in `form`, or the FPE text; MAC columns unchanged) */
  protect(values: Values, form: StoredForm): Values {
    const p = this.protection;
    if (p.protect === "mac") return values;
    const { dense, at } = gather(values);
    if (dense.length === 0) return values;
    const key = this.activeKey();
    let out: Buffer[];
    if (p.protect === "fpe") {
      out = this.fpe(key, dense, true);
    } else {
      const envs = p.mode === "deterministic" ? encryptDet(key, this.ad, dense) : encryptRnd(key, this.ad, dense);
      out = envs.map((e) => encodeStored(e, form));
    }
    return scatter(values, at, out);
  }

  /** stored values → plaintext text form. Throws CodecError("integrity") on a bad tag/SIV or non-envelope. */
  reveal(values: Values, form: StoredForm): Values {
    const p = this.protection;
    if (p.protect === "mac") return values;
    const { dense, at } = gather(values);
    if (dense.length === 0) return values;
    try {
      if (p.protect === "fpe") return scatter(values, at, this.fpe(this.activeKey(), dense, false));
      const envs = decodeStoredBatch(dense, form);
      return scatter(
        values,
        at,
        decryptEnvelopes((id) => this.keys.byId(id), this.ad, envs),
      );
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** blind index companion values (RND columns with blind_index) */
  blindIndex(values: Values, form: StoredForm): Values {
    const { dense, at } = gather(values);
    if (dense.length === 0) return values;
    const key = this.activeKey();
    return scatter(
      values,
      at,
      blindIndex(key, dense).map((b) => encodeCompanion(b, form)),
    );
  }

  /** integrity MAC companion values for `mac` columns; rowKeys[i] from crypto encodeRowKey */
  mac(rowKeys: Buffer[], values: Values, form: StoredForm): Buffer[] {
    const key = this.activeKey();
    const out = new Array<Buffer>(values.length);
    for (let i = 0; i < values.length; i++) {
      out[i] = encodeCompanion(integrityMac(key, this.ad, rowKeys[i], values[i] ?? MAC_NULL_VALUE), form);
    }
    return out;
  }

  /** true per row when the stored MAC matches */
  verifyMac(rowKeys: Buffer[], values: Values, macs: Values, form: StoredForm): boolean[] {
    const key = this.activeKey();
    const ok = new Array<boolean>(values.length);
    for (let i = 0; i < values.length; i++) {
      const stored = macs[i];
      if (stored === null) {
        ok[i] = false;
        continue;
      }
      const want = integrityMac(key, this.ad, rowKeys[i], values[i] ?? MAC_NULL_VALUE);
      const got = decodeCompanion(stored, form);
      ok[i] = got.length === want.length && got.equals(want);
    }
    return ok;
  }

  private fpe(key: DataKey, dense: Buffer[], encrypt: boolean): Buffer[] {
    const fmt = this.protection.format as FpeFormatName;
    const strs = dense.map((b) => b.toString("utf8"));
    try {
      const res = encrypt
        ? fpeEncrypt(key, this.ad, fmt, strs, this.fpeOpts)
        : fpeDecrypt(key, this.ad, fmt, strs, this.fpeOpts);
      return res.map((s) => Buffer.from(s, "utf8"));
    } catch (err) {
      if (err instanceof CryptoError && err.code === "FORMAT") {
        throw new CodecError(
          "bad_value",
          this.name,
          `value for column ${this.name} is not a valid ${fmt}: ${err.message}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  private mapError(err: unknown): Error {
    if (err instanceof CodecError) return err;
    if (err instanceof CryptoError) {
      if (err.code === "UNKNOWN_KEY" || err.code === "KEY_DESTROYED") {
        return new CodecError("key_unavailable", this.name, `column ${this.name}: ${err.message}`, { cause: err });
      }
      if (err.code === "FORMAT") return new CodecError("bad_value", this.name, `column ${this.name}: ${err.message}`);
      return new CodecError("integrity", this.name, `integrity check failed for column ${this.name} (${err.code})`, {
        cause: err,
      });
    }
    if (err instanceof Error && err.name === "KeyUnavailableError") {
      return new CodecError("key_unavailable", this.name, `column ${this.name}: ${err.message}`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

function gather(values: Values): { dense: Buffer[]; at: number[] } {
  const dense: Buffer[] = [];
  const at: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null) {
      dense.push(v);
      at.push(i);
    }
  }
  return { dense, at };
}

function scatter(values: Values, at: number[], out: Buffer[]): Values {
  if (at.length === values.length) return out;
  const res = values.slice();
  for (let j = 0; j < at.length; j++) res[at[j]] = out[j];
  return res;
}

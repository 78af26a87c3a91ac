// The "pkcs11" provider: the master key is a non-extractable secret key on a PKCS#11 token, found by label
// (created by `keys init` when absent). KEKs are wrapped ON the token with C_WrapKey/C_UnwrapKey and the
// configured mechanism (default CKM_AES_KEY_WRAP_PAD with an AES-256 key; SoftHSM2 has no SM4, SPEC §13).
// The wrapped object's value is key ‖ SM3(AD), so the wrap is bound to the entry it belongs to.
import { createHash, timingSafeEqual } from "node:crypto";
import pkcs11js from "pkcs11js";
import { KeystoreError } from "../errors.js";
import type { ProviderRecord } from "../file-format.js";
import type { Pkcs11Config } from "../types.js";
import type { MasterKeyProvider } from "./master-provider.js";

type Handle = Buffer;
type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;

export const DEFAULT_PKCS11_MECHANISM = "CKM_AES_KEY_WRAP_PAD";
const AES_MECHANISMS = new Set<number>([pkcs11js.CKM_AES_KEY_WRAP_PAD, pkcs11js.CKM_AES_KEY_WRAP]);

/** Loaded modules, shared by every provider instance in the process (C_Initialize once per module). */
const modules = new Map<string, { lib: Pkcs11; users: number }>();

function acquireModule(path: string): Pkcs11 {
  const have = modules.get(path);
  if (have) {
    have.users++;
    return have.lib;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(path);
  } catch (err) {
    throw new KeystoreError("PROVIDER", `cannot load PKCS#11 module ${path}: ${errText(err)}`);
  }
  try {
    lib.C_Initialize();
  } catch (err) {
    if (ckr(err) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
      lib.close();
      throw new KeystoreError("PROVIDER", `PKCS#11 module ${path}: C_Initialize failed: ${errText(err)}`);
    }
  }
  modules.set(path, { lib, users: 1 });
  return lib;
}

function releaseModule(path: string): void {
  const have = modules.get(path);
  if (!have) return;
  if (--have.users > 0) return;
  modules.delete(path);
  try {
    have.lib.C_Finalize();
  } catch {
    // already finalized
  }
  have.lib.close();
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ckr(err: unknown): string | undefined {
  const m = /CKR_[A-Z_]+/.exec(errText(err));
  return m?.[0];
}

/** Resolves a configured mechanism (CKM_* name, number, or a decimal/0x-hex string for vendor ones). */
export function resolveMechanism(mech: string | number | undefined): number {
  if (mech === undefined) return pkcs11js.CKM_AES_KEY_WRAP_PAD;
  if (typeof mech === "number") {
    if (!Number.isSafeInteger(mech) || mech < 0)
      throw new KeystoreError("CONFIG", `pkcs11.mechanism ${mech} is invalid`);
    return mech;
  }
  const text = mech.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return resolveMechanism(Number(text));
  const value = (pkcs11js as unknown as Record<string, unknown>)[text];
  if (!text.startsWith("CKM_") || typeof value !== "number") {
    throw new KeystoreError(
      "CONFIG",
      `pkcs11.mechanism "${mech}" is not a known CKM_* name; give a name like CKM_AES_KEY_WRAP_PAD or a vendor mechanism number`,
    );
  }
  return value;
}

function slotNumber(slot: Handle): number {
  return Number(slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0)));
}

export interface Pkcs11OpenOptions {
  /** Create the master key when no key carries the label (keys init). */
  createIfMissing: boolean;
  env?: NodeJS.ProcessEnv;
}

export class Pkcs11Master implements MasterKeyProvider {
  readonly kind = "pkcs11" as const;
  readonly #lib: Pkcs11;
  readonly #cfg: Pkcs11Config;
  readonly #session: Handle;
  readonly #key: Handle;
  readonly #mechanism: number;
  #closed = false;

  private constructor(lib: Pkcs11, cfg: Pkcs11Config, session: Handle, key: Handle, mechanism: number) {
    this.#lib = lib;
    this.#cfg = cfg;
    this.#session = session;
    this.#key = key;
    this.#mechanism = mechanism;
  }

  static open(cfg: Pkcs11Config, opts: Pkcs11OpenOptions): Pkcs11Master {
    if (!cfg.module) throw new KeystoreError("CONFIG", "keystore.pkcs11.module is required");
    if (!cfg.key_label) throw new KeystoreError("CONFIG", "keystore.pkcs11.key_label is required");
    if (!cfg.pin_env) throw new KeystoreError("CONFIG", "keystore.pkcs11.pin_env is required");
    if (cfg.slot === undefined && !cfg.token_label) {
      throw new KeystoreError("CONFIG", "keystore.pkcs11 needs slot or token_label");
    }
    const mechanism = resolveMechanism(cfg.mechanism);
    const pin = (opts.env ?? process.env)[cfg.pin_env];
    if (pin === undefined || pin === "") {
      throw new KeystoreError("PROVIDER", `environment variable ${cfg.pin_env} (pkcs11.pin_env) is not set`);
    }
    const lib = acquireModule(cfg.module);
    let session: Handle | undefined;
    try {
      const slot = findSlot(lib, cfg);
      const where = cfg.token_label ? `token "${cfg.token_label}"` : `slot ${cfg.slot}`;
      session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, pin);
      } catch (err) {
        const code = ckr(err);
        if (code === "CKR_PIN_INCORRECT") {
          throw new KeystoreError("PROVIDER", `wrong PIN for PKCS#11 ${where} (PIN taken from ${cfg.pin_env})`);
        }
        if (code === "CKR_PIN_LOCKED")
          throw new KeystoreError("PROVIDER", `the user PIN of PKCS#11 ${where} is locked`);
        if (code !== "CKR_USER_ALREADY_LOGGED_IN") {
          throw new KeystoreError("PROVIDER", `PKCS#11 login to ${where} failed: ${errText(err)}`);
        }
      }
      let key = findKey(lib, session, cfg.key_label, where);
      if (key === undefined) {
        if (!opts.createIfMissing) {
          throw new KeystoreError(
            "PROVIDER",
            `no master key labelled "${cfg.key_label}" on PKCS#11 ${where}; run "smgate keys init" to create it`,
          );
        }
        if (!AES_MECHANISMS.has(mechanism)) {
          throw new KeystoreError(
            "PROVIDER",
            `no master key labelled "${cfg.key_label}" on PKCS#11 ${where}; with vendor mechanism ${mechanism} ` +
              `create it with the HSM vendor's tool (non-extractable, sensitive, CKA_WRAP and CKA_UNWRAP true)`,
          );
        }
        key = generateMasterKey(lib, session, cfg.key_label);
      }
      checkNonExtractable(lib, session, key, cfg.key_label, where);
      return new Pkcs11Master(lib, cfg, session, key, mechanism);
    } catch (err) {
      if (session !== undefined) {
        try {
          lib.C_CloseSession(session);
        } catch {
          // session already gone
        }
      }
      releaseModule(cfg.module);
      if (err instanceof KeystoreError) throw err;
      throw new KeystoreError("PROVIDER", `PKCS#11 error: ${errText(err)}`, { cause: err });
    }
  }

  record(): ProviderRecord {
    return { type: "pkcs11", key_label: this.#cfg.key_label ?? "", mechanism: this.#mechanism };
  }

  get mechanism(): number {
    return this.#mechanism;
  }

  /** Attributes of the token master key, for checks and `keys list`. */
  keyAttributes(): { extractable: boolean; sensitive: boolean } {
    const [ext, sens] = this.#lib.C_GetAttributeValue(this.#session, this.#key, [
      { type: pkcs11js.CKA_EXTRACTABLE },
      { type: pkcs11js.CKA_SENSITIVE },
    ]);
    return { extractable: ext.value[0] !== 0, sensitive: sens.value[0] !== 0 };
  }

  wrap(ad: Buffer, key: Buffer): Buffer {
    const value = Buffer.concat([key, adDigest(ad)]);
    const obj = this.#lib.C_CreateObject(this.#session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_SENSITIVE, value: false },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      { type: pkcs11js.CKA_VALUE, value },
    ]);
    value.fill(0);
    try {
      return Buffer.from(
        this.#lib.C_WrapKey(
          this.#session,
          { mechanism: this.#mechanism },
          this.#key,
          obj,
          Buffer.alloc(value.length + 64),
        ),
      );
    } catch (err) {
      throw new KeystoreError("PROVIDER", `PKCS#11 C_WrapKey failed: ${errText(err)}`);
    } finally {
      this.#lib.C_DestroyObject(this.#session, obj);
    }
  }

  unwrap(ad: Buffer, blob: Buffer): Buffer {
    let obj: Handle;
    try {
      obj = this.#lib.C_UnwrapKey(this.#session, { mechanism: this.#mechanism }, this.#key, blob, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SENSITIVE, value: false },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      ]);
    } catch (err) {
      throw new Error(`token refused to unwrap (${ckr(err) ?? "error"}): wrong master key or damaged blob`);
    }
    let value: Buffer;
    try {
      value = Buffer.from(this.#lib.C_GetAttributeValue(this.#session, obj, [{ type: pkcs11js.CKA_VALUE }])[0].value);
    } finally {
      this.#lib.C_DestroyObject(this.#session, obj);
    }
    const digest = adDigest(ad);
    const tail = value.subarray(value.length - digest.length);
    if (value.length <= digest.length || !timingSafeEqual(tail, digest)) {
      value.fill(0);
      throw new Error("wrapped key belongs to another entry (associated data mismatch)");
    }
    const key = Buffer.from(value.subarray(0, value.length - digest.length));
    value.fill(0);
    return key;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // No C_Logout: the login state is shared by every session of this process on the token, so logging out
    // here would break another open keystore; closing the last session ends the login anyway.
    try {
      this.#lib.C_CloseSession(this.#session);
    } catch {
      // already closed
    }
    releaseModule(this.#cfg.module);
  }
}

function adDigest(ad: Buffer): Buffer {
  return createHash("sm3").update(ad).digest();
}

function findSlot(lib: Pkcs11, cfg: Pkcs11Config): Handle {
  const slots = lib.C_GetSlotList(true);
  for (const slot of slots) {
    if (cfg.slot !== undefined) {
      if (slotNumber(slot) === cfg.slot) return slot;
    } else if (lib.C_GetTokenInfo(slot).label.trim() === cfg.token_label) {
      return slot;
    }
  }
  const what = cfg.slot !== undefined ? `slot ${cfg.slot}` : `a token labelled "${cfg.token_label}"`;
  throw new KeystoreError("PROVIDER", `PKCS#11 module ${cfg.module} has no initialized token in ${what}`);
}

function findKey(lib: Pkcs11, session: Handle, label: string, where: string): Handle | undefined {
  lib.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  let found: Handle[];
  try {
    found = lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
  if (found.length > 1) {
    throw new KeystoreError("PROVIDER", `more than one secret key labelled "${label}" on PKCS#11 ${where}`);
  }
  return found[0];
}

function generateMasterKey(lib: Pkcs11, session: Handle, label: string): Handle {
  return lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_WRAP, value: true },
    { type: pkcs11js.CKA_UNWRAP, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: false },
  ]);
}

function checkNonExtractable(lib: Pkcs11, session: Handle, key: Handle, label: string, where: string): void {
  const [ext, sens] = lib.C_GetAttributeValue(session, key, [
    { type: pkcs11js.CKA_EXTRACTABLE },
    { type: pkcs11js.CKA_SENSITIVE },
  ]);
  if (ext.value[0] !== 0 || sens.value[0] === 0) {
    throw new KeystoreError(
      "PROVIDER",
      `master key "${label}" on PKCS#11 ${where} is extractable or not sensitive; smgate requires ` +
        `CKA_EXTRACTABLE=false and CKA_SENSITIVE=true`,
    );
  }
}

// The run-time view of the keystore that the gateway and plugins use: data keys (DEKs) by name and by key
// id, as crypto DataKeys derived once and cached. Lookups are O(1) Map reads; KeyStore mutations (rotate,
// destroy) update the same ring in place.
import { type DataKey, deriveDataKey } from "../crypto/data-key.js";
import { KeyUnavailableError } from "./errors.js";
import type { KeyInfo } from "./types.js";

export interface KeyRing {
  /** The active DEK of a key name; throws KeyUnavailableError for an unknown name or one with no active key. */
  active(name: string): DataKey;
  /** Any usable (active or decrypt-only) DEK by id; throws KeyUnavailableError for unknown or destroyed ids. */
  byId(keyId: number): DataKey;
  /** DEK names, sorted. */
  names(): string[];
  /** Metadata of every key (KEKs and DEKs), never key bytes. */
  info(): KeyInfo[];
}

interface DekSlot {
  info: KeyInfo;
  material: Buffer | undefined;
  dataKey: DataKey | undefined;
}

export class LiveKeyRing implements KeyRing {
  readonly #deks = new Map<number, DekSlot>();
  readonly #activeByName = new Map<string, DekSlot>();
  readonly #names = new Set<string>();
  readonly #keks = new Map<number, KeyInfo>();
  readonly #source: string;
  #closed = false;

  /** @param source what to call the keystore in error messages (its path). */
  constructor(source: string) {
    this.#source = source;
  }

  active(name: string): DataKey {
    const slot = this.#activeByName.get(name);
    if (slot !== undefined) return slot.dataKey ?? this.#derive(slot);
    if (this.#closed) throw new KeyUnavailableError("NO_ACTIVE_KEY", `keystore ${this.#source} was closed`);
    if (this.#names.has(name)) {
      throw new KeyUnavailableError(
        "NO_ACTIVE_KEY",
        `key name "${name}" has no active key in keystore ${this.#source} (destroyed); run "smgate keys rotate ${name}" to create one`,
      );
    }
    throw new KeyUnavailableError(
      "UNKNOWN_NAME",
      `no key named "${name}" in keystore ${this.#source}; create it with "smgate keys init --policy …" or "smgate keys rotate ${name}"`,
    );
  }

  byId(keyId: number): DataKey {
    const slot = this.#deks.get(keyId);
    if (slot !== undefined && slot.dataKey !== undefined) return slot.dataKey;
    if (slot === undefined) {
      const what = this.#keks.has(keyId) ? "is a KEK, not a data key," : "is not";
      throw new KeyUnavailableError("UNKNOWN_KEY", `key ${keyId} ${what} in keystore ${this.#source}`);
    }
    return this.#derive(slot);
  }

  names(): string[] {
    return [...this.#names].sort();
  }

  info(): KeyInfo[] {
    const all = [...this.#keks.values(), ...[...this.#deks.values()].map((s) => s.info)];
    return all.map((i) => ({ ...i })).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId - b.keyId);
  }

  // ---- maintained by KeyStore ----

  /** Adds a key; material is the clear DEK (undefined for destroyed keys, ignored for KEKs). */
  add(info: KeyInfo, material: Buffer | undefined): void {
    if (info.level === "kek") {
      this.#keks.set(info.keyId, { ...info });
      return;
    }
    const slot: DekSlot = { info: { ...info }, material, dataKey: undefined };
    this.#deks.set(info.keyId, slot);
    this.#names.add(info.name);
    if (info.state === "active") this.#activeByName.set(info.name, slot);
  }

  setState(keyId: number, state: KeyInfo["state"]): void {
    const kek = this.#keks.get(keyId);
    if (kek) {
      kek.state = state;
      return;
    }
    const slot = this.#deks.get(keyId);
    if (!slot) return;
    slot.info.state = state;
    if (this.#activeByName.get(slot.info.name) === slot && state !== "active")
      this.#activeByName.delete(slot.info.name);
    if (state === "active") this.#activeByName.set(slot.info.name, slot);
    if (state === "destroyed") {
      slot.material?.fill(0);
      slot.material = undefined;
      // the DataKey is dropped, not zeroed: a caller still holding it must not silently encrypt under zeros
      slot.dataKey = undefined;
    }
  }

  /** Zeroes cached key material (KeyStore.close). */
  clear(): void {
    this.#closed = true;
    for (const slot of this.#deks.values()) {
      slot.material?.fill(0);
      slot.material = undefined;
      slot.dataKey = undefined;
    }
    this.#activeByName.clear();
  }

  #derive(slot: DekSlot): DataKey {
    if (this.#closed) throw new KeyUnavailableError("NO_ACTIVE_KEY", `keystore ${this.#source} was closed`);
    if (slot.info.state === "destroyed" || slot.material === undefined) {
      throw new KeyUnavailableError(
        "KEY_DESTROYED",
        `key ${slot.info.keyId} ("${slot.info.name}") was destroyed; data encrypted under it cannot be decrypted`,
      );
    }
    slot.dataKey = deriveDataKey(slot.info.keyId, slot.material);
    return slot.dataKey;
  }
}

// The HMAC-SM3 integrity service for applications (POST /Hmac/sign, /Hmac/verify): MACs application data under a
// named keystore key's `mac` subkey. A signature names the key id used, so verification keeps working after
// the key is rotated (the old version stays decrypt-only until destroyed).
import { timingSafeEqual } from "node:crypto";
import type { KeyRing } from "../../keystore/keyring.js";

export interface HmacSignRequest {
  key: string;
  data: string;
  encoding?: "utf8" | "base64" | "hex";
}

export interface HmacSignResponse {
  key: string;
  key_id: number;
  algorithm: "HMAC-SM3";
  mac: string;
}

export class HmacServiceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function bytesOf(req: { data: unknown; encoding?: unknown }): Buffer {
  if (typeof req.data !== "string") throw new HmacServiceError(400, "data must be a string");
  const enc = req.encoding ?? "utf8";
  if (enc !== "utf8" && enc !== "base64" && enc !== "hex")
    throw new HmacServiceError(400, "encoding must be utf8, base64 or hex");
  if (enc === "hex" && !/^([0-9a-fA-F]{2})*$/.test(req.data)) throw new HmacServiceError(400, "data is not valid hex");
  return Buffer.from(req.data, enc);
}

function keyName(v: unknown): string {
  if (typeof v !== "string" || v === "") throw new HmacServiceError(400, "key must name a keystore key");
  return v;
}

export class HmacService {
  constructor(private readonly ring: () => KeyRing) {}

  sign(req: HmacSignRequest): HmacSignResponse {
    const name = keyName(req.key);
    const data = bytesOf(req);
    let dk: ReturnType<KeyRing["active"]>;
    try {
      dk = this.ring().active(name);
    } catch {
      throw new HmacServiceError(404, `no active key named "${name}"`);
    }
    return { key: name, key_id: dk.keyId, algorithm: "HMAC-SM3", mac: dk.mac.mac(data).toString("hex") };
  }

  verify(req: HmacSignRequest & { mac: string; key_id?: number }): { valid: boolean; key_id: number } {
    const name = keyName(req.key);
    const data = bytesOf(req);
    if (typeof req.mac !== "string" || !/^[0-9a-fA-F]{64}$/.test(req.mac))
      throw new HmacServiceError(400, "mac must be 64 hex digits");
    const ring = this.ring();
    let keyId: number;
    if (req.key_id === undefined) {
      try {
        keyId = ring.active(name).keyId;
      } catch {
        throw new HmacServiceError(404, `no active key named "${name}"`);
      }
    } else {
      if (!Number.isInteger(req.key_id)) throw new HmacServiceError(400, "key_id must be an integer");
      keyId = req.key_id;
      const info = ring.info().find((k) => k.keyId === keyId && k.level === "dek");
      if (!info || info.name !== name) throw new HmacServiceError(404, `key id ${keyId} is not a version of "${name}"`);
    }
    let dk: ReturnType<KeyRing["byId"]>;
    try {
      dk = ring.byId(keyId);
    } catch {
      throw new HmacServiceError(404, `key id ${keyId} is not available (destroyed?)`);
    }
    const want = dk.mac.mac(data);
    const got = Buffer.from(req.mac, "hex");
    return { valid: timingSafeEqual(want, got), key_id: keyId };
  }
}

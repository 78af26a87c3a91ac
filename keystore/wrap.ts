// Wrapping of a child key under its parent: the RND data envelope of crypto/envelope.ts under the parent's
// DataKey, with associated data binding the child's level, name and key id so wrapped blobs cannot be
// swapped between entries.
import { type DataKey, deriveDataKey } from "../crypto/data-key.js";
import { decryptEnvelopes, encryptRnd } from "../crypto/envelope.js";

export type WrapLevel = "kek" | "dek" | "integrity";

/** AD = "smgate/key/<level>/<name>/<keyid>" (UTF-8). */
export function keyAd(level: WrapLevel, name: string, keyId: number): Buffer {
  return Buffer.from(`smgate/key/${level}/${name}/${keyId}`, "utf8");
}

export function parentDataKey(parentId: number, parentBytes: Buffer): DataKey {
  return deriveDataKey(parentId, parentBytes);
}

export function wrapUnder(parent: DataKey, ad: Buffer, child: Buffer): Buffer {
  return encryptRnd(parent, ad, [child])[0];
}

/** Throws (CryptoError) when the tag does not verify or the blob names another parent key. */
export function unwrapUnder(parent: DataKey, ad: Buffer, blob: Buffer): Buffer {
  return decryptEnvelopes(
    (id) => {
      if (id !== parent.keyId) throw new Error(`wrapped under key ${id}, expected parent ${parent.keyId}`);
      return parent;
    },
    ad,
    [blob],
  )[0];
}

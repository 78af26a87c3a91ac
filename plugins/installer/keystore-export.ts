// DEKs for the plugin bundle, taken from an opened KeyStore through its public backup path: an encrypted
// backup to a one-time SM2 key pair is sealed and opened in memory, and only the DEKs of the requested key
// names (active and decrypt-only versions) are kept. Nothing is written to disk.
import { sm2 } from "sm-crypto-v2";
import { openBackup } from "../../keystore/backup.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { PluginKey } from "./bundle.js";
import { PluginError } from "./errors.js";

export function pluginKeysFromKeyStore(ks: KeyStore, names: string[]): PluginKey[] {
  const pair = sm2.generateKeyPairHex();
  const text = ks.exportBackup({ sm2PublicKey: pair.publicKey });
  const { keys } = openBackup(text, { sm2PrivateKey: pair.privateKey }, "plugin key export");
  const out: PluginKey[] = [];
  for (const k of keys) {
    const wanted = k.level === "dek" && names.includes(k.name) && k.state !== "destroyed" && k.key !== undefined;
    if (wanted)
      out.push({
        keyId: k.keyId,
        name: k.name,
        state: k.state === "active" ? "active" : "decrypt-only",
        dek: Buffer.from(k.key as Buffer),
      });
    k.key?.fill(0);
  }
  for (const n of names) {
    if (!out.some((k) => k.name === n && k.state === "active")) {
      throw new PluginError(
        "BAD_POLICY",
        `key "${n}" named by the policy has no active key in the keystore; run "smgate keys init" first`,
      );
    }
  }
  return out;
}

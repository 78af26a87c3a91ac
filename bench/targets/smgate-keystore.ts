// Keystore for a benchmarked smgate: a new file keystore (passphrase from the environment the gateway gets
// too) holding the named data keys a scenario's policy needs.
import { initKeyStore } from "../../keystore/index.js";
import type { BenchContext } from "../registry.js";

export interface KeystoreSpec {
  path: string;
  /** Variable holding the passphrase, present in `env`. */
  passphraseEnv: string;
  env: NodeJS.ProcessEnv;
  keyNames: readonly string[];
}

export async function prepareKeystore(ctx: BenchContext, spec: KeystoreSpec): Promise<void> {
  const store = await initKeyStore(
    { provider: "file", path: spec.path, passphrase_env: spec.passphraseEnv },
    { env: spec.env },
  );
  try {
    for (const name of spec.keyNames) store.createKey(name);
    store.save();
  } finally {
    store.close();
  }
  ctx.log(`keystore ${spec.path} created with ${spec.keyNames.length} data key(s)`);
}

// A throw-away SoftHSM2 token for the PKCS#11 tests: its own config and token folder under a temp dir
// (SOFTHSM2_CONF points at it), initialised with softhsm2-util.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkcs11js from "pkcs11js";

export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

export function createSoftHsmToken(dir: string) {
  const tokens = join(dir, "tokens");
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  const label = `smg-ks-${randomBytes(4).toString("hex")}`;
  const pin = randomBytes(6).toString("hex");
  const out = execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", label, "--so-pin", "so-" + pin, "--pin", pin],
    { env: process.env, stdio: "pipe", encoding: "utf8" },
  );
  // softhsm2-util reports the slot id the new token got ("... is reassigned to slot 123456")
  const slot = Number(/reassigned to slot (\d+)/.exec(out)?.[1] ?? Number.NaN);
  return { label, pin, conf, slot };
}

type P11 = InstanceType<typeof pkcs11js.PKCS11>;

/** Runs fn with a logged-in session of its own (only while no keystore holds the module). */
export function withTokenSession<T>(label: string, pin: string, fn: (p: P11, session: Buffer) => T): T {
  const p = new pkcs11js.PKCS11();
  p.load(SOFTHSM_MODULE);
  p.C_Initialize();
  try {
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
    if (!slot) throw new Error(`token ${label} not found`);
    const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(session, pkcs11js.CKU_USER, pin);
    try {
      return fn(p, session);
    } finally {
      p.C_Logout(session);
      p.C_CloseSession(session);
    }
  } finally {
    p.C_Finalize();
    p.close();
  }
}

export function findSecretKeys(p: P11, session: Buffer, label: string): Buffer[] {
  p.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  const found = p.C_FindObjects(session, 10);
  p.C_FindObjectsFinal(session);
  return found;
}

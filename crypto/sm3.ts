// SM3 hash (GB/T 32905) via node:crypto.
import { createHash } from "node:crypto";

export function sm3(...parts: Uint8Array[]): Buffer {
  const h = createHash("sm3");
  for (const p of parts) h.update(p);
  return h.digest();
}

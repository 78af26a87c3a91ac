// Reads the pinned vectors of docs/FORMAT.md (the JSON block between <!-- vectors:begin/end -->) so the plugin
// suites check every one of them against the C code.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PluginKey } from "../../plugins/installer/bundle.js";

export interface FormatVectors {
  dek: string;
  key_id: number;
  ad: string;
  fpe_ad: string;
  rnd: { iv: string; plaintext: string; envelope: string; text: string }[];
  det: { plaintext: string; envelope: string; text: string }[];
  blind_index: { plaintext_hex: string; index: string }[];
  integrity_mac: { row_key: (string | null)[]; row_key_encoding: string; value: string; mac: string }[];
  fpe: {
    format: string;
    options: { keep_prefix?: number; keep_suffix?: number; width?: number };
    plaintext: string;
    ciphertext: string;
  }[];
}

export function loadFormatVectors(): FormatVectors {
  const md = readFileSync(join(import.meta.dirname, "..", "..", "docs", "FORMAT.md"), "utf8");
  const m = /<!-- vectors:begin -->\s*```json\s*([\s\S]*?)```\s*<!-- vectors:end -->/.exec(md);
  if (!m) throw new Error("docs/FORMAT.md has no vectors block");
  return JSON.parse(m[1]) as FormatVectors;
}

/** The vectors' key as a one-entry plugin bundle key named "vec". */
export function vectorKey(v: FormatVectors): PluginKey {
  return { keyId: v.key_id, name: "vec", state: "active", dek: Buffer.from(v.dek, "hex") };
}

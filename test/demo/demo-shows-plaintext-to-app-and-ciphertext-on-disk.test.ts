// `smgate demo` (npm start) end to end on the embedded PGlite: the application sees its plaintext, the
// database holds envelopes / FPE values / MACs, the analyst sees masks, LIKE is refused and DELETE denied.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { demoPatients } from "../../demo/sample.js";

const run = promisify(execFile);
let out = "";

beforeAll(async () => {
  out = (await run("node", ["dist/cli/main.js", "demo", "--rows", "6"], { timeout: 240_000 })).stdout;
}, 300_000);

function section(title: string): string {
  const start = out.indexOf(title);
  expect(start, `missing section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = out.indexOf("\n\n", start);
  return out.slice(start, end < 0 ? undefined : end);
}

describe("smgate demo", () => {
  const patients = demoPatients(6);

  it("shows the application its plaintext", () => {
    const app = section("What the application sees through smgate:");
    for (const p of patients.slice(0, 5)) {
      expect(app).toContain(p.id_card);
      expect(app).toContain(p.phone);
      expect(app).toContain(p.diagnosis);
    }
  });

  it("stores ciphertext, FPE values and MACs, never the plaintext", () => {
    const stored = section("What is stored in the database");
    expect(stored).toMatch(/smg1:A[Q-Za-f]/); // randomized envelopes, version byte 01 (diagnosis)
    expect(stored).toMatch(/smg1:A[g-v]/); // deterministic envelopes, version byte 02 (name)
    for (const p of patients.slice(0, 5)) {
      expect(stored).not.toContain(p.id_card);
      expect(stored).not.toContain(p.phone);
      expect(stored).not.toContain(p.diagnosis);
      expect(stored).toContain(p.id_card.slice(0, 6)); // FPE keeps the region prefix
    }
  });

  it("masks for the analyst, refuses LIKE, denies the analyst's DELETE", () => {
    const masked = section("What an analyst");
    expect(masked).toMatch(/\d{6}\*{8}[\dX]{4}/);
    expect(masked).toMatch(/1\d\d\*{4}\d{4}/);
    expect(out).toMatch(/LIKE on the randomized column is refused: 0A000 .*public\.patients\.diagnosis/);
    expect(out).toMatch(/The analyst's DELETE is denied: 42501/);
  });
});

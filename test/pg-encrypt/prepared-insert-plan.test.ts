// A prepared INSERT executed many times (what pgbench -M prepared and pooled drivers do) is analysed once, at
// Parse: every later Bind/Execute reuses the statement's plan (no analysis, no shape-cache lookup) and only
// encrypts its parameters — fresh randomized ciphertext per execution, FPE per value — and reads back.
import { describe, expect, it } from "vitest";
import { startEncryptedGateway, withClient } from "./encrypt-fixture.js";

const POLICY = `
version: 1
tables:
  public.ins:
    columns:
      note:   { protect: encrypt, key: k }
      mobile: { protect: fpe, format: cn-mobile, key: k }
access:
  - name: all
    match: {}
    plaintext: ["public.ins.*"]
`;

async function analyses(g: Awaited<ReturnType<typeof startEncryptedGateway>>): Promise<number> {
  const m = await g.metrics.shapeCache.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

describe("prepared INSERT plan reuse", () => {
  it("analyses once at Parse, encrypts the parameters of every execution", async () => {
    const g = await startEncryptedGateway({
      tag: "prepins",
      schemaSql: "CREATE TABLE ins (id serial PRIMARY KEY, note text, mobile text)",
      policyYaml: POLICY,
      keys: ["k"],
    });
    try {
      await withClient(g.client(), async (c) => {
        const text = "insert into ins (note, mobile) values ($1, $2)";
        await c.query({ name: "ins1", text, values: ["first", "13800000000"] });
        const afterParse = await analyses(g);
        expect(afterParse).toBeGreaterThan(0);
        for (let i = 1; i <= 40; i++) {
          await c.query({ name: "ins1", text, values: [`note ${i}`, String(13800000000 + i)] });
        }
        expect(await analyses(g)).toBe(afterParse);
        const back = await c.query("select note, mobile from ins order by id");
        expect(back.rows).toHaveLength(41);
        expect(back.rows[40]).toEqual({ note: "note 40", mobile: "13800000040" });
      });
      await withClient(g.direct(), async (d) => {
        const stored = await d.query<{ note: string; mobile: string }>("select note, mobile from ins order by id");
        const notes = new Set(stored.rows.map((r) => r.note));
        expect(notes.size).toBe(41);
        for (const r of stored.rows) expect(r.note.startsWith("smg1:")).toBe(true);
        expect(stored.rows[40].mobile).not.toBe("13800000040");
        expect(stored.rows[40].mobile).toMatch(/^138\d{8}$/);
      });
    } finally {
      await g.stop();
    }
  }, 120_000);
});

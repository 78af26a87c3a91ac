// The grouped value transforms a prepared statement reuses on every Bind (groupTargets once, transformGroups per
// execution) make exactly the codec calls, stored-form choices and metric increments of the one-shot
// transformTargets: same groups in the same order, same values per call, results in the same positions.
import { describe, expect, it } from "vitest";
import type { ColumnCodec } from "../../proxy/codec/column-codec.js";
import type { StoredForm } from "../../proxy/codec/stored-form.js";
import {
  groupTargets,
  type InputColumn,
  type TransformEnv,
  transformGroups,
  transformTargets,
  type Value,
} from "../../proxy/encrypt/value-transforms.js";
import type { ProtectedColumnRef, ValueTarget } from "../../proxy/rewrite/types.js";

function ref(column: string): ProtectedColumnRef {
  return {
    schema: "public",
    table: "t",
    column,
    ad: `public.t.${column}`,
    protection: { ad: `public.t.${column}`, protect: "encrypt", key: "k" } as ProtectedColumnRef["protection"],
  };
}

/** An env whose codec tags every value with its call; records calls, stored-form lookups and metric increments. */
function recordingEnv() {
  const log: string[] = [];
  let call = 0;
  const codec = (ad: string) =>
    ({
      protect(values: Value[], form: StoredForm) {
        const c = ++call;
        log.push(`protect ${ad} ${form} [${values.map((v) => (v === null ? "NULL" : v.toString())).join(",")}]`);
        return values.map((v) => (v === null ? null : Buffer.from(`${c}:${ad}:${v}`)));
      },
      blindIndex(values: Value[], form: StoredForm) {
        const c = ++call;
        log.push(`bidx ${ad} ${form} [${values.map((v) => (v === null ? "NULL" : v.toString())).join(",")}]`);
        return values.map((v) => (v === null ? null : Buffer.from(`${c}:bidx:${ad}:${v}`)));
      },
    }) as unknown as ColumnCodec;
  const env: TransformEnv = {
    codec: (p) => codec(p.ad),
    storedForm: (c: InputColumn) => {
      log.push(`form ${c.column}`);
      return c.column.endsWith("_bidx") ? "bytea-hex" : "text";
    },
    metrics: {
      fields: {
        inc: (labels: Record<string, string>, n: number) => log.push(`inc ${labels.column} ${labels.action} ${n}`),
      },
    } as unknown as TransformEnv["metrics"],
  };
  return { env, log };
}

describe("grouped bind transforms", () => {
  const a = ref("a");
  const b = ref("b");
  const targets: ValueTarget[] = [
    { transform: "encrypt-rnd", column: a },
    { transform: "blind-index", column: a },
    { transform: "encrypt-rnd", column: b },
    { transform: "encrypt-rnd", column: a },
    { transform: "fpe", column: b },
  ];
  const values: Value[] = [Buffer.from("x"), Buffer.from("x"), null, Buffer.from("y"), Buffer.from("z")];

  it("groups per column + transform in order of first appearance", () => {
    const g = groupTargets(targets);
    expect(g.map((x) => [x.target.column.column, x.target.transform, [...x.at]])).toEqual([
      ["a", "encrypt-rnd", [0, 3]],
      ["a", "blind-index", [1]],
      ["b", "encrypt-rnd", [2]],
      ["b", "fpe", [4]],
    ]);
  });

  it("gives transformTargets' results, calls and metrics, also when the groups are reused", () => {
    const one = recordingEnv();
    const expected = transformTargets(
      one.env,
      targets.map((target, i) => ({ target, value: values[i] })),
    );
    const grouped = recordingEnv();
    const groups = groupTargets(targets);
    const first = transformGroups(grouped.env, groups, values);
    expect(first.map(String)).toEqual(expected.map(String));
    expect(grouped.log).toEqual(one.log);

    // second execution with the same groups: same codec calls and metrics, stored forms not looked up again
    const again = recordingEnv();
    const second = transformGroups(again.env, groups, values);
    expect(second.map(String)).toEqual(expected.map(String));
    expect(again.log).toEqual(one.log.filter((l) => !l.startsWith("form ")));
    expect(one.log.filter((l) => l.startsWith("form "))).toEqual(["form a", "form a_bidx", "form b", "form b"]);
  });

  it("counts only non-NULL values as encrypted", () => {
    const r = recordingEnv();
    const g = groupTargets([
      { transform: "encrypt-rnd", column: b },
      { transform: "encrypt-rnd", column: b },
    ]);
    const out = transformGroups(r.env, g, [null, Buffer.from("v")]);
    expect(out[0]).toBeNull();
    expect(r.log).toContain("inc public.t.b encrypted 1");
  });
});

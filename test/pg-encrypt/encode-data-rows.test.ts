// The batch DataRow encoder of the row transform produces exactly the messages the per-row codec of
// proxy/pg (encodeDataRow) produces, for random rows with NULLs, empty values and column subsets.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeDataRow } from "../../proxy/pg/backend-messages.js";
import { encodeDataRows } from "../../proxy/pg/encrypt/row-transform.js";

const value = fc.option(
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  { nil: null },
);

describe("encodeDataRows", () => {
  it("equals the concatenation of per-row encodeDataRow (with and without a column subset)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 20 }), fc.context(), (width, n, _ctx) => {
        const rows = Array.from({ length: n }, (_, r) =>
          Array.from({ length: width }, (_, c) => ((r + c) % 3 === 0 ? null : Buffer.from(`v${r}.${c}`.repeat(c)))),
        );
        const keep = Array.from({ length: width }, (_, i) => i).filter((i) => i % 2 === 0);
        expect(encodeDataRows(rows, undefined)).toEqual(Buffer.concat(rows.map((r) => encodeDataRow(r))));
        expect(encodeDataRows(rows, keep)).toEqual(
          Buffer.concat(rows.map((r) => encodeDataRow(keep.map((i) => r[i])))),
        );
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(fc.array(fc.array(value, { minLength: 3, maxLength: 3 }), { maxLength: 10 }), (rows) => {
        expect(encodeDataRows(rows, undefined)).toEqual(Buffer.concat(rows.map((r) => encodeDataRow(r))));
      }),
      { numRuns: 100 },
    );
  });
});

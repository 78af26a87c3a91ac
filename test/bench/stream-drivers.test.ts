// Streaming clients of the memory scenarios against the local PostgreSQL: the raw protocol reader counts every
// row of a SELECT and of a COPY, reports server errors, and psql \copy reports the row count.
import { describe, expect, it } from "vitest";
import { streamQuery } from "../../bench/drivers/pg-stream.js";
import { psqlCopyOut } from "../../bench/drivers/psql-copy.js";
import { GENERATED_ROWS_QUERY } from "../../bench/scenarios/stream.js";
import { PG } from "./helpers.js";

const EP = { ...PG, database: "postgres" };

describe("streamQuery (raw protocol reader)", () => {
  it("counts all rows of a 200,000-row SELECT and returns the command tag", async () => {
    const r = await streamQuery({ ...EP, sql: GENERATED_ROWS_QUERY(200_000) });
    expect(r.rows).toBe(200_000);
    expect(r.commandTag).toBe("SELECT 200000");
    expect(r.bytes).toBeGreaterThan(200_000 * 20);
    expect(r.elapsedMs).toBeGreaterThan(0);
  });

  it("counts rows with large values split across many socket reads", async () => {
    const r = await streamQuery({ ...EP, sql: "select repeat('x', 100000) from generate_series(1, 50)" });
    expect(r.rows).toBe(50);
    expect(r.commandTag).toBe("SELECT 50");
  });

  it("counts CopyData messages of COPY ... TO STDOUT", async () => {
    const r = await streamQuery({ ...EP, sql: "copy (select g from generate_series(1, 12345) g) to stdout" });
    expect(r.rows).toBe(12_345);
    expect(r.commandTag).toBe("COPY 12345");
  });

  it("rejects with the server's error", async () => {
    await expect(streamQuery({ ...EP, sql: "select * from smg_bench_no_such_table" })).rejects.toThrow(
      /42P01.*does not exist/,
    );
  });

  it("rejects when the database does not exist", async () => {
    await expect(streamQuery({ ...EP, database: "smg_bench_no_such_db", sql: "select 1" })).rejects.toThrow(/3D000/);
  });
});

describe("psqlCopyOut", () => {
  it("reports the row count psql prints", async () => {
    const r = await psqlCopyOut({ ...EP, query: GENERATED_ROWS_QUERY(50_000) });
    expect(r.rows).toBe(50_000);
  });

  it("fails with psql's error text", async () => {
    await expect(psqlCopyOut({ ...EP, query: "select * from smg_bench_no_such_table" })).rejects.toThrow(
      /does not exist/,
    );
  });
});

// Network helpers of the benchmark harness: pick a free loopback port, wait until a PostgreSQL-speaking
// endpoint answers a query, run one SQL statement against it.
import { createServer } from "node:net";
import pg from "pg";

/** Asks the kernel for a free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("bench: could not get a free port"))));
    });
  });
}

export interface PgEndpoint {
  host: string;
  port: number;
  user: string;
  database: string;
}

/** Runs one statement and returns its rows (a fresh connection each time; the harness needs few). */
export async function pgQuery<R extends Record<string, unknown>>(ep: PgEndpoint, sql: string): Promise<R[]> {
  const client = new pg.Client({ ...ep, connectionTimeoutMillis: 5000, application_name: "smgate-bench" });
  await client.connect();
  try {
    const res = await client.query<R>(sql);
    return res.rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs `probe` until it succeeds or `timeoutMs` passes. `alive` lets the caller stop early when the process
 * behind the endpoint has already exited (its error is then reported instead of a timeout).
 */
export async function pollUntilAnswered(
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  alive: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    const dead = alive();
    if (dead !== undefined) throw new Error(dead);
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`bench: ${what} did not answer within ${timeoutMs} ms (last error: ${lastError})`);
}

/** Polls `select 1` on a PostgreSQL endpoint until it answers (see pollUntilAnswered). */
export async function waitForPostgres(
  ep: PgEndpoint,
  timeoutMs: number,
  alive: () => string | undefined = () => undefined,
): Promise<void> {
  await pollUntilAnswered(`${ep.host}:${ep.port}`, () => pgQuery(ep, "select 1"), timeoutMs, alive);
}

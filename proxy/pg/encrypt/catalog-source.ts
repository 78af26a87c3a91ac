// Per-database catalog snapshots for the encryption layer, loaded through a separate connection to the
// backend (node-postgres) with the catalog query of catalog.ts. Loads are coalesced per database, never
// reject (a failed load leaves the database without a catalog: statements on protected tables are then
// refused), and can be refreshed after DDL, on policy reload, or when a statement names an unknown table.
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { CATALOG_SQL, type CatalogRow, PgCatalog } from "./catalog.js";

export type CatalogQuery = (database: string) => Promise<CatalogRow[]>;

export interface CatalogConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  ssl?: ConnectionOptions | boolean;
  /** connect + query deadline (default 10 s) */
  timeoutMs?: number;
}

/** Runs the catalog query on a short-lived connection to `database`. */
export function pgCatalogQuery(conn: CatalogConnection): CatalogQuery {
  return async (database) => {
    const c = new pg.Client({
      host: conn.host,
      port: conn.port,
      user: conn.user,
      password: conn.password,
      database,
      ssl: conn.ssl,
      application_name: "smgate-catalog",
      connectionTimeoutMillis: conn.timeoutMs ?? 10_000,
      query_timeout: conn.timeoutMs ?? 10_000,
    });
    c.on("error", () => {});
    await c.connect();
    try {
      return (await c.query<CatalogRow>(CATALOG_SQL)).rows;
    } finally {
      await c.end().catch(() => {});
    }
  };
}

interface Entry {
  catalog?: PgCatalog;
  loading?: Promise<PgCatalog | undefined>;
  /** a refresh was requested while a load was running: load again when it ends */
  again?: boolean;
  lastAttempt: number;
  lastError?: string;
}

export class CatalogSource {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly query: CatalogQuery,
    private readonly onLoaded: (database: string, catalog: PgCatalog) => void = () => {},
    private readonly onError: (database: string, message: string) => void = () => {},
  ) {}

  get(database: string): PgCatalog | undefined {
    return this.entries.get(database)?.catalog;
  }

  /** The database's catalog, loading it first when absent. Never rejects. */
  ensure(database: string): Promise<PgCatalog | undefined> {
    const e = this.entries.get(database);
    if (e?.catalog) return Promise.resolve(e.catalog);
    if (e?.loading) return e.loading;
    return this.refresh(database);
  }

  /** Reload now (a load already running is followed by one more). Never rejects. */
  refresh(database: string): Promise<PgCatalog | undefined> {
    let e = this.entries.get(database);
    if (!e) {
      e = { lastAttempt: 0 };
      this.entries.set(database, e);
    }
    const entry = e;
    if (entry.loading) {
      entry.again = true;
      return entry.loading;
    }
    entry.lastAttempt = Date.now();
    entry.loading = this.query(database).then(
      (rows) => {
        const cat = new PgCatalog(rows);
        entry.catalog = cat;
        entry.lastError = undefined;
        this.onLoaded(database, cat);
        return cat;
      },
      (err: Error) => {
        entry.lastError = err?.message ?? String(err);
        this.onError(database, entry.lastError);
        return entry.catalog;
      },
    );
    const p = entry.loading.finally(() => {
      entry.loading = undefined;
      if (entry.again) {
        entry.again = false;
        void this.refresh(database);
      }
    });
    return p;
  }

  /** Refresh unless one was attempted within `minIntervalMs` (used when a statement hits an unknown table). */
  refreshSoon(database: string, minIntervalMs = 1000): void {
    const e = this.entries.get(database);
    if (e && (e.loading || Date.now() - e.lastAttempt < minIntervalMs)) return;
    void this.refresh(database);
  }

  /** Refresh every database seen so far. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((db) => this.refresh(db)));
  }

  databases(): string[] {
    return [...this.entries.keys()];
  }
}

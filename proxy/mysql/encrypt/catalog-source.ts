// The server's catalog snapshot for the MySQL encryption layer, loaded through a separate mysql2 connection
// with the query of catalog.ts. Loads are coalesced, never reject (a failed load leaves the layer without a
// catalog: statements on protected tables are then refused, fail closed), and are refreshed after DDL, on
// policy reload, or when a statement names a table the snapshot does not know.
import mysql from "mysql2/promise";
import { CATALOG_SQL, type CatalogRow, MysqlCatalog } from "./catalog.js";

export type CatalogQuery = () => Promise<CatalogRow[]>;

export interface CatalogConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  ssl?: mysql.SslOptions;
  /** connect + query deadline (default 10 s) */
  timeoutMs?: number;
}

/** Runs the catalog query on a short-lived connection. */
export function mysqlCatalogQuery(conn: CatalogConnection): CatalogQuery {
  return async () => {
    const c = await mysql.createConnection({
      host: conn.host,
      port: conn.port,
      user: conn.user,
      password: conn.password ?? "",
      ssl: conn.ssl,
      connectTimeout: conn.timeoutMs ?? 10_000,
      connectAttributes: { program_name: "smgate-catalog" },
    });
    c.on("error", () => {});
    try {
      const [rows] = await c.query({ sql: CATALOG_SQL, timeout: conn.timeoutMs ?? 10_000 });
      return (rows as Record<string, unknown>[]).map((r) => ({
        schema: String(r.schema),
        table: String(r.table),
        column: String(r.column),
        type: String(r.type),
      }));
    } finally {
      await c.end().catch(() => {});
    }
  };
}

export class CatalogSource {
  private catalog: MysqlCatalog | undefined;
  private loading: Promise<MysqlCatalog | undefined> | undefined;
  /** a refresh was requested while a load was running: load again when it ends */
  private again = false;
  private lastAttempt = 0;
  lastError: string | undefined;

  constructor(
    private readonly query: CatalogQuery,
    private readonly onLoaded: (catalog: MysqlCatalog) => void = () => {},
    private readonly onError: (message: string) => void = () => {},
  ) {}

  get(): MysqlCatalog | undefined {
    return this.catalog;
  }

  /** The catalog, loading it first when absent. Never rejects. */
  ensure(): Promise<MysqlCatalog | undefined> {
    if (this.catalog) return Promise.resolve(this.catalog);
    return this.loading ?? this.refresh();
  }

  /** Reload now (a load already running is followed by one more). Never rejects. */
  refresh(): Promise<MysqlCatalog | undefined> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.lastAttempt = Date.now();
    const p = this.query().then(
      (rows) => {
        const cat = new MysqlCatalog(rows);
        this.catalog = cat;
        this.lastError = undefined;
        this.onLoaded(cat);
        return cat;
      },
      (err: Error) => {
        this.lastError = err?.message ?? String(err);
        this.onError(this.lastError);
        return this.catalog;
      },
    );
    this.loading = p.finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.loading;
  }

  /** Refresh unless one was attempted within `minIntervalMs` (a statement hit an unknown table). */
  refreshSoon(minIntervalMs = 1000): void {
    if (this.loading || Date.now() - this.lastAttempt < minIntervalMs) return;
    void this.refresh();
  }
}

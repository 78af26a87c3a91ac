// The `mariadb` command-line client scripted through the gateway, plain and with --ssl (test-made CA, server
// certificate verified): the batch output of a script through smgate must equal the output of the same script
// run directly against MariaDB.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlGateway, MysqlSessionContext } from "../../proxy/mysql/index.js";
import { createDatabase, dropDatabase, MARIADB, startGateway } from "./gateway-harness.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

function mariadb(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile("mariadb", args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

const script = (table: string) => `
CREATE TABLE ${table} (id INT PRIMARY KEY, name VARCHAR(50), amount DECIMAL(10,2), created DATETIME);
INSERT INTO ${table} VALUES (1, 'Zhang San', 12.50, '2024-01-02 03:04:05'), (2, NULL, -0.01, NULL), (3, '李四', 99999.99, '1999-12-31 23:59:59');
SELECT * FROM ${table} ORDER BY id;
UPDATE ${table} SET amount = amount * 2 WHERE id = 1;
SELECT ROW_COUNT() AS changed;
SELECT id, LENGTH(name) AS len FROM ${table} WHERE name IS NOT NULL ORDER BY id;
PREPARE s FROM 'SELECT name FROM ${table} WHERE id = ?';
SET @i = 3;
EXECUTE s USING @i;
DEALLOCATE PREPARE s;
DELIMITER //
CREATE PROCEDURE ${table}_p() BEGIN SELECT COUNT(*) AS n FROM ${table}; SELECT MAX(amount) AS m FROM ${table}; END //
DELIMITER ;
CALL ${table}_p();
SHOW COLUMNS FROM ${table};
SELECT 1/0 AS div0;
SHOW WARNINGS;
`;

describe("mariadb command-line client through the gateway", () => {
  let gw: MysqlGateway;
  let db: string;
  let certs: TestCerts;
  const sessions: MysqlSessionContext[] = [];

  beforeAll(async () => {
    db = await createDatabase("smg_mysql_cli");
    certs = makeTestCerts();
    gw = await startGateway({
      tls: { cert: certs.cert, key: certs.key },
      hooks: (ctx) => {
        sessions.push(ctx);
        return undefined;
      },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await dropDatabase(db);
    certs?.cleanup();
  });

  const base = (port: number) => ["-h", "127.0.0.1", "-P", String(port), "-u", MARIADB.user, "-B", db];

  it("runs a script (plain TCP) with output identical to a direct run", async () => {
    const viaGw = await mariadb([...base(gw.address().port), "--skip-ssl"], script("cli_plain"));
    const directRun = await mariadb([...base(MARIADB.port), "--skip-ssl"], script("cli_plain_d"));
    expect(viaGw.stderr).toBe("");
    expect(viaGw.code).toBe(0);
    expect(viaGw.stdout).toBe(directRun.stdout.replaceAll("cli_plain_d", "cli_plain"));
    expect(viaGw.stdout).toContain("李四");
  });

  it("runs the script over TLS (--ssl with the test CA, server certificate verified)", async () => {
    const before = sessions.length;
    const args = [...base(gw.address().port), "--ssl", `--ssl-ca=${certs.caFile}`, "--ssl-verify-server-cert"];
    const viaGw = await mariadb(args, script("cli_tls"));
    expect(viaGw.stderr).toBe("");
    expect(viaGw.code).toBe(0);
    const directRun = await mariadb([...base(MARIADB.port), "--skip-ssl"], script("cli_tls_d"));
    expect(viaGw.stdout).toBe(directRun.stdout.replaceAll("cli_tls_d", "cli_tls"));
    expect(sessions.slice(before).some((s) => s.clientTls)).toBe(true);
    const status = await mariadb(args, "status;\n");
    expect(status.stdout).toMatch(/SSL:\s+Cipher in use is \S+/);
  });

  it("rejects a TLS client that does not trust smgate's certificate", async () => {
    const otherCa = makeTestCerts();
    try {
      const r = await mariadb(
        [...base(gw.address().port), "--ssl", `--ssl-ca=${otherCa.caFile}`, "--ssl-verify-server-cert"],
        "SELECT 1;\n",
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/SSL|certificate|TLS/i);
    } finally {
      otherCa.cleanup();
    }
  });
});

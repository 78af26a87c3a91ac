// Column definitions (Protocol::ColumnDefinition41) of resultsets and prepared statements: parsed once per
// resultset so the rewrite engine can map each column to org_table / org_name, and re-encoded when a hook changes
// what the client is shown (e.g. the plaintext type of a decrypted column).
import { PayloadReader, PayloadWriter } from "./wire.js";

export interface ColumnDefinition {
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  charset: number;
  length: number;
  type: number;
  flags: number;
  decimals: number;
  /** MariaDB extended metadata block (MARIADB_CLIENT_EXTENDED_METADATA: type name such as "json", "uuid"). */
  extended?: Buffer;
}

export function parseColumnDefinition(
  buf: Buffer,
  start: number,
  len: number,
  extendedMetadata: boolean,
): ColumnDefinition {
  const r = new PayloadReader(buf, start, start + len);
  r.lenencBytes("catalog");
  const schema = r.lenencString("schema");
  const table = r.lenencString("table");
  const orgTable = r.lenencString("org_table");
  const name = r.lenencString("name");
  const orgName = r.lenencString("org_name");
  const extended = extendedMetadata ? Buffer.from(r.lenencBytes("extended metadata") ?? Buffer.alloc(0)) : undefined;
  r.lenenc("fixed-length fields length");
  const charset = r.u16("charset");
  const length = r.u32("column length");
  const type = r.u8("column type");
  const flags = r.u16("column flags");
  const decimals = r.u8("decimals");
  return { schema, table, orgTable, name, orgName, charset, length, type, flags, decimals, extended };
}

export function buildColumnDefinition(c: ColumnDefinition, extendedMetadata: boolean): Buffer {
  const w = new PayloadWriter(64 + c.name.length * 2)
    .lenencString("def")
    .lenencString(c.schema)
    .lenencString(c.table)
    .lenencString(c.orgTable)
    .lenencString(c.name)
    .lenencString(c.orgName);
  if (extendedMetadata) w.lenencBytes(c.extended ?? Buffer.alloc(0));
  return w.lenenc(0x0c).u16(c.charset).u32(c.length).u8(c.type).u16(c.flags).u8(c.decimals).u16(0).finish();
}

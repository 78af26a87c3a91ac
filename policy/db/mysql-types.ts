// How MySQL/MariaDB column types (information_schema DATA_TYPE) are classified for width and transform checks;
// shared by the policy validator and `smgate migrate`.
import type { ColumnKind } from "./inspector.js";

/** Decimal digits an integer type can always hold (for FPE `integer` width checks). */
export const MYSQL_INTEGER_DIGITS: Record<string, number> = {
  tinyint: 2,
  smallint: 4,
  mediumint: 6,
  int: 9,
  integer: 9,
  bigint: 18,
};
const TEXT_TYPES = ["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"];
const BINARY_TYPES = ["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"];
/** Types whose CHARACTER_MAXIMUM_LENGTH is not a declared width. */
export const MYSQL_UNBOUNDED = new Set(["text", "mediumtext", "longtext", "blob", "mediumblob", "longblob"]);

export function mysqlColumnKind(dataType: string): ColumnKind {
  if (TEXT_TYPES.includes(dataType)) return "text";
  if (BINARY_TYPES.includes(dataType)) return "binary";
  if (dataType in MYSQL_INTEGER_DIGITS) return "integer";
  if (["decimal", "float", "double"].includes(dataType)) return "numeric";
  return "other";
}

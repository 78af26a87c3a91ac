// MySQL / MariaDB client-server protocol constants: capability flags, command bytes, status flags, column types
// and the error codes smgate itself emits. Values from the MySQL internals manual and MariaDB's mysql_com.h.

/** Capability flags (lower 32 bits; MariaDB's extended flags live in a separate 32-bit word). */
export const Cap = {
  LONG_PASSWORD: 1 << 0, // MySQL: always set; MariaDB server: cleared => "CLIENT_MYSQL" unset, extended caps present
  FOUND_ROWS: 1 << 1,
  LONG_FLAG: 1 << 2,
  CONNECT_WITH_DB: 1 << 3,
  NO_SCHEMA: 1 << 4,
  COMPRESS: 1 << 5,
  ODBC: 1 << 6,
  LOCAL_FILES: 1 << 7,
  IGNORE_SPACE: 1 << 8,
  PROTOCOL_41: 1 << 9,
  INTERACTIVE: 1 << 10,
  SSL: 1 << 11,
  IGNORE_SIGPIPE: 1 << 12,
  TRANSACTIONS: 1 << 13,
  RESERVED: 1 << 14,
  SECURE_CONNECTION: 1 << 15,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTH: 1 << 28,
  PROGRESS_OBSOLETE: 1 << 29,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: 1 << 31,
} as const;

/**
 * Capabilities smgate never lets through, whatever the server offers: compression (we must read every packet),
 * optional resultset metadata (rows would be undecodable without column definitions), zstd, multi-factor auth
 * (an extra auth round trip we do not relay), progress reports (MariaDB's in-band ERR 0xFFFF packets).
 */
export const CAPS_NEVER =
  (Cap.COMPRESS |
    Cap.OPTIONAL_RESULTSET_METADATA |
    Cap.ZSTD_COMPRESSION |
    Cap.MULTI_FACTOR_AUTH |
    Cap.PROGRESS_OBSOLETE) >>>
  0;

/**
 * MariaDB extended capabilities (upper 32 bits, sent in the handshake's reserved bytes): smgate lets only
 * EXTENDED_METADATA (1 << 35: column definitions carry a type-name block, e.g. "json") through; PROGRESS,
 * STMT_BULK_OPERATIONS, CACHE_METADATA (column definitions omitted) and BULK_UNIT_RESULTS are stripped.
 */
export const MARIADB_EXTENDED_METADATA = 1 << 3;

/** Commands (first payload byte of a client packet in the command phase). */
export const Com = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  STMT_BULK_EXECUTE: 0xfa,
} as const;

/** Server status flags carried in OK / EOF packets. */
export const Status = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
  CURSOR_EXISTS: 0x0040,
  LAST_ROW_SENT: 0x0080,
  PS_OUT_PARAMS: 0x1000,
} as const;

/** Column / parameter types (MYSQL_TYPE_*). */
export const ColType = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  TIMESTAMP2: 0x11,
  DATETIME2: 0x12,
  TIME2: 0x13,
  TYPED_ARRAY: 0x14,
  VECTOR: 0xf2,
  INVALID: 0xf3,
  BOOL: 0xf4,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

/** Column definition flags that matter to us. */
export const ColFlag = {
  NOT_NULL: 0x0001,
  UNSIGNED: 0x0020,
  BINARY: 0x0080,
} as const;

/** Maximum payload of one physical packet; a payload this long is continued in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;

/**
 * Error codes smgate emits itself (with SQLSTATE). Server errors are relayed untouched.
 * - 1047 ER_UNKNOWN_COM_ERROR 08S01: a command smgate does not relay (replication, COM_STMT_BULK_EXECUTE, ...).
 * - 1045 ER_ACCESS_DENIED_ERROR 28000: auth cannot proceed safely (e.g. cleartext password over a plain backend
 *   leg without an RSA key from the server).
 * - 1094 ER_NO_SUCH_THREAD HY000: KILL of an id that is not a connection of this gateway.
 * - 1148 ER_NOT_ALLOWED_COMMAND 42000: LOAD DATA LOCAL INFILE when not enabled; multi-statements not enabled.
 * - 1158 ER_NET_READ_ERROR 08S01: malformed packet from the client (length/structure violates the protocol).
 * - 1159 ER_NET_READ_INTERRUPTED 08S01: idle/handshake timeout.
 * - 2027 CR_MALFORMED_PACKET (client-side code, sent to the client as 08S01): malformed packet from the server.
 * - 2026 CR_SSL_CONNECTION_ERROR 08S01: TLS to the client or the server failed / unavailable but required.
 * - 1040 ER_CON_COUNT_ERROR 08004: max_connections reached.
 * - 1053 ER_SERVER_SHUTDOWN 08S01: graceful shutdown closes an idle session (outside a transaction).
 * - 1153 ER_NET_PACKET_TOO_LARGE 08S01: a packet over limits.max_message_bytes that had to be inspected.
 * - 2013 CR_SERVER_LOST HY000: the backend closed / could not be reached.
 * - 1235 ER_NOT_SUPPORTED_YET 42000 and 1142/1143 denials: produced by the rewrite engine hooks.
 */
export const Err = {
  UNKNOWN_COM: { code: 1047, state: "08S01" },
  ACCESS_DENIED: { code: 1045, state: "28000" },
  NO_SUCH_THREAD: { code: 1094, state: "HY000" },
  NOT_ALLOWED_COMMAND: { code: 1148, state: "42000" },
  NET_READ_ERROR: { code: 1158, state: "08S01" },
  NET_READ_INTERRUPTED: { code: 1159, state: "08S01" },
  MALFORMED_PACKET: { code: 2027, state: "08S01" },
  SSL_CONNECTION_ERROR: { code: 2026, state: "08S01" },
  CON_COUNT: { code: 1040, state: "08004" },
  SERVER_SHUTDOWN: { code: 1053, state: "08S01" },
  PACKET_TOO_LARGE: { code: 1153, state: "08S01" },
  SERVER_LOST: { code: 2013, state: "HY000" },
  NOT_SUPPORTED_YET: { code: 1235, state: "42000" },
  TABLE_ACCESS_DENIED: { code: 1142, state: "42000" },
  COLUMN_ACCESS_DENIED: { code: 1143, state: "42000" },
} as const;

export type ErrSpec = { code: number; state: string };

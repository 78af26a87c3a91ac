// Public entry points of the MySQL/MariaDB gateway.

export type { ColumnDefinition } from "./column-definition.js";
export { Err as MysqlErr } from "./constants.js";
export { type MysqlGateway, type MysqlGatewayOptions, mysqlOptionsFromConfig, startMysqlGateway } from "./gateway.js";
export type * from "./hooks.js";
export type { PendingResponse } from "./pending.js";
export { MysqlSessionContext, type ParamType, type PreparedStatement } from "./session-context.js";

// Access decisions moved to the dialect-neutral proxy/encrypt/access-check.ts (shared with the MySQL gateway).
export { checkAccess, type Denial, opOf } from "../../encrypt/access-check.js";

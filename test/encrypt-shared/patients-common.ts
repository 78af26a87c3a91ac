// What the PostgreSQL and MySQL patients fixtures share: sample resident IDs and the access rules after the
// dialect-specific ones (app "report" reads stored ciphertext, select only; everyone else is denied).

/** Valid resident IDs (GB 11643 check digit). */
export const IDS = ["110101199003074514", "11010519491231002X", "440524188001010014"];

/** The last access rules of both patients policies (YAML list items, indented under `access:`). */
export const REPORTING_AND_DEFAULT_RULES = `  - name: reporting
    match: { apps: [report] }
    allow: [select]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

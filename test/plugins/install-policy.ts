// The policy used by the installer suites (SPEC §6 example shape) for a given schema/database and app user.
export function patientsPolicy(schema: string, appUser: string): string {
  return `version: 1
tables:
  ${schema}.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic, key: orders }
      diagnosis: { protect: encrypt, key: patients }
      name:      { protect: encrypt, blind_index: true, key: patients }
      balance:   { protect: mac, type: numeric, key: orders }
access:
  - name: app
    match: { users: [${appUser}] }
    allow: [select, insert, update, delete]
    plaintext: [${schema}.patients.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;
}

export const SEED_ROWS: [string, string, string, string, string][] = [
  ["张三", "11010519491231002X", "13800138000", "流感", "12.50"],
  ["Alice O'Brien", "440524188001010014", "13912345678", "fracture", "0.00"],
  ["Bob", "110105198001011238", "15000000000", "", "-3.25"],
];

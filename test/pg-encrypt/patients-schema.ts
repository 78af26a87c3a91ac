// The patients schema and policy the end-to-end encryption tests share (SPEC §6 example plus a DET date and
// a randomized bytea column), and the subjects: postgres+app "his" (plaintext), role smgenc_analyst (masks),
// app "report" (stored ciphertext), everyone else denied.
import { REPORTING_AND_DEFAULT_RULES } from "../encrypt-shared/patients-common.js";

export const PATIENTS_SQL = `
CREATE TABLE patients (
  id integer PRIMARY KEY,
  id_card varchar(18),
  phone text,
  diagnosis text,
  name text,
  name_bidx text,
  balance numeric,
  balance_mac text,
  birth text,
  photo bytea,
  note text
);
GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;
`;

export const ANALYST = "smgenc_analyst";

export const PATIENTS_POLICY = `
version: 1
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic, key: patients }
      diagnosis: { protect: encrypt, key: patients }
      name:      { protect: encrypt, blind_index: true, key: patients }
      balance:   { protect: mac, type: numeric, key: patients }
      birth:     { protect: encrypt, mode: deterministic, type: date, key: patients }
      photo:     { protect: encrypt, type: bytea, key: patients }
access:
  - name: his
    match: { users: [postgres], apps: [his] }
    plaintext: [public.patients.*]
  - name: analysts
    match: { users: [${ANALYST}] }
    allow: [select]
    mask: { public.patients.id_card: "keep:3,4", public.patients.phone: "keep:3,4" }
    plaintext: [public.patients.name]
    deny_columns: [public.patients.diagnosis]
${REPORTING_AND_DEFAULT_RULES}`;

export { IDS } from "../encrypt-shared/patients-common.js";

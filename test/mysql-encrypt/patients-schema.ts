// The patients schema and policy the MySQL encryption tests share (SPEC §6 example on MariaDB, in the form
// `smgate migrate` leaves it: envelopes in widened VARCHAR / MEDIUMTEXT / MEDIUMBLOB, FPE in place,
// VARBINARY(16) companions), a visits table sharing the DET key of phone, and the subjects: root + app "his"
// (plaintext), user smgmy_analyst (masks, name in plaintext, diagnosis denied), app "report" (stored
// ciphertext, select only), everyone else denied.
import { REPORTING_AND_DEFAULT_RULES } from "../encrypt-shared/patients-common.js";

export const PATIENTS_SQL = `
CREATE TABLE patients (
  id INT PRIMARY KEY,
  id_card VARCHAR(18),
  phone VARCHAR(200),
  diagnosis MEDIUMTEXT,
  name VARCHAR(200),
  name_bidx VARBINARY(16),
  balance DECIMAL(10,2),
  balance_mac VARBINARY(16),
  birth VARCHAR(100),
  photo MEDIUMBLOB,
  note VARCHAR(100)
);
CREATE TABLE visits (
  vid INT PRIMARY KEY,
  phone VARCHAR(200),
  ward VARCHAR(20)
);
CREATE TABLE plain_notes (id INT PRIMARY KEY, body VARCHAR(100));
`;

export const ANALYST = "smgmy_analyst";

export const PATIENTS_POLICY = `
version: 1
tables:
  $DB.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic, key: phones }
      diagnosis: { protect: encrypt, key: patients }
      name:      { protect: encrypt, blind_index: true, key: patients }
      balance:   { protect: mac, type: decimal, key: patients }
      birth:     { protect: encrypt, mode: deterministic, type: date, key: patients }
      photo:     { protect: encrypt, type: blob, key: patients }
  $DB.visits:
    columns:
      phone:     { protect: encrypt, mode: deterministic, key: phones }
access:
  - name: his
    match: { users: [root], apps: [his] }
    plaintext: [$DB.patients.*, $DB.visits.*]
  - name: analysts
    match: { users: [${ANALYST}] }
    allow: [select]
    mask: { $DB.patients.id_card: "keep:3,4", $DB.patients.phone: "keep:3,4" }
    plaintext: [$DB.patients.name, $DB.patients.birth]
    deny_columns: [$DB.patients.diagnosis]
${REPORTING_AND_DEFAULT_RULES}`;

export { IDS } from "../encrypt-shared/patients-common.js";

// The demo's sample data: a hospital `patients` table, its policy (FPE resident ID and mobile, deterministic
// name with equality search, randomized diagnosis, MAC-protected balance) and generated patients with valid
// resident ID check characters — all fake.
export const DEMO_TABLE_SQL = `CREATE TABLE public.patients (
  id        integer PRIMARY KEY,
  name      text,
  id_card   varchar(18),
  phone     varchar(11),
  diagnosis text,
  balance   numeric(12,2),
  balance_mac text
)`;

export const DEMO_POLICY = `version: 1
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: fpe, format: cn-mobile, key: patients }
      name:      { protect: encrypt, mode: deterministic, key: patients }
      diagnosis: { protect: encrypt, key: patients }
      balance:   { protect: mac, type: numeric, key: patients }
access:
  - name: doctors
    match: { apps: [his] }
    allow: [select, insert, update, delete]
    plaintext: [public.patients.*]
  - name: analysts
    match: { apps: [bi] }
    allow: [select]
    mask: { public.patients.id_card: "keep:6,4", public.patients.phone: "keep:3,4", public.patients.name: full }
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

const SURNAMES = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄"];
const GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军"];
const DIAGNOSES = ["高血压", "2型糖尿病", "急性支气管炎", "冠心病", "慢性胃炎", "腰椎间盘突出"];
const REGIONS = ["110105", "310104", "440305", "330106", "510107"];
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

function checkChar(body17: string): string {
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(body17[i]) * WEIGHTS[i];
  return "10X98765432"[s % 11];
}

export interface DemoPatient {
  id: number;
  name: string;
  id_card: string;
  phone: string;
  diagnosis: string;
  balance: string;
}

/** Deterministic sample (seeded) so the demo prints the same patients every run. */
export function demoPatients(n: number): DemoPatient[] {
  let seed = 20261123;
  // mulberry32: a small seeded PRNG, so the demo prints the same patients every run
  const rnd = (k: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * k);
  };
  const out: DemoPatient[] = [];
  for (let i = 1; i <= n; i++) {
    const birth = `${1950 + rnd(60)}${String(1 + rnd(12)).padStart(2, "0")}${String(1 + rnd(28)).padStart(2, "0")}`;
    const body = `${REGIONS[rnd(REGIONS.length)]}${birth}${String(rnd(1000)).padStart(3, "0")}`;
    out.push({
      id: i,
      name: SURNAMES[rnd(SURNAMES.length)] + GIVEN[rnd(GIVEN.length)],
      id_card: body + checkChar(body),
      phone: `1${[3, 5, 7, 8, 9][rnd(5)]}${String(rnd(10))}${String(rnd(100000000)).padStart(8, "0")}`,
      diagnosis: DIAGNOSES[rnd(DIAGNOSES.length)],
      balance: `${rnd(50000)}.${String(rnd(100)).padStart(2, "0")}`,
    });
  }
  return out;
}

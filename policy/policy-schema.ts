// zod schema of policy.yaml (SPEC §6, docs/POLICY.md): shapes and types only, unknown keys rejected.
// Cross-field rules (formats, masks naming protected columns, duplicate rules, CIDRs…) live in policy-checks.ts
// so they run, and report, even when the shape check found problems elsewhere.
import { z } from "zod";
import { OPS } from "./policy-types.js";

const nonEmpty = z.string().min(1);
const nameList = z.array(nonEmpty);
const opList = z.array(z.enum([...OPS, "*"]));

export const columnSchema = z.strictObject({
  protect: z.enum(["encrypt", "fpe", "mac"]),
  mode: z.enum(["randomized", "deterministic"]).optional(),
  format: nonEmpty.optional(),
  key: nonEmpty.optional(),
  blind_index: z.boolean().optional(),
  type: nonEmpty.optional(),
  keep_prefix: z.number().int().min(0).optional(),
  keep_suffix: z.number().int().min(0).optional(),
  width: z.number().int().min(1).max(64).optional(),
  max_length: z.number().int().min(1).optional(),
  on_integrity_failure: z.enum(["error", "flag"]).optional(),
});

export const tableSchema = z.strictObject({
  row_key: nameList.min(1).optional(),
  mode: z.enum(["enforce", "shadow"]).optional(),
  key: nonEmpty.optional(),
  columns: z.record(z.string(), columnSchema),
});

export const ruleSchema = z.strictObject({
  name: nonEmpty,
  description: z.string().optional(),
  match: z
    .strictObject({
      users: nameList.optional(),
      apps: nameList.optional(),
      addresses: nameList.optional(),
      databases: nameList.optional(),
    })
    .optional(),
  allow: opList.optional(),
  deny: opList.optional(),
  tables: nameList.optional(),
  plaintext: nameList.optional(),
  mask: z.record(z.string(), z.string()).optional(),
  deny_columns: nameList.optional(),
});

export const policySchema = z.strictObject({
  version: z.literal(1),
  default_key: nonEmpty.optional(),
  tables: z.record(z.string(), tableSchema).optional(),
  access: z.array(ruleSchema).optional(),
});

export type PolicyInput = z.output<typeof policySchema>;

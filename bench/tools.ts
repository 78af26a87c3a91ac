// External programs the harness drives (pgbench, psql, pgbouncer): locate them once, fail with an actionable
// message when one is missing, and read their versions for the report.
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { runCommand } from "./children.js";

export interface ToolSpec {
  name: string;
  /** Extra places to look beyond PATH (Debian puts pgbouncer in /usr/sbin, server tools per version). */
  extraDirs: () => string[];
  install: string;
}

function postgresBinDirs(): string[] {
  try {
    return readdirSync("/usr/lib/postgresql")
      .sort()
      .reverse()
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

export const TOOLS = {
  pgbench: {
    name: "pgbench",
    extraDirs: postgresBinDirs,
    install: "install it with `apt-get install postgresql-client` (Debian) or put pgbench on PATH",
  },
  psql: {
    name: "psql",
    extraDirs: postgresBinDirs,
    install: "install it with `apt-get install postgresql-client` (Debian) or put psql on PATH",
  },
  pgbouncer: {
    name: "pgbouncer",
    extraDirs: () => ["/usr/sbin", "/usr/local/sbin"],
    install: "install it with `apt-get install pgbouncer` (Debian) or put pgbouncer on PATH",
  },
} satisfies Record<string, ToolSpec>;

export type ToolName = keyof typeof TOOLS;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const found = new Map<string, string>();

/** Absolute path of the first executable `spec.name` on PATH or in `spec.extraDirs()`, or a clear error. */
export function findTool(spec: ToolSpec, path = process.env.PATH ?? ""): string {
  const dirs = [...path.split(delimiter).filter(Boolean), ...spec.extraDirs()];
  for (const dir of dirs) {
    const candidate = join(dir, spec.name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    `bench: ${spec.name} was not found on PATH or in ${spec.extraDirs().join(", ") || "the usual places"}; ${spec.install}`,
  );
}

/** Absolute path of a tool the harness needs (cached), or a clear error saying how to install it. */
export function requireTool(tool: ToolName): string {
  let path = found.get(tool);
  if (!path) {
    path = findTool(TOOLS[tool]);
    found.set(tool, path);
  }
  return path;
}

/** First line of `<tool> --version` (e.g. "pgbench (PostgreSQL) 15.20 ..."). */
export async function toolVersion(tool: ToolName): Promise<string> {
  const res = await runCommand(requireTool(tool), ["--version"]);
  return (res.stdout || res.stderr).split("\n")[0]?.trim() ?? "";
}

// Vitest configuration: unit, protocol, end-to-end (real PostgreSQL / MariaDB), differential and fuzz suites.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // generous: the suites share 2 cores with databases and subprocesses; a hang still fails
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    // most suites wait on PostgreSQL, MariaDB or subprocesses, not on this process's CPU: run 4 files at once
    // on the 2-core machines (each suite uses its own databases, temp folders and port-0 listeners)
    maxWorkers: 4,
    reporters: ["default"],
  },
});

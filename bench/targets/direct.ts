// Target "direct": the PostgreSQL server itself, nothing in between (the baseline every ratio refers to).
import { pgQuery } from "../net.js";
import type { BenchContext, RunningTarget, TargetDefinition } from "../registry.js";

export const directTarget: TargetDefinition = {
  name: "direct",
  description: "PostgreSQL server, no proxy",
  async start(ctx: BenchContext): Promise<RunningTarget> {
    const { host, port, user } = ctx.options.pg;
    const [row] = await pgQuery<{ server_version: string }>(
      { host, port, user, database: "postgres" },
      "show server_version",
    );
    return {
      name: "direct",
      host,
      port,
      info: { server: `PostgreSQL ${row?.server_version ?? "?"}` },
      async stop() {},
    };
  },
};

// Target "mysql-tcp-relay": the cheapest relay JavaScript alone can be — a child process piping bytes between
// each client socket and its own server connection ('data' → write, no protocol parsing). Measured next to smgate
// it shows what relaying costs on Node's event loop on this machine; smgate's passthrough sessions run on the
// native relay (native/), so smgate-mysql / mysql-tcp-relay above 1 is that relay's gain.
import { spawnTracked } from "../children.js";
import { mysqlServer, waitForMysql } from "../drivers/mysql-client.js";
import { freePort } from "../net.js";
import type { BenchContext, RunningTarget, TargetDefinition } from "../registry.js";

/** The relay program (run with `node -e`): argv = listen port, backend host, backend port. */
export const TCP_RELAY_SOURCE = `
const net = require("node:net");
const [port, host, backendPort] = process.argv.slice(1);
net.createServer((c) => {
  c.setNoDelay(true);
  const s = net.connect({ host, port: Number(backendPort) });
  s.setNoDelay(true);
  c.on("data", (d) => { if (!s.write(d)) c.pause(); });
  s.on("data", (d) => { if (!c.write(d)) s.pause(); });
  c.on("drain", () => s.resume());
  s.on("drain", () => c.resume());
  c.on("close", () => s.destroy());
  s.on("close", () => c.destroy());
  c.on("error", () => s.destroy());
  s.on("error", () => c.destroy());
}).listen(Number(port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

export const mysqlTcpRelayTarget: TargetDefinition = {
  name: "mysql-tcp-relay",
  description: "minimal JavaScript TCP relay in front of MariaDB (reference: the cost of relaying in JavaScript alone)",
  async start(ctx: BenchContext): Promise<RunningTarget> {
    const server = mysqlServer(ctx);
    const port = await freePort();
    const proc = spawnTracked(process.execPath, [
      "-e",
      TCP_RELAY_SOURCE,
      String(port),
      server.host,
      String(server.port),
    ]);
    const host = "127.0.0.1";
    try {
      await waitForMysql({ ...server, host, port }, 15_000, () => proc.exitReport("bench: tcp relay (at start)"));
    } catch (err) {
      await proc.stop();
      throw err;
    }
    ctx.log(`mysql-tcp-relay listening on ${host}:${port} (pid ${proc.pid})`);
    return {
      name: "mysql-tcp-relay",
      host,
      port,
      pid: proc.pid,
      endpoints: { mysql: { host, port } },
      info: { relay: "node net: 'data' → write, no parsing", node: process.version },
      health: () => proc.exitReport("mysql-tcp-relay"),
      stop: () => proc.stop(),
    };
  },
};

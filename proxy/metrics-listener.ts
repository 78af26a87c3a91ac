// Plain-HTTP listener for Prometheus scrapes and liveness: GET /metrics (the registry in text exposition
// format) and GET /health ("ok" while the gateway accepts connections). Nothing else is served.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the listener serves: one registry, or the aggregate of a cluster's (cluster/primary.ts). */
export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsListener {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

export async function startMetricsListener(
  listen: { host: string; port: number },
  metrics: MetricsSource,
  healthy: () => boolean = () => true,
): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (url === "/metrics") {
      metrics.render().then(
        ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
        () => res.writeHead(500).end("metrics unavailable\n"),
      );
      return;
    }
    if (url === "/health") {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "draining\n");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    address() {
      const a = server.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

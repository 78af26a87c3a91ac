// Test helper: a raw protocol client over a socket, independent of smgate's codec — it serialises with
// pg-protocol's `serialize` and parses server messages with pg-protocol's Parser (node-postgres' own).
import { connect, type Socket } from "node:net";
import { serialize } from "pg-protocol";
import type { BackendMessage } from "pg-protocol/dist/messages.js";
import { Parser } from "pg-protocol/dist/parser.js";

export { serialize };

export class RawClient {
  readonly messages: BackendMessage[] = [];
  private waiters: (() => void)[] = [];
  private readonly parser: Parser;
  closed = false;

  private constructor(
    readonly socket: Socket,
    mode: "text" | "binary",
  ) {
    this.parser = new Parser({ mode });
    socket.on("data", (chunk: Buffer) => {
      this.parser.parse(chunk, (m) => this.messages.push(m));
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** mode "binary": DataRow values arrive as Buffers (pg-protocol parser mode). */
  static async connect(port: number, mode: "text" | "binary" = "text", host = "127.0.0.1"): Promise<RawClient> {
    const s = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("error", reject);
    });
    return new RawClient(s, mode);
  }

  /** Connect and complete a trust-auth startup (until the first ReadyForQuery). */
  static async startup(
    port: number,
    params: Record<string, string> = {},
    mode: "text" | "binary" = "text",
  ): Promise<RawClient> {
    const c = await RawClient.connect(port, mode);
    c.send(serialize.startup({ user: "postgres", database: "test", ...params }));
    await c.waitFor((m) => m.name === "readyForQuery");
    return c;
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
  }

  /** Wait until the predicate matches a message received after `from` (index); returns all messages up to it. */
  async waitFor(pred: (m: BackendMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<BackendMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m, idx) => idx >= from && pred(m));
      if (i >= 0) return this.messages.splice(0, i + 1);
      if (this.closed) throw new Error(`connection closed; got ${this.messages.map((m) => m.name).join(",")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; got ${this.messages.map((m) => m.name).join(",")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for n ReadyForQuery messages; returns everything up to the n-th. */
  async untilReady(n = 1): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (let i = 0; i < n; i++) out.push(...(await this.waitFor((m) => m.name === "readyForQuery")));
    return out;
  }

  async closedPromise(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection not closed");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  end(): void {
    this.socket.end(serialize.end());
  }
}

export function names(msgs: BackendMessage[]): string[] {
  return msgs.map((m) => m.name);
}

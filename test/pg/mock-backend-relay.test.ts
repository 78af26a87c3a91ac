// Relay behaviour that needs a scripted server (mock backend): authentication codes smgate does not know
// (openGauss-style 10/13 with binary bodies) relayed byte-for-byte, SCRAM -PLUS stripped from the SASL
// offer, MD5 exchange relayed, and cancel keys mapped (the client sees smgate's key; the server receives its own).
import { createHash } from "node:crypto";
import { connect } from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { silentLogger } from "./gateway-fixture.js";
import { authOk, backendKeyData, type MockBackend, msg, readyForQuery, startMockBackend } from "./mock-backend.js";
import { RawClient, serialize } from "./raw-client.js";

let gateway: Gateway | undefined;
let mock: MockBackend | undefined;

afterEach(async () => {
  await gateway?.shutdown(500);
  await mock?.close();
  gateway = undefined;
  mock = undefined;
});

async function gatewayFor(m: MockBackend): Promise<number> {
  gateway = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `127.0.0.1:${m.port}` },
      limits: { max_connections: 10, max_message_bytes: 1 << 20 },
    },
    { logger: silentLogger() },
  );
  return gateway.pg!.address().port;
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("mock backend: authentication relay and cancel mapping", () => {
  it("mock: relays unknown authentication codes (openGauss 10 SHA256 / 13 SM3 style) and the answers unchanged", async () => {
    // openGauss AUTH_REQ_SHA256 reuses code 10 with a binary body (not a SASL mechanism list)
    const sha256Req = msg("R", 10, Buffer.from([0, 0, 0, 2, 0x8f, 0x11, 0, 0x41, 0xff, 0x00]));
    const sm3Req = msg("R", 13, Buffer.from("0123456789abcdef"));
    const received: Buffer[] = [];
    mock = await startMockBackend(async (c) => {
      c.socket.write(sha256Req);
      received.push((await c.next()).body);
      c.socket.write(sm3Req);
      received.push((await c.next()).body);
      c.socket.write(Buffer.concat([authOk(), backendKeyData(1, 2), readyForQuery()]));
    });
    const port = await gatewayFor(mock);
    // a plain socket: pg-protocol's parser itself does not know these codes
    const c = connect({ port, host: "127.0.0.1" });
    await new Promise((r) => c.once("connect", r));
    const raw: Buffer[] = [];
    c.on("data", (b: Buffer) => raw.push(b));
    c.write(serialize.startup({ user: "gauss", database: "d" }));
    await until(() => Buffer.concat(raw).includes(sha256Req));
    const answer1 = Buffer.from([0x70, 0, 0, 0, 9, 1, 2, 0, 0xfe, 0]);
    c.write(answer1);
    await until(() => Buffer.concat(raw).includes(sm3Req));
    const answer2 = Buffer.concat([Buffer.from([0x70, 0, 0, 0, 8]), Buffer.from("sm3!")]);
    c.write(answer2);
    await until(() => Buffer.concat(raw).includes(Buffer.from("5a0000000549", "hex")));
    expect(received[0].equals(answer1.subarray(5))).toBe(true);
    expect(received[1].equals(answer2.subarray(5))).toBe(true);
    c.destroy();
  });

  it("mock: strips SCRAM-SHA-256-PLUS from AuthenticationSASL and relays the SCRAM messages", async () => {
    mock = await startMockBackend(async (c) => {
      c.socket.write(msg("R", 10, "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", ""));
      const first = await c.next();
      // SASLInitialResponse: mechanism name, Int32 length, client-first-message
      expect(first.body.toString("latin1").startsWith("SCRAM-SHA-256\0")).toBe(true);
      c.socket.write(msg("E", Buffer.from("SFATAL\0VFATAL\0C28P01\0Mmock stops here\0\0")));
      c.socket.end();
    });
    const port = await gatewayFor(mock);
    const c = await RawClient.connect(port);
    c.send(serialize.startup({ user: "u", database: "d" }));
    const [sasl] = await c.waitFor((m) => m.name === "authenticationSASL");
    expect((sasl as unknown as { mechanisms: string[] }).mechanisms).toEqual(["SCRAM-SHA-256"]);
    c.send(serialize.sendSASLInitialResponseMessage("SCRAM-SHA-256", "n,,n=*,r=abc"));
    const [err] = await c.waitFor((m) => m.name === "error");
    expect((err as unknown as { code: string }).code).toBe("28P01");
  });

  it("mock: relays an MD5 exchange (node-postgres computes the hash the mock checks)", async () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const inner = createHash("md5").update("s3cretmd5user").digest("hex");
    const expected = `md5${createHash("md5").update(inner).update(salt).digest("hex")}`;
    mock = await startMockBackend(async (c) => {
      c.socket.write(msg("R", 5, salt));
      const p = await c.next();
      if (p.type === "p" && p.body.toString("latin1") === `${expected}\0`) {
        c.socket.write(Buffer.concat([authOk(), backendKeyData(5, 6), readyForQuery()]));
      } else {
        c.socket.end(msg("E", Buffer.from("SFATAL\0VFATAL\0C28P01\0Mbad md5\0\0")));
      }
    });
    const port = await gatewayFor(mock);
    const ok = new pg.Client({ host: "127.0.0.1", port, user: "md5user", password: "s3cret", database: "d" });
    await ok.connect();
    await ok.end().catch(() => {});
    const bad = new pg.Client({ host: "127.0.0.1", port, user: "md5user", password: "nope", database: "d" });
    await expect(bad.connect()).rejects.toMatchObject({ code: "28P01" });
  });

  it("mock: gives the client smgate's own cancel key and forwards a CancelRequest with the server's key", async () => {
    mock = await startMockBackend(async (c) => {
      c.socket.write(Buffer.concat([authOk(), backendKeyData(4242, 777777), readyForQuery()]));
    });
    const port = await gatewayFor(mock);
    const c = await RawClient.connect(port);
    c.send(serialize.startup({ user: "u", database: "d" }));
    const msgs = await c.waitFor((m) => m.name === "readyForQuery");
    const key = msgs.find((m) => m.name === "backendKeyData") as unknown as { processID: number; secretKey: number };
    expect(key.processID).not.toBe(4242);
    expect(key.secretKey).not.toBe(777777);
    // a wrong secret cancels nothing
    const wrong = await RawClient.connect(port);
    wrong.send(serialize.cancel(key.processID, key.secretKey ^ 1));
    await wrong.closedPromise();
    // the right one reaches the server with the server's own key
    const cancel = await RawClient.connect(port);
    cancel.send(serialize.cancel(key.processID, key.secretKey));
    await cancel.closedPromise();
    await until(() => mock!.cancels.length > 0);
    expect(mock.cancels).toEqual([{ pid: 4242, secret: 777777 }]);
    c.socket.destroy();
  });
});

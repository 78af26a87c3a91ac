// Server-side TLS upgrade of a client socket after the SSLRequest packet. A client may send its TLS ClientHello
// in the same TCP segment as the SSLRequest; those bytes were already read from the socket, so they are
// replayed in front of the socket's stream (through a small Duplex) before TLS takes over.
import type net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";

class PrefixedStream extends Duplex {
  constructor(
    private readonly raw: net.Socket,
    prefix: Buffer,
  ) {
    super();
    this.push(prefix);
    raw.on("data", (d: Buffer) => {
      if (!this.push(d)) raw.pause();
    });
    raw.on("end", () => this.push(null));
    raw.on("error", (err) => this.destroy(err));
  }
  override _read(): void {
    this.raw.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.raw.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.raw.end();
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.raw.destroy();
    cb(err);
  }
}

/**
 * Upgrade requiring a client certificate signed by the context's CA. Node verifies client certificates only on
 * its tls.Server path, so the socket is handed to a (non-listening) tls.Server; `onSecure` receives the verified
 * socket, `onFail` any handshake / verification failure (the socket is then destroyed).
 */
export function upgradeVerifyingClient(
  raw: net.Socket,
  alreadyRead: Buffer,
  pems: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer },
  onSecure: (secure: tls.TLSSocket) => void,
  onFail: (reason: string) => void,
): void {
  // (tls.Server uses the credentials built from its own options, not a `secureContext` option)
  const server = new tls.Server({ ...pems, requestCert: true, rejectUnauthorized: true });
  server.on("secureConnection", (secure: tls.TLSSocket) => {
    if (!secure.authorized) {
      secure.destroy();
      onFail(String(secure.authorizationError ?? "client certificate not authorized"));
      return;
    }
    onSecure(secure);
  });
  server.on("tlsClientError", (err: Error) => onFail((err as NodeJS.ErrnoException).code ?? err.message));
  const stream = alreadyRead.length === 0 ? raw : (new PrefixedStream(raw, alreadyRead) as unknown as net.Socket);
  server.emit("connection", stream);
}

export function upgradeServerSide(
  raw: net.Socket,
  alreadyRead: Buffer,
  secureContext: tls.SecureContext,
): tls.TLSSocket {
  if (alreadyRead.length === 0) return new tls.TLSSocket(raw, { isServer: true, secureContext });
  return new tls.TLSSocket(new PrefixedStream(raw, alreadyRead) as unknown as net.Socket, {
    isServer: true,
    secureContext,
  });
}

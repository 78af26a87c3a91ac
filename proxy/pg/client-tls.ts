// TLS termination for clients that sent SSLRequest. One tls.Server per listener (never listening) takes
// the already-accepted socket via emit("connection"): only node:tls' server path verifies client
// certificates (requestCert + rejectUnauthorized against `ca`) and reports failed handshakes. Handshakes
// are matched back to their session by the socket's remote address:port.
import type { Socket } from "node:net";
import { type TLSSocket, Server as TlsServer } from "node:tls";
import { PgProtocolError, SQLSTATE } from "./errors.js";

export interface ClientTlsFiles {
  cert: Buffer;
  key: Buffer;
  /** When set, clients must present a certificate chaining to this CA. */
  ca?: Buffer;
}

interface Pending {
  resolve: (s: TLSSocket) => void;
  reject: (e: Error) => void;
}

function peerKey(s: Socket): string {
  return `${s.remoteAddress}|${s.remotePort}`;
}

export class ClientTlsTerminator {
  private readonly server: TlsServer;
  private readonly pending = new Map<string, Pending>();
  readonly requireClientCert: boolean;

  constructor(files: ClientTlsFiles, handshakeTimeoutMs = 30_000) {
    this.requireClientCert = files.ca !== undefined;
    this.server = new TlsServer({
      cert: files.cert,
      key: files.key,
      ca: files.ca,
      requestCert: this.requireClientCert,
      rejectUnauthorized: this.requireClientCert,
      minVersion: "TLSv1.2",
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.server.on("secureConnection", (ts: TLSSocket) => {
      const p = this.pending.get(peerKey(ts));
      if (!p) {
        ts.destroy();
        return;
      }
      this.pending.delete(peerKey(ts));
      p.resolve(ts);
    });
    this.server.on("tlsClientError", (err: Error, ts: TLSSocket) => {
      const k = peerKey(ts);
      const p = this.pending.get(k);
      ts.destroy();
      if (!p) return;
      this.pending.delete(k);
      p.reject(new PgProtocolError(`TLS handshake with client failed: ${err.message}`, SQLSTATE.CONNECTION_FAILURE));
    });
  }

  /** Run the TLS handshake on an accepted socket (after answering 'S' to its SSLRequest). */
  upgrade(raw: Socket): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const k = peerKey(raw);
      this.pending.set(k, { resolve, reject });
      const onClose = () => {
        if (this.pending.get(k)?.reject === reject) {
          this.pending.delete(k);
          reject(
            new PgProtocolError("client closed the connection during the TLS handshake", SQLSTATE.CONNECTION_FAILURE),
          );
        }
      };
      raw.once("close", onClose);
      this.server.emit("connection", raw);
    });
  }
}

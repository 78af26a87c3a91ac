// Opens a connection to the PostgreSQL server, negotiating TLS (SSLRequest → 'S' → TLS handshake) when
// backend TLS is configured. Independent of the client side's TLS.
import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { PgProtocolError, SQLSTATE } from "./errors.js";
import { encodeSSLRequest } from "./frontend-messages.js";
import type { ChunkReader } from "./socket-fast-path.js";

export interface BackendTarget {
  host: string;
  port: number;
  /** TLS options for the server connection; undefined = plaintext. */
  tls?: ConnectionOptions;
  connectTimeoutMs?: number;
}

/** Receives the server's bytes on a plaintext connection (read straight into a reusable buffer). */
export type { ChunkReader } from "./socket-fast-path.js";

export interface BackendConnection {
  socket: Socket;
  tls: boolean;
  /**
   * Plaintext connections are read with net's `onread` (no 'data' events, no stream machinery, one buffer
   * reused while the client keeps up): install the reader before sending anything. Undefined for TLS
   * connections, which emit 'data' as usual.
   */
  setReader?: (r: ChunkReader) => void;
}

const READ_BUFFER = 64 * 1024;

function connectTcp(t: BackendTarget, direct?: { reader: ChunkReader | undefined }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.allocUnsafe(READ_BUFFER);
    const s = direct
      ? netConnect({
          host: t.host,
          port: t.port,
          noDelay: true,
          onread: {
            buffer: () => {
              if (!direct.reader?.canReuse()) buf = Buffer.allocUnsafe(READ_BUFFER);
              return buf;
            },
            callback: (n: number, b: Uint8Array) => {
              direct.reader?.onChunk((b as Buffer).subarray(0, n));
              return true; // flow control is socket.pause()/resume()
            },
          },
        })
      : netConnect({ host: t.host, port: t.port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new PgProtocolError(`connecting to server ${t.host}:${t.port} timed out`, SQLSTATE.CONNECTION_FAILURE));
    }, t.connectTimeoutMs ?? 10_000);
    s.once("connect", () => {
      clearTimeout(timer);
      s.setKeepAlive(true, 60_000);
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", (err) => {
      clearTimeout(timer);
      reject(
        new PgProtocolError(
          `could not connect to server ${t.host}:${t.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
          SQLSTATE.CONNECTION_FAILURE,
        ),
      );
    });
  });
}

function readSslAnswer(s: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      if (chunk.length !== 1) {
        s.destroy();
        reject(new PgProtocolError("server sent unexpected data after its SSL answer", SQLSTATE.PROTOCOL_VIOLATION));
        return;
      }
      resolve(chunk[0]);
    };
    const onEnd = () => {
      cleanup();
      reject(new PgProtocolError("server closed the connection during SSL negotiation", SQLSTATE.CONNECTION_FAILURE));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new PgProtocolError(`server connection failed: ${e.message}`, SQLSTATE.CONNECTION_FAILURE));
    };
    const cleanup = () => {
      s.off("data", onData);
      s.off("end", onEnd);
      s.off("error", onError);
      s.pause();
    };
    s.on("data", onData);
    s.on("end", onEnd);
    s.on("error", onError);
  });
}

export async function connectBackend(t: BackendTarget): Promise<BackendConnection> {
  if (!t.tls) {
    const direct: { reader: ChunkReader | undefined } = { reader: undefined };
    const socket = await connectTcp(t, direct);
    return { socket, tls: false, setReader: (r) => (direct.reader = r) };
  }
  const raw = await connectTcp(t);
  raw.write(encodeSSLRequest());
  let answer: number;
  try {
    answer = await readSslAnswer(raw);
  } catch (e) {
    raw.destroy();
    throw e;
  }
  if (answer !== 0x53) {
    raw.destroy();
    throw new PgProtocolError("server does not support TLS but backend_tls is configured", SQLSTATE.CONNECTION_FAILURE);
  }
  return new Promise((resolve, reject) => {
    // host: used for the certificate identity check (and SNI when it is a name)
    const ts = tlsConnect({ host: t.host, ...t.tls, socket: raw });
    ts.once("secureConnect", () => {
      ts.removeAllListeners("error");
      ts.setNoDelay(true);
      resolve({ socket: ts, tls: true });
    });
    ts.once("error", (e) => {
      raw.destroy();
      reject(new PgProtocolError(`TLS to server failed: ${e.message}`, SQLSTATE.CONNECTION_FAILURE));
    });
  });
}

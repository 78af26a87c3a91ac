// Minimal streaming PostgreSQL client for the memory scenarios: speaks just enough of protocol v3 (startup with
// trust auth, one simple Query) to stream a large result and count DataRow / CopyData messages while discarding
// their bytes as they arrive, so the client never buffers the result.
import { connect } from "node:net";

export interface StreamQuerySpec {
  host: string;
  port: number;
  user: string;
  database: string;
  sql: string;
  applicationName?: string;
  /** Fails the query if it runs longer than this. */
  timeoutMs?: number;
}

export interface StreamQueryResult {
  /** DataRow messages (or CopyData messages for COPY ... TO STDOUT). */
  rows: number;
  /** Bytes received from the server for the whole query. */
  bytes: number;
  /** From sending the Query until ReadyForQuery. */
  elapsedMs: number;
  /** CommandComplete tag, e.g. "SELECT 10000000". */
  commandTag: string;
}

function startupMessage(user: string, database: string, app: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${database}\0application_name\0${app}\0\0`, "utf8");
  const msg = Buffer.alloc(8 + body.length);
  msg.writeInt32BE(msg.length, 0);
  msg.writeInt32BE(196608, 4); // protocol 3.0
  body.copy(msg, 8);
  return msg;
}

function typedMessage(type: string, body: Buffer): Buffer {
  const msg = Buffer.alloc(5 + body.length);
  msg.write(type, 0, "latin1");
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}

function errorText(body: Buffer): string {
  const fields: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = String.fromCharCode(body[i]);
    const end = body.indexOf(0, i + 1);
    fields[code] = body.toString("utf8", i + 1, end);
    i = end + 1;
  }
  return `${fields.S ?? "ERROR"} ${fields.C ?? ""}: ${fields.M ?? "(no message)"}`;
}

const DISCARDED = new Set(["D".charCodeAt(0), "d".charCodeAt(0)]);

/** Connects, runs `sql` with the simple query protocol, counts rows without keeping them, disconnects. */
export async function streamQuery(spec: StreamQuerySpec): Promise<StreamQueryResult> {
  const socket = connect({ host: spec.host, port: spec.port });
  socket.setNoDelay(true);
  return await new Promise<StreamQueryResult>((resolve, reject) => {
    let pending: Buffer | null = null; // partial header or body of a message we need to read
    let skip = 0; // remaining body bytes of a discarded message
    let rows = 0;
    let bytes = 0;
    let queryStart = 0;
    let querySent = false;
    let commandTag = "";
    let error: string | undefined;
    let settled = false;
    const timer = spec.timeoutMs
      ? setTimeout(
          () => finish(new Error(`bench: streaming query timed out after ${spec.timeoutMs} ms`)),
          spec.timeoutMs,
        )
      : undefined;

    const finish = (err?: Error, result?: StreamQueryResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.end(typedMessage("X", Buffer.alloc(0)));
        resolve(result as StreamQueryResult);
      }
    };

    const onMessage = (type: number, body: Buffer) => {
      switch (String.fromCharCode(type)) {
        case "R": {
          const code = body.readInt32BE(0);
          if (code !== 0) {
            finish(
              new Error(
                `bench: ${spec.host}:${spec.port} asked for authentication method ${code}; the stream driver supports trust only`,
              ),
            );
          }
          return;
        }
        case "E":
          error = errorText(body);
          if (!querySent) finish(new Error(`bench: connection refused by server: ${error}`));
          return;
        case "C":
          commandTag = body.toString("utf8", 0, body.length - 1);
          return;
        case "Z":
          if (!querySent) {
            querySent = true;
            queryStart = performance.now();
            bytes = 0;
            socket.write(typedMessage("Q", Buffer.from(`${spec.sql}\0`, "utf8")));
          } else if (error) {
            finish(new Error(`bench: streaming query failed: ${error}`));
          } else {
            finish(undefined, { rows, bytes, elapsedMs: performance.now() - queryStart, commandTag });
          }
          return;
        default:
          return; // ParameterStatus, BackendKeyData, RowDescription, NoticeResponse, CopyOutResponse, CopyDone, ...
      }
    };

    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      let buf = chunk;
      let off = 0;
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        skip -= n;
        off = n;
      }
      if (pending) {
        buf = Buffer.concat([pending, buf.subarray(off)]);
        off = 0;
        pending = null;
      }
      while (off < buf.length && !settled) {
        if (buf.length - off < 5) {
          pending = Buffer.from(buf.subarray(off));
          return;
        }
        const type = buf[off];
        const len = buf.readInt32BE(off + 1);
        if (len < 4) return finish(new Error(`bench: invalid message length ${len} from ${spec.host}:${spec.port}`));
        if (DISCARDED.has(type)) {
          rows++;
          const available = buf.length - off - 5;
          const bodyLen = len - 4;
          if (available >= bodyLen) {
            off += 5 + bodyLen;
          } else {
            skip = bodyLen - available;
            return;
          }
        } else {
          if (buf.length - off < 1 + len) {
            pending = Buffer.from(buf.subarray(off));
            return;
          }
          onMessage(type, buf.subarray(off + 5, off + 1 + len));
          off += 1 + len;
        }
      }
    });
    socket.once("error", (err) =>
      finish(new Error(`bench: stream connection to ${spec.host}:${spec.port} failed: ${err.message}`)),
    );
    socket.once("close", () =>
      finish(new Error(`bench: ${spec.host}:${spec.port} closed the connection before the query finished`)),
    );
    socket.once("connect", () =>
      socket.write(startupMessage(spec.user, spec.database, spec.applicationName ?? "smgate-bench")),
    );
  });
}

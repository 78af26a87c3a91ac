// Reads one untyped startup-phase packet (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest)
// from a socket, with a deadline. Leaves the socket paused; bytes after the packet are returned as `rest`.
import type { Socket } from "node:net";
import { PgProtocolError } from "./errors.js";
import { startupPacketLength } from "./frontend-messages.js";

export interface StartupRead {
  packet: Buffer;
  rest: Buffer;
}

export function readStartupPacket(socket: Socket, initial: Buffer, timeoutMs: number): Promise<StartupRead | null> {
  return new Promise((resolve, reject) => {
    let buf = initial;
    const tryParse = (): boolean => {
      const len = startupPacketLength(buf);
      if (len < 0 || buf.length < len) return false;
      cleanup();
      resolve({ packet: buf.subarray(0, len), rest: buf.subarray(len) });
      return true;
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        tryParse();
      } catch (e) {
        cleanup();
        reject(e);
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(null); // client went away before finishing startup
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new PgProtocolError("startup packet not received in time", "08006"));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.pause();
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    try {
      if (!tryParse()) socket.resume();
    } catch (e) {
      cleanup();
      reject(e);
    }
  });
}

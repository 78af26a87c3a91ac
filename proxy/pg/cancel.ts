// Cancel-key mapping. smgate gives each client its own random BackendKeyData and remembers which real
// server backend (pid + secret) it stands for; a CancelRequest carrying smgate's key is forwarded to the
// server with the real key. The client never learns the server's key, and a guessed key cancels nothing.
// The top 7 bits of smgate's pid carry the worker index, so a cluster primary can route a cancel that
// arrives at another worker (workerOfCancelPid).
import { randomInt, timingSafeEqual } from "node:crypto";
import { type BackendTarget, connectBackend } from "./backend-connect.js";
import { encodeCancelRequest } from "./frontend-messages.js";

export interface CancelTarget {
  backend: BackendTarget;
  pid: number;
  secret: number;
}

interface Entry {
  secret: Buffer;
  target: CancelTarget;
}

export function workerOfCancelPid(pid: number): number {
  return (pid >>> 24) & 0x7f;
}

/** Forwards a cancel whose key another worker issued (node:cluster: via the primary); true if delivered. */
export type CancelRouter = (workerIndex: number, pid: number, secret: number) => Promise<boolean>;

export class CancelRegistry {
  private readonly entries = new Map<number, Entry>();
  /** Set by a cluster worker so cancels that land on the wrong worker reach the one holding the key. */
  router: CancelRouter | undefined;

  constructor(readonly workerIndex = 0) {
    if (workerIndex < 0 || workerIndex > 127) throw new RangeError(`worker index ${workerIndex} out of range 0..127`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Issue a fresh client-facing key for a server backend. */
  issue(target: CancelTarget): { pid: number; secret: number } {
    let pid: number;
    do pid = ((this.workerIndex << 24) | randomInt(1, 0x1000000)) >>> 0;
    while (this.entries.has(pid));
    const secret = randomInt(0, 0x100000000) | 0;
    const sb = Buffer.alloc(4);
    sb.writeInt32BE(secret);
    this.entries.set(pid, { secret: sb, target });
    return { pid, secret };
  }

  release(pid: number): void {
    this.entries.delete(pid);
  }

  lookup(pid: number, secret: number): CancelTarget | undefined {
    const e = this.entries.get(pid >>> 0);
    if (!e) return undefined;
    const sb = Buffer.alloc(4);
    sb.writeInt32BE(secret | 0);
    return timingSafeEqual(sb, e.secret) ? e.target : undefined;
  }

  /** Forward a client's CancelRequest; resolves true when a matching session was found and the request sent. */
  async cancel(pid: number, secret: number): Promise<boolean> {
    const owner = workerOfCancelPid(pid);
    if (owner !== this.workerIndex) return this.router ? this.router(owner, pid, secret) : false;
    const t = this.lookup(pid, secret);
    if (!t) return false;
    await sendCancel(t.backend, t.pid, t.secret);
    return true;
  }
}

/** Send a CancelRequest with the server's own key on a new connection (TLS negotiated as configured). */
export async function sendCancel(backend: BackendTarget, pid: number, secret: number): Promise<void> {
  const { socket } = await connectBackend(backend);
  await new Promise<void>((resolve) => {
    socket.on("error", () => resolve());
    socket.on("close", () => resolve());
    socket.end(encodeCancelRequest(pid, secret));
  });
}

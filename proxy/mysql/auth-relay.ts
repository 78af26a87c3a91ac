// Relays the authentication exchange (after the HandshakeResponse, and again after COM_CHANGE_USER) between
// client and server: auth switch requests, caching_sha2_password fast / full paths, sequence id translation when
// smgate inserts packets of its own. When the two legs differ in TLS, full authentication is bridged (see
// auth-rsa.ts and docs/PROTOCOL-MYSQL.md); plugins that would send a cleartext password over a plain backend leg
// are refused.
import { gatewayRsaKey, rsaDecryptPassword, rsaEncryptPassword } from "./auth-rsa.js";
import { Err, type ErrSpec } from "./constants.js";
import { parseAuthSwitch } from "./handshake.js";

export interface AuthIo {
  readonly clientTls: boolean;
  readonly backendTls: boolean;
  toClient(payload: Buffer, seq: number): void;
  toServer(payload: Buffer, seq: number): void;
  /** End the connection with an ERR packet to the client. */
  fail(spec: ErrSpec, message: string, seq: number): void;
  /** Authentication finished with OK (already forwarded) or ERR (already forwarded; `errno` is its code). */
  done(ok: boolean, plugin: string, errno?: number): void;
}

/** Plugins whose client response is (or may be) the cleartext password. */
const CLEARTEXT_PLUGINS = new Set(["mysql_clear_password", "sha256_password"]);

export class AuthRelay {
  /** server seq = client seq + offset (mod 256). */
  private offset: number;
  private fullAuthPending = false;
  private awaitingServerKey: Buffer | undefined; // password waiting for the server's public key
  private bridgingToTls = false; // we answered the client's key request with our own key
  private lastClientSeq = 0;

  constructor(
    private readonly io: AuthIo,
    private plugin: string,
    private nonce: Buffer,
    offset: number,
  ) {
    this.offset = offset;
  }

  /** Refuse up front when the chosen plugin would expose a cleartext password on a plain backend leg. */
  checkPlugin(plugin: string, clientSeq: number): boolean {
    if (CLEARTEXT_PLUGINS.has(plugin) && this.io.clientTls && !this.io.backendTls) {
      this.io.fail(
        Err.ACCESS_DENIED,
        `smgate: authentication plugin ${plugin} would send the password in clear to the server over a plain ` +
          "connection; configure mysql.backend_tls or use caching_sha2_password / mysql_native_password",
        clientSeq + 1,
      );
      return false;
    }
    return true;
  }

  fromServer(payload: Buffer, seq: number): void {
    const clientSeq = (seq - this.offset) & 0xff;
    const head = payload.length > 0 ? payload[0] : -1;
    if (this.awaitingServerKey && head === 0x01) {
      // the server's PEM public key answering our request: encrypt the password the client gave us over TLS
      const pem = payload.subarray(1).toString("latin1");
      let encrypted: Buffer;
      try {
        encrypted = rsaEncryptPassword(pem, this.awaitingServerKey, this.nonce);
      } catch {
        this.awaitingServerKey = undefined;
        this.io.fail(Err.ACCESS_DENIED, "smgate: the server sent an unusable RSA public key", this.lastClientSeq + 1);
        return;
      }
      this.awaitingServerKey.fill(0);
      this.awaitingServerKey = undefined;
      this.io.toServer(encrypted, (seq + 1) & 0xff);
      this.offset = (this.offset + 2) & 0xff;
      return;
    }
    if (head === 0x00) {
      this.io.toClient(payload, clientSeq);
      this.io.done(true, this.plugin);
      return;
    }
    if (head === 0xff) {
      this.io.toClient(payload, clientSeq);
      this.io.done(false, this.plugin, payload.length >= 3 ? payload.readUInt16LE(1) : 0);
      return;
    }
    if (head === 0xfe) {
      const sw = parseAuthSwitch(payload);
      this.plugin = sw.pluginName;
      if (sw.data.length > 0) this.nonce = sw.data;
      this.fullAuthPending = false;
      if (!this.checkPlugin(sw.pluginName, clientSeq - 1)) return;
      this.io.toClient(payload, clientSeq);
      return;
    }
    if (head === 0x01 && payload.length === 2 && this.plugin === "caching_sha2_password") {
      if (payload[1] === 0x04) this.fullAuthPending = true;
    }
    this.io.toClient(payload, clientSeq);
  }

  fromClient(payload: Buffer, seq: number): void {
    this.lastClientSeq = seq;
    const serverSeq = (seq + this.offset) & 0xff;
    if (this.bridgingToTls) {
      // the client encrypted its password with smgate's key; the server gets it in clear over TLS
      this.bridgingToTls = false;
      let password: Buffer;
      try {
        password = rsaDecryptPassword(gatewayRsaKey().privateKey, payload, this.nonce);
      } catch {
        this.io.fail(
          Err.ACCESS_DENIED,
          "smgate: could not decrypt the RSA-encrypted password (was it encrypted with a pinned server key? " +
            "let the client request the public key, or use TLS to smgate)",
          seq + 1,
        );
        return;
      }
      this.io.toServer(Buffer.concat([password, Buffer.from([0])]), serverSeq);
      password.fill(0);
      return;
    }
    if (this.fullAuthPending && this.io.clientTls !== this.io.backendTls) {
      this.fullAuthPending = false;
      if (this.io.clientTls) {
        // cleartext password (NUL-terminated) over the TLS client leg; backend leg is plain: RSA with server key
        const nul = payload.indexOf(0);
        this.awaitingServerKey = Buffer.from(nul >= 0 ? payload.subarray(0, nul) : payload);
        this.io.toServer(Buffer.from([0x02]), serverSeq);
        return;
      }
      // plain client leg, TLS backend leg: the client asks for a public key (0x02); give it ours
      if (payload.length === 1 && payload[0] === 0x02) {
        this.bridgingToTls = true;
        this.io.toClient(Buffer.concat([Buffer.from([0x01]), Buffer.from(gatewayRsaKey().publicKeyPem)]), seq + 1);
        this.offset = (this.offset - 2) & 0xff;
        return;
      }
      this.bridgingToTls = true;
      this.fromClient(payload, seq);
      return;
    }
    this.io.toServer(payload, serverSeq);
  }
}

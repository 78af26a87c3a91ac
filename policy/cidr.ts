// Client-address matching for access rules: CIDR blocks (IPv4 and IPv6) checked with node:net BlockList;
// IPv4-mapped IPv6 client addresses ("::ffff:10.1.2.3") match IPv4 blocks.
import { BlockList, isIP } from "node:net";

export interface ParsedCidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a single address (full-length prefix); a string error otherwise. */
export function parseCidr(text: string): ParsedCidr | string {
  const [addr, prefixText, ...rest] = text.trim().split("/");
  if (rest.length > 0) return `"${text}" is not a CIDR block (more than one "/")`;
  const v = isIP(addr);
  if (v === 0) return `"${text}" is not a CIDR block: "${addr}" is not an IPv4 or IPv6 address`;
  const family = v === 4 ? "ipv4" : "ipv6";
  const max = v === 4 ? 32 : 128;
  if (prefixText === undefined) return { address: addr, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `"${text}" is not a CIDR block: prefix length must be 0-${max}`;
  }
  return { address: addr, prefix: Number(prefixText), family };
}

/** Normalises a socket's remote address: strips an IPv4-mapped prefix and an IPv6 zone id. */
export function normalizeAddress(address: string): { address: string; family: "ipv4" | "ipv6" } | undefined {
  let a = address.trim();
  const pct = a.indexOf("%");
  if (pct >= 0) a = a.slice(0, pct);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1];
  const v = isIP(a);
  if (v === 0) return undefined;
  return { address: a, family: v === 4 ? "ipv4" : "ipv6" };
}

/** A set of CIDR blocks; `has(address)` answers membership. */
export class CidrSet {
  private readonly list = new BlockList();
  constructor(blocks: ParsedCidr[]) {
    for (const b of blocks) this.list.addSubnet(b.address, b.prefix, b.family);
  }
  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    const n = normalizeAddress(address);
    if (!n) return false;
    return this.list.check(n.address, n.family);
  }
}

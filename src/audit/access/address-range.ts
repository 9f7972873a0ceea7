import { isIP } from 'node:net';
import { ipv6Hextets } from '../../common/ipv6.js';

/**
 * Addresses as 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so `10.0.0.0/8` also matches
 * `::ffff:10.1.2.3`, which is how a dual-stack socket reports an IPv4 peer.
 */
export function addressBytes(address: string): Buffer | undefined {
  const bare = address.split('%')[0];
  const version = isIP(bare);
  if (version === 4) return Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bare.split('.').map(Number)]);
  if (version !== 6) return undefined;
  const groups = ipv6Hextets(bare.toLowerCase());
  if (!groups) return undefined;
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  return bytes;
}

export interface AddressRange {
  bytes: Buffer;
  /** Leading bits that must match, of the 128. */
  bits: number;
}

/** `address` or `address/prefix` (IPv4 or IPv6), or undefined when malformed or the prefix is too long. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const [address, prefix, extra] = text.trim().split('/');
  if (extra !== undefined || address.includes('%')) return undefined;
  const bytes = addressBytes(address);
  if (!bytes) return undefined;
  const v4 = isIP(address) === 4;
  const max = v4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return undefined;
  const length = prefix === undefined ? max : Number(prefix);
  if (length > max) return undefined;
  return { bytes, bits: v4 ? 96 + length : length };
}

function inRange(address: Buffer, range: AddressRange): boolean {
  const whole = range.bits >> 3;
  if (!address.subarray(0, whole).equals(range.bytes.subarray(0, whole))) return false;
  const rest = range.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole] & mask) === (range.bytes[whole] & mask);
}

/** The configured proxies of trusted-header sign-in: does a peer address belong to one? */
export class AddressMatcher {
  private readonly ranges: AddressRange[];

  /** Throws on an entry that is not an address or range (the configuration check reports those first). */
  constructor(entries: string[]) {
    this.ranges = entries.map((entry) => {
      const range = parseAddressRange(entry);
      if (!range) throw new Error(`not an IP address or range: ${entry}`);
      return range;
    });
  }

  matches(address: string | undefined): boolean {
    const bytes = address === undefined ? undefined : addressBytes(address);
    return bytes !== undefined && this.ranges.some((range) => inRange(bytes, range));
  }
}

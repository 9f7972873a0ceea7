import { type AddressRange, parseAddressRange } from '../audit/access/address-range.js';

/**
 * The names Express's `trust proxy` (the proxy-addr package) expands into address ranges. They
 * are loopback, link-local and private (RFC 1918, fc00::/7) ranges, which no client on the
 * internet can be the TCP peer from, so the prefix rule below does not apply to them.
 */
export const EXPRESS_PROXY_NAMES: readonly string[] = ['loopback', 'linklocal', 'uniquelocal'];

/** `security.trustedProxyMinPrefix`: the shortest prefix a trusted range may have in production. */
export interface MinPrefix {
  ipv4: number;
  ipv6: number;
}

/**
 * One finding about a setting: `what` is wrong, `todo` says what to do. `unsafe` ones are refused
 * in production and warned about elsewhere; the others are refused everywhere.
 */
export interface Finding {
  key: string;
  what: string;
  todo?: string;
  unsafe: boolean;
}

const IPV4_MAPPED_BITS = 96;
const IPV4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** Do the first `bits` bits of `a` and `b` agree? */
function samePrefix(a: Buffer, b: Buffer, bits: number): boolean {
  const whole = bits >> 3;
  if (!a.subarray(0, whole).equals(b.subarray(0, whole))) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole] & mask) === (b[whole] & mask);
}

/**
 * Why a range is wider than production allows, or undefined. Both matchers (proxy-addr for
 * `server.trustProxy`, AddressMatcher for the trusted header) compare an IPv4 peer as the IPv4-mapped
 * IPv6 address ::ffff:a.b.c.d, so an IPv6 range that holds ::ffff:0:0/96 (`::/64`, `::/0`) trusts
 * every IPv4 client too, and an IPv6 range inside it is an IPv4 range.
 */
export function rangeTooWide(range: AddressRange, min: MinPrefix): string | undefined {
  const v4Prefix = range.bits >= IPV4_MAPPED_BITS && samePrefix(range.bytes, IPV4_MAPPED_PREFIX, IPV4_MAPPED_BITS) ? range.bits - IPV4_MAPPED_BITS : undefined;
  if (v4Prefix !== undefined) {
    if (v4Prefix >= min.ipv4) return undefined;
    const every = v4Prefix === 0 ? ': every IPv4 address' : ` (${2 ** (32 - v4Prefix)} IPv4 addresses)`;
    return `is a /${v4Prefix}${every}, wider than the /${min.ipv4} allowed (security.trustedProxyMinPrefix.ipv4)`;
  }
  if (range.bits < min.ipv6) {
    const every = range.bits === 0 ? ': every IPv6 and IPv4 address' : '';
    return `is an IPv6 /${range.bits}${every}, wider than the /${min.ipv6} allowed (security.trustedProxyMinPrefix.ipv6)`;
  }
  if (range.bits < IPV4_MAPPED_BITS && min.ipv4 > 0 && samePrefix(range.bytes, IPV4_MAPPED_PREFIX, range.bits)) {
    return `holds ::ffff:0:0/96, so it trusts every IPv4 address (IPv4 peers are matched as IPv4-mapped IPv6)`;
  }
  return undefined;
}

const TRUST_PROXY_TODO =
  'Set the number of proxies in front (1 for one ingress controller or load balancer), or their addresses and CIDR ranges, e.g. "10.0.0.0/8, loopback"';
const NARROW_TODO =
  'List the proxies\' own addresses or narrow ranges (e.g. 10.1.2.0/24), or lower security.trustedProxyMinPrefix if this whole range really is your proxies';

/**
 * Checks `server.trustProxy` as Express reads it: false, a hop count, or a comma-separated list
 * of addresses, CIDR ranges and Express's names (anything else makes Express throw at start).
 * `true` believes X-Forwarded-For from anyone; ranges wider than `min` trust most of the internet.
 */
export function trustProxyFindings(value: unknown, min: MinPrefix): Finding[] {
  const key = 'server.trustProxy';
  if (value === undefined || value === null || value === false) return [];
  if (value === true) {
    return [
      {
        key,
        unsafe: true,
        what:
          'true believes X-Forwarded-For from every client, so anyone can choose the address that rate limits, sign-in lockouts and ' +
          "the audit log's clientIp see (and the X-Request-Id adopted)",
        todo: TRUST_PROXY_TODO,
      },
    ];
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 ? [] : [{ key, unsafe: false, what: `${value} is not a hop count`, todo: 'Use a whole number of proxies in front, 0 or more' }];
  }
  if (typeof value !== 'string') {
    const kind = Array.isArray(value) ? 'a list' : typeof value;
    return [
      {
        key,
        unsafe: false,
        what: `must be false, a hop count, or a comma-separated string of addresses and CIDR ranges (e.g. "10.0.0.0/8, loopback"), not ${kind}`,
      },
    ];
  }
  if (value.trim() === '') return [{ key, unsafe: false, what: 'is empty', todo: 'Use false to trust no proxy' }];
  const findings: Finding[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (EXPRESS_PROXY_NAMES.includes(entry)) continue;
    const range = parseAddressRange(entry);
    if (!range) {
      findings.push({ key, unsafe: false, what: notAnEntry(entry) });
      continue;
    }
    const wide = rangeTooWide(range, min);
    if (wide) findings.push({ key, unsafe: true, what: `"${entry}" ${wide}`, todo: NARROW_TODO });
  }
  return findings;
}

function notAnEntry(entry: string): string {
  if (entry === '') return 'has an empty entry between commas';
  const hint =
    entry === 'true' || entry === 'false' || /^\d+$/.test(entry)
      ? ` (a boolean or hop count is written without quotes: trustProxy: ${entry})`
      : /^[\d.]+\/[\d.]+\.[\d.]+$/.test(entry)
        ? ' (write a netmask as a prefix length: 10.0.0.0/8, not 10.0.0.0/255.0.0.0)'
        : '';
  return `"${entry}" is not an IP address, an address/prefix (CIDR) or one of ${EXPRESS_PROXY_NAMES.join(', ')}${hint}`;
}

/** `audit.trustedHeader.proxies` entries wider than `min`: whoever sends X-Forwarded-User from there signs in as an auditor. */
export function trustedHeaderProxyFindings(proxies: readonly string[], min: MinPrefix): Finding[] {
  const findings: Finding[] = [];
  proxies.forEach((proxy, i) => {
    const range = typeof proxy === 'string' ? parseAddressRange(proxy) : undefined;
    const wide = range && rangeTooWide(range, min);
    if (wide) {
      findings.push({
        key: `audit.trustedHeader.proxies[${i}]`,
        unsafe: true,
        what: `"${proxy}" ${wide}, and anyone there who sends the user header signs in as an auditor`,
        todo: NARROW_TODO,
      });
    }
  });
  return findings;
}

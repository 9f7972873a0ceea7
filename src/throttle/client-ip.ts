import { isIP } from 'node:net';
import type { Request } from 'express';
import { ipv6Hextets } from '../common/ipv6.js';

/**
 * The address a rate limit counts against. Express's `req.ip` already honours
 * `server.trustProxy` (X-Forwarded-For only from trusted hops). IPv4-mapped IPv6 becomes
 * IPv4, and other IPv6 addresses count per /64, the block one client usually holds.
 */
export function clientIpOf(req: Request): string {
  return normalizeIp(req.ip ?? req.socket?.remoteAddress ?? '') || 'unknown';
}

export function normalizeIp(ip: string): string {
  const bare = ip.split('%')[0];
  const version = isIP(bare);
  if (version !== 6) return version === 4 ? bare : ip;
  const groups = ipv6Hextets(bare.toLowerCase());
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return '::1';
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

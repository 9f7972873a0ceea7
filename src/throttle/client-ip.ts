import { isIP } from 'node:net';
import type { Request } from 'express';

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
  const groups = hextets(bare.toLowerCase());
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return '::1';
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

function hextets(address: string): number[] | undefined {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = text.includes('::') ? 8 - left.length - right.length : 0;
  const all = [...left, ...Array<string>(Math.max(fill, 0)).fill('0'), ...right].map((g) => parseInt(g, 16));
  return all.length === 8 && all.every((g) => g >= 0 && g <= 0xffff) ? all : undefined;
}

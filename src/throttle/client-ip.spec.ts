import { describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import { clientIpOf, normalizeIp } from './client-ip.js';

describe('normalizeIp', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['not an address', 'not an address'],
  ])('%s -> %s', (ip, expected) => {
    expect(normalizeIp(ip)).toBe(expected);
  });

  it('puts two addresses of one /64 together and of two /64s apart', () => {
    expect(normalizeIp('2001:db8:a:b::1')).toBe(normalizeIp('2001:db8:a:b:ffff::2'));
    expect(normalizeIp('2001:db8:a:b::1')).not.toBe(normalizeIp('2001:db8:a:c::1'));
  });
});

describe('clientIpOf', () => {
  it('uses req.ip (which honours trust proxy)', () => {
    expect(clientIpOf({ ip: '::ffff:10.1.2.3', socket: { remoteAddress: '127.0.0.1' } } as unknown as Request)).toBe('10.1.2.3');
  });

  it('falls back to the socket address, then to "unknown"', () => {
    expect(clientIpOf({ socket: { remoteAddress: '10.9.9.9' } } as unknown as Request)).toBe('10.9.9.9');
    expect(clientIpOf({ socket: {} } as unknown as Request)).toBe('unknown');
  });
});

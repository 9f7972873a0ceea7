import { parseAddressRange } from '../audit/access/address-range.js';
import { rangeTooWide, trustProxyFindings, trustedHeaderProxyFindings } from './trusted-proxies.js';

const MIN = { ipv4: 8, ipv6: 32 };
const wide = (text: string, min = MIN) => rangeTooWide(parseAddressRange(text)!, min);

describe(rangeTooWide.name, () => {
  it('allows IPv4 ranges of the minimum prefix or narrower, refuses wider ones', () => {
    expect(wide('10.0.0.0/8')).toBeUndefined();
    expect(wide('192.0.2.7')).toBeUndefined();
    expect(wide('10.0.0.0/7')).toBe('is a /7 (33554432 IPv4 addresses), wider than the /8 allowed (security.trustedProxyMinPrefix.ipv4)');
    expect(wide('0.0.0.0/0')).toBe('is a /0: every IPv4 address, wider than the /8 allowed (security.trustedProxyMinPrefix.ipv4)');
    expect(wide('0.0.0.0/0', { ipv4: 0, ipv6: 32 })).toBeUndefined();
  });

  it('measures IPv4-mapped IPv6 ranges as the IPv4 ranges they are', () => {
    expect(wide('::ffff:10.0.0.0/104')).toBeUndefined();
    expect(wide('::ffff:0:0/96')).toMatch(/^is a \/0: every IPv4 address/);
  });

  it('refuses IPv6 ranges wider than the minimum, and narrower ones that still hold every IPv4 address', () => {
    expect(wide('2001:db8::/32')).toBeUndefined();
    expect(wide('2001:db8::/31')).toBe('is an IPv6 /31, wider than the /32 allowed (security.trustedProxyMinPrefix.ipv6)');
    expect(wide('::/0')).toBe('is an IPv6 /0: every IPv6 and IPv4 address, wider than the /32 allowed (security.trustedProxyMinPrefix.ipv6)');
    expect(wide('::/64')).toBe('holds ::ffff:0:0/96, so it trusts every IPv4 address (IPv4 peers are matched as IPv4-mapped IPv6)');
    expect(wide('::/80')).toMatch(/^holds ::ffff:0:0\/96/);
    expect(wide('::/96')).toBeUndefined(); // ::0.0.0.0/96 (IPv4-compatible), not the mapped block
    expect(wide('fd00::/48')).toBeUndefined();
  });
});

describe(trustProxyFindings.name, () => {
  it('accepts false, hop counts, addresses, ranges and Express names; nothing for unset', () => {
    for (const value of [undefined, null, false, 0, 1, 3, '10.0.0.1', ' 10.0.0.0/8 , loopback,linklocal, uniquelocal', '::1, fd00::/48']) {
      expect(trustProxyFindings(value, MIN)).toEqual([]);
    }
  });

  it('finds true and wide ranges unsafe, and malformed values wrong in any mode', () => {
    expect(trustProxyFindings(true, MIN)).toEqual([expect.objectContaining({ key: 'server.trustProxy', unsafe: true })]);
    expect(trustProxyFindings('loopback, 0.0.0.0/0, 1.2.3.4', MIN)).toEqual([expect.objectContaining({ unsafe: true, what: expect.stringMatching(/^"0\.0\.0\.0\/0" is a \/0/) })]);
    for (const value of ['', 'a.b.c.d', '10.0.0.0/33', 'fe80::1%eth0', '1,', 'true', 2.5, -1, ['loopback'], {}]) {
      const findings = trustProxyFindings(value, MIN);
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.every((f) => !f.unsafe)).toBe(true);
    }
  });
});

describe(trustedHeaderProxyFindings.name, () => {
  it('names each entry wider than allowed by its index, and skips malformed ones (reported elsewhere)', () => {
    const findings = trustedHeaderProxyFindings(['10.1.0.0/16', '0.0.0.0/0', 'not-an-address', '::/0'], MIN);
    expect(findings.map((f) => f.key)).toEqual(['audit.trustedHeader.proxies[1]', 'audit.trustedHeader.proxies[3]']);
    expect(findings.every((f) => f.unsafe && f.what.includes('signs in as an auditor'))).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import { AddressMatcher, addressBytes, parseAddressRange } from './address-range.js';

describe(AddressMatcher.name, () => {
  it.each([
    // IPv4 addresses and ranges
    [['10.0.0.5'], '10.0.0.5', true],
    [['10.0.0.5'], '10.0.0.6', false],
    [['10.0.0.0/8'], '10.255.1.2', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['192.168.4.0/22'], '192.168.7.255', true],
    [['192.168.4.0/22'], '192.168.8.0', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    // IPv4-mapped IPv6, as a dual-stack socket reports an IPv4 peer
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['127.0.0.1'], '::ffff:127.0.0.1', true],
    [['127.0.0.1'], '::FFFF:7f00:1', true],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    [['10.0.0.0/8'], '::ffff:11.1.2.3', false],
    // IPv6
    [['::1'], '::1', true],
    [['::1'], '0:0:0:0:0:0:0:1', true],
    [['::1'], '::2', false],
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['fd00:1:2:3::/64'], 'fd00:1:2:3:aaaa::1', true],
    [['fd00:1:2:3::/64'], 'fd00:1:2:4::1', false],
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['2001:db8::1/127'], '2001:db8::0', true],
    // IPv4 and IPv6 do not mix except through the mapped form
    [['::1'], '127.0.0.1', false],
    [['127.0.0.1'], '::1', false],
    [['10.0.0.0/8', '2001:db8::/32'], '2001:db8::7', true],
    [[], '127.0.0.1', false],
  ])('%j contains %s: %s', (ranges, address, expected) => {
    expect(new AddressMatcher(ranges).matches(address)).toBe(expected);
  });

  it('matches nothing for an unknown or malformed peer address', () => {
    const matcher = new AddressMatcher(['0.0.0.0/0', '::/0']);
    expect(matcher.matches(undefined)).toBe(false);
    expect(matcher.matches('')).toBe(false);
    expect(matcher.matches('localhost')).toBe(false);
    expect(matcher.matches('10.0.0.256')).toBe(false);
  });

  it('refuses to be built on an entry that is not an address or range', () => {
    expect(() => new AddressMatcher(['10.0.0.0/33'])).toThrow('not an IP address or range: 10.0.0.0/33');
  });
});

describe('parseAddressRange', () => {
  it.each(['10.0.0.0/33', '::/129', '10.0.0.1/', '10.0.0.1/8/8', 'fe80::1%eth0/64', '10.0.0', '1.2.3.4/-1', 'example.com'])(
    'refuses %s',
    (text) => {
      expect(parseAddressRange(text)).toBeUndefined();
    },
  );

  it('counts an IPv4 prefix within the mapped 128 bits', () => {
    expect(parseAddressRange('10.0.0.0/8')?.bits).toBe(104);
    expect(parseAddressRange('10.0.0.1')?.bits).toBe(128);
    expect(parseAddressRange('2001:db8::/32')?.bits).toBe(32);
  });
});

describe('addressBytes', () => {
  it('gives IPv4 and its mapped IPv6 form the same bytes', () => {
    expect(addressBytes('192.0.2.1')).toEqual(addressBytes('::ffff:192.0.2.1'));
    expect(addressBytes('192.0.2.1')!.toString('hex')).toBe('00000000000000000000ffffc0000201');
  });
});

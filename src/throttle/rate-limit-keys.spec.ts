import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/index.js';
import { RateLimitKeys } from './rate-limit-keys.js';

const withKey = (encryptionKey?: string) => ({ security: { encryptionKey } }) as AppConfig;
const KEY = Buffer.alloc(32, 1).toString('base64');

describe(RateLimitKeys.name, () => {
  it('derives its HMAC key from security.encryptionKey: the same digests on every replica', () => {
    const derived = createHmac('sha256', Buffer.from(KEY, 'base64')).update('rate-limit-keys').digest();
    const expected = createHmac('sha256', derived).update('launch\n203.0.113.7').digest('hex');
    expect(RateLimitKeys.fromConfig(withKey(KEY)).digest('launch', '203.0.113.7')).toBe(expected);
    expect(RateLimitKeys.fromConfig(withKey(KEY)).digest('launch', '203.0.113.7')).toBe(expected);
  });

  it('does not use the encryption key itself', () => {
    const direct = createHmac('sha256', Buffer.from(KEY, 'base64')).update('launch\n203.0.113.7').digest('hex');
    expect(RateLimitKeys.fromConfig(withKey(KEY)).digest('launch', '203.0.113.7')).not.toBe(direct);
  });

  it('differs with another encryption key, and without one is random per instance', () => {
    const a = RateLimitKeys.fromConfig(withKey(KEY)).digest('x');
    expect(RateLimitKeys.fromConfig(withKey(Buffer.alloc(32, 2).toString('base64'))).digest('x')).not.toBe(a);
    const random = RateLimitKeys.fromConfig(withKey(undefined));
    expect(random.digest('x')).toMatch(/^[0-9a-f]{64}$/);
    expect(random.digest('x')).toBe(random.digest('x'));
    expect(RateLimitKeys.fromConfig(withKey(undefined)).digest('x')).not.toBe(random.digest('x'));
  });

  it('keeps the parts apart', () => {
    const keys = RateLimitKeys.random();
    expect(keys.digest('a', 'bc')).not.toBe(keys.digest('ab', 'c'));
  });
});

import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/index.js';
import { MemoryRateLimitStorage } from './rate-limit.storage.js';
import { RateLimiter } from './rate-limiter.service.js';

function configOf(enabled: boolean, maxFailures = 3, lockoutSeconds = 60): AppConfig {
  const config = new AppConfig();
  config.rateLimit.enabled = enabled;
  config.audit.signIn.maxFailures = maxFailures;
  config.audit.signIn.lockoutSeconds = lockoutSeconds;
  return config;
}

describe(RateLimiter.name, () => {
  describe('failed_audit_sign_in', () => {
    it('refuses a user name after maxFailures failures, for lockoutSeconds from the refusal', async () => {
      let now = 1_000_000;
      const limiter = new RateLimiter(new MemoryRateLimitStorage(() => now), configOf(true));
      for (let i = 0; i < 3; i++) await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toEqual({ allowed: true, retryAfterSeconds: 0 });
      now += 10_000;
      await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toEqual({ allowed: false, retryAfterSeconds: 60 });
      // Another name is counted apart.
      await expect(limiter.hit('failed_audit_sign_in', 'bob')).resolves.toMatchObject({ allowed: true });
      now += 55_000;
      await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toEqual({ allowed: false, retryAfterSeconds: 5 });
      now += 5_000;
      await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toMatchObject({ allowed: true });
    });

    it('counts even with rateLimit.enabled false: it guards passwords, not load', async () => {
      const limiter = new RateLimiter(new MemoryRateLimitStorage(), configOf(false, 1));
      await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toMatchObject({ allowed: true });
      await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toMatchObject({ allowed: false });
      // The launch limit is off as configured.
      for (let i = 0; i < 100; i++) await expect(limiter.hit('launch', 'ip')).resolves.toMatchObject({ allowed: true });
    });

    it('a hit taken back (a right password) does not count towards the lock', async () => {
      const limiter = new RateLimiter(new MemoryRateLimitStorage(), configOf(true, 2));
      for (let i = 0; i < 5; i++) {
        await limiter.hit('failed_audit_sign_in', 'jane');
        await limiter.takeBack('failed_audit_sign_in', 'jane');
      }
      await limiter.hit('failed_audit_sign_in', 'jane');
      await limiter.hit('failed_audit_sign_in', 'jane');
      await expect(limiter.hit('failed_audit_sign_in', 'jane')).resolves.toMatchObject({ allowed: false });
    });
  });

  describe('failed_metrics_auth', () => {
    it('refuses an address after audit.signIn.maxFailuresPerAddress failures, for lockoutSeconds, even with rate limits off', async () => {
      let now = 1_000_000;
      const config = configOf(false, 3, 120);
      config.audit.signIn.maxFailuresPerAddress = 2;
      const limiter = new RateLimiter(new MemoryRateLimitStorage(() => now), config);
      await expect(limiter.hit('failed_metrics_auth', '203.0.113.9')).resolves.toMatchObject({ allowed: true });
      await expect(limiter.hit('failed_metrics_auth', '203.0.113.9')).resolves.toMatchObject({ allowed: true });
      await expect(limiter.hit('failed_metrics_auth', '203.0.113.9')).resolves.toEqual({ allowed: false, retryAfterSeconds: 120 });
      // Its own count: the address's auditor sign-ins are not touched.
      await expect(limiter.hit('failed_audit_sign_in_ip', '203.0.113.9')).resolves.toMatchObject({ allowed: true });
      now += 120_000;
      await expect(limiter.hit('failed_metrics_auth', '203.0.113.9')).resolves.toMatchObject({ allowed: true });
    });
  });
});

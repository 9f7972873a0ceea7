import { join } from 'node:path';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, UnauthorizedException } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { type AppConfig, type TenantConfig, Tenants, validateConfig } from '../config/index.js';
import { PageException } from '../common/page.exception.js';
import { Metrics } from '../metrics/metrics.service.js';
import { RateLimitKeys } from '../throttle/rate-limit-keys.js';
import { MemoryRateLimitStorage, RateLimitStorage } from '../throttle/rate-limit.storage.js';
import { RateLimiter } from '../throttle/rate-limiter.service.js';
import { sharedStoreUnavailable } from './redis-keys.js';
import { BASIC_CHALLENGE, ConnectorBasicAuthGuard, type ConnectorRequest, ConnectorTenant } from './basic-auth.guard.js';

const LOOKUP = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json');

const tenant = (id: string, domain: string, username: string, password: string) => ({
  id,
  name: id,
  companyDomains: [domain],
  connector: { username, password },
  launch: { versions: [4] },
  oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
  fields: { v4: { header: ['custom9'] } },
  lookup: { type: 'file', file: LOOKUP },
});

const { config } = validateConfig(
  {
    concur: { apiOrigins: ['https://us.api.concursolutions.com'] },
    tenants: [
      tenant('acme', 'acme.example.com', 'AcmeConnector', 'acme-Password-1'),
      tenant('globex', 'globex.example', 'GlobexConnector', 'glöbex:pass word'),
    ],
  },
  import.meta.dirname,
  {},
);

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

/** Memory storage that records each call (key and operation), and can fail like Redis down. */
class RecordingStorage extends RateLimitStorage {
  readonly calls: string[] = [];
  failing: 'increment' | 'decrement' | undefined;
  constructor(private readonly inner: MemoryRateLimitStorage) {
    super();
  }
  async increment(key: string, ttl: number, limit: number, blockDuration: number, name: string) {
    this.calls.push(`increment ${key}`);
    if (this.failing === 'increment') throw sharedStoreUnavailable('rate limit count', new Error('Connection is closed.'));
    return this.inner.increment(key, ttl, limit, blockDuration, name);
  }
  async decrement(key: string, name: string) {
    this.calls.push(`decrement ${key}`);
    if (this.failing === 'decrement') throw sharedStoreUnavailable('rate limit take-back', new Error('Connection is closed.'));
    return this.inner.decrement(key, name);
  }
}

class FakeResponse {
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }
}

const limitsOf = (enabled: boolean, limit: number) =>
  ({ rateLimit: { ...config.rateLimit, enabled, failedTestConnection: { limit, windowSeconds: 900 } } }) as AppConfig;

describe(ConnectorBasicAuthGuard.name, () => {
  let guard: ConnectorBasicAuthGuard;
  let metrics: Metrics;
  let storage: RecordingStorage;
  let now: number;

  const build = (enabled = true, limit = 1000) => {
    now = 1_000_000;
    metrics = new Metrics();
    storage = new RecordingStorage(new MemoryRateLimitStorage(() => now));
    guard = new ConnectorBasicAuthGuard(
      new Tenants(config),
      new RateLimiter(storage, limitsOf(enabled, limit)),
      RateLimitKeys.random(),
      metrics,
    );
  };

  beforeEach(() => build());

  async function attempt(authorization: string | undefined) {
    const req = { headers: authorization === undefined ? {} : { authorization } } as ConnectorRequest;
    const res = new FakeResponse();
    const context = new ExecutionContextHost([req, res]);
    try {
      return { ok: await guard.canActivate(context), req, res };
    } catch (error) {
      return { error, req, res };
    }
  }

  async function expectRefused(authorization: string | undefined): Promise<void> {
    const { error, req, res } = await attempt(authorization);
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect((error as UnauthorizedException).getStatus()).toBe(401);
    expect(res.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
    expect(req.tenant).toBeUndefined();
  }

  async function expectLimited(authorization: string, retryAfter: number): Promise<void> {
    const { error, req, res } = await attempt(authorization);
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(429);
    expect((error as HttpException).getResponse()).toMatch(/^Too many failed Test Connection logins for this connector user; wait \d+ seconds? and try again\.$/);
    expect(res.headers['retry-after']).toBe(String(retryAfter));
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(req.tenant).toBeUndefined();
  }

  it('accepts the connector credentials of a tenant and sets req.tenant', async () => {
    const { ok, req, res } = await attempt(basic('AcmeConnector', 'acme-Password-1'));
    expect(ok).toBe(true);
    expect(req.tenant?.id).toBe('acme');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('finds the right tenant among several, with a colon and non-ASCII in the password', async () => {
    expect((await attempt(basic('GlobexConnector', 'glöbex:pass word'))).req.tenant?.id).toBe('globex');
  });

  it('ignores the case of the username', async () => {
    expect((await attempt(basic('acmeconnector', 'acme-Password-1'))).req.tenant?.id).toBe('acme');
    expect((await attempt(basic('ACMECONNECTOR', 'acme-Password-1'))).req.tenant?.id).toBe('acme');
  });

  it('accepts the scheme in any case', async () => {
    expect((await attempt(basic('AcmeConnector', 'acme-Password-1').replace('Basic', 'bAsIc'))).ok).toBe(true);
  });

  it('refuses a wrong password, also one that differs only in case', async () => {
    await expectRefused(basic('AcmeConnector', 'wrong'));
    await expectRefused(basic('AcmeConnector', 'acme-password-1'));
  });

  it('refuses a wrong username', async () => {
    await expectRefused(basic('OtherConnector', 'acme-Password-1'));
  });

  it("refuses one tenant's username with another tenant's password", async () => {
    await expectRefused(basic('AcmeConnector', 'glöbex:pass word'));
  });

  it('refuses a missing header', async () => {
    await expectRefused(undefined);
  });

  it.each([
    ['another scheme', `Bearer ${Buffer.from('AcmeConnector:acme-Password-1').toString('base64')}`],
    ['no credentials', 'Basic'],
    ['invalid base64', 'Basic !!!!'],
    ['base64 of a bad length', `Basic ${Buffer.from('AcmeConnector:acme-Password-1').toString('base64').replace(/=+$/, '')}x`],
    ['no colon', `Basic ${Buffer.from('AcmeConnectoracme-Password-1').toString('base64')}`],
    ['an empty value', ''],
  ])('refuses a malformed header: %s', async (_label, header) => {
    await expectRefused(header);
  });

  it('refuses a header over 1024 characters, even with valid credentials in it', async () => {
    const header = basic('AcmeConnector', 'acme-Password-1');
    expect((await attempt(header)).ok).toBe(true);
    await expectRefused(`${header}${' '.repeat(1025 - header.length)}`);
  });

  it('counts success and unauthorized in clc_test_connections_total', async () => {
    await attempt(basic('AcmeConnector', 'acme-Password-1'));
    await attempt(basic('AcmeConnector', 'wrong'));
    await attempt(basic('Nobody', 'wrong'));
    const values = (await metrics.testConnections.get()).values.map(({ labels, value }) => ({ labels, value }));
    expect(values).toEqual(
      expect.arrayContaining([
        { labels: { outcome: 'success' }, value: 1 },
        { labels: { outcome: 'unauthorized' }, value: 2 },
      ]),
    );
  });

  describe('failed logins per tenant', () => {
    const acmeRight = basic('AcmeConnector', 'acme-Password-1');
    const acmeWrong = basic('acmeconnector', 'guess');

    beforeEach(() => build(true, 3));

    it('after the limit of wrong passwords, refuses even the right one with 429 until the window ends', async () => {
      for (let i = 0; i < 3; i++) await expectRefused(acmeWrong);
      now += 100_000;
      await expectLimited(acmeRight, 800);
      await expectLimited(acmeWrong, 800);
      now += 799_999;
      await expectLimited(acmeRight, 1);
      now += 1;
      expect((await attempt(acmeRight)).req.tenant?.id).toBe('acme');
      const limited = (await metrics.rateLimited.get()).values.map(({ labels, value }) => ({ labels, value }));
      expect(limited).toEqual([{ labels: { limit: 'failed_test_connection' }, value: 3 }]);
      const outcomes = (await metrics.testConnections.get()).values.map(({ labels, value }) => ({ labels, value }));
      expect(outcomes).toEqual(expect.arrayContaining([{ labels: { outcome: 'rate_limited' }, value: 3 }]));
    });

    it('a successful login neither counts nor resets the count', async () => {
      await expectRefused(acmeWrong);
      await expectRefused(acmeWrong);
      for (let i = 0; i < 5; i++) expect((await attempt(acmeRight)).ok).toBe(true);
      await expectRefused(acmeWrong);
      await expectLimited(acmeRight, 900);
    });

    it('leaves other tenants alone', async () => {
      for (let i = 0; i < 3; i++) await expectRefused(acmeWrong);
      await expectLimited(acmeRight, 900);
      expect((await attempt(basic('GlobexConnector', 'glöbex:pass word'))).req.tenant?.id).toBe('globex');
      await expectRefused(basic('GlobexConnector', 'wrong'));
    });

    it('does not count unknown usernames against any tenant', async () => {
      for (let i = 0; i < 10; i++) await attempt(basic('Nobody', 'acme-Password-1'));
      expect((await attempt(acmeRight)).ok).toBe(true);
    });

    it('counts an unknown username like a tenant: 401 then 429 after the same number of attempts, the same answer', async () => {
      const unknownWrong = basic('Nobody', 'guess');
      for (let i = 0; i < 3; i++) {
        await expectRefused(acmeWrong);
        await expectRefused(unknownWrong);
      }
      now += 100_000;
      const known = await attempt(acmeWrong);
      const unknown = await attempt(unknownWrong);
      await expectLimited(unknownWrong, 800);
      expect((unknown.error as HttpException).getResponse()).toBe((known.error as HttpException).getResponse());
      expect(unknown.res.headers).toEqual(known.res.headers);
      // Any case of the username is one counter, as for a tenant.
      await expectLimited(basic('NOBODY', 'other'), 800);
      now += 800_000;
      await expectRefused(unknownWrong);
    });

    it('gives each unknown username its own counter, kept under a keyed hash', async () => {
      for (let i = 0; i < 3; i++) await expectRefused(basic('Nobody', 'guess'));
      await expectLimited(basic('Nobody', 'guess'), 900);
      await expectRefused(basic('Somebody', 'guess'));
      const subjects = new Set(storage.calls.map((call) => call.split(' ')[1]));
      expect(subjects.size).toBe(2);
      for (const subject of subjects) {
        expect(subject).toMatch(/^username:[0-9a-f]{64}$/);
        expect(subject.toLowerCase()).not.toContain('nobody');
      }
      // Another process (another key) hashes the same username differently.
      const other = new ConnectorBasicAuthGuard(new Tenants(config), new RateLimiter(storage, limitsOf(true, 3)), RateLimitKeys.random(), metrics);
      await other.canActivate(new ExecutionContextHost([{ headers: { authorization: basic('Nobody', 'guess') } }, new FakeResponse()])).catch(() => undefined);
      expect(new Set(storage.calls.map((call) => call.split(' ')[1])).size).toBe(3);
    });

    it('makes as many storage calls for an unknown username as for a wrong password of a tenant', async () => {
      await attempt(acmeWrong);
      const known = storage.calls.splice(0);
      await attempt(basic('Nobody', 'guess'));
      const unknown = storage.calls.splice(0);
      expect(known).toEqual(['increment acme']);
      expect(unknown.map((call) => call.split(' ')[0])).toEqual(['increment']);
      await attempt(acmeRight);
      expect(storage.calls).toEqual(['increment acme', 'decrement acme']);
    });

    it('counts nothing without credentials to count', async () => {
      await attempt(undefined);
      await attempt('Basic !!!!');
      expect(storage.calls).toEqual([]);
    });

    it('lets no more than the limit of concurrent guesses be judged', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => attempt(acmeWrong)));
      const statuses = results.map((r) => (r.error as HttpException).getStatus());
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(17);
    });

    it('counts nothing when rate limits are disabled', async () => {
      build(false, 3);
      for (let i = 0; i < 10; i++) await expectRefused(acmeWrong);
      for (let i = 0; i < 10; i++) await expectRefused(basic('Nobody', 'guess'));
      expect((await attempt(acmeRight)).ok).toBe(true);
      expect(storage.calls).toEqual([]);
    });
  });

  describe('when the rate-limit store fails', () => {
    const acmeWrong = basic('AcmeConnector', 'wrong');

    async function expectUnavailable(authorization: string): Promise<void> {
      const { error, req, res } = await attempt(authorization);
      expect(error).toBeInstanceOf(PageException);
      expect((error as PageException).getStatus()).toBe(503);
      expect((error as PageException).page.message).toMatch(/^The connector could not reach its shared store; wait 5 seconds and try again\./);
      expect((error as PageException).page.detail).toBe(
        `Redis ${storage.failing === 'increment' ? 'rate limit count' : 'rate limit take-back'} failed: Connection is closed.`,
      );
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(req.tenant).toBeUndefined();
    }

    it('refuses with 503 and Retry-After, right password or not, known username or not', async () => {
      storage.failing = 'increment';
      await expectUnavailable(basic('AcmeConnector', 'acme-Password-1'));
      await expectUnavailable(acmeWrong);
      await expectUnavailable(basic('Nobody', 'guess'));
    });

    it('refuses with 503 when the take-back of a right password fails', async () => {
      storage.failing = 'decrement';
      await expectUnavailable(basic('AcmeConnector', 'acme-Password-1'));
    });

    it('still answers 401 without credentials (nothing to count)', async () => {
      storage.failing = 'increment';
      await expectRefused(undefined);
    });
  });
});

@Controller()
class TestConnection {
  @Get() check(@ConnectorTenant() tenant: TenantConfig): string {
    return tenant.id;
  }
}

describe('ConnectorTenant', () => {
  const factory = () => {
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, TestConnection, 'check') as Record<string, { factory: Function }>;
    return Object.values(args)[0].factory as (data: unknown, ctx: ExecutionContextHost) => unknown;
  };

  it('returns req.tenant', () => {
    const tenant = config.tenants[0];
    expect(factory()(undefined, new ExecutionContextHost([{ tenant }]))).toBe(tenant);
  });

  it('fails loudly when no guard set the tenant', () => {
    expect(() => factory()(undefined, new ExecutionContextHost([{}]))).toThrow(/ConnectorBasicAuthGuard/);
  });
});

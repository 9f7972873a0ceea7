import { beforeEach, describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { ConnectorBasicAuthGuard } from '../auth/basic-auth.guard.js';
import { sharedStoreUnavailable } from '../auth/redis-keys.js';
import { SignatureGuard } from '../auth/signature.guard.js';
import { LaunchController } from '../callout/launch.controller.js';
import { TestConnectionController } from '../callout/test-connection.controller.js';
import { PageException } from '../common/page.exception.js';
import type { AppConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { MemoryRateLimitStorage, RateLimitStorage } from './rate-limit.storage.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimiter } from './rate-limiter.service.js';

class FakeResponse {
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }
}

const configOf = (enabled: boolean) =>
  ({
    rateLimit: {
      enabled,
      launch: { limit: 2, windowSeconds: 30 },
      testConnection: { limit: 1, windowSeconds: 10 },
      failedTestConnection: { limit: 5, windowSeconds: 900 },
    },
  }) as AppConfig;

async function counterValues(counter: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }) {
  return (await counter.get()).values.map(({ labels, value }) => ({ labels, value }));
}

describe(RateLimitGuard.name, () => {
  let now: number;
  let metrics: Metrics;
  let guard: RateLimitGuard;

  const build = (enabled: boolean, storage: RateLimitStorage = new MemoryRateLimitStorage(() => now)) => {
    now = 5_000_000;
    metrics = new Metrics();
    const limiter = new RateLimiter(storage, configOf(enabled));
    guard = new RateLimitGuard(limiter, metrics, new Reflector());
  };

  function call(controller: Function, handler: Function, ip: string) {
    const res = new FakeResponse();
    const context = new ExecutionContextHost([{ ip, headers: {} }, res], controller as never, handler as never);
    return { res, result: guard.canActivate(context) };
  }
  const v1 = (ip = '198.51.100.1') => call(LaunchController, LaunchController.prototype.v1, ip);
  const v4 = (ip = '198.51.100.1') => call(LaunchController, LaunchController.prototype.v4, ip);
  const testConnection = (ip = '198.51.100.1') =>
    call(TestConnectionController, TestConnectionController.prototype.testConnection, ip);

  beforeEach(() => build(true));

  it('lets launches through up to the limit, v1 and v4 counted together per client IP', async () => {
    await expect(v1().result).resolves.toBe(true);
    await expect(v4().result).resolves.toBe(true);
    await expect(v1('198.51.100.2').result).resolves.toBe(true);
  });

  it('refuses the launch over the limit with a 429 page, Retry-After and metrics', async () => {
    await v1().result;
    await v4().result;
    now += 1_000;
    const { res, result } = v4();
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PageException);
    expect((error as PageException).getStatus()).toBe(429);
    expect((error as PageException).textIn().message).toMatch(/^Too many attempts from your network; wait 30 seconds and open the window again/);
    expect((error as PageException).textIn({ lang: 'de', format: 'de' }).message).toContain('30 Sekunden');
    expect(res.headers['retry-after']).toBe('30');
    expect(await counterValues(metrics.rateLimited)).toEqual([{ labels: { limit: 'launch' }, value: 1 }]);
    expect(await counterValues(metrics.launches)).toEqual([{ labels: { version: '4', outcome: 'rate_limited' }, value: 1 }]);
  });

  it('refuses Test Connection over its limit with a JSON-friendly 429', async () => {
    await expect(testConnection().result).resolves.toBe(true);
    const { res, result } = testConnection();
    const error = (await result.catch((e: unknown) => e)) as HttpException;
    expect(error).toBeInstanceOf(HttpException);
    expect(error).not.toBeInstanceOf(PageException);
    expect(error.getStatus()).toBe(429);
    expect(error.getResponse()).toBe('Too many Test Connection calls from your network; wait 10 seconds and try again.');
    expect(res.headers['retry-after']).toBe('10');
    expect(await counterValues(metrics.rateLimited)).toEqual([{ labels: { limit: 'test_connection' }, value: 1 }]);
    expect(await counterValues(metrics.testConnections)).toEqual([{ labels: { outcome: 'rate_limited' }, value: 1 }]);
    // The launch limit is a separate count.
    await expect(v1().result).resolves.toBe(true);
  });

  it('counts nothing when rate limits are disabled', async () => {
    build(false);
    for (let i = 0; i < 10; i++) await expect(testConnection().result).resolves.toBe(true);
    expect(await counterValues(metrics.rateLimited)).toEqual([]);
  });

  describe('when the store fails (Redis down)', () => {
    class DownStorage extends RateLimitStorage {
      async increment(): Promise<never> {
        throw sharedStoreUnavailable('rate limit count', new Error('Connection is closed.'));
      }
      async decrement(): Promise<void> {}
    }
    beforeEach(() => build(true, new DownStorage()));

    it('refuses a launch with the 503 "briefly unavailable" page and Retry-After, not a 500', async () => {
      const { res, result } = v4();
      const error = (await result.catch((e: unknown) => e)) as PageException;
      expect(error).toBeInstanceOf(PageException);
      expect(error.getStatus()).toBe(503);
      expect(error.page.title).toBe('The connector is briefly unavailable');
      expect(error.page.message).toMatch(/^The connector could not reach its shared store\. Wait a moment/);
      expect(error.page.detail).toBe('Redis rate limit count failed: Connection is closed.');
      expect(res.headers['retry-after']).toBe('5');
      expect(await counterValues(metrics.rateLimited)).toEqual([]);
    });

    it('refuses Test Connection with a 503 whose message fits its JSON body, and Retry-After', async () => {
      const { res, result } = testConnection();
      const error = (await result.catch((e: unknown) => e)) as PageException;
      expect(error).toBeInstanceOf(PageException);
      expect(error.getStatus()).toBe(503);
      expect(error.page.message).toBe(
        'The connector could not reach its shared store; wait 5 seconds and try again. If it keeps happening, give the correlationId to your IT support.',
      );
      expect(error.page.detail).toBe('Redis rate limit count failed: Connection is closed.');
      expect(res.headers['retry-after']).toBe('5');
    });

    it('passes other errors on unchanged, without Retry-After', async () => {
      const bug = new TypeError('bug');
      build(true, Object.assign(new DownStorage(), { increment: async () => Promise.reject(bug) }));
      const { res, result } = v1();
      await expect(result).rejects.toBe(bug);
      expect(res.headers['retry-after']).toBeUndefined();
    });

    it('with rate limits disabled, does not ask the store', async () => {
      build(false, new DownStorage());
      await expect(v1().result).resolves.toBe(true);
    });
  });

  it('counts an IPv6 client per /64, and an IPv4-mapped address as the IPv4 one', async () => {
    await expect(v1('2001:db8:1:2::1').result).resolves.toBe(true);
    await expect(v4('2001:db8:1:2:ffff:ffff:ffff:fffe').result).resolves.toBe(true);
    await expect(v4('2001:db8:1:2::99').result).rejects.toMatchObject({ status: 429 });
    await expect(v4('2001:db8:1:3::1').result).resolves.toBe(true);
    await expect(v1('198.51.100.9').result).resolves.toBe(true);
    await expect(v1('::ffff:198.51.100.9').result).resolves.toBe(true);
    await expect(v1('::ffff:c633:6409').result).rejects.toMatchObject({ status: 429 });
  });

  describe('when the memory store is full', () => {
    beforeEach(() => build(true, new MemoryRateLimitStorage(() => now, 2)));

    it('refuses a launch from a new address with the 429 page and Retry-After; known addresses still count', async () => {
      await v1('198.51.100.1').result;
      await v1('198.51.100.2').result;
      const { res, result } = v4('198.51.100.3');
      const error = (await result.catch((e: unknown) => e)) as PageException;
      expect(error).toBeInstanceOf(PageException);
      expect(error.getStatus()).toBe(429);
      expect(error.textIn().message).toMatch(/^Too many attempts from your network; wait 30 seconds/);
      expect(error.page.detail).toBe('rate-limit memory store full: 2 traffic counters, none expired');
      expect(res.headers['retry-after']).toBe('30');
      expect(await counterValues(metrics.rateLimited)).toEqual([{ labels: { limit: 'memory_store_full' }, value: 1 }]);
      expect(await counterValues(metrics.launches)).toEqual([{ labels: { version: '4', outcome: 'rate_limited' }, value: 1 }]);
      await expect(v4('198.51.100.1').result).resolves.toBe(true);
    });

    it('refuses Test Connection from a new address with a JSON-friendly 429 that says why', async () => {
      await v1('198.51.100.1').result;
      await testConnection('198.51.100.2').result;
      now += 4_000;
      const { res, result } = testConnection('198.51.100.3');
      const error = (await result.catch((e: unknown) => e)) as HttpException;
      expect(error).not.toBeInstanceOf(PageException);
      expect(error.getStatus()).toBe(429);
      expect(error.getResponse()).toBe('The connector is tracking requests from too many addresses at once; wait 6 seconds and try again.');
      expect(res.headers['retry-after']).toBe('6');
      expect(await counterValues(metrics.testConnections)).toEqual([{ labels: { outcome: 'rate_limited' }, value: 1 }]);
    });
  });

  it('refuses to run on a route without @RateLimit', async () => {
    class Plain {
      handler() {}
    }
    await expect(call(Plain, Plain.prototype.handler, '1.1.1.1').result).rejects.toThrow(/@RateLimit/);
  });
});

describe('guard order', () => {
  const guardsOf = (handler: Function) => Reflect.getMetadata(GUARDS_METADATA, handler) as Function[];

  it('runs the rate limit before SignatureGuard on both launch routes (a refused launch keeps its nonce)', () => {
    expect(guardsOf(LaunchController.prototype.v1)).toEqual([RateLimitGuard, SignatureGuard]);
    expect(guardsOf(LaunchController.prototype.v4)).toEqual([RateLimitGuard, SignatureGuard]);
  });

  it('runs the rate limit before the Basic auth guard on Test Connection', () => {
    expect(guardsOf(TestConnectionController.prototype.testConnection)).toEqual([RateLimitGuard, ConnectorBasicAuthGuard]);
  });
});

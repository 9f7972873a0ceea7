import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpService } from '@nestjs/axios';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import axios from 'axios';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { AppConfig, ServerAddress, type TenantConfig } from '../../src/config/index.js';
import { HostAllowList } from '../../src/concur/host-allow-list.js';
import { SecretBox } from '../../src/concur/secret-box.js';
import { parseStoredToken, RedisTokenCache } from '../../src/concur/token-cache.js';
import { TokenRepository } from '../../src/concur/token.repository.js';
import { OAuthClient } from '../../src/concur/oauth.client.js';
import { TokenService } from '../../src/concur/token.service.js';
import { createSqliteKysely } from '../../src/database/database.factory.js';
import type { Database } from '../../src/database/database.types.js';
import { runMigrations } from '../../src/database/migrations.js';
import { Metrics } from '../../src/metrics/metrics.service.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

const DELAY_MS = 150;

/**
 * Two TokenService replicas (own Redis clients, one key prefix, one SQL store) in front of a fake
 * Concur token endpoint that rotates the refresh token on every grant and refuses a used one.
 */
describeWith(['redis'], 'token refresh across replicas (Redis lock and cache)', () => {
  let server: Server;
  let baseUrl: string;
  let requests: URLSearchParams[];
  let validRefresh: string;
  let issued: number;
  let db: Kysely<Database>;
  let clients: Redis[];
  let prefix: string;
  let config: AppConfig;
  let tenant: TenantConfig;
  let replicas: TokenService[];
  let metrics: Metrics[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const form = new URLSearchParams(raw);
        requests.push(form);
        setTimeout(() => {
          res.setHeader('content-type', 'application/json');
          if (form.get('refresh_token') !== validRefresh) {
            res.writeHead(400).end(JSON.stringify({ error: 'invalid_grant' }));
            return;
          }
          issued++;
          validRefresh = `refresh-${issued}`;
          res.writeHead(200).end(JSON.stringify({ access_token: `access-${issued}`, expires_in: 3600, refresh_token: validRefresh }));
        }, DELAY_MS);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    requests = [];
    validRefresh = 'configured-refresh';
    issued = 0;
    db = createSqliteKysely(':memory:');
    await runMigrations(db);
    prefix = uniqueRedisPrefix();
    config = new AppConfig();
    config.redis.keyPrefix = prefix;
    config.concur.timeoutMs = 2000;
    config.concur.tokenRefreshSkewSeconds = 300;
    config.security.encryptionKey = randomBytes(32).toString('base64');
    tenant = {
      id: 'acme',
      allowedOrigins: [],
      oauth: { baseUrl, clientId: 'client-id', clientSecret: 'client-secret', refreshToken: 'configured-refresh' },
    } as unknown as TenantConfig;
    // As the application opens its client: a command fails at once while disconnected.
    const options = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    clients = [new Redis(REDIS_TEST_URL, options), new Redis(REDIS_TEST_URL, options)];
    await Promise.all(clients.map((c) => c.connect()));
    const repository = new TokenRepository(db);
    metrics = [new Metrics(), new Metrics()];
    replicas = clients.map((redis, i) => {
      const box = new SecretBox(config);
      const http = new HttpService(axios.create());
      const cache = new RedisTokenCache(redis, config, box);
      const allowList = new HostAllowList(config, new ServerAddress());
      return new TokenService(new OAuthClient(http, config, allowList, metrics[i]), config, allowList, repository, box, cache, metrics[i]);
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    const keys = await clients[0].keys(`${prefix}*`);
    if (keys.length) await clients[0].del(...keys);
    await Promise.all(clients.map((c) => (c.status === 'end' ? undefined : c.quit())));
    await db.destroy();
  });

  const concurrently = (n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => replicas[i % 2].getAccessToken(tenant, `corr-${i}`)));

  async function storedRefreshToken(): Promise<string | undefined> {
    const row = await new TokenRepository(db).find('acme');
    return row ? new SecretBox(config).open(row.refresh_token_enc) : undefined;
  }

  async function tokenRequestsCounted(): Promise<number> {
    let total = 0;
    for (const m of metrics) {
      for (const v of (await m.concurRequests.get()).values) if (v.labels.operation === 'token') total += v.value;
    }
    return total;
  }

  it('20 concurrent calls across two replicas make one token request and all get the same token', async () => {
    const tokens = await concurrently(20);
    expect(requests).toHaveLength(1);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['access-1']));
    expect(replicas[0].stats.tokenRequests + replicas[1].stats.tokenRequests).toBe(1);
    expect(await tokenRequestsCounted()).toBe(1);
    expect(await storedRefreshToken()).toBe('refresh-1');
    // Later calls on either replica come from the shared cache.
    expect((await replicas[1].getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    expect((await replicas[0].getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    expect(requests).toHaveLength(1);
  });

  it('keeps the token in Redis sealed, never in plaintext, and frees the lock', async () => {
    await concurrently(4);
    const cache = new RedisTokenCache(clients[0], config, new SecretBox(config));
    const raw = await clients[0].get(cache.tokenKey('acme'));
    expect(raw).not.toBeNull();
    expect(raw).not.toContain('access-1');
    const stored = parseStoredToken(raw!);
    expect(stored).toBeDefined();
    expect(new SecretBox(config).open(stored!.sealed)).toBe('access-1');
    const ttl = await clients[0].pttl(cache.tokenKey('acme'));
    expect(ttl).toBeGreaterThan((3600 - 300 - 10) * 1000);
    expect(ttl).toBeLessThanOrEqual((3600 - 300) * 1000);
    expect(await clients[0].exists(cache.lockKey('acme'))).toBe(0);
    for (const key of await clients[0].keys(`${prefix}*`)) {
      const value = await clients[0].type(key).then((t) => (t === 'string' ? clients[0].get(key) : null));
      expect(value ?? '').not.toContain('access-1');
    }
  });

  it('invalidating the rejected token makes the next calls refresh once, with the rotated refresh token', async () => {
    await concurrently(6);
    await replicas[0].invalidate('acme', 'access-1');
    const tokens = await concurrently(20);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['access-2']));
    expect(requests).toHaveLength(2);
    expect(requests[1].get('refresh_token')).toBe('refresh-1');
    expect(await storedRefreshToken()).toBe('refresh-2');
    // The other replica, which never refreshed itself, rotates from the latest stored token too.
    await replicas[0].invalidate('acme', 'access-2');
    expect((await replicas[1].getAccessToken(tenant, 'c')).accessToken).toBe('access-3');
    expect(requests[2].get('refresh_token')).toBe('refresh-2');
    expect(requests.every((form, i) => i === 0 || form.get('refresh_token') === `refresh-${i}`)).toBe(true);
  });

  it('invalidating a stale token does not drop a newer one', async () => {
    await concurrently(2);
    await replicas[0].invalidate('acme', 'access-1');
    expect((await replicas[1].getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    // A replica that still held access-1 reports it rejected late.
    await replicas[1].invalidate('acme', 'access-1');
    expect((await concurrently(6)).map((t) => t.accessToken)).toEqual(Array(6).fill('access-2'));
    expect(requests).toHaveLength(2);
  });

  it('a replica that waited on the lock re-reads the cache instead of refreshing again', async () => {
    const [first, second] = await Promise.all([
      replicas[0].getAccessToken(tenant, 'a'),
      new Promise((resolve) => setTimeout(resolve, DELAY_MS / 3)).then(() => replicas[1].getAccessToken(tenant, 'b')),
    ]);
    expect([first, second].map((t) => (t as { accessToken: string }).accessToken)).toEqual(['access-1', 'access-1']);
    expect(replicas[1].stats.tokenRequests).toBe(0);
    expect(requests).toHaveLength(1);
  });

  it('with Redis gone, a call fails as unavailable and Concur is not asked', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    clients[1].disconnect();
    await expect(replicas[1].getAccessToken(tenant, 'c')).rejects.toMatchObject({ kind: 'unavailable', source: 'shared-store', message: expect.stringContaining('Redis') });
    await expect(replicas[1].invalidate('acme', 'access-1')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(requests).toHaveLength(0);
    // The other replica, still connected, goes on as usual.
    await expect(replicas[0].getAccessToken(tenant, 'c')).resolves.toHaveProperty('accessToken', 'access-1');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { hashPassword } from '../src/audit/access/password-hash.js';
import { referenceOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

const TEST_CONNECTION = '/system/v1.0/testconnection';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function metricsText(h: Harness): Promise<string> {
  return (await h.http.get('/metrics').expect(200)).text;
}

function retryAfterOf(res: { headers: Record<string, string> }): number {
  const value = res.headers['retry-after'];
  expect(value).toMatch(/^[1-9]\d*$/);
  return Number(value);
}

describe('rate limit on launches, per client IP', () => {
  let h: Harness;
  let ids: SandboxIds;
  beforeAll(async () => {
    h = await startApp({ rateLimit: { launch: { limit: 2, windowSeconds: 1 } } });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  it('answers the launch over the limit with a 429 page and Retry-After, and keeps its nonce usable', async () => {
    const first = signedUrl(h, 1, v1Params(h, ids.entryIds[0]));
    const throttled = signedUrl(h, 4, v4Params(h, ids, 'ENTRY'));
    await h.http.get(first).expect(303);
    await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'HEADER'))).expect(303);

    const res = await h.http.get(throttled).expect(429);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const retryAfter = retryAfterOf(res);
    expect(retryAfter).toBeLessThanOrEqual(1);
    expect(res.text).toContain(`Too many attempts from your network; wait ${retryAfter} second`);
    expect(res.text).toContain('open the window again');
    expect(referenceOf(res.text)).toBe(res.headers['x-request-id']);
    expect(res.headers['cache-control']).toBe('no-store');

    await sleep(retryAfter * 1000 + 200);
    // Refused before SignatureGuard: the nonce was not claimed, so the same URL now works...
    const accepted = await h.http.get(throttled).expect(303);
    expect(accepted.headers.location).toMatch(/^\/launch\/s\//);
    // ...while a URL that was accepted is a replay.
    await h.http.get(first).expect(401);
  });

  it('counts the refusals in the metrics', async () => {
    const text = await metricsText(h);
    expect(text).toMatch(/^clc_rate_limited_total\{limit="launch"\} [1-9]/m);
    expect(text).toMatch(/^clc_launches_total\{version="4",outcome="rate_limited"\} [1-9]/m);
  });
});

describe('rate limit on Test Connection, per client IP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({ rateLimit: { testConnection: { limit: 3, windowSeconds: 60 }, launch: { limit: 1, windowSeconds: 60 } } });
  });
  afterAll(() => h.close());

  it('answers the call over the limit with 429 JSON and Retry-After, right credentials or not', async () => {
    const { username, password } = h.config.tenants[0].connector;
    await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, password)).expect(200);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic('Nobody', 'x')).expect(401);
    await h.http.get(TEST_CONNECTION).expect(401);

    const res = await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, password)).expect(429);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const retryAfter = retryAfterOf(res);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.body).toMatchObject({
      statusCode: 429,
      message: `Too many Test Connection calls from your network; wait ${retryAfter} seconds and try again.`,
      correlationId: res.headers['x-request-id'],
    });
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('limits nothing but launches and Test Connection', async () => {
    const ids = await sandboxIds(h);
    await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'))).expect(303);
    for (let i = 0; i < 5; i++) {
      await h.http.get('/sandbox/api/state').expect(200);
      await h.http.get('/sandbox').expect(200);
      await h.http.get('/assets/connector.css').expect(200);
      await h.http.get('/launch/s/not-a-session').expect((res) => expect(res.status).not.toBe(429));
      await h.http.get('/health/live').expect(200);
      await h.http.get('/metrics').expect(200);
    }
  });

  it('counts the refusals in the metrics', async () => {
    const text = await metricsText(h);
    expect(text).toMatch(/^clc_rate_limited_total\{limit="test_connection"\} 1$/m);
    expect(text).toMatch(/^clc_test_connections_total\{outcome="rate_limited"\} 1$/m);
    expect(text).toMatch(/^clc_test_connections_total\{outcome="success"\} 1$/m);
    expect(text).toMatch(/^clc_test_connections_total\{outcome="unauthorized"\} 2$/m);
  });
});

describe('failed Test Connection logins, per tenant', () => {
  const defaults = parse(readFileSync(join(import.meta.dirname, '..', 'config', 'default.yaml'), 'utf8'));
  const sandbox = defaults.tenants[0];
  const second = {
    ...sandbox,
    id: 'second',
    name: 'Second Company',
    companyDomains: ['second.example.com'],
    connector: { username: 'SecondConnector', password: 'second-connector-password' },
  };
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({ tenants: [sandbox, second], rateLimit: { failedTestConnection: { limit: 3, windowSeconds: 60 } } });
  });
  afterAll(() => h.close());

  it('after the limit of wrong passwords, the right password gets 429 too; other tenants are unaffected', async () => {
    const { username, password } = sandbox.connector;
    for (let i = 0; i < 3; i++) await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, `guess-${i}`)).expect(401);

    const res = await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, password)).expect(429);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const retryAfter = retryAfterOf(res);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.body.message).toBe(`Too many failed Test Connection logins for this connector user; wait ${retryAfter} seconds and try again.`);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic(username.toUpperCase(), password)).expect(429);

    await h.http.get(TEST_CONNECTION).set('Authorization', basic('SecondConnector', 'second-connector-password')).expect(200);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic('SecondConnector', 'wrong')).expect(401);
  });

  it('answers an unknown username like a known one: 401, then 429 after as many failures, the same body', async () => {
    const known = h.config.tenants[1].connector.username;
    const unknown = 'NobodyConnector';
    const call = (user: string, pass: string) => h.http.get(TEST_CONNECTION).set('Authorization', basic(user, pass));
    // The second tenant has one failure from the test above; the unknown name starts at one too.
    const first = await call(unknown, 'guess-0').expect(401);
    expect(first.headers['www-authenticate']).toBeDefined();
    for (let i = 1; i < 3; i++) {
      const [k, u] = [await call(known, `guess-${i}`), await call(unknown, `guess-${i}`)];
      expect([k.status, u.status]).toEqual([401, 401]);
      expect(u.body.message).toBe(k.body.message);
      expect(u.headers['www-authenticate']).toBe(k.headers['www-authenticate']);
    }
    const [k, u] = [await call(known, 'guess-3'), await call(unknown.toUpperCase(), 'guess-3')];
    expect([k.status, u.status]).toEqual([429, 429]);
    expect(u.body.message).toBe(k.body.message);
    expect(u.body.message).toMatch(/^Too many failed Test Connection logins for this connector user; wait \d+ seconds? and try again\.$/);
    expect(retryAfterOf(u)).toBe(retryAfterOf(k));
    expect(u.headers['www-authenticate']).toBeUndefined();
    // Each unknown username has its own count, like each tenant.
    await call('OtherNobody', 'x').expect(401);
  });

  it('counts the refusals in the metrics', async () => {
    const text = await metricsText(h);
    expect(text).toMatch(/^clc_rate_limited_total\{limit="failed_test_connection"\} 4$/m);
    expect(text).toMatch(/^clc_test_connections_total\{outcome="rate_limited"\} 4$/m);
  });
});

describe('client IP for rate limits', () => {
  const limited = { rateLimit: { testConnection: { limit: 2, windowSeconds: 60 } } };
  const call = (h: Harness, forwardedFor?: string) => {
    const req = h.http.get(TEST_CONNECTION);
    return forwardedFor === undefined ? req : req.set('X-Forwarded-For', forwardedFor);
  };

  it('ignores X-Forwarded-For when trustProxy is false', async () => {
    const h = await startApp({ ...limited, server: { trustProxy: false } });
    try {
      await call(h, '203.0.113.1').expect(401);
      await call(h, '203.0.113.2').expect(401);
      await call(h, '203.0.113.3').expect(429);
      await call(h).expect(429);
    } finally {
      await h.close();
    }
  });

  it('counts per forwarded client when the proxy is trusted (trustProxy: loopback)', async () => {
    const h = await startApp({ ...limited, server: { trustProxy: 'loopback' } });
    try {
      await call(h, '203.0.113.1').expect(401);
      await call(h, '203.0.113.1').expect(401);
      await call(h, '203.0.113.1').expect(429);
      await call(h, '203.0.113.2').expect(401);
      await call(h).expect(401);
    } finally {
      await h.close();
    }
  });

  it('with trustProxy: 1, takes the address the proxy added, not one the client wrote', async () => {
    const h = await startApp({ ...limited, server: { trustProxy: 1 } });
    try {
      await call(h, '198.51.100.7, 203.0.113.1').expect(401);
      await call(h, '198.51.100.8, 203.0.113.1').expect(401);
      await call(h, '198.51.100.9, 203.0.113.1').expect(429);
      await call(h, '198.51.100.7, 203.0.113.2').expect(401);
    } finally {
      await h.close();
    }
  });
});

describe('a full memory store refuses new addresses, and never drops a lockout', () => {
  const AUDITOR = { username: 'jane.auditor', password: 'jane-auditor-password-1' };
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({
      // Each request's address is the last X-Forwarded-For entry: many clients from one test.
      server: { trustProxy: 1 },
      rateLimit: { memoryMaxKeys: 1000 },
      metrics: { username: 'prometheus', password: 'scrape-secret-1' },
      audit: {
        auditors: [{ username: AUDITOR.username, passwordHash: await hashPassword(AUDITOR.password) }],
        signIn: { maxFailures: 3, lockoutSeconds: 600, maxFailuresPerAddress: 20 },
      },
    });
  });
  afterAll(() => h.close());

  const me = (from: string, user: string, pass: string) =>
    h.http.get('/api/audit/me').set('X-Forwarded-For', from).set('Authorization', basic(user, pass));
  const testConnectionFrom = (from: string) => h.http.get(TEST_CONNECTION).set('X-Forwarded-For', from);
  const scrape = (from: string, header: string) => h.http.get('/metrics').set('X-Forwarded-For', from).set('Authorization', header);
  /** Runs `count` requests, 50 at a time; their statuses in order. */
  async function statuses(count: number, send: (i: number) => Promise<{ status: number }>): Promise<number[]> {
    const all: number[] = [];
    for (let start = 0; start < count; start += 50) {
      const batch = Array.from({ length: Math.min(50, count - start) }, (_, k) => send(start + k));
      all.push(...(await Promise.all(batch)).map((res) => res.status));
    }
    return all;
  }

  it('locks an auditor, then it stays locked through traffic and failed /metrics sign-ins from 2,200 other addresses', async () => {
    await scrape('127.0.0.1', basic('prometheus', 'scrape-secret-1')).expect(200);
    for (let i = 0; i < 3; i++) await me('198.51.100.1', AUDITOR.username, `guess-${i}`).expect(401);
    await me('198.51.100.1', AUDITOR.username, AUDITOR.password).expect(429);

    // 1,100 new addresses call Test Connection: the first 1,000 are counted (401: no credentials),
    // the rest refused with 429, Retry-After and a message that says why.
    const traffic = await statuses(1100, (i) => testConnectionFrom(`10.0.${i >> 8}.${i & 0xff}`));
    expect(traffic.filter((s) => s === 401)).toHaveLength(1000);
    expect(traffic.slice(1000)).toEqual(Array(100).fill(429));
    const refused = await testConnectionFrom('10.9.9.9').expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['content-type']).toMatch(/application\/json/);
    expect(refused.body.message).toMatch(/^The connector is tracking requests from too many addresses at once; wait \d+ seconds? and try again\.$/);
    // An address it already counts is still served (and counted).
    await testConnectionFrom('10.0.0.7').expect(401);
    // A launch from a new address is refused with the popup's 429 page.
    const launch = await h.http.get(h.config.paths.v1Launch).set('X-Forwarded-For', '10.9.9.10').expect(429);
    expect(launch.headers['content-type']).toMatch(/text\/html/);
    expect(launch.headers['retry-after']).toMatch(/^[1-9]\d*$/);

    // 1,100 new addresses each try a wrong /metrics password: failure counters (a table of their
    // own, holding the lock) fill up too, and new ones are refused, not swapped for old ones.
    const guesses = await statuses(1100, (i) => scrape(`2001:db8:${i.toString(16)}::1`, basic('prometheus', 'guess')));
    expect(guesses.filter((s) => s === 401)).toHaveLength(997);
    expect(guesses.slice(997)).toEqual(Array(103).fill(429));

    // The lock holds, from its own address and (the name's lock) from one counted before.
    const locked = await me('198.51.100.1', AUDITOR.username, AUDITOR.password).expect(429);
    expect(locked.body.message).toMatch(/^Too many failed sign-ins for this user name; try again in \d+ seconds\.$/);
    const busy = await me('203.0.113.99', AUDITOR.username, AUDITOR.password).expect(429);
    expect(busy.body.message).toMatch(/^The connector is counting sign-in attempts from too many addresses at once; try again in \d+ seconds\.$/);
    // A scraper counted before still gets in.
    const metrics = await scrape('127.0.0.1', basic('prometheus', 'scrape-secret-1')).expect(200);
    expect(metrics.text).toMatch(/^clc_rate_limited_total\{limit="memory_store_full"\} 206$/m);
  }, 60_000);
});

describe('rate limits disabled', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({
      rateLimit: {
        enabled: false,
        launch: { limit: 1, windowSeconds: 60 },
        testConnection: { limit: 1, windowSeconds: 60 },
        failedTestConnection: { limit: 1, windowSeconds: 60 },
      },
    });
  });
  afterAll(() => h.close());

  it('never answers 429', async () => {
    const ids = await sandboxIds(h);
    for (let i = 0; i < 4; i++) await h.http.get(signedUrl(h, 1, v1Params(h, ids.entryIds[0]))).expect(303);
    const { username, password } = h.config.tenants[0].connector;
    for (let i = 0; i < 4; i++) await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, 'wrong')).expect(401);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, password)).expect(200);
    expect(await metricsText(h)).not.toMatch(/^clc_rate_limited_total\{/m);
  });
});

import { concurCorrelationHeader } from '../src/concur/concur-errors.js';
import request from 'supertest';
import { ShutdownState } from '../src/health/shutdown-state.js';
import { csrfOf, openLaunch, sandboxIds, signedUrl, startApp, v1Params, type Harness, type SandboxIds } from './harness.js';

/** The value of one sample of the Prometheus text, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('health probes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp();
  });
  afterAll(() => h.close());

  it('live: 200 while the process runs', async () => {
    const res = await h.http.get('/health/live').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toMatch(/no-store/);
  });

  it('ready: 200 with the database, migrations and shutdown checks up (no Redis configured)', async () => {
    const res = await h.http.get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info).toEqual({
      database: expect.objectContaining({ status: 'up' }),
      migrations: expect.objectContaining({ status: 'up' }),
      shutdown: { status: 'up' },
    });
    expect(res.body.error).toEqual({});
  });

  it('ready: 503 naming the shutdown check once shutdown began; live stays 200', async () => {
    h.app.get(ShutdownState).begin();
    const res = await h.http.get('/health/ready').expect(503);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toMatchObject({
      status: 'error',
      error: { shutdown: { status: 'down', message: 'the process is shutting down' } },
      info: { database: { status: 'up' }, migrations: { status: 'up' } },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/sqlite|postgres|redis:\/\//i);
    await h.http.get('/health/live').expect(200);
  });
});

describe('GET /metrics', () => {
  let h: Harness;
  let ids: SandboxIds;
  beforeAll(async () => {
    h = await startApp();
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  const scrape = async () => {
    const res = await h.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return res.text;
  };

  it('answers other methods on /metrics with JSON, not a page', async () => {
    const res = await h.http.post('/metrics').set('Content-Type', 'application/json').send('{}').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('exposes every connector metric in the Prometheus text format', async () => {
    const text = await scrape();
    for (const name of [
      'clc_launches_total',
      'clc_test_connections_total',
      'clc_concur_requests_total',
      'clc_concur_request_duration_seconds',
      'clc_field_updates_total',
      'clc_audit_events_total',
      'clc_rate_limited_total',
      'clc_http_request_duration_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('counts a real launch, the Concur calls, the field update, the audit events and a replay', async () => {
    const url = signedUrl(h, 1, v1Params(h, ids.entryIds[0]));
    const { agent, location, csrf, id } = await openLaunch(h, url);
    await agent.post(`${location}/select`).type('form').send({ csrf, code: 'PRJ-1001' }).expect(200);
    await h.http.get(url).expect(401);

    const text = await scrape();
    expect(sample(text, 'clc_launches_total', { version: '1', outcome: 'accepted' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clc_launches_total', { version: '1', outcome: 'replayed' })).toBe(1);
    expect(sample(text, 'clc_concur_requests_total', { operation: 'read_item', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clc_concur_requests_total', { operation: 'write_field', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clc_concur_request_duration_seconds_count', { operation: 'read_item', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clc_field_updates_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clc_audit_events_total', { type: 'update.succeeded' })).toBeGreaterThanOrEqual(1);
    // HTTP timings by route pattern: the session id of the URL never becomes a label.
    expect(sample(text, 'clc_http_request_duration_seconds_count', { method: 'GET', route: '/launch/s/:id', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'clc_http_request_duration_seconds_count', { method: 'POST', route: '/launch/s/:id/select', status: '200' })).toBe(1);
    expect(text).not.toContain(id);
    expect(text).not.toContain('signature');
  });

  it("labels a request no route matched 'unmatched'", async () => {
    await h.http.get('/no/such/page-12345?x=1').expect(404);
    const text = await scrape();
    expect(sample(text, 'clc_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('page-12345');
  });
});

describe('correlation ID', () => {
  let h: Harness;
  let ids: SandboxIds;
  beforeAll(async () => {
    // The test client plays the ingress: X-Request-Id is only taken from a trusted proxy.
    h = await startApp({ server: { trustProxy: 'loopback' } });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  it('ignores X-Request-Id from a client that is not a trusted proxy', async () => {
    const direct = await startApp();
    try {
      const res = await direct.http.get('/health/live').set('X-Request-Id', 'forged-0001').expect(200);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await direct.close();
    }
  });

  it("echoes a well-formed X-Request-Id and sends Concur the UUID derived from it as concur-correlationid", async () => {
    const agent = request.agent(h.origin);
    const launch = await agent.get(signedUrl(h, 1, v1Params(h, ids.entryIds[1]))).set('X-Request-Id', 'lb-launch-0001').expect(303);
    expect(launch.headers['x-request-id']).toBe('lb-launch-0001');
    const location = launch.headers.location as string;

    const page = await agent.get(location).set('X-Request-Id', 'lb-page-0002').expect(200);
    expect(page.headers['x-request-id']).toBe('lb-page-0002');
    const saved = await agent.post(`${location}/select`).set('X-Request-Id', 'lb-save-0003').type('form').send({ csrf: csrfOf(page.text), code: 'PRJ-1002' });
    expect(saved.status).toBe(200);
    expect(saved.headers['x-request-id']).toBe('lb-save-0003');

    // The sandbox records each call it gets: method, path, concur-correlationid, status.
    const { requests } = (await h.http.get('/sandbox/api/state').expect(200)).body as {
      requests: Array<{ method: string; path: string; correlationId: string | null }>;
    };
    const read = requests.filter((r) => r.method === 'GET' && r.path.includes('/expense/entries/'));
    const write = requests.filter((r) => r.method === 'PUT');
    // Concur's pages want a UUID there; the proxy's id is not one, so a stable UUID derived from it goes.
    expect(read.map((r) => r.correlationId)).toContain(concurCorrelationHeader('lb-page-0002'));
    expect(write.map((r) => r.correlationId)).toEqual([concurCorrelationHeader('lb-save-0003')]);
    expect(requests.some((r) => r.path.endsWith('/oauth2/v0/token') && r.correlationId === concurCorrelationHeader('lb-page-0002'))).toBe(true);
  });

  it('replaces a malformed X-Request-Id with a new one, also shown on error pages', async () => {
    const res = await h.http.get('/launch/s/AAAAAAAAAAAAAAAAAAAAAA').set('X-Request-Id', 'bad id with spaces');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.text).toContain(res.headers['x-request-id']);
  });
});

describe('/metrics with Basic auth', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({ metrics: { username: 'prometheus', password: 'scrape-secret-1' } });
  });
  afterAll(() => h.close());

  it.each([
    ['no credentials', undefined],
    ['a wrong password', basic('prometheus', 'wrong')],
    ['a wrong username', basic('grafana', 'scrape-secret-1')],
  ])('answers 401 with WWW-Authenticate and a JSON error to %s', async (_label, header) => {
    const req = h.http.get('/metrics');
    const res = await (header ? req.set('Authorization', header) : req).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="metrics"/);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.any(String), correlationId: res.headers['x-request-id'] });
    expect(res.text).not.toContain('clc_');
  });

  it('answers 200 with the metrics to the right credentials', async () => {
    const res = await h.http.get('/metrics').set('Authorization', basic('prometheus', 'scrape-secret-1')).expect(200);
    expect(res.text).toContain('# TYPE clc_launches_total counter');
  });
});

describe('/metrics Basic auth failures, per client address', () => {
  const right = basic('prometheus', 'scrape-secret-1');
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({
      server: { trustProxy: 1 },
      metrics: { username: 'prometheus', password: 'scrape-secret-1' },
      audit: { signIn: { maxFailuresPerAddress: 3, lockoutSeconds: 300 } },
      // Rate limits off: the lockout guards a password, so it counts anyway.
      rateLimit: { enabled: false },
    });
  });
  afterAll(() => h.close());
  const scrape = (from: string, header?: string) => {
    const req = h.http.get('/metrics').set('X-Forwarded-For', from);
    return header === undefined ? req : req.set('Authorization', header);
  };

  it('after maxFailuresPerAddress wrong passwords, the address gets 429 with Retry-After, even with the right password', async () => {
    for (let i = 0; i < 3; i++) await scrape('203.0.113.5', basic('prometheus', `guess-${i}`)).expect(401);
    const res = await scrape('203.0.113.5', basic('prometheus', 'guess-3')).expect(429);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(290);
    expect(retryAfter).toBeLessThanOrEqual(300);
    expect(res.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `Too many failed metrics sign-ins from your address; wait ${retryAfter} seconds and try again.`,
      correlationId: res.headers['x-request-id'],
    });
    expect(res.headers['www-authenticate']).toBeUndefined();
    await scrape('203.0.113.5', right).expect(429);
    // An IPv6 client counts per /64; the lock is the address's, not everyone's.
    for (let i = 0; i < 3; i++) await scrape(`2001:db8:7:7::${i + 1}`, basic('prometheus', 'x')).expect(401);
    await scrape('2001:db8:7:7:ffff::1', right).expect(429);
    const ok = await scrape('203.0.113.6', right).expect(200);
    expect(ok.text).toMatch(/^clc_rate_limited_total\{limit="failed_metrics_auth"\} 3$/m);
  });

  it('does not count right credentials, nor a request without any', async () => {
    for (let i = 0; i < 10; i++) await scrape('198.51.100.20', right).expect(200);
    for (let i = 0; i < 10; i++) await scrape('198.51.100.20').expect(401);
    await scrape('198.51.100.20', basic('prometheus', 'one-wrong')).expect(401);
    await scrape('198.51.100.20', right).expect(200);
  });
});

describe('/metrics turned off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({ metrics: { enabled: false } });
  });
  afterAll(() => h.close());

  it('answers 404 with a JSON error', async () => {
    const res = await h.http.get('/metrics').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toMatchObject({ statusCode: 404, correlationId: res.headers['x-request-id'] });
    expect(res.text).not.toContain('clc_');
  });
});

import { EventEmitter } from 'node:events';
import { get as httpGet } from 'node:http';
import type { Kysely } from 'kysely';
import request from 'supertest';
import { DB } from '../src/database/database.tokens.js';
import type { Database } from '../src/database/database.types.js';
import { ShutdownState } from '../src/health/shutdown-state.js';
import { installGracefulShutdown, type GracefulShutdown } from '../src/lifecycle/graceful-shutdown.js';
import { sandboxIds, signedUrl, startApp, v4Params, type Harness } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A plain GET on a new connection: resolves with the status, or rejects with the socket error. */
function freshGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

/** A signed v4 launch accepted (303), then its session page requested while the sandbox delays Concur's answer. */
async function slowSessionPage(h: Harness, delayMs: number) {
  const ids = await sandboxIds(h);
  const agent = request.agent(h.origin);
  const redirect = await agent.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'))).expect(303);
  await h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send({ delayMs }).expect(200);
  const page = agent.get(redirect.headers.location as string).then(
    (res) => res,
    (error: unknown) => error as Error & { code?: string },
  );
  // The sandbox records the token call at once and the held read only when it answers:
  // once the token was fetched, the read follows straight away.
  for (let i = 0; i < 100; i++) {
    const state = (await h.http.get('/sandbox/api/state').expect(200)).body as { tokenRequests: number };
    if (state.tokenRequests > 0) break;
    await sleep(20);
  }
  await sleep(100);
  return { page };
}

describe('graceful shutdown of the running app', () => {
  let h: Harness;
  let signals: EventEmitter;
  let shutdown: GracefulShutdown;

  afterEach(async () => {
    shutdown?.uninstall();
    // Closing again is harmless: it removes the data folder the harness made.
    await h?.close();
  });

  it('reports not ready during the delay, finishes the in-flight request, refuses new connections, then closes the app', async () => {
    h = await startApp();
    signals = new EventEmitter();
    const state = h.app.get(ShutdownState);
    await h.http.get('/health/ready').expect(200);
    // Delay and grace from the configuration are whole seconds; the test uses shorter ones.
    shutdown = installGracefulShutdown(h.app, { source: signals, delayMs: 600, graceMs: 10_000 });
    const { page } = await slowSessionPage(h, 1500);
    const inFlight = await Promise.race([page.then(() => 'finished'), sleep(50).then(() => 'in flight')]);
    expect(inFlight).toBe('in flight');

    signals.emit('SIGTERM');
    expect(state.shuttingDown).toBe(true);
    const during = await h.http.get('/health/ready').expect(503);
    expect(during.body.error).toEqual({ shutdown: { status: 'down', message: 'the process is shutting down' } });
    expect(during.headers.connection).toBe('close');

    await sleep(800);
    await expect(freshGet(`${h.origin}/health/live`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const res = await page;
    expect((res as request.Response).status).toBe(200);
    expect((res as request.Response).text).toContain('name="csrf"');
    expect((res as request.Response).headers.connection).toBe('close');
    await expect(shutdown.finished).resolves.toEqual({ signal: 'SIGTERM', exitCode: 0, cutOff: 0 });
    const db = h.app.get<Kysely<Database>>(DB);
    await expect(db.selectFrom('audit_events').select('seq').execute()).rejects.toThrow(/destroyed/);
  });

  it('closes the connection of a request that outlasts the grace period, and still completes', async () => {
    h = await startApp({ concur: { maxRetries: 0, timeoutMs: 5000 } });
    signals = new EventEmitter();
    shutdown = installGracefulShutdown(h.app, { source: signals, delayMs: 0, graceMs: 300 });
    const { page } = await slowSessionPage(h, 2500);

    signals.emit('SIGTERM');
    const res = await page;
    expect((res as { status?: number }).status).toBeUndefined();
    expect((res as Error & { code?: string }).code).toBe('ECONNRESET');
    const outcome = await shutdown.finished;
    expect(outcome.exitCode).toBe(0);
    // The session page and the connector's own call to the sandbox it is waiting for.
    expect(outcome.cutOff).toBe(2);
    const db = h.app.get<Kysely<Database>>(DB);
    await expect(db.selectFrom('audit_events').select('seq').execute()).rejects.toThrow(/destroyed/);
    // Let the sandbox's held answer run out before the next test.
    await sleep(2500);
  });
});

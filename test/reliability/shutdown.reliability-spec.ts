// SIGTERM to the built app under steady load: users going through launches, page views,
// searches and saves on keep-alive connections, with some of their Concur calls held so that
// requests are in flight when the signal comes. src/lifecycle/graceful-shutdown.ts: readiness
// goes to 503 at once, every response from then on says `Connection: close` (so keep-alive
// clients open new connections, which are accepted during server.shutdownDelaySeconds), then the
// listener closes and idle connections are closed, in-flight requests get
// server.shutdownGraceSeconds, and the process exits 0.
//
// Asserted: every request sent before the SIGTERM completes with its expected answer, and so do
// the requests in flight at it; a request sent after it is answered as expected, or refused at
// connect once the listener is closed (ECONNREFUSED), or reset at the moment the listener
// closes (connections still in the kernel's accept queue get an RST; by then readiness has said
// 503 for the whole delay, so a load balancer no longer sends any). Nothing
// else: no other error, no 5xx, no hang. The process exits 0 within delay + grace; the audit it
// leaves has an outcome for every update.requested and verifies.
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jest } from '@jest/globals';
import Database from 'better-sqlite3';
import {
  allTargets,
  type BuiltApp,
  Client,
  cookieOf,
  csrfIn,
  ensureBuilt,
  type Exchange,
  idsOf,
  lookupCodes,
  ROOT,
  type SandboxIds,
  type SandboxState,
  signedLaunchPath,
  sleep,
  startBuilt,
  summarize,
  unpairedRequests,
} from './load.js';

// The project's testTimeout in jest.config.js is not applied by Jest (only a global one is).
jest.setTimeout(180_000);

const DELAY_SECONDS = 2;
const GRACE_SECONDS = 10;
/** Users, each a keep-alive connection of its own going through the popup again and again. */
const USERS = 8;
/** How long the sandbox holds the Concur calls in flight at the signal: past the delay, well inside the grace period. */
const HELD_MS = 4000;
const REQUEST_TIMEOUT_MS = 30_000;

interface Sent {
  ex: Exchange;
  step: string;
  expected: number;
}

describe('SIGTERM under load: the drain loses no accepted request', () => {
  /**
   * Concur, played by a second process's sandbox (sandbox.concurOrigin): Concur keeps answering
   * while the connector drains, so a save whose calls outlast the listener still completes, as it
   * must in production. (The connector's own sandbox would close with its listener.)
   */
  let concur: BuiltApp;
  let app: BuiltApp;
  let dataDir: string;

  beforeAll(async () => {
    ensureBuilt();
    concur = await startBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'clc-shutdown-data-'));
    app = await startBuilt({
      dataDir,
      overlay: {
        server: { shutdownDelaySeconds: DELAY_SECONDS, shutdownGraceSeconds: GRACE_SECONDS },
        sandbox: { concurOrigin: concur.connector.origin },
      },
    });
  });
  afterAll(async () => {
    for (const built of [app, concur]) {
      if (!built) continue;
      await built.connector.stop('SIGKILL');
      built.cleanup();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`keeps serving for the delay (${DELAY_SECONDS} s), finishes the requests in flight, refuses new connections, exits 0`, async () => {
    const control = new Client(app.connector.port, { keepAlive: false });
    const concurControl = new Client(concur.connector.port, { keepAlive: false });
    const ids: SandboxIds = idsOf(await concurControl.json<SandboxState>('GET', '/sandbox/api/state'));
    const targets = allTargets(ids);
    const codes = lookupCodes();
    const sent: Sent[] = [];
    let stopping = false;
    let refused = 0;

    /** Sends, remembers; true while the app still takes connections. */
    async function step(client: Client, name: string, expected: number, send: (c: Client) => Promise<Exchange>): Promise<Exchange | undefined> {
      const ex = await send(client);
      if (ex.error === 'ECONNREFUSED' && stopping) {
        refused++;
        return undefined;
      }
      sent.push({ ex, step: name, expected });
      return ex.status === expected ? ex : undefined;
    }

    let signalAt = Infinity;

    async function user(u: number): Promise<void> {
      const client = new Client(app.connector.port, { maxSockets: 1 });
      try {
        for (let n = 0; ; n++) {
          const target = targets[(u + n) % targets.length];
          const launch = await step(client, 'launch', 303, (c) => c.get(signedLaunchPath(app.config, concur.connector.origin, ids, target), {}, REQUEST_TIMEOUT_MS));
          if (!launch) return;
          const location = launch.headers!.location!;
          const cookie = { cookie: cookieOf(launch) };
          const page = await step(client, 'session page', 200, (c) => c.get(location, cookie, REQUEST_TIMEOUT_MS));
          if (!page) return;
          const csrf = csrfIn(page.body)!;
          for (let q = 0; q < 2; q++) {
            const search = await step(client, 'search', 200, (c) => c.get(`${location}?q=PRJ-10${(n + q) % 10}&page=1`, cookie, REQUEST_TIMEOUT_MS));
            if (!search) return;
          }
          if ((u + n) % 2 === 0) {
            const fields = { csrf, code: codes[(u * 31 + n) % codes.length] };
            const done = await step(client, 'save', 200, (c) => c.postForm(`${location}/select`, fields, cookie, REQUEST_TIMEOUT_MS));
            if (!done) return;
          }
        }
      } finally {
        client.close();
      }
    }

    /** Readiness on new connections, as a load balancer probes it. */
    const readiness: Array<{ t: number; status?: number; error?: string }> = [];
    const probe = (async () => {
      for (;;) {
        const ex = await control.get('/health/ready', {}, REQUEST_TIMEOUT_MS);
        readiness.push({ t: ex.startedAt, status: ex.status, error: ex.error });
        if (ex.error && ex.error !== 'ECONNRESET') return;
        await sleep(100);
      }
    })();

    const users = Array.from({ length: USERS }, (_, u) => user(u));
    await sleep(3000);
    // The next Concur calls (page reads and saves) of half the users are held, so requests are in
    // flight at the signal (past the delay); the other half keep going through the delay.
    await concurControl.json('POST', '/sandbox/api/faults', { delayMs: HELD_MS, count: USERS / 2 });
    await sleep(500);
    signalAt = performance.now();
    stopping = true;
    const exit = app.connector.stop('SIGTERM');
    const { code, signal } = await exit;
    const exitMs = performance.now() - signalAt;
    await Promise.all(users);
    await probe;
    control.close();
    concurControl.close();

    const before = sent.filter((s) => s.ex.startedAt < signalAt);
    const after = sent.filter((s) => s.ex.startedAt >= signalAt);
    const inFlight = before.filter((s) => s.ex.endedAt > signalAt);
    const ok = (s: Sent) => s.ex.status === s.expected;
    /** Sent when the listener was about to close (the signal reaches the app a little after signalAt). */
    const atClose = (s: Sent) => s.ex.startedAt >= signalAt + DELAY_SECONDS * 1000 - 250;
    const resetAtClose = after.filter((s) => !ok(s) && atClose(s) && s.ex.error === 'ECONNRESET');
    const failed = sent.filter((s) => !ok(s) && !resetAtClose.includes(s));
    const served = after.filter(ok);
    process.stderr.write(
      `[shutdown] ${sent.length} requests: ${before.length} before the SIGTERM (${inFlight.length} in flight at it, the longest ` +
        `${Math.round(Math.max(...inFlight.map((s) => s.ex.endedAt - signalAt)))} ms after), ${served.length} after it and served, ` +
        `${refused} refused at connect, ${resetAtClose.length} reset at the listener's close; ` +
        `exit ${code ?? signal} ${Math.round(exitMs)} ms after the signal\n`,
    );

    expect(failed.map((s) => `${s.step}: ${summarize(s.ex)} started ${Math.round(s.ex.startedAt - signalAt)} ms after the signal (expected ${s.expected}) ${s.ex.body.slice(0, 100)}`)).toEqual([]);
    expect(before.every(ok)).toBe(true);
    // The signal came in the middle of things: requests in flight, held saves and reads among them.
    expect(inFlight.length).toBeGreaterThanOrEqual(USERS / 2);
    // Some of them outlasted the delay: answered after the listener had closed, within the grace period.
    const drained = inFlight.filter((s) => s.ex.endedAt - signalAt > DELAY_SECONDS * 1000 + 500);
    expect(drained.length).toBeGreaterThan(0);
    expect(drained.every(ok)).toBe(true);
    // The app kept serving new requests during the delay, with Connection: close on every answer.
    expect(served.length).toBeGreaterThan(0);
    // (Those the app answered before it handled the signal, which arrives a little after signalAt, may still say keep-alive.)
    const clearlyAfter = [...inFlight.filter((s) => s.ex.endedAt - signalAt > 200), ...served.filter((s) => s.ex.startedAt - signalAt > 50)];
    expect(clearlyAfter.length).toBeGreaterThan(0);
    for (const s of clearlyAfter) expect([summarize(s.ex), s.ex.headers?.connection]).toEqual([summarize(s.ex), 'close']);
    // Then it refused connections: each user ended on ECONNREFUSED or on a reset at the listener's close.
    expect(refused + resetAtClose.length).toBe(USERS);
    expect(served.every((s) => s.ex.startedAt - signalAt < DELAY_SECONDS * 1000 + 1000)).toBe(true);

    // Readiness: 200 before, 503 from the signal on, then no connection.
    const probesBefore = readiness.filter((r) => r.t < signalAt);
    const probesAfter = readiness.filter((r) => r.t >= signalAt + 50);
    expect(probesBefore.every((r) => r.status === 200)).toBe(true);
    expect(probesAfter.length).toBeGreaterThan(0);
    const probeResetAtClose = (r: { t: number; error?: string }) => r.error === 'ECONNRESET' && r.t >= signalAt + DELAY_SECONDS * 1000 - 250;
    expect(probesAfter.filter((r) => !(r.status === 503 || r.error === 'ECONNREFUSED' || probeResetAtClose(r)))).toEqual([]);
    expect(probesAfter.some((r) => r.status === 503)).toBe(true);
    expect(readiness.at(-1)!.error).toBe('ECONNREFUSED');

    // Exit 0, after the delay and the longest held request, within delay + grace.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeGreaterThanOrEqual(Math.max(...inFlight.map((s) => s.ex.endedAt - signalAt)) - 50);
    expect(exitMs).toBeLessThan((DELAY_SECONDS + GRACE_SECONDS) * 1000 + 2000);

    // What it left: every requested update has its outcome, and the chain verifies.
    const db = new Database(join(dataDir, 'connector.db'), { readonly: true });
    const events = (db.prepare('SELECT seq, event_type AS type, launch_id AS launchId FROM audit_events ORDER BY seq').all() as Array<{
      seq: number;
      type: string;
      launchId: string | null;
    }>).map((e) => ({ ...e, seq: Number(e.seq) }));
    db.close();
    const saves = sent.filter((s) => s.step === 'save' && ok(s));
    expect(events.filter((e) => e.type === 'update.succeeded').length).toBe(saves.length);
    expect(unpairedRequests(events)).toEqual([]);
    const verify = JSON.parse(
      execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'verify-audit', '--json'], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: '', CONNECTOR_CONFIG: app.overlayFile, CONNECTOR_DATA_DIR: dataDir, LOG_LEVEL: 'error' },
        encoding: 'utf8',
      }),
    ) as { intact: boolean; headSeq: number };
    expect(verify).toMatchObject({ intact: true, headSeq: events.at(-1)!.seq });
  });
});

/** A raw TCP connection to the app: what it received, and when (and whether) the server closed it. */
function rawConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  let closedAt: number | undefined;
  socket.on('data', (data: Buffer) => (received += data.toString('utf8')));
  socket.on('end', () => (closedAt ??= performance.now()));
  socket.on('close', () => (closedAt ??= performance.now()));
  socket.on('error', () => undefined);
  return {
    socket,
    connected: new Promise<void>((resolve) => socket.once('connect', () => resolve())),
    received: () => received,
    closedAt: () => closedAt,
    send: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
  };
}

describe('an idle keep-alive connection during the delay', () => {
  // graceful-shutdown.ts closes idle connections only once the delay is over and the listener
  // closes: during server.shutdownDelaySeconds a keep-alive connection that is between two
  // requests stays open, and its next request is answered with `Connection: close`. (Before the
  // fix every response's end closed all idle connections, so a client or a load balancer's pooled
  // connection sending its next request on one got a reset.)
  const DELAY = 4;
  const GRACE = 5;
  let app: BuiltApp;

  beforeAll(async () => {
    app = await startBuilt({ overlay: { server: { shutdownDelaySeconds: DELAY, shutdownGraceSeconds: GRACE } } });
  });
  afterAll(async () => {
    if (app) {
      await app.connector.stop('SIGKILL');
      app.cleanup();
    }
  });

  it('stays open while other responses end, and its next request is answered with Connection: close', async () => {
    const a = rawConnection(app.connector.port);
    await a.connected;
    a.send('/health/live');
    for (let i = 0; i < 50 && !a.received().includes('"ok"'); i++) await sleep(20);
    expect(a.received()).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(a.received()).toMatch(/Connection: keep-alive/i);

    const signalAt = performance.now();
    app.connector.child.kill('SIGTERM');
    await sleep(300);
    // Another client's request during the delay: answered (503 not-ready, Connection: close).
    const probe = new Client(app.connector.port, { keepAlive: false });
    const b = await probe.get('/health/ready');
    expect([b.status, b.headers?.connection]).toEqual([503, 'close']);
    await sleep(200);

    // A is still open after B's answer...
    expect(a.closedAt()).toBeUndefined();
    const answered = a.received().length;
    a.send('/health/live');
    for (let i = 0; i < 50 && !a.received().slice(answered).includes('"ok"'); i++) await sleep(20);
    // ...and its next request is served, telling the client to close the connection.
    const second = a.received().slice(answered);
    expect(second).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(second).toMatch(/Connection: close/i);
    for (let i = 0; i < 50 && a.closedAt() === undefined; i++) await sleep(20);
    expect(a.closedAt()).toBeDefined();
    expect(performance.now() - signalAt).toBeLessThan(DELAY * 1000 - 500);

    // A connection opened during the delay that never sends a request is not closed during the
    // delay either; it is closed by the end of the grace period at the latest (Node's
    // closeIdleConnections leaves a connection that has not sent a request yet to the grace's end).
    const c = rawConnection(app.connector.port);
    await c.connected;
    await sleep(300);
    expect(c.closedAt()).toBeUndefined();
    for (let i = 0; i < 480 && c.closedAt() === undefined; i++) await sleep(25);
    expect(c.closedAt()).toBeDefined();
    expect(c.closedAt()! - signalAt).toBeGreaterThanOrEqual(DELAY * 1000 - 250);
    expect(c.closedAt()! - signalAt).toBeLessThan((DELAY + GRACE) * 1000 + 1000);
    probe.close();
    expect(await app.connector.exited).toEqual({ code: 0, signal: null });
  });
});

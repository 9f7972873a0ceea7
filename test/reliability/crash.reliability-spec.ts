// kill -9 of the built app while field updates wait for a slowed Concur (and launches keep
// appending to the audit log), then a restart on the same SQLite file: the chain verifies (API
// and CLI), every update.requested has exactly one outcome (the finished ones their own, the
// ones in flight an update.failed marked interrupted by the start-up reconciliation, which on
// SQLite closes every open request at start, with no age threshold), the app works again, and
// a further restart adds nothing.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import Database from 'better-sqlite3';
import {
  allTargets,
  AUDITOR,
  type BuiltApp,
  Client,
  cookieOf,
  csrfIn,
  ensureBuilt,
  type Exchange,
  exportAudit,
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

/** Saves that finish before the kill, and saves held by the sandbox when it comes. */
const FINISHED = 4;
const IN_FLIGHT = 10;
/** Far shorter than concur.timeoutMs (10 s by default): the held writes are still waiting when the process dies. */
const HELD_MS = 6000;

interface Popup {
  launchId: string;
  location: string;
  cookie: { cookie: string };
  csrf: string;
  value: string;
}

describe('kill -9 during field updates, then a restart on the same SQLite file', () => {
  let dataDir: string;
  const apps: BuiltApp[] = [];
  const clients: Client[] = [];

  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'clc-crash-data-'));
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const app of apps) {
      await app.connector.stop('SIGKILL');
      app.cleanup();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<{ app: BuiltApp; client: Client }> {
    const app = await startBuilt({ dataDir });
    apps.push(app);
    const client = new Client(app.connector.port);
    clients.push(client);
    return { app, client };
  }

  async function openPopup(app: BuiltApp, client: Client, ids: SandboxIds, n: number): Promise<Popup> {
    const targets = allTargets(ids);
    const launch = await client.get(signedLaunchPath(app.config, app.connector.origin, ids, targets[n % targets.length]));
    expect(launch.status).toBe(303);
    const location = launch.headers!.location!;
    const cookie = { cookie: cookieOf(launch) };
    const page = await client.get(location, cookie);
    expect(page.status).toBe(200);
    const codes = lookupCodes();
    return { launchId: location.split('/').pop()!, location, cookie, csrf: csrfIn(page.body)!, value: codes[n % codes.length] };
  }

  const save = (client: Client, p: Popup) => client.postForm(`${p.location}/select`, { csrf: p.csrf, code: p.value }, p.cookie);

  /** `verify-audit` of the CLI on the same data folder and configuration. */
  function cliVerify(app: BuiltApp): { intact: boolean; headSeq?: number } {
    const out = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'verify-audit', '--json'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', CONNECTOR_CONFIG: app.overlayFile, CONNECTOR_DATA_DIR: dataDir, LOG_LEVEL: 'error' },
      encoding: 'utf8',
    });
    return JSON.parse(out) as { intact: boolean; headSeq?: number };
  }

  let inFlight: Popup[] = [];
  let finished: Popup[] = [];
  /** Launches answered 303 up to the kill: each was audited before its answer. */
  let acceptedBeforeKill: string[] = [];
  let seqOfRequest = new Map<string, number>();

  it('kills the process while updates wait for Concur and launches append to the log', async () => {
    const { app, client } = await start();
    const ids = idsOf(await client.json<SandboxState>('GET', '/sandbox/api/state'));
    const popups: Popup[] = [];
    for (let n = 0; n < FINISHED + IN_FLIGHT; n++) popups.push(await openPopup(app, client, ids, n));
    finished = popups.slice(0, FINISHED);
    inFlight = popups.slice(FINISHED);

    // Concur answers the first saves at once, then holds the rest.
    for (const p of finished) expect((await save(client, p)).status).toBe(200);
    await client.json('POST', '/sandbox/api/faults', { delayMs: HELD_MS, count: IN_FLIGHT });
    const held = inFlight.map((p) => save(client, p));

    // Every held save has its update.requested on disk (it is written before Concur is called).
    for (let waited = 0; ; waited += 100) {
      const requested = (await exportAudit(client)).filter((e) => e.type === 'update.requested');
      if (requested.length === FINISHED + IN_FLIGHT) break;
      if (waited > HELD_MS / 2) throw new Error(`only ${requested.length} update.requested before the held writes would finish`);
      await sleep(100);
    }
    // Launches keep appending while the kill comes, so it may land inside an audit transaction.
    let launching = true;
    const launches: Exchange[] = [];
    const background = (async () => {
      const bg = new Client(app.connector.port);
      clients.push(bg);
      let n = 0;
      while (launching) {
        const ex = await bg.get(signedLaunchPath(app.config, app.connector.origin, ids, allTargets(ids)[n++ % 6]));
        launches.push(ex);
        if (ex.error) break;
      }
    })();
    await sleep(300);
    const exit = await app.connector.stop('SIGKILL');
    launching = false;
    await background;
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });

    // The held saves never got an answer: their connections died with the process.
    for (const ex of await Promise.all(held)) {
      expect(ex.status).toBeUndefined();
      expect(ex.error).toMatch(/ECONNRESET|socket hang up/);
    }
    acceptedBeforeKill = launches.filter((ex) => ex.status === 303).map((ex) => ex.headers!.location!.split('/').pop()!);
    expect(acceptedBeforeKill.length).toBeGreaterThan(0);
    for (const ex of launches) if (ex.status !== undefined) expect([summarize(ex), ex.status]).toEqual([summarize(ex), 303]);
  });

  it('left the held updates open in the SQLite file (looked at in a copy, before any restart)', () => {
    // A copy, with its write-ahead log: opening the real file would recover it before the app does.
    const copy = mkdtempSync(join(tmpdir(), 'clc-crash-copy-'));
    try {
      for (const suffix of ['', '-wal', '-shm']) {
        const file = join(dataDir, `connector.db${suffix}`);
        if (existsSync(file)) copyFileSync(file, join(copy, `connector.db${suffix}`));
      }
      const db = new Database(join(copy, 'connector.db'));
      const open = db
        .prepare(
          `SELECT r.seq, r.launch_id FROM audit_events r WHERE r.event_type = 'update.requested' AND NOT EXISTS (
             SELECT 1 FROM audit_events t WHERE t.launch_id = r.launch_id AND t.seq > r.seq AND t.event_type IN ('update.succeeded', 'update.failed'))`,
        )
        .all() as Array<{ seq: number; launch_id: string }>;
      db.close();
      expect(open.map((r) => r.launch_id).sort()).toEqual(inFlight.map((p) => p.launchId).sort());
      seqOfRequest = new Map(open.map((r) => [r.launch_id, Number(r.seq)]));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('after the restart: the chain verifies, every update.requested has one outcome, the held ones marked interrupted', async () => {
    const { app, client } = await start();
    const verify = await client.get('/api/audit/verify', AUDITOR);
    expect(verify.status).toBe(200);
    expect(JSON.parse(verify.body)).toMatchObject({ intact: true });

    const events = await exportAudit(client);
    expect(unpairedRequests(events)).toEqual([]);
    for (const p of finished) {
      const outcomes = events.filter((e) => e.launchId === p.launchId && e.type.startsWith('update.')).map((e) => [e.type, e.newValue]);
      expect(outcomes).toEqual([
        ['update.requested', p.value],
        ['update.succeeded', p.value],
      ]);
    }
    for (const p of inFlight) {
      const mine = events.filter((e) => e.launchId === p.launchId && e.type.startsWith('update.'));
      expect(mine.map((e) => [e.type, e.outcome, e.newValue])).toEqual([
        ['update.requested', 'pending', p.value],
        ['update.failed', 'failure', p.value],
      ]);
      expect(mine[1].reason).toBe(`interrupted: no outcome was recorded for request #${seqOfRequest.get(p.launchId)}; check the field in Concur`);
    }
    expect(events.filter((e) => e.reason?.startsWith('interrupted')).length).toBe(IN_FLIGHT);
    // Every launch answered before the kill kept its launch.accepted (written before the 303).
    const accepted = new Set(events.filter((e) => e.type === 'launch.accepted').map((e) => e.launchId));
    expect(acceptedBeforeKill.filter((id) => !accepted.has(id))).toEqual([]);

    // The CLI says the same, reading the file beside the running app.
    expect(cliVerify(app)).toMatchObject({ intact: true });

    // The sessions were in memory: a popup of before the crash has expired; a new launch saves.
    const stale = await client.get(inFlight[0].location, inFlight[0].cookie);
    expect(stale.status).toBe(410);
    const ids = idsOf(await client.json<SandboxState>('GET', '/sandbox/api/state'));
    const fresh = await openPopup(app, client, ids, 0);
    const done = await save(client, fresh);
    expect(done.status).toBe(200);
    expect(done.body).toContain(`data-testid="saved-value">${fresh.value}</strong>`);
  });

  it('a clean stop and another start add no further interrupted outcome; the chain still verifies', async () => {
    const second = apps.at(-1)!;
    expect(await second.connector.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    apps.pop();
    second.cleanup();

    const { app, client } = await start();
    const events = await exportAudit(client);
    expect(unpairedRequests(events)).toEqual([]);
    expect(events.filter((e) => e.reason?.startsWith('interrupted')).length).toBe(IN_FLIGHT);
    expect(events.filter((e) => e.type === 'update.succeeded').length).toBe(FINISHED + 1);
    const verify = JSON.parse((await client.get('/api/audit/verify', AUDITOR)).body) as { intact: boolean; headSeq: number };
    expect(verify.intact).toBe(true);
    expect(await app.connector.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // The file after the last clean stop: the verification itself was audited after it ran.
    const last = cliVerify(app);
    expect(last.intact).toBe(true);
    expect(last.headSeq).toBeGreaterThan(verify.headSeq);
    apps.pop();
    app.cleanup();
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { CHAIN_KEY_FILE_NAME } from '../src/audit/chain-key.js';
import { eventHash, GENESIS_HASH, keyedEventHash } from '../src/audit/hash-chain.js';
import { runCli } from '../src/cli/run.js';
import { createSqliteKysely } from '../src/database/database.factory.js';
import type { AuditEventTable } from '../src/database/database.types.js';
import { runMigrations } from '../src/database/migrations.js';
import { type Harness, startApp } from './harness.js';

/**
 * The keyed audit chain end to end: a log written before the chain key (plain SHA-256), sealed
 * by the first start with a key; the auditors' API and `verify-audit` over it; the key required;
 * a forger with only the database found out.
 */

const AUDITOR = { username: 'auditor', password: 'auditor-demo' };
const basic = `Basic ${Buffer.from(`${AUDITOR.username}:${AUDITOR.password}`).toString('base64')}`;
type Unhashed = Omit<AuditEventTable, 'hash'>;

describe('the keyed audit chain (e2e)', () => {
  let dataDir: string;
  let dbFile: string;
  let key: string;
  let h: Harness | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'clc-chain-key-'));
    dbFile = join(dataDir, 'connector.db');
    key = randomBytes(32).toString('base64');
  });

  afterEach(async () => {
    await h?.close();
    h = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Rows as the connector wrote them before this version: migrated schema, plain SHA-256 chain. */
  async function writeLegacyLog(count: number): Promise<AuditEventTable[]> {
    const db = createSqliteKysely(dbFile);
    const rows: AuditEventTable[] = [];
    try {
      await runMigrations(db);
      let prev = GENESIS_HASH;
      for (let seq = 1; seq <= count; seq++) {
        const unhashed: Unhashed = {
          seq, id: `00000000-0000-4000-8000-00000000000${seq}`, occurred_at: `2026-01-0${seq}T10:00:00.000Z`, event_type: 'launch.accepted', outcome: 'success',
          tenant_id: 'sandbox', company_domain: 'sandbox.example.com', acting_user: `user-${seq}`, report_owner: null, item_url: null, launch_id: `L${seq}`,
          field: null, old_value: null, new_value: null, reason: null, correlation_id: `c${seq}`, client_ip: '127.0.0.1', user_agent: null, prev_hash: prev,
        };
        const row = { ...unhashed, hash: eventHash(unhashed) };
        await db.insertInto('audit_events').values(row).execute();
        rows.push(row);
        prev = row.hash;
      }
    } finally {
      await db.destroy();
    }
    return rows;
  }

  async function boot(env: Record<string, string>): Promise<Harness> {
    h = await startApp({ storage: { sqliteFile: 'connector.db' }, audit: { headLogIntervalSeconds: 0 } }, { CONNECTOR_DATA_DIR: dataDir, ...env });
    return h;
  }

  async function rows(): Promise<AuditEventTable[]> {
    const db = createSqliteKysely(dbFile);
    try {
      return await db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    } finally {
      await db.destroy();
    }
  }

  /** What someone with only the database does: changes event `seq`'s new_value and rehashes it and every later event with `hash`. */
  async function forgeFrom(seq: number, hash: (row: Unhashed) => string): Promise<void> {
    const all = await rows();
    const db = createSqliteKysely(dbFile);
    try {
      await sql`DROP TRIGGER IF EXISTS audit_events_no_update`.execute(db);
      let prev = all[seq - 2].hash;
      for (const row of all.slice(seq - 1)) {
        const { hash: _, ...content } = { ...row, prev_hash: prev, new_value: Number(row.seq) === seq ? 'FORGED' : row.new_value };
        prev = hash(content);
        await sql`UPDATE audit_events SET new_value = ${content.new_value}, prev_hash = ${content.prev_hash}, hash = ${prev} WHERE seq = ${row.seq}`.execute(db);
      }
    } finally {
      await db.destroy();
    }
  }

  const verifyCli = (env: Record<string, string>) => runCli(['verify-audit'], { CONNECTOR_DATA_DIR: dataDir, ...env });

  it('seals a legacy log at the first start with a key; the API, the page and verify-audit find it intact', async () => {
    const legacy = await writeLegacyLog(3);
    const app = await boot({ CONNECTOR_AUDIT_CHAIN_KEY: key });
    const api = await app.http.get('/api/audit/verify').set('Authorization', basic).expect(200);
    expect(api.body).toMatchObject({ intact: true, firstSeq: 1, headSeq: 4, count: 4, unkeyedThroughSeq: 3 });
    expect(api.body.summary).toContain('#1..#3 were written before the chain was keyed (plain SHA-256, sealed by the keyed event #4)');
    const detail = await app.http.get(`/api/audit/events/${legacy[1].id}`).set('Authorization', basic).expect(200);
    expect(detail.body).toMatchObject({ hashMatches: true });
    await app.close();
    h = undefined;

    const all = await rows();
    const seal = all[3];
    expect(seal).toMatchObject({ seq: 4, event_type: 'audit.chain_keyed', prev_hash: legacy[2].hash });
    expect(seal.reason).toBe(`events #1..#3 are unkeyed SHA-256, ending on ${legacy[2].hash}; from #4 on each event's hash is an HMAC-SHA256 under the chain key`);
    // The two auditor reads above were themselves audited, after the seal, under the key.
    expect(all.slice(3).map((row) => row.hash)).toEqual(all.slice(3).map((row) => keyedEventHash(row, Buffer.from(key, 'base64'))));
    // The key is in no row.
    for (const row of all) expect(JSON.stringify(row)).not.toContain(key);

    const verified = await verifyCli({ CONNECTOR_AUDIT_CHAIN_KEY: key });
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toMatch(/^intact up to #6: 6 event\(s\) from #1, head hash [0-9a-f]{64}; #1\.\.#3 were written before the chain was keyed/);

    // A second start does not seal again.
    await boot({ CONNECTOR_AUDIT_CHAIN_KEY: key });
    expect((await rows()).filter((row) => row.event_type === 'audit.chain_keyed')).toHaveLength(1);
  });

  it('verify-audit without the key says how to give it; with another key it finds nothing intact', async () => {
    await writeLegacyLog(2);
    await (await boot({ CONNECTOR_AUDIT_CHAIN_KEY: key })).close();
    h = undefined;
    const without = await verifyCli({});
    expect(without.exitCode).toBe(1);
    expect(without.stdout).toBe('');
    expect(without.stderr).toContain('no audit chain key: set CONNECTOR_AUDIT_CHAIN_KEY (or CONNECTOR_AUDIT_CHAIN_KEY_FILE');
    const other = await verifyCli({ CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(32).toString('base64') });
    expect(other).toMatchObject({ exitCode: 1, stdout: expect.stringMatching(/^BROKEN at #3: event #3 was altered; intact up to #2/) });
  });

  it('a connector without a configured key keeps one in its data folder (0600), which verify-audit then uses', async () => {
    await writeLegacyLog(2);
    const app = await boot({});
    expect(statSync(join(dataDir, CHAIN_KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(await app.audit.verify()).toMatchObject({ intact: true, headSeq: 3, unkeyedThroughSeq: 2 });
    await app.close();
    h = undefined;
    expect(await verifyCli({})).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^intact up to #3/) });
  });

  it.each([
    ['plain SHA-256', (): ((row: Unhashed) => string) => (row) => eventHash(row), "BROKEN at #4: event #4 was altered (its hash is a plain SHA-256 where the chain key's HMAC belongs); intact up to #3"],
    ['a wrong HMAC key', (): ((row: Unhashed) => string) => { const wrong = randomBytes(32); return (row) => keyedEventHash(row, wrong); }, 'BROKEN at #4: event #4 was altered; intact up to #3'],
  ])('a forger with only the database, rehashing with %s, is found at the event changed', async (_, hasher, line) => {
    await writeLegacyLog(2);
    const app = await boot({ CONNECTOR_AUDIT_CHAIN_KEY: key });
    for (const actingUser of ['alice', 'bob', 'carol']) await app.audit.record({ type: 'launch.accepted', outcome: 'success', tenantId: 'sandbox', actingUser });
    await app.close();
    h = undefined;
    expect((await verifyCli({ CONNECTOR_AUDIT_CHAIN_KEY: key })).exitCode).toBe(0);
    await forgeFrom(4, hasher());
    expect(await verifyCli({ CONNECTOR_AUDIT_CHAIN_KEY: key })).toMatchObject({ exitCode: 1, stdout: `${line}\n` });
  });

  it('a forger who rewrites the sealed old events is found at the seal', async () => {
    await writeLegacyLog(3);
    await (await boot({ CONNECTOR_AUDIT_CHAIN_KEY: key })).close();
    h = undefined;
    const all = await rows();
    const db = createSqliteKysely(dbFile);
    try {
      await sql`DROP TRIGGER IF EXISTS audit_events_no_update`.execute(db);
      let prev = all[0].hash;
      for (const row of all.slice(1, 3)) {
        const { hash: _, ...content } = { ...row, prev_hash: prev, acting_user: row.seq === 2 ? 'mallory' : row.acting_user };
        prev = eventHash(content);
        await sql`UPDATE audit_events SET acting_user = ${content.acting_user}, prev_hash = ${content.prev_hash}, hash = ${prev} WHERE seq = ${row.seq}`.execute(db);
      }
    } finally {
      await db.destroy();
    }
    expect(await verifyCli({ CONNECTOR_AUDIT_CHAIN_KEY: key })).toMatchObject({ exitCode: 1, stdout: 'BROKEN at #4: event #4 does not follow #3; intact up to #3\n' });
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { AuditRepository } from '../audit/audit.repository.js';
import { AuditService } from '../audit/audit.service.js';
import { AppConfig } from '../config/index.js';
import { createSqliteKysely } from '../database/database.factory.js';
import { runMigrations } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { CHAIN_KEY_FILE_NAME } from '../audit/chain-key.js';
import { purgeAudit, verifyAudit } from './audit-commands.js';

describe('verify-audit and purge-audit', () => {
  let dataDir: string;
  let env: Record<string, string>;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'clc-audit-cli-'));
    env = { CONNECTOR_DATA_DIR: dataDir };
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Writes `count` events into the data folder's database, the first `oldCount` of them 400 days ago. */
  async function seed(count: number, oldCount = 0): Promise<void> {
    const db = createSqliteKysely(join(dataDir, 'connector.db'));
    try {
      await runMigrations(db);
      // As the connector does without a configured key: one generated in its data folder.
      const config = new AppConfig();
      config.storage.dataDir = dataDir;
      const service = new AuditService(new AuditRepository(db), new Metrics(), config);
      for (let i = 0; i < count; i++) await service.record({ type: 'launch.accepted', outcome: 'success', actingUser: `user-${i}` });
      if (oldCount > 0) {
        // Rewriting times breaks the hashes of those rows, so only rows that the purge removes are made old.
        await sql`DROP TRIGGER audit_events_no_update`.execute(db);
        await sql`UPDATE audit_events SET occurred_at = '2025-01-01T00:00:00.000Z' WHERE seq <= ${oldCount}`.execute(db);
        await sql`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END`.execute(db);
      }
    } finally {
      await db.destroy();
    }
  }

  async function tamper(statement: string): Promise<void> {
    const db = createSqliteKysely(join(dataDir, 'connector.db'));
    try {
      await sql`DROP TRIGGER audit_events_no_update`.execute(db);
      await sql.raw(statement).execute(db);
    } finally {
      await db.destroy();
    }
  }

  it('says intact up to the head, with its hash, exit code 0', async () => {
    await seed(3);
    const result = await verifyAudit([], env);
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(result.stdout).toMatch(/^intact up to #3: 3 event\(s\) from #1, head hash [0-9a-f]{64}\n$/);
    const json = await verifyAudit(['--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ intact: true, headSeq: 3, count: 3 });
  });

  it('names the first broken event and why, exit code 1', async () => {
    await seed(4);
    await tamper(`UPDATE audit_events SET acting_user = 'mallory' WHERE seq = 2`);
    expect(await verifyAudit([], env)).toEqual({ exitCode: 1, stdout: 'BROKEN at #2: event #2 was altered; intact up to #1\n', stderr: '' });
  });

  it('refuses a database without the migrations, saying what to run', async () => {
    const result = await verifyAudit([], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('run `concur-launch-connector migrate` first');
  });

  it('purges old events behind a checkpoint, after which verify still says intact', async () => {
    await seed(5, 2);
    const purged = await purgeAudit(['--older-than-days', '30'], env);
    expect(purged).toMatchObject({ exitCode: 0, stderr: '' });
    expect(purged.stdout).toMatch(/^purged 2 event\(s\) #1\.\.#2 \(before .*\); checkpoint event #6\n$/);
    const verified = await verifyAudit([], env);
    expect(verified.stdout).toMatch(/^intact up to #6: 4 event\(s\) from #3, head hash [0-9a-f]{64} \(events before #3 were purged by retention\)\n$/);
    expect((await purgeAudit(['--older-than-days', '30'], env)).stdout).toMatch(/^nothing to purge/);
  });

  it.each([[[]], [['--older-than-days', '0']], [['--older-than-days', 'ten']], [['--days', '3']]])('refuses %j with its usage, exit code 2', async (args) => {
    const { runCli } = await import('./run.js');
    const result = await runCli(['purge-audit', ...args], env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Usage: concur-launch-connector purge-audit --older-than-days N');
  });

  describe('the audit chain key', () => {
    const keyFile = () => join(dataDir, CHAIN_KEY_FILE_NAME);

    it('reads the key the connector generated in its data folder (0600)', async () => {
      await seed(2);
      expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
      expect((await verifyAudit([], env)).exitCode).toBe(0);
    });

    it('without a key says how to give one, exit code 1, for verify and purge alike', async () => {
      await seed(2);
      renameSync(keyFile(), `${keyFile()}.elsewhere`);
      for (const result of [await verifyAudit([], env), await purgeAudit(['--older-than-days', '30'], env)]) {
        expect(result.exitCode).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain('no audit chain key: set CONNECTOR_AUDIT_CHAIN_KEY (or CONNECTOR_AUDIT_CHAIN_KEY_FILE');
        expect(result.stderr).toContain(keyFile());
      }
    });

    it('takes the key from CONNECTOR_AUDIT_CHAIN_KEY (or _FILE) and never prints it', async () => {
      await seed(2);
      const key = readFileSync(keyFile(), 'utf8').trim();
      rmSync(keyFile());
      const withKey = await verifyAudit(['--json'], { ...env, CONNECTOR_AUDIT_CHAIN_KEY: key });
      expect(JSON.parse(withKey.stdout)).toMatchObject({ intact: true, count: 2 });
      const mounted = join(dataDir, 'mounted-secret');
      writeFileSync(mounted, `${key}\n`);
      expect(JSON.parse((await verifyAudit(['--json'], { ...env, CONNECTOR_AUDIT_CHAIN_KEY_FILE: mounted })).stdout)).toMatchObject({ intact: true, count: 2 });
      const other = randomBytes(32).toString('base64');
      const wrong = await verifyAudit([], { ...env, CONNECTOR_AUDIT_CHAIN_KEY: other });
      expect(wrong).toMatchObject({ exitCode: 1, stdout: 'BROKEN at #1: event #1 was altered; intact up to #0\n' });
      const short = await verifyAudit([], { ...env, CONNECTOR_AUDIT_CHAIN_KEY: 'c2hvcnQta2V5LXZhbHVl' });
      expect(short.exitCode).toBe(1);
      expect(short.stderr).toMatch(/auditChainKey.*exactly 32 bytes/);
      // Plain substrings: a base64 key holds '+' and '/', which a RegExp would read as syntax.
      const printed = [withKey, wrong, short].map((result) => result.stdout + result.stderr).join('\n');
      for (const secret of [key.slice(0, 16), other.slice(0, 16), 'c2hvcnQta2V5LXZhbHVl']) expect(printed).not.toContain(secret);
    });
  });
});

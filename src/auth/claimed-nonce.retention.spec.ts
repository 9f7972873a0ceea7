import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { AppConfig } from '../config/index.js';
import { createSqliteKysely } from '../database/database.factory.js';
import type { Database } from '../database/database.types.js';
import { claimedNonceRecord } from './claimed-nonce.fixture.js';
import { ClaimedNonceRepository } from './claimed-nonce.repository.js';
import { ClaimedNonceRetention, PURGE_BATCH, replayRetentionDays } from './claimed-nonce.retention.js';

const DAY = 86_400_000;
const NOW = Date.parse('2027-06-01T00:00:00.000Z');

function configWith(replayDays: number | undefined, auditDays: number): AppConfig {
  const config = new AppConfig();
  config.replay.retentionDays = replayDays;
  config.audit.retention.days = auditDays;
  return config;
}

describe(replayRetentionDays.name, () => {
  it('is replay.retentionDays when set, else the audit retention, else 400 days', () => {
    expect(replayRetentionDays(configWith(30, 90))).toBe(30);
    expect(replayRetentionDays(configWith(undefined, 90))).toBe(90);
    expect(replayRetentionDays(configWith(undefined, 0))).toBe(400);
  });
});

describe(ClaimedNonceRetention.name, () => {
  let db: Kysely<Database>;
  let repository: ClaimedNonceRepository;

  beforeEach(async () => {
    ({ db, repository } = await claimedNonceRecord());
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await db.destroy();
  });

  async function seed(count: number, ageDays: number, prefix: string): Promise<void> {
    const claimedAt = new Date(NOW - ageDays * DAY).toISOString();
    const rows = Array.from({ length: count }, (_, i) => ({ nonce_hash: `${prefix}${i}`, tenant_id: 'acme', claimed_at: claimedAt }));
    for (let i = 0; i < rows.length; i += 500) await db.insertInto('claimed_nonces').values(rows.slice(i, i + 500)).execute();
  }

  it('deletes what is older than the retention in batches of PURGE_BATCH, and keeps the rest', async () => {
    await seed(2 * PURGE_BATCH + 7, 31, 'old');
    await seed(5, 29, 'kept');
    const batches = jest.spyOn(repository, 'purgeClaimedBefore');
    const retention = new ClaimedNonceRetention(repository, configWith(30, 0));
    await expect(retention.purge(NOW)).resolves.toBe(2 * PURGE_BATCH + 7);
    expect(batches.mock.calls).toEqual(Array(4).fill([new Date(NOW - 30 * DAY).toISOString(), PURGE_BATCH]));
    expect(await Promise.all(batches.mock.results.map((r) => r.value))).toEqual([PURGE_BATCH, PURGE_BATCH, 7, 0]);
    const left = await db.selectFrom('claimed_nonces').select('nonce_hash').execute();
    expect(left.map((r) => r.nonce_hash).sort()).toEqual(['kept0', 'kept1', 'kept2', 'kept3', 'kept4']);
    await expect(retention.purge(NOW)).resolves.toBe(0);
  });

  it('keeps a year-old nonce when the audit keeps everything (400 days)', async () => {
    await seed(3, 365, 'year');
    await seed(2, 401, 'older');
    await expect(new ClaimedNonceRetention(repository, configWith(undefined, 0)).purge(NOW)).resolves.toBe(2);
    expect(await db.selectFrom('claimed_nonces').select('nonce_hash').execute()).toHaveLength(3);
  });

  it('purges at start in the background and stops its timer on shutdown', async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    await db.insertInto('claimed_nonces').values({ nonce_hash: 'ancient', tenant_id: 'acme', claimed_at: '2000-01-01T00:00:00.000Z' }).execute();
    const retention = new ClaimedNonceRetention(repository, configWith(30, 0));
    const setIntervalSpy = jest.spyOn(global, 'setInterval');
    retention.onApplicationBootstrap();
    expect(setIntervalSpy).toHaveBeenCalledWith(expect.any(Function), 24 * 3_600_000);
    await retention.onModuleDestroy();
    expect(await db.selectFrom('claimed_nonces').select('nonce_hash').execute()).toEqual([]);
  });

  it('leaves the table alone while migrations are pending, with no error', async () => {
    const bare = createSqliteKysely(':memory:');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const retention = new ClaimedNonceRetention(new ClaimedNonceRepository(bare), configWith(30, 0));
    retention.onApplicationBootstrap();
    await retention.onModuleDestroy();
    expect(warn).not.toHaveBeenCalled();
    await bare.destroy();
  });
});

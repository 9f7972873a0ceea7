import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Kysely } from 'kysely';
import { PageException } from '../common/page.exception.js';
import { SecretBox } from '../concur/secret-box.js';
import { AppConfig } from '../config/index.js';
import type { Database } from '../database/database.types.js';
import { claimedNonceRecord } from './claimed-nonce.fixture.js';
import type { ClaimedNonceRepository } from './claimed-nonce.repository.js';
import { CLAIMED_NONCE_KEY_PURPOSE, DurableReplayStore } from './durable-replay.store.js';
import { MemoryReplayStore, nonceKey } from './replay.store.js';

function boxWith(key: Buffer): SecretBox {
  const config = new AppConfig();
  config.security.encryptionKey = key.toString('base64');
  return new SecretBox(config);
}

const memory = () => new MemoryReplayStore({ replay: { ttlSeconds: 86400, maxEntries: 1000 } } as AppConfig);

describe(DurableReplayStore.name, () => {
  let db: Kysely<Database>;
  let repository: ClaimedNonceRepository;
  const key = randomBytes(32);
  const now = Date.parse('2026-03-01T12:00:00.000Z');

  beforeEach(async () => {
    ({ db, repository } = await claimedNonceRecord());
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await db.destroy();
  });

  const storeOver = (fast = memory(), box = boxWith(key)) => new DurableReplayStore(fast, repository, box, () => now);

  it('accepts a nonce once, and refuses its replay from the fast store without touching the database', async () => {
    const store = storeOver();
    const insert = jest.spyOn(repository, 'claimAll');
    await expect(store.claim(nonceKey('acme', 'n1'), 60)).resolves.toBe(true);
    expect(insert).toHaveBeenCalledTimes(1);
    await expect(store.claim(nonceKey('acme', 'n1'), 60)).resolves.toBe(false);
    expect(insert).toHaveBeenCalledTimes(1);
    await expect(store.claim(nonceKey('other', 'n1'), 60)).resolves.toBe(true);
  });

  it('refuses a used nonce the fast store forgot (a restart, a flush, an expired TTL)', async () => {
    await expect(storeOver().claim(nonceKey('acme', 'n1'), 60)).resolves.toBe(true);
    const afterRestart = storeOver(memory());
    await expect(afterRestart.claim(nonceKey('acme', 'n1'), 60)).resolves.toBe(false);
    await expect(afterRestart.claim(nonceKey('acme', 'n2'), 60)).resolves.toBe(true);
  });

  it('stores an HMAC of tenant and nonce under a key derived from the encryption key, never the nonce', async () => {
    const nonce = '2026-03-01T12:00:00.1234567Z';
    await storeOver().claim(nonceKey('acme', nonce), 60);
    const rows = await db.selectFrom('claimed_nonces').selectAll().execute();
    const expected = createHmac('sha256', boxWith(key).deriveKey(CLAIMED_NONCE_KEY_PURPOSE)).update(`acme:${nonce}`).digest('hex');
    expect(rows).toEqual([{ nonce_hash: expected, tenant_id: 'acme', claimed_at: '2026-03-01T12:00:00.000Z' }]);
    expect(JSON.stringify(rows)).not.toContain(nonce);
    expect(rows[0].nonce_hash).not.toBe(createHash('sha256').update(`acme:${nonce}`).digest('hex'));
    // Another deployment's key gives another hash: the table alone does not tell which nonces were used.
    expect(storeOver(memory(), boxWith(randomBytes(32))).hashOf(`acme:${nonce}`)).not.toBe(expected);
  });

  it('groups the claims of one turn of the event loop into one insert, each still decided by its own row', async () => {
    const insert = jest.spyOn(repository, 'claimAll');
    await storeOver().claim(nonceKey('acme', 'used-before'), 60);
    insert.mockClear();
    // Fresh fast stores, as after a restart: every claim reaches the database.
    const keys = ['a', 'b', 'c', 'used-before', 'd', 'e'].map((n) => nonceKey('acme', n));
    const store = storeOver();
    const results = await Promise.all(keys.map((key) => store.claim(key, 60)));
    expect(results).toEqual([true, true, true, false, true, true]);
    // The first claim waits a turn for the others (an insert never yields to I/O): one statement.
    expect(insert.mock.calls.map(([rows]) => rows.length)).toEqual([6]);
  });

  it('lets only the first of two claims of one nonce in the same batch have it', async () => {
    const slow = new DurableReplayStore({ claim: async () => true }, repository, boxWith(key), () => now);
    const results = await Promise.all([slow.claim('acme:x', 60), slow.claim('acme:same', 60), slow.claim('acme:same', 60)]);
    expect(results).toEqual([true, true, false]);
  });

  it('refuses with a 503 page, never lets the launch through, when the record cannot be written', async () => {
    jest.spyOn(repository, 'claimAll').mockRejectedValue(new Error('SQLITE_BUSY: database is locked'));
    const store = storeOver();
    const error = await store.claim(nonceKey('acme', 'n1'), 60).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PageException);
    expect((error as PageException).getStatus()).toBe(503);
    expect((error as PageException).page.detail).toContain('database nonce record failed: SQLITE_BUSY');
    // The fast store kept the nonce: the same URL does not get a second chance.
    await expect(store.claim(nonceKey('acme', 'n1'), 60)).resolves.toBe(false);
  });
});

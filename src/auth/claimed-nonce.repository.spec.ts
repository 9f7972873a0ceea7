import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Kysely } from 'kysely';
import type { Database } from '../database/database.types.js';
import { claimedNonceRecord } from './claimed-nonce.fixture.js';
import { ClaimedNonceRepository } from './claimed-nonce.repository.js';

const row = (hash: string, claimedAt = '2026-01-01T00:00:00.000Z') => ({ nonce_hash: hash, tenant_id: 'acme', claimed_at: claimedAt });

describe(ClaimedNonceRepository.name, () => {
  let db: Kysely<Database>;
  let repository: ClaimedNonceRepository;

  beforeEach(async () => {
    ({ db, repository } = await claimedNonceRecord());
  });

  afterEach(async () => {
    await db.destroy();
  });

  it('claims a new hash once: true, then false, and keeps the first claim', async () => {
    await expect(repository.claim(row('h1'))).resolves.toBe(true);
    await expect(repository.claim(row('h1', '2026-02-01T00:00:00.000Z'))).resolves.toBe(false);
    await expect(repository.claim(row('h2'))).resolves.toBe(true);
    expect(await db.selectFrom('claimed_nonces').selectAll().orderBy('nonce_hash').execute()).toEqual([row('h1'), row('h2')]);
  });

  it('of many concurrent claims of one hash, exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => repository.claim(row('race'))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('purges at most `limit` rows claimed before the cutoff, never a later one', async () => {
    for (let i = 0; i < 5; i++) await repository.claim(row(`old${i}`, `2026-01-0${i + 1}T00:00:00.000Z`));
    await repository.claim(row('edge', '2026-01-10T00:00:00.000Z'));
    await repository.claim(row('new', '2026-01-11T00:00:00.000Z'));
    await expect(repository.purgeClaimedBefore('2026-01-10T00:00:00.000Z', 3)).resolves.toBe(3);
    await expect(repository.purgeClaimedBefore('2026-01-10T00:00:00.000Z', 3)).resolves.toBe(2);
    await expect(repository.purgeClaimedBefore('2026-01-10T00:00:00.000Z', 3)).resolves.toBe(0);
    expect((await db.selectFrom('claimed_nonces').select('nonce_hash').orderBy('nonce_hash').execute()).map((r) => r.nonce_hash)).toEqual(['edge', 'new']);
  });
});

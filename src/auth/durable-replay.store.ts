import { createHmac } from 'node:crypto';
import type { SecretBox } from '../concur/secret-box.js';
import type { ClaimedNonceRepository } from './claimed-nonce.repository.js';
import { sharedStoreUnavailable } from './redis-keys.js';
import { ReplayStore, tenantOfNonceKey } from './replay.store.js';

/** HKDF purpose of the key that hashes claimed nonces (see SecretBox.deriveKey). */
export const CLAIMED_NONCE_KEY_PURPOSE = 'claimed-nonces v1';

/**
 * The fast store (memory or Redis) in front, the database as the record. Concur's launch URL
 * carries no time, so a used URL must stay refused for as long as it can be found (proxy logs,
 * browser history): the fast store forgets at restart, on a Redis flush and after its TTL; the
 * database row stays for replay.retentionDays.
 *
 * Order: the fast store first, so a replay within its TTL is refused without touching the
 * database; a fast-store miss (a first use, or a nonce the fast store forgot) is decided by
 * the database insert, which fails on conflict. A genuine first launch costs one insert.
 */
export class DurableReplayStore extends ReplayStore {
  private hashKey?: Buffer;

  constructor(
    /** Memory or Redis: refuses a recent replay without a database round trip. */
    readonly fast: ReplayStore,
    private readonly record: ClaimedNonceRepository,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    if (!(await this.fast.claim(key, ttlSeconds))) return false;
    try {
      return await this.record.claim({
        nonce_hash: this.hashOf(key),
        tenant_id: tenantOfNonceKey(key),
        claimed_at: new Date(this.now()).toISOString(),
      });
    } catch (error) {
      // Refused, not let through: without the record a forgotten nonce could be replayed. The
      // fast store keeps the nonce, so this URL stays used; the person relaunches from Concur.
      throw sharedStoreUnavailable('nonce record', error, 'database');
    }
  }

  /**
   * HMAC-SHA256 of `<tenant id>:<nonce>`, hex. Keyed, so whoever reads the table cannot test
   * which nonces (timestamps, guessable) were used. The key is derived from the encryption key:
   * a secret every replica already shares and that is never in the database. The tenant's
   * connector password would also do that, but it is per tenant, changes on rotation, and is
   * the launch signature's key; keeping purposes apart, HKDF gives this use its own key.
   * Changing the encryption key forgets earlier claims (as it already loses sealed tokens).
   */
  hashOf(key: string): string {
    this.hashKey ??= this.box.deriveKey(CLAIMED_NONCE_KEY_PURPOSE);
    return createHmac('sha256', this.hashKey).update(key, 'utf8').digest('hex');
  }
}

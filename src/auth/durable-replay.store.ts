import { createHmac } from 'node:crypto';
import type { SecretBox } from '../concur/secret-box.js';
import type { ClaimedNonceRepository, ClaimedNonceRow } from './claimed-nonce.repository.js';
import { nextTurn } from '../common/next-turn.js';
import { sharedStoreUnavailable } from './redis-keys.js';
import { ReplayStore, tenantOfNonceKey } from './replay.store.js';

/** HKDF purpose of the key that hashes claimed nonces (see SecretBox.deriveKey). */
export const CLAIMED_NONCE_KEY_PURPOSE = 'claimed-nonces v1';

/** Rows one INSERT carries at most (3 bound values each, far below SQLite's limit of 32766). */
const MAX_BATCH = 500;

interface PendingClaim {
  row: ClaimedNonceRow;
  resolve: (claimed: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * The fast store (memory or Redis) in front, the database as the record. Concur's launch URL
 * carries no time, so a used URL must stay refused for as long as it can be found (proxy logs,
 * browser history): the fast store forgets at restart, on a Redis flush and after its TTL; the
 * database row stays for replay.retentionDays.
 *
 * Order: the fast store first, so a replay within its TTL is refused without touching the
 * database; a fast-store miss (a first use, or a nonce the fast store forgot) is decided by
 * the database insert, which fails on conflict. A genuine first launch costs one insert.
 *
 * Claims share inserts (group commit, as the audit log does): an insert first waits one turn of
 * the event loop for the claims of the requests read meanwhile, and claims arriving while it runs
 * go into the next. On SQLite every commit is an fsync, and one per launch would cap launches at
 * the disk's fsync rate.
 */
export class DurableReplayStore extends ReplayStore {
  private hashKey?: Buffer;
  private readonly queue: PendingClaim[] = [];
  private flushing = false;

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
      return await this.recordClaim({
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

  private recordClaim(row: ClaimedNonceRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Inserts what is queued, batch after batch, until the queue is empty. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        // Let the claims of the requests read in this turn join: the insert never yields to I/O.
        await nextTurn();
        const batch = this.queue.splice(0, MAX_BATCH);
        const rows = new Map(batch.map((claim) => [claim.row.nonce_hash, claim.row]));
        let inserted: Set<string>;
        try {
          inserted = await this.record.claimAll([...rows.values()]);
        } catch (error) {
          for (const claim of batch) claim.reject(error);
          continue;
        }
        // The same nonce twice in one batch: only the first claimant may have it.
        for (const claim of batch) claim.resolve(inserted.delete(claim.row.nonce_hash));
      }
    } finally {
      this.flushing = false;
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

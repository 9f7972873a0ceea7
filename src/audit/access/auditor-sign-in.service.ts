import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { RequestMeta } from '../../common/request-meta.js';
import { AppConfig } from '../../config/index.js';
import { Metrics } from '../../metrics/metrics.service.js';
import { RateLimitKeys } from '../../throttle/rate-limit-keys.js';
import { normalizeIp } from '../../throttle/client-ip.js';
import { RateLimitStoreFull } from '../../throttle/rate-limit.storage.js';
import { type LimitName, type LimitVerdict, RateLimiter } from '../../throttle/rate-limiter.service.js';
import { AuditService } from '../audit.service.js';
import { AddressMatcher } from './address-range.js';
import { DEMO_AUDITOR, dummyHash, parsePasswordHash, SCRYPT_DEFAULTS, type ScryptHash, verifyPassword } from './password-hash.js';

/**
 * Why a sign-in is refused for a while: too many failures of its user name, or from its
 * address, or no room to count it (the memory rate-limit store is full; a count is never
 * dropped to make room, see MemoryRateLimitStorage).
 */
export type LockScope = 'user' | 'address' | 'busy';

export type SignInVerdict =
  | { outcome: 'success'; username: string }
  | { outcome: 'wrong' }
  | { outcome: 'locked'; retryAfterSeconds: number; scope: LockScope }
  | { outcome: 'demo_not_local' };

/** What a locked sign-in is told, without a full stop: the caller adds when to try again. */
export function lockedMessage(scope: LockScope): string {
  if (scope === 'user') return 'Too many failed sign-ins for this user name';
  if (scope === 'address') return 'Too many failed sign-ins from your address';
  return 'The connector is counting sign-in attempts from too many addresses at once';
}

/** The refusal of the demo auditor's published password from another machine. */
export const DEMO_NOT_LOCAL =
  'The demo auditor signs in only from this machine; add your own auditor with `concur-launch-connector hash-password` (audit.auditors).';

/** Loopback: 127.0.0.0/8 and ::1 (AddressMatcher also takes ::ffff:127.x.y.z as 127.x.y.z). */
const LOOPBACK = new AddressMatcher(['127.0.0.0/8', '::1']);

const sha256 = (text: string) => createHash('sha256').update(text.normalize('NFC'), 'utf8').digest();
const DEMO_PASSWORD_DIGEST = sha256(DEMO_AUDITOR.password);

/** Whether a password (one that just matched an account's hash) is the published demo password. */
function isDemoPassword(password: string): boolean {
  return timingSafeEqual(sha256(password), DEMO_PASSWORD_DIGEST);
}

/** The sign-in form, or HTTP Basic on the audit API. */
export type SignInChannel = 'form' | 'basic';

export const WRONG_CREDENTIALS = 'User name or password is wrong';

interface Account {
  username: string;
  hash: ScryptHash;
}

/**
 * Judges an auditor's user name and password, and records the sign-in in the audit log.
 *
 * Lockout: every attempt counts against its user name (any case, known or not, under a keyed
 * hash) before the password is judged, and is taken back when it was right; so concurrent
 * guesses cannot get past `signIn.maxFailures`, and once a name is locked even the right
 * password is refused for `signIn.lockoutSeconds`. The counts live in the rate-limit storage,
 * in Redis with REDIS_URL, so a lock holds on every replica.
 *
 * An unknown name is checked against a dummy hash with the same scrypt parameters, and locks
 * after as many attempts: neither the time nor the answer tells which names exist.
 *
 * The demo auditor's password (config/default.yaml; refused outright in production) signs in
 * only from loopback. "From" is the client address as resolved by server.trustProxy (req.ip),
 * not the TCP peer: behind a reverse proxy on the same machine every TCP peer is loopback, so
 * the peer would let the whole network in, while the resolved address is the real client's
 * once the proxy is trusted (and the peer itself when it is not). A refused demo sign-in counts
 * as a failure (audited, and towards both lockouts), so it cannot flood the audit log either.
 */
@Injectable()
export class AuditorSignIn {
  private readonly logger = new Logger(AuditorSignIn.name);
  private readonly accounts = new Map<string, Account>();
  private readonly dummy: ScryptHash;

  constructor(
    config: AppConfig,
    private readonly limiter: RateLimiter,
    private readonly keys: RateLimitKeys,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    for (const { username, passwordHash } of config.audit.auditors) {
      const hash = parsePasswordHash(passwordHash);
      // The configuration check refuses unusable hashes; an account without one can never sign in.
      if (hash) this.accounts.set(username.toLowerCase(), { username, hash });
    }
    const [first] = this.accounts.values();
    this.dummy = dummyHash(first?.hash ?? SCRYPT_DEFAULTS);
  }

  /** The configured spelling of an auditor's name, or undefined when it is not (or no longer) an auditor. */
  auditorNamed(username: string): string | undefined {
    return this.accounts.get(username.toLowerCase())?.username;
  }

  /**
   * Judges the credentials and records failures; a form sign-in's success too (Basic succeeds on every API call).
   * Failures also count against the client address, so new user names cannot be tried without end: each
   * costs a scrypt and an audit event. A refused address is logged, not audited, so it cannot flood the log.
   */
  async attempt(username: string, password: string, channel: SignInChannel, meta: RequestMeta): Promise<SignInVerdict> {
    const address = this.keys.digest('auditor-sign-in-address', normalizeIp(meta.clientIp ?? 'unknown'));
    const byAddress = await this.count('failed_audit_sign_in_ip', address, 'address');
    if (byAddress) {
      this.logger.warn(`auditor sign-in refused [${meta.correlationId}]: ${byAddress.scope === 'busy' ? 'no room to count it (memory rate-limit store full)' : 'too many failed sign-ins from this address'}`);
      return byAddress;
    }
    const verdict = await this.check(username, password, meta.clientIp);
    if (verdict.outcome === 'success') await this.limiter.takeBack('failed_audit_sign_in_ip', address);
    const via = channel === 'basic' ? ' (HTTP Basic)' : '';
    if (verdict.outcome === 'locked') {
      const why = verdict.scope === 'busy' ? 'refused: no room to count failed sign-ins' : 'locked: too many failed sign-ins';
      await this.record('failure', username, `${why}${via}`, meta);
    } else if (verdict.outcome === 'wrong') {
      await this.record('failure', username, `wrong user name or password${via}`, meta);
    } else if (verdict.outcome === 'demo_not_local') {
      await this.record('failure', username, `demo auditor refused: signs in only from this machine${via}`, meta);
    } else if (channel === 'form') {
      await this.record('success', verdict.username, null, meta);
    }
    return verdict;
  }

  /**
   * Judges a user name and password against the lockout and the accounts. `clientIp` is the
   * resolved client address (req.ip); the demo password is refused unless it is loopback.
   */
  async check(username: string, password: string, clientIp: string | null = null): Promise<SignInVerdict> {
    const subject = this.keys.digest('auditor-sign-in', username.toLowerCase());
    const locked = await this.count('failed_audit_sign_in', subject, 'user');
    if (locked) return locked;
    const account = this.accounts.get(username.toLowerCase());
    const matches = await verifyPassword(password, account?.hash ?? this.dummy);
    if (!account || !matches) return { outcome: 'wrong' };
    // Not taken back: a refused demo sign-in counts as a failure.
    if (isDemoPassword(password) && !LOOPBACK.matches(clientIp ?? undefined)) return { outcome: 'demo_not_local' };
    await this.limiter.takeBack('failed_audit_sign_in', subject);
    return { outcome: 'success', username: account.username };
  }

  /** Counts one attempt against a lockout: the locked verdict when refused, else undefined. */
  private async count(name: LimitName, subject: string, scope: LockScope): Promise<Extract<SignInVerdict, { outcome: 'locked' }> | undefined> {
    let verdict: LimitVerdict;
    try {
      verdict = await this.limiter.hit(name, subject);
    } catch (error) {
      if (!(error instanceof RateLimitStoreFull)) throw error;
      this.metrics.rateLimited.inc({ limit: 'memory_store_full' });
      return { outcome: 'locked', retryAfterSeconds: error.retryAfterSeconds, scope: 'busy' };
    }
    if (verdict.allowed) return undefined;
    this.metrics.rateLimited.inc({ limit: name });
    return { outcome: 'locked', retryAfterSeconds: verdict.retryAfterSeconds, scope };
  }

  async recordSignOut(username: string, meta: RequestMeta): Promise<void> {
    await this.audit.record({ type: 'audit.sign_out', outcome: 'success', actingUser: username, ...metaOf(meta) });
  }

  private async record(outcome: 'success' | 'failure', actingUser: string, reason: string | null, meta: RequestMeta): Promise<void> {
    await this.audit.record({ type: 'audit.sign_in', outcome, actingUser, reason, ...metaOf(meta) });
  }
}

function metaOf(meta: RequestMeta) {
  return { correlationId: meta.correlationId, clientIp: meta.clientIp, userAgent: meta.userAgent };
}

import { Injectable, Logger } from '@nestjs/common';
import type { RequestMeta } from '../../common/request-meta.js';
import { AppConfig } from '../../config/index.js';
import { Metrics } from '../../metrics/metrics.service.js';
import { RateLimitKeys } from '../../throttle/rate-limit-keys.js';
import { normalizeIp } from '../../throttle/client-ip.js';
import { RateLimiter } from '../../throttle/rate-limiter.service.js';
import { AuditService } from '../audit.service.js';
import { dummyHash, parsePasswordHash, SCRYPT_DEFAULTS, type ScryptHash, verifyPassword } from './password-hash.js';

export type SignInVerdict =
  | { outcome: 'success'; username: string }
  | { outcome: 'wrong' }
  | { outcome: 'locked'; retryAfterSeconds: number };

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
    const byAddress = await this.limiter.hit('failed_audit_sign_in_ip', address);
    if (!byAddress.allowed) {
      this.metrics.rateLimited.inc({ limit: 'failed_audit_sign_in_ip' });
      this.logger.warn(`auditor sign-in refused [${meta.correlationId}]: too many failed sign-ins from this address`);
      return { outcome: 'locked', retryAfterSeconds: byAddress.retryAfterSeconds };
    }
    const verdict = await this.check(username, password);
    if (verdict.outcome === 'success') await this.limiter.takeBack('failed_audit_sign_in_ip', address);
    const via = channel === 'basic' ? ' (HTTP Basic)' : '';
    if (verdict.outcome === 'locked') {
      await this.record('failure', username, `locked: too many failed sign-ins${via}`, meta);
    } else if (verdict.outcome === 'wrong') {
      await this.record('failure', username, `wrong user name or password${via}`, meta);
    } else if (channel === 'form') {
      await this.record('success', verdict.username, null, meta);
    }
    return verdict;
  }

  async check(username: string, password: string): Promise<SignInVerdict> {
    const subject = this.keys.digest('auditor-sign-in', username.toLowerCase());
    const limit = await this.limiter.hit('failed_audit_sign_in', subject);
    if (!limit.allowed) {
      this.metrics.rateLimited.inc({ limit: 'failed_audit_sign_in' });
      return { outcome: 'locked', retryAfterSeconds: limit.retryAfterSeconds };
    }
    const account = this.accounts.get(username.toLowerCase());
    const matches = await verifyPassword(password, account?.hash ?? this.dummy);
    if (!account || !matches) return { outcome: 'wrong' };
    await this.limiter.takeBack('failed_audit_sign_in', subject);
    return { outcome: 'success', username: account.username };
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

import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { RateLimitStorage } from './rate-limit.storage.js';

/**
 * The limits of config.rateLimit, and the lockouts of config.audit.signIn (auditor sign-ins per
 * user name and per address, /metrics Basic auth per address); also the `limit` label of
 * clc_rate_limited_total. `launch` and `test_connection` are per-address traffic counters, the
 * others failure counters (TRAFFIC_COUNTERS in rate-limit.storage.ts keeps them apart).
 */
export type LimitName =
  | 'launch'
  | 'test_connection'
  | 'failed_test_connection'
  | 'failed_audit_sign_in'
  | 'failed_audit_sign_in_ip'
  | 'failed_metrics_auth';

/** Lockouts that guard passwords, not load: counted even with rateLimit.enabled false. */
const PASSWORD_LOCKOUTS: ReadonlySet<LimitName> = new Set(['failed_audit_sign_in', 'failed_audit_sign_in_ip', 'failed_metrics_auth']);

export interface LimitVerdict {
  allowed: boolean;
  /** Whole seconds until a refused subject may try again; 0 when allowed. */
  retryAfterSeconds: number;
}

const ALLOWED: LimitVerdict = { allowed: true, retryAfterSeconds: 0 };

/**
 * Counts hits of a subject (a client IP, a tenant, an auditor user name) against one of the
 * configured limits. The auditor and /metrics lockouts are counted even with rateLimit.enabled
 * false: they guard passwords, not the connector's load. /metrics Basic auth failures count per
 * client address under the auditor sign-in's per-address policy (maxFailuresPerAddress in
 * lockoutSeconds), in a count of their own.
 *
 * `hit` rejects with RateLimitStoreFull when the memory store has no room for a new subject
 * (see MemoryRateLimitStorage), and with the 503 of sharedStoreUnavailable when Redis fails.
 */
@Injectable()
export class RateLimiter {
  constructor(
    private readonly storage: RateLimitStorage,
    private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.config.rateLimit.enabled;
  }

  /** Counts one hit; refused once the subject is over the limit of its window. */
  async hit(name: LimitName, subject: string): Promise<LimitVerdict> {
    if (!this.counts(name)) return ALLOWED;
    const rule = this.ruleOf(name);
    const windowMs = rule.windowSeconds * 1000;
    // Per-IP limits and the auditor lockout block for a whole window from the refused hit;
    // failed Test Connection logins until their window ends.
    const blockMs = name === 'failed_test_connection' ? 0 : windowMs;
    const record = await this.storage.increment(subject, windowMs, rule.limit, blockMs, name);
    return record.isBlocked ? { allowed: false, retryAfterSeconds: Math.max(1, record.timeToBlockExpire) } : ALLOWED;
  }

  /** Takes back a hit counted by `hit` that turned out not to count (a login that succeeded). */
  async takeBack(name: LimitName, subject: string): Promise<void> {
    if (this.counts(name)) await this.storage.decrement(subject, name);
  }

  private counts(name: LimitName): boolean {
    return PASSWORD_LOCKOUTS.has(name) || this.enabled;
  }

  private ruleOf(name: LimitName): { limit: number; windowSeconds: number } {
    if (PASSWORD_LOCKOUTS.has(name)) {
      const { maxFailures, maxFailuresPerAddress, lockoutSeconds } = this.config.audit.signIn;
      return { limit: name === 'failed_audit_sign_in' ? maxFailures : maxFailuresPerAddress, windowSeconds: lockoutSeconds };
    }
    const limits = this.config.rateLimit;
    return name === 'launch' ? limits.launch : name === 'test_connection' ? limits.testConnection : limits.failedTestConnection;
  }
}

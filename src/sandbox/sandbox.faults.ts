import { Injectable, Logger } from '@nestjs/common';

/** Which calls of the fake Concur a switch applies to. */
export type FaultTarget = 'api' | 'token' | 'any';
export type FaultStatus = 429 | 500 | 502 | 503 | 504;
/** The kind of a call the fake Concur answers. */
export type CallKind = 'api' | 'token';

/** Applies to the next `count` matching calls: wait `delayMs`, then answer `status` or drop the connection. */
export interface FaultSwitch {
  target: FaultTarget;
  status?: FaultStatus;
  retryAfterSeconds?: number;
  delayMs?: number;
  reset?: boolean;
  count: number;
}

/** What one call does, taken from the head of the queue. */
export type AppliedFault = Omit<FaultSwitch, 'count'>;

export class FaultInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultInputError';
  }
}

const TARGETS: readonly FaultTarget[] = ['api', 'token', 'any'];
const STATUSES: readonly number[] = [429, 500, 502, 503, 504];
const SWITCH_KEYS = new Set(['target', 'status', 'retryAfterSeconds', 'delayMs', 'reset', 'count']);
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
const MAX_QUEUE = 100;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function intIn(value: unknown, min: number, max: number, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultInputError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Validates one switch as received from a test (JSON). Throws FaultInputError with a message for the caller. */
export function parseFaultSwitch(raw: unknown): FaultSwitch {
  if (!isRecord(raw)) throw new FaultInputError('a switch must be a JSON object');
  const unknown = Object.keys(raw).filter((key) => !SWITCH_KEYS.has(key));
  if (unknown.length) throw new FaultInputError(`unknown switch key(s): ${unknown.join(', ')}`);
  const target = raw.target ?? 'api';
  if (!TARGETS.includes(target as FaultTarget)) throw new FaultInputError(`target must be one of ${TARGETS.join(', ')}`);
  const fault: FaultSwitch = { target: target as FaultTarget, count: 1 };
  if (raw.status !== undefined) {
    if (!STATUSES.includes(raw.status as number)) throw new FaultInputError(`status must be one of ${STATUSES.join(', ')}`);
    fault.status = raw.status as FaultStatus;
  }
  if (raw.retryAfterSeconds !== undefined) fault.retryAfterSeconds = intIn(raw.retryAfterSeconds, 0, 3600, 'retryAfterSeconds');
  if (raw.delayMs !== undefined) fault.delayMs = intIn(raw.delayMs, 0, 120000, 'delayMs');
  if (raw.reset !== undefined) {
    if (typeof raw.reset !== 'boolean') throw new FaultInputError('reset must be true or false');
    if (raw.reset) fault.reset = true;
  }
  if (raw.count !== undefined) fault.count = intIn(raw.count, 1, 1000, 'count');
  if (fault.retryAfterSeconds !== undefined && fault.status === undefined) {
    throw new FaultInputError('retryAfterSeconds needs a status');
  }
  if (fault.status === undefined && fault.delayMs === undefined && !fault.reset) {
    throw new FaultInputError('a switch needs status, delayMs or reset');
  }
  if (fault.status !== undefined && fault.reset) throw new FaultInputError('status and reset exclude each other');
  return fault;
}

/** What `POST /sandbox/api/faults` may carry. */
export interface FaultRequest {
  switches: FaultSwitch[];
  tokenTtlSeconds?: number;
  /** Access tokens issued until now answer 401, as expired ones do. */
  expireTokens?: boolean;
  /** Access tokens issued until now answer 403 "The OAuth token has expired or been revoked" (http-status-codes.markdown). */
  revokeTokens?: boolean;
}

/**
 * One switch, `{ switches: [...] }`, or `{ tokenTtlSeconds }`, `{ expireTokens: true }` and/or
 * `{ revokeTokens: true }`. Validates all of it, so a bad request changes nothing.
 */
export function parseFaultRequest(raw: unknown): FaultRequest {
  if (!isRecord(raw)) throw new FaultInputError('the body must be a JSON object');
  const controls = ['switches', 'tokenTtlSeconds', 'expireTokens', 'revokeTokens'];
  if (!Object.keys(raw).some((key) => controls.includes(key))) return { switches: [parseFaultSwitch(raw)] };
  const unknown = Object.keys(raw).filter((key) => !controls.includes(key));
  if (unknown.length) throw new FaultInputError(`unknown key(s): ${unknown.join(', ')}`);
  const request: FaultRequest = { switches: [] };
  if (raw.switches !== undefined) {
    if (!Array.isArray(raw.switches) || raw.switches.length === 0) throw new FaultInputError('switches must be a non-empty array');
    request.switches = raw.switches.map((item, i) => {
      try {
        return parseFaultSwitch(item);
      } catch (error) {
        throw new FaultInputError(`switches[${i}]: ${(error as Error).message}`);
      }
    });
  }
  if (raw.tokenTtlSeconds !== undefined) request.tokenTtlSeconds = intIn(raw.tokenTtlSeconds, 1, 86400, 'tokenTtlSeconds');
  if (raw.expireTokens !== undefined) {
    if (raw.expireTokens !== true) throw new FaultInputError('expireTokens must be true');
    request.expireTokens = true;
  }
  if (raw.revokeTokens !== undefined) {
    if (raw.revokeTokens !== true) throw new FaultInputError('revokeTokens must be true');
    request.revokeTokens = true;
  }
  return request;
}

/**
 * Switches that make the next calls of the fake Concur slow, failing or cut off, for tests
 * and demos of the connector's retry paths; plus the lifetime of the tokens it issues, and
 * cut-offs that expire (401) or revoke (403) the access tokens issued so far.
 */
@Injectable()
export class SandboxFaults {
  private readonly logger = new Logger(SandboxFaults.name);
  private queue: FaultSwitch[] = [];
  private ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS;
  private validFrom = 0;
  private notRevokedFrom = 0;

  get tokenTtlSeconds(): number {
    return this.ttlSeconds;
  }

  setTokenTtlSeconds(seconds: number): void {
    this.ttlSeconds = intIn(seconds, 1, 86400, 'tokenTtlSeconds');
  }

  /** Queues validated switches, in order. */
  add(switches: FaultSwitch[]): void {
    if (this.queue.length + switches.length > MAX_QUEUE) {
      throw new FaultInputError(`at most ${MAX_QUEUE} switches may wait at once`);
    }
    this.queue.push(...switches.map((s) => ({ ...s })));
    this.logger.log(`queued ${switches.length} fault switch(es); ${this.queue.length} waiting`);
  }

  /** Applies a validated request of `POST /sandbox/api/faults`. */
  apply(request: FaultRequest, now = Date.now()): void {
    if (request.switches.length) this.add(request.switches);
    if (request.tokenTtlSeconds !== undefined) this.setTokenTtlSeconds(request.tokenTtlSeconds);
    if (request.expireTokens) this.expireTokensIssuedBefore(now);
    if (request.revokeTokens) this.revokeTokensIssuedBefore(now);
  }

  /** Takes one use of the first switch that applies to a call of this kind, if any. */
  take(kind: CallKind): AppliedFault | undefined {
    const index = this.queue.findIndex((s) => s.target === kind || s.target === 'any');
    if (index < 0) return undefined;
    const head = this.queue[index];
    head.count -= 1;
    if (head.count <= 0) this.queue.splice(index, 1);
    const { count: _count, ...applied } = head;
    return applied;
  }

  pending(): FaultSwitch[] {
    return this.queue.map((s) => ({ ...s }));
  }

  /** Access tokens issued before this time (ms since epoch) are refused from now on. */
  expireTokensIssuedBefore(ms: number): void {
    this.validFrom = Math.max(this.validFrom, ms);
  }

  tokensValidFrom(): number {
    return this.validFrom;
  }

  /** Access tokens issued before this time (ms since epoch) are refused as revoked (403) from now on. */
  revokeTokensIssuedBefore(ms: number): void {
    this.notRevokedFrom = Math.max(this.notRevokedFrom, ms);
  }

  tokensNotRevokedFrom(): number {
    return this.notRevokedFrom;
  }

  reset(): void {
    this.queue = [];
    this.ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS;
    this.validFrom = 0;
    this.notRevokedFrom = 0;
  }
}

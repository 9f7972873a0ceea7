import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { RequestMeta } from '../../common/request-meta.js';
import { AppConfig, AuditorAccount } from '../../config/index.js';
import { Metrics } from '../../metrics/metrics.service.js';
import { RateLimitKeys } from '../../throttle/rate-limit-keys.js';
import { MemoryRateLimitStorage } from '../../throttle/rate-limit.storage.js';
import { RateLimiter } from '../../throttle/rate-limiter.service.js';
import type { AuditService } from '../audit.service.js';
import type { AuditEventInput } from '../audit.types.js';
import { AuditorSignIn, DEMO_NOT_LOCAL, lockedMessage } from './auditor-sign-in.service.js';
import { DEMO_AUDITOR, hashPassword } from './password-hash.js';

/** Cheaper parameters than the default, so the many attempts below stay fast. */
const FAST = { N: 1024, r: 8, p: 1 };
const META: RequestMeta = { correlationId: 'corr-1', clientIp: '203.0.113.9', userAgent: 'jest' };

class RecordingAudit {
  readonly events: AuditEventInput[] = [];
  async record(input: AuditEventInput) {
    this.events.push(input);
    return input;
  }
}

let janeHash: string;
let demoHash: string;
beforeAll(async () => {
  janeHash = await hashPassword('jane-password-1', FAST);
  demoHash = await hashPassword(DEMO_AUDITOR.password, FAST);
});

describe(AuditorSignIn.name, () => {
  let now: number;
  let audit: RecordingAudit;
  let metrics: Metrics;
  let signIn: AuditorSignIn;

  const build = (maxFailures = 3, maxKeys?: number) => {
    now = 5_000_000;
    const config = new AppConfig();
    config.audit.auditors = [
      Object.assign(new AuditorAccount(), { username: 'Jane.Auditor', passwordHash: janeHash }),
      Object.assign(new AuditorAccount(), { username: DEMO_AUDITOR.username, passwordHash: demoHash }),
    ];
    config.audit.signIn.maxFailures = maxFailures;
    config.audit.signIn.lockoutSeconds = 900;
    config.audit.signIn.maxFailuresPerAddress = 12;
    audit = new RecordingAudit();
    metrics = new Metrics();
    const limiter = new RateLimiter(new MemoryRateLimitStorage(() => now, maxKeys), config);
    signIn = new AuditorSignIn(config, limiter, RateLimitKeys.random(), audit as unknown as AuditService, metrics);
  };

  beforeEach(() => build());

  it('accepts the right password, any case of the user name, with the configured spelling', async () => {
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'form', META)).resolves.toEqual({ outcome: 'success', username: 'Jane.Auditor' });
    expect(audit.events).toEqual([
      { type: 'audit.sign_in', outcome: 'success', actingUser: 'Jane.Auditor', reason: null, correlationId: 'corr-1', clientIp: '203.0.113.9', userAgent: 'jest' },
    ]);
  });

  it('refuses a wrong password and an unknown user alike, and records both with the name tried', async () => {
    await expect(signIn.attempt('Jane.Auditor', 'wrong', 'form', META)).resolves.toEqual({ outcome: 'wrong' });
    await expect(signIn.attempt('nobody', 'jane-password-1', 'form', META)).resolves.toEqual({ outcome: 'wrong' });
    expect(audit.events.map((e) => [e.type, e.outcome, e.actingUser, e.reason])).toEqual([
      ['audit.sign_in', 'failure', 'Jane.Auditor', 'wrong user name or password'],
      ['audit.sign_in', 'failure', 'nobody', 'wrong user name or password'],
    ]);
    expect(JSON.stringify(audit.events)).not.toContain('jane-password-1');
  });

  it('locks a user name after maxFailures failures: then even the right password is refused', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn.attempt('jane.auditor', `guess-${i}`, 'form', META)).outcome).toBe('wrong');
    now += 1000;
    await expect(signIn.attempt('JANE.AUDITOR', 'jane-password-1', 'form', META)).resolves.toEqual({ outcome: 'locked', retryAfterSeconds: 900, scope: 'user' });
    expect(audit.events.at(-1)).toMatchObject({ outcome: 'failure', actingUser: 'JANE.AUDITOR', reason: 'locked: too many failed sign-ins' });
    expect((await metrics.rateLimited.get()).values).toEqual([expect.objectContaining({ labels: { limit: 'failed_audit_sign_in' }, value: 1 })]);
    now += 900_000;
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'form', META)).resolves.toMatchObject({ outcome: 'success' });
  });

  it('refuses an address that fails with many user names, without auditing each refusal; a success from it still counts nothing', async () => {
    // maxFailuresPerAddress 12: after 12 failures the address is refused.
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'basic', META)).resolves.toMatchObject({ outcome: 'success' });
    for (let i = 0; i < 12; i++) expect((await signIn.attempt(`name-${i}`, 'x', 'basic', META)).outcome).toBe('wrong');
    const recorded = audit.events.length;
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'basic', META)).resolves.toEqual({ outcome: 'locked', retryAfterSeconds: 900, scope: 'address' });
    await expect(signIn.attempt('name-99', 'x', 'basic', META)).resolves.toMatchObject({ outcome: 'locked' });
    expect(audit.events).toHaveLength(recorded);
    expect((await metrics.rateLimited.get()).values).toEqual([expect.objectContaining({ labels: { limit: 'failed_audit_sign_in_ip' }, value: 2 })]);
    // Another address is not affected.
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'basic', { ...META, clientIp: '198.51.100.7' })).resolves.toMatchObject({ outcome: 'success' });
  });

  it('locks an unknown user name after as many attempts as a known one', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn.check('ghost', 'x')).outcome).toBe('wrong');
    await expect(signIn.check('Ghost', 'x')).resolves.toMatchObject({ outcome: 'locked' });
    // The lock is the name's, not everyone's.
    await expect(signIn.check('jane.auditor', 'jane-password-1')).resolves.toMatchObject({ outcome: 'success' });
  });

  it('does not count successful sign-ins towards the lock', async () => {
    for (let i = 0; i < 5; i++) expect((await signIn.check('jane.auditor', 'jane-password-1')).outcome).toBe('success');
    expect((await signIn.check('jane.auditor', 'x')).outcome).toBe('wrong');
    expect((await signIn.check('jane.auditor', 'jane-password-1')).outcome).toBe('success');
  });

  it('records HTTP Basic failures, marked as such, but not each Basic success', async () => {
    await signIn.attempt('jane.auditor', 'jane-password-1', 'basic', META);
    await signIn.attempt('jane.auditor', 'nope', 'basic', META);
    expect(audit.events.map((e) => e.reason)).toEqual(['wrong user name or password (HTTP Basic)']);
  });

  describe('the demo auditor', () => {
    it.each(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])('signs in from loopback (%s)', async (clientIp) => {
      await expect(signIn.attempt('auditor', DEMO_AUDITOR.password, 'form', { ...META, clientIp })).resolves.toEqual({
        outcome: 'success',
        username: 'auditor',
      });
    });

    it.each(['203.0.113.9', '10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', null])(
      'is refused from another address (%s), with a message that says what to do, audited as a failure',
      async (clientIp) => {
        for (const channel of ['form', 'basic'] as const) {
          await expect(signIn.attempt('Auditor', DEMO_AUDITOR.password, channel, { ...META, clientIp })).resolves.toEqual({ outcome: 'demo_not_local' });
        }
        expect(audit.events.map((e) => [e.outcome, e.actingUser, e.reason])).toEqual([
          ['failure', 'Auditor', 'demo auditor refused: signs in only from this machine'],
          ['failure', 'Auditor', 'demo auditor refused: signs in only from this machine (HTTP Basic)'],
        ]);
        expect(DEMO_NOT_LOCAL).toMatch(/^The demo auditor signs in only from this machine; add your own auditor with `concur-launch-connector hash-password`/);
      },
    );

    it('counts a refusal from afar as a failed sign-in: the name locks after maxFailures', async () => {
      for (let i = 0; i < 3; i++) expect((await signIn.attempt('auditor', DEMO_AUDITOR.password, 'form', META)).outcome).toBe('demo_not_local');
      await expect(signIn.attempt('auditor', DEMO_AUDITOR.password, 'form', { ...META, clientIp: '127.0.0.1' })).resolves.toMatchObject({
        outcome: 'locked',
        scope: 'user',
      });
    });

    it('is only the demo password: another account from afar signs in', async () => {
      await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'form', META)).resolves.toMatchObject({ outcome: 'success' });
      // A wrong password from afar is just wrong, whoever's.
      await expect(signIn.attempt('auditor', 'not-the-demo', 'form', META)).resolves.toEqual({ outcome: 'wrong' });
    });
  });

  it('refuses a sign-in it has no room to count (memory store full), without dropping a lock', async () => {
    build(3, 4);
    for (let i = 0; i < 3; i++) await signIn.attempt('jane.auditor', `guess-${i}`, 'form', META);
    // jane's name and 203.0.113.9 hold two of the four failure counters; two more addresses fill it.
    await signIn.attempt('jane.auditor', 'guess-x', 'form', { ...META, clientIp: '198.51.100.1' });
    await signIn.attempt('jane.auditor', 'guess-y', 'form', { ...META, clientIp: '198.51.100.2' });
    const recorded = audit.events.length;
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'form', { ...META, clientIp: '198.51.100.3' })).resolves.toEqual({
      outcome: 'locked',
      retryAfterSeconds: 900,
      scope: 'busy',
    });
    expect(audit.events).toHaveLength(recorded);
    expect((await metrics.rateLimited.get()).values).toContainEqual(expect.objectContaining({ labels: { limit: 'memory_store_full' }, value: 1 }));
    await expect(signIn.attempt('jane.auditor', 'jane-password-1', 'form', META)).resolves.toMatchObject({ outcome: 'locked', scope: 'user' });
    expect(lockedMessage('busy')).toBe('The connector is counting sign-in attempts from too many addresses at once');
  });

  it('records a sign-out', async () => {
    await signIn.recordSignOut('Jane.Auditor', META);
    expect(audit.events).toEqual([
      { type: 'audit.sign_out', outcome: 'success', actingUser: 'Jane.Auditor', correlationId: 'corr-1', clientIp: '203.0.113.9', userAgent: 'jest' },
    ]);
  });

  it('knows which names are configured auditors', () => {
    expect(signIn.auditorNamed('JANE.auditor')).toBe('Jane.Auditor');
    expect(signIn.auditorNamed('bob')).toBeUndefined();
  });
});

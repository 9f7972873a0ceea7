// Concur failing in every way the sandbox can make it fail, on the read (session page) and the
// write (Save), for many launches of every kind, each with its own random plan (seeded and
// printed: CONCUR_FAULTS_SEED=<seed> replays a run). For each launch the user either sees the
// done page with the value, which the sandbox item then holds, or a clear error page (502, a
// reference, Retry) whose Retry succeeds once the faults are gone; no request outlasts the
// bound the configuration gives a Concur call ((maxRetries + 2) attempts, one of them the renewal
// after a 401, each a token refresh and an API call of at most timeoutMs, plus the Retry-After or
// backoff waits: concurCallBoundMs in load.ts), nor the narrower window its own plan gives; every
// update.requested has exactly one outcome and the audit chain verifies.
//
// The app runs in process (test/harness.ts) so the audit can be read through AuditService.
// The sandbox's fault queue is global, so the planned launches run one after another: each
// plan queues exactly the faults its attempts will consume, which the spec then checks.
import { jest } from '@jest/globals';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import type { AuditEvent } from '../../src/audit/audit.types.js';
import { startApp, type Harness } from '../harness.js';
import {
  allTargets,
  Client,
  concurCallBoundMs,
  cookieOf,
  csrfIn,
  describeTarget,
  type Exchange,
  idsOf,
  intBetween,
  itemValue,
  type LaunchTarget,
  lookupCodes,
  pick,
  referenceIn,
  retryFormIn,
  type SandboxIds,
  type SandboxState,
  seededRandom,
  seedFor,
  signedLaunchPath,
  sleep,
  summarize,
  unpairedRequests,
} from './load.js';

// The project's testTimeout in jest.config.js is not applied by Jest (only a global one is).
jest.setTimeout(180_000);

/** Short enough that 40 launches with timeouts fit in a minute; long enough for a loaded CI machine to answer in time. */
const CONCUR = { timeoutMs: 500, maxRetries: 2, retryBaseDelayMs: 40, maxRetryAfterSeconds: 1 };
/** A held answer: past the timeout, so the connector gives up on it and retries. */
const SLOW_MS = CONCUR.timeoutMs + 250;
const LAUNCHES = Number(process.env.CONCUR_FAULTS_LAUNCHES ?? 40);
/** What a request may take beyond the Concur call: rendering, the audit, a busy CI machine. */
const SLACK_MS = 1500;

interface Fault {
  label: string;
  body: Record<string, unknown>;
  slow?: boolean;
  /** Retry-After in seconds (a 429 that names one). */
  retryAfter?: number;
  /** How long the failed attempt itself takes at least: a held answer waits out the timeout. */
  attemptMs?: number;
}

/** Each is one failed attempt, retried by the connector. */
const API_FAULTS: Fault[] = [
  { label: '503', body: { status: 503 } },
  { label: '500', body: { status: 500 } },
  { label: '502', body: { status: 502 } },
  { label: '504', body: { status: 504 } },
  { label: '429', body: { status: 429 } },
  { label: '429 RA0', body: { status: 429, retryAfterSeconds: 0 }, retryAfter: 0 },
  { label: '429 RA1', body: { status: 429, retryAfterSeconds: 1 }, retryAfter: 1 },
  { label: `slow ${SLOW_MS}ms`, body: { delayMs: SLOW_MS }, slow: true, attemptMs: CONCUR.timeoutMs },
  { label: 'reset', body: { reset: true } },
  { label: 'reset after 150ms', body: { delayMs: 150, reset: true }, attemptMs: 150 },
];
/** A Retry-After longer than concur.maxRetryAfterSeconds: not waited for, the user gets Retry at once. */
const LONG_RETRY_AFTER: Fault = { label: '429 RA30', body: { status: 429, retryAfterSeconds: 30 } };
/** The OAuth endpoint failing while the connector renews an expired token; each is one failed attempt. */
const TOKEN_FAULTS: Fault[] = [
  { label: 'token 503', body: { target: 'token', status: 503 } },
  { label: 'token 429', body: { target: 'token', status: 429 } },
  { label: `token slow ${SLOW_MS}ms`, body: { target: 'token', delayMs: SLOW_MS }, slow: true, attemptMs: CONCUR.timeoutMs },
  { label: 'token reset', body: { target: 'token', reset: true } },
];

/**
 * What Concur does during one step. `expire`: the access token the connector holds is revoked
 * first (for the write: between the read and the write), so the API answers 401 once the API
 * faults are used up, and the connector renews the token (the one attempt it does not count),
 * meeting the token faults. The connector fails when the faults reach maxRetries + 1 or a
 * Retry-After is too long.
 */
interface StepPlan {
  expire: boolean;
  api: Fault[];
  token: Fault[];
  fails: boolean;
}

interface LaunchPlan {
  target: LaunchTarget;
  value: string;
  read: StepPlan;
  write: StepPlan;
}

function stepPlan(rng: () => number, step: 'read' | 'write'): StepPlan {
  const expire = rng() < (step === 'write' ? 0.35 : 0.15);
  const fails = rng() < 0.3;
  if (fails && rng() < 0.25) {
    // Some transient faults, then a Retry-After too long to wait for: nothing after it is consumed.
    const api = Array.from({ length: intBetween(rng, 0, CONCUR.maxRetries) }, () => pick(rng, API_FAULTS));
    return { expire, api: [...api, LONG_RETRY_AFTER], token: [], fails: true };
  }
  const n = fails ? CONCUR.maxRetries + 1 : rng() < 0.25 ? 0 : intBetween(rng, 1, CONCUR.maxRetries);
  // Token faults are only met while renewing, which only an expired token makes happen.
  const tokenCount = expire ? intBetween(rng, 0, n) : 0;
  return {
    expire,
    api: Array.from({ length: n - tokenCount }, () => pick(rng, API_FAULTS)),
    token: Array.from({ length: tokenCount }, () => pick(rng, TOKEN_FAULTS)),
    fails,
  };
}

function describeStep(s: StepPlan): string {
  const parts = [...(s.expire ? ['token expired'] : []), ...s.api.map((f) => f.label), ...s.token.map((f) => f.label)];
  return `${parts.length ? parts.join(', ') : 'no fault'} -> ${s.fails ? 'fails' : 'succeeds'}`;
}

function describePlan(p: LaunchPlan): string {
  return `${describeTarget(p.target)} value ${p.value}; read: ${describeStep(p.read)}; write: ${describeStep(p.write)}`;
}

/**
 * How long a step must take, and may take, given its faults: each failed attempt lasts its
 * attemptMs, and each one that is retried is followed by its Retry-After or by the backoff
 * (base * 2^n plus up to base/4 of jitter). The last attempt of a failing step, and a
 * Retry-After too long to wait for, are not followed by a wait.
 */
function stepWindowMs(step: StepPlan): { min: number; max: number } {
  const faults = [...step.api, ...step.token];
  let min = 0;
  let max = 0;
  for (const [n, fault] of faults.entries()) {
    min += fault.attemptMs ?? 0;
    max += fault.attemptMs ?? 0;
    const retried = fault !== LONG_RETRY_AFTER && !(step.fails && n === faults.length - 1);
    if (!retried) continue;
    if (fault.retryAfter !== undefined) {
      min += fault.retryAfter * 1000;
      max += fault.retryAfter * 1000;
    } else {
      min += CONCUR.retryBaseDelayMs * 2 ** n;
      max += CONCUR.retryBaseDelayMs * 2 ** n + Math.floor(CONCUR.retryBaseDelayMs / 4);
    }
  }
  return { min, max };
}

const slowIn = (s: StepPlan) => [...s.api, ...s.token].some((f) => f.slow);

describe('Concur failing on the read and the write of many launches', () => {
  let h: Harness;
  let client: Client;
  let ids: SandboxIds;
  let codes: string[];
  /** The longest one Concur call may take under the app's configuration (concurCallBoundMs, from src/concur/concur.client.ts). */
  let boundMs: number;
  let guard: number;
  /** Every request of the spec that reached the connector's popup routes. */
  const exchanges: Exchange[] = [];
  const launchIds: string[] = [];
  let failedWrites = 0;

  beforeAll(async () => {
    h = await startApp({ concur: CONCUR });
    boundMs = concurCallBoundMs(h.config.concur);
    // The client gives up on a request this much later, so a hang fails the launch rather than the test's timeout.
    guard = boundMs + 10_000;
    client = new Client(Number(new URL(h.origin).port));
    ids = idsOf(await state());
    codes = lookupCodes();
    // Warm the token cache, so a token fault is only ever met where a plan expires the token.
    const warm = await client.get(signedLaunchPath(h.config, h.origin, ids, allTargets(ids)[0]));
    expect((await client.get(warm.headers!.location!, { cookie: cookieOf(warm) })).status).toBe(200);
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
  });

  const state = () => client.json<SandboxState>('GET', '/sandbox/api/state');
  const setFaults = (body: object) => client.json('POST', '/sandbox/api/faults', body);
  /** Re-seeds the sandbox and empties its fault queue (the only way to clear it). */
  const clearFaults = () => client.json('POST', '/sandbox/api/reset', {});

  async function queue(step: StepPlan): Promise<void> {
    const switches = [...step.api, ...step.token].map((f) => f.body);
    if (!switches.length && !step.expire) return;
    await setFaults({ ...(switches.length ? { switches } : {}), ...(step.expire ? { expireTokens: true } : {}) });
  }

  /**
   * Sends and remembers the exchange; a request past the bound of a Concur call fails the launch
   * at once, and so does one outside the window its step's plan gives (with `step`): shorter
   * means a Retry-After or a timeout was not waited for, longer means attempts beyond the plan.
   */
  async function timed(send: Promise<Exchange>, step?: StepPlan): Promise<Exchange> {
    const ex = await send;
    exchanges.push(ex);
    expect(ex.error).toBeUndefined();
    if (ex.ms > boundMs + SLACK_MS) throw new Error(`${summarize(ex)}: longer than the bound of ${boundMs} + ${SLACK_MS} ms`);
    if (step) {
      const { min, max } = stepWindowMs(step);
      // 20 ms: timers may fire a little early relative to this process's clock.
      if (ex.ms < min - 20 || ex.ms > max + SLACK_MS) throw new Error(`${summarize(ex)}: outside the plan's window of ${min} to ${max} (+ ${SLACK_MS}) ms`);
    }
    return ex;
  }

  /** A Concur failure as the user sees it: 502, what happened, a reference (the request's ID) and Retry. */
  function expectConcurErrorPage(ex: Exchange) {
    expect(ex.status).toBe(502);
    expect(ex.headers!['content-type']).toMatch(/^text\/html/);
    expect(ex.body).toContain('Concur is not answering');
    const reference = referenceIn(ex.body);
    expect(reference).toBeDefined();
    expect(reference).toBe(ex.headers!['x-request-id']);
    const retry = retryFormIn(ex.body);
    expect(retry).toBeDefined();
    return { reference: reference!, retry: retry! };
  }

  async function runLaunch(plan: LaunchPlan): Promise<void> {
    const { target, value } = plan;
    const launch = await timed(client.get(signedLaunchPath(h.config, h.origin, ids, target), {}, guard));
    expect(launch.status).toBe(303);
    const location = launch.headers!.location!;
    const cookie = { cookie: cookieOf(launch) };
    launchIds.push(location.split('/').pop()!);

    // The read.
    await queue(plan.read);
    let page = await timed(client.get(location, cookie, guard), plan.read);
    if (plan.read.fails) {
      const { retry } = expectConcurErrorPage(page);
      expect(retry).toEqual({ method: 'GET', action: location, fields: {} });
      expect((await state()).faults).toEqual([]);
      await clearFaults();
      page = await timed(client.get(retry.action, cookie, guard));
    }
    expect(page.status).toBe(200);
    expect((await state()).faults).toEqual([]);
    const csrf = csrfIn(page.body);
    expect(csrf).toBeDefined();

    // The write.
    await queue(plan.write);
    let done = await timed(client.postForm(`${location}/select`, { csrf: csrf!, code: value }, cookie, guard), plan.write);
    let failedReference: string | undefined;
    if (plan.write.fails) {
      const { reference, retry } = expectConcurErrorPage(done);
      failedReference = reference;
      expect(retry).toEqual({ method: 'POST', action: `${location}/select`, fields: { csrf, code: value } });
      expect((await state()).faults).toEqual([]);
      await clearFaults();
      done = await timed(client.postForm(retry.action, retry.fields, cookie, guard));
    }
    expect(done.status).toBe(200);
    expect(done.body).toContain(`data-testid="saved-value">${value}</strong>`);
    const after = await state();
    expect(after.faults).toEqual([]);
    expect(itemValue(after, target)).toBe(value);

    // The audit of this launch: the request before each write, and exactly one outcome for each.
    const events = await h.audit.eventsOfLaunch(location.split('/').pop()!);
    const attempt = (outcome: AuditEvent['type']) => ['update.requested', outcome];
    expect(events.map((e) => e.type)).toEqual([
      'launch.accepted',
      ...(plan.write.fails ? attempt('update.failed') : []),
      ...attempt('update.succeeded'),
    ]);
    if (plan.write.fails) {
      const failed = events[2];
      expect(failed.reason).toMatch(/^unavailable/);
      expect(failed.correlationId).toBe(failedReference);
      failedWrites++;
    }
    expect(events.at(-1)!.newValue).toBe(value);

    // A held answer the connector gave up on still arrives at the sandbox (a write would still
    // be applied): let it land before the next launch writes the same item.
    if (slowIn(plan.read) || slowIn(plan.write)) await sleep(SLOW_MS - CONCUR.timeoutMs + 150);
  }

  it(`${LAUNCHES} launches (v1, v4 header, expense, allocation), each with a random fault plan on the read and the write`, async () => {
    const rng = seededRandom(seedFor('CONCUR_FAULTS_SEED', 'concur faults'));
    const targets = allTargets(ids);
    const plans: LaunchPlan[] = Array.from({ length: LAUNCHES }, () => ({
      target: pick(rng, targets),
      value: pick(rng, codes),
      read: stepPlan(rng, 'read'),
      write: stepPlan(rng, 'write'),
    }));
    for (const [i, plan] of plans.entries()) {
      try {
        await runLaunch(plan);
      } catch (error) {
        (error as Error).message = `launch #${i + 1} (${describePlan(plan)}):\n${(error as Error).message}`;
        throw error;
      }
    }
    const slowest = exchanges.reduce((a, b) => (b.ms > a.ms ? b : a));
    process.stderr.write(
      `[concur faults] ${LAUNCHES} launches: ${plans.filter((p) => p.read.fails).length} reads and ${failedWrites} writes failed then retried; ` +
        `slowest request ${summarize(slowest)}; bound ${boundMs} ms + ${SLACK_MS} ms slack\n`,
    );
    // The plans covered both outcomes of both steps (the seed decides, over 40 launches all but surely).
    if (LAUNCHES >= 20) {
      expect(plans.some((p) => p.read.fails) && plans.some((p) => p.write.fails)).toBe(true);
      expect(plans.some((p) => p.write.expire && p.write.token.length > 0)).toBe(true);
    }
  });

  it('six concurrent launches, one per item, sharing a burst of faults: success or Retry that then succeeds', async () => {
    const rng = seededRandom(seedFor('CONCUR_FAULTS_BURST_SEED', 'concur faults burst'));
    await clearFaults();
    const targets = allTargets(ids);
    const popups = await Promise.all(
      targets.map(async (target) => {
        const launch = await timed(client.get(signedLaunchPath(h.config, h.origin, ids, target), {}, guard));
        expect(launch.status).toBe(303);
        launchIds.push(launch.headers!.location!.split('/').pop()!);
        return { target, value: pick(rng, codes), location: launch.headers!.location!, cookie: { cookie: cookieOf(launch) } };
      }),
    );
    // Faults are taken by whichever call comes next, so who fails is up to the race: each user
    // sees one of the two allowed outcomes, never a hang or a half-done page.
    // Six calls take one fault each per round of attempts, so from 13 faults on some of them meet a third.
    const burst = () => Array.from({ length: intBetween(rng, 6, 18) }, () => pick(rng, [...API_FAULTS, LONG_RETRY_AFTER]).body);
    await setFaults({ switches: burst(), expireTokens: true });
    const pages = await Promise.all(popups.map((p) => timed(client.get(p.location, p.cookie, guard))));
    await clearFaults();
    const csrfs = await Promise.all(
      pages.map(async (page, i) => {
        if (page.status === 200) return csrfIn(page.body)!;
        const { retry } = expectConcurErrorPage(page);
        const again = await timed(client.get(retry.action, popups[i].cookie, guard));
        expect(again.status).toBe(200);
        return csrfIn(again.body)!;
      }),
    );

    await setFaults({ switches: burst(), expireTokens: true });
    const saves = await Promise.all(popups.map((p, i) => timed(client.postForm(`${p.location}/select`, { csrf: csrfs[i], code: p.value }, p.cookie, guard))));
    const saved = await state();
    for (const [i, save] of saves.entries()) {
      if (save.status === 200) {
        expect(save.body).toContain(`data-testid="saved-value">${popups[i].value}</strong>`);
        expect(itemValue(saved, popups[i].target)).toBe(popups[i].value);
      } else {
        expectConcurErrorPage(save);
      }
    }
    const failed = saves.flatMap((s, i) => (s.status === 200 ? [] : [i]));
    // Let held answers land, then clear the faults (which re-seeds the items) and press Retry.
    await sleep(SLOW_MS);
    await clearFaults();
    for (const i of failed) {
      const { retry } = expectConcurErrorPage(saves[i]);
      const done = await timed(client.postForm(retry.action, retry.fields, popups[i].cookie, guard));
      expect(done.status).toBe(200);
      expect(done.body).toContain(`data-testid="saved-value">${popups[i].value}</strong>`);
    }
    const after = await state();
    for (const i of failed) expect(itemValue(after, popups[i].target)).toBe(popups[i].value);
    process.stderr.write(`[concur faults burst] ${pages.filter((p) => p.status !== 200).length} of ${pages.length} concurrent reads and ${failed.length} of ${saves.length} writes failed and were retried\n`);
  });

  it('the audit afterwards: every update.requested has exactly one outcome, nothing is left open, and the chain verifies', async () => {
    const repository = h.app.get(AuditRepository);
    expect(await repository.requestsWithoutOutcome()).toEqual([]);
    const events = await h.audit.latest(1000);
    expect(events.length).toBeLessThan(1000);
    expect(unpairedRequests(events)).toEqual([]);
    const requested = events.filter((e) => e.type === 'update.requested').length;
    const outcomes = events.filter((e) => e.type === 'update.succeeded' || e.type === 'update.failed').length;
    expect(outcomes).toBe(requested);
    // One success per launch (the warm-up launch saved nothing).
    expect(events.filter((e) => e.type === 'update.succeeded').length).toBe(launchIds.length);
    expect(events.filter((e) => e.type === 'update.failed' && e.reason?.startsWith('interrupted'))).toEqual([]);
    expect(await h.audit.verify()).toMatchObject({ intact: true, headSeq: events[0].seq });
  });
});

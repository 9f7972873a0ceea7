/**
 * The forgery corpus (issue 7, reliability item 1): at least 10,000 generated launch URLs against
 * the real app in process. Every signed value altered, truncated, re-encoded, duplicated, swapped
 * between v1 and v4, signed for the wrong tenant or with the wrong algorithm, nonces reused: none
 * accepted, none answered 5xx, while every correctly signed launch with a fresh nonce is accepted.
 *
 * FORGERY_SEED=<int> replays a corpus (FORGERY_SEED=random draws one); FORGERY_RUNS=<n> sets its size.
 * What each mutation must get is decided in forgery-arbitraries.ts from CONCUR-PROTOCOL.md.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { sandboxIds, startApp, type Harness } from '../harness.js';
import { caseArb, type Case, type Ctx, type Expect, materialise, OP_NAMES, signVector, type Step, type TenantDef, type Version } from './forgery-arbitraries.js';

const RUNS = Number(process.env.FORGERY_RUNS ?? 10_000);
const SEED = process.env.FORGERY_SEED === 'random' ? (Math.random() * 2 ** 31) | 0 : Number(process.env.FORGERY_SEED ?? 20260707);
const CONCURRENCY = 12;

const defaults = parse(readFileSync(join(import.meta.dirname, '..', '..', 'config', 'default.yaml'), 'utf8'));
const sandbox = defaults.tenants[0];
/** A second tenant whose v4 registration still uses HMAC-SHA1 (CONCUR-PROTOCOL.md section 3), with two domains. */
const globex = {
  ...sandbox,
  id: 'globex',
  name: 'Globex (forgery corpus)',
  companyDomains: ['globex.example', 'eu.globex.example'],
  connector: { username: 'GlobexLEUConnector', password: 'vEry-Long_pa55word' },
  launch: { versions: [1, 4], v4Algorithm: 'sha1' },
  fields: { v1: { field: 'Custom5' }, v4: { header: ['custom12', 'orgUnit2'], entry: ['custom12'], allocation: ['custom9', 'custom12'] } },
};
/** A third, v4 only, whose password has a space and a non-ASCII letter. */
const initech = {
  ...sandbox,
  id: 'initech',
  name: 'Initech (forgery corpus)',
  companyDomains: ['initech.example'],
  connector: { username: 'InitechConnector01', password: 'initech Pässwort 2026' },
  launch: { versions: [4], v4Algorithm: 'sha256' },
  fields: { v4: { header: ['custom3'], entry: ['custom3'], allocation: ['custom3'] } },
};

interface Result {
  c: Case;
  step: Step;
  status: number;
  accepted: boolean;
  /** race steps: how many of the parallel copies were accepted */
  acceptedCopies?: number;
  error?: string;
}

describe('forgery corpus: generated launch URLs, none forged accepted, every genuine one accepted', () => {
  let h: Harness;
  let ctx: Ctx;
  let agent: http.Agent;
  let port: number;
  const results: Result[] = [];
  let cases: Case[] = [];
  let seconds = 0;

  function get(path: string): Promise<{ status: number; location?: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  const isAccepted = (r: { status: number; location?: string }) => r.status === 303 && /^\/launch\/s\/[^/?#]+$/.test(r.location ?? '');

  async function run(c: Case): Promise<void> {
    for (const step of c.steps) {
      try {
        if (step.parallel) {
          const answers = await Promise.all(Array.from({ length: step.parallel }, () => get(step.url)));
          const acceptedCopies = answers.filter(isAccepted).length;
          const worst = Math.max(...answers.map((a) => a.status));
          results.push({ c, step, status: worst, accepted: acceptedCopies > 0, acceptedCopies });
        } else {
          const answer = await get(step.url);
          results.push({ c, step, status: answer.status, accepted: isAccepted(answer) });
        }
      } catch (error) {
        results.push({ c, step, status: 0, accepted: false, error: (error as Error).message });
      }
    }
  }

  beforeAll(async () => {
    h = await startApp({
      tenants: [sandbox, globex, initech],
      // The harness's launch limit (100,000 a minute) would do; this one (the most the config allows) lets FORGERY_RUNS grow.
      rateLimit: { launch: { limit: 1_000_000, windowSeconds: 60 } },
    });
    port = Number(new URL(h.origin).port);
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 6 });
    const tenants: TenantDef[] = h.config.tenants.map((t) => ({
      id: t.id,
      domains: t.companyDomains,
      username: t.connector.username,
      password: t.connector.password,
      versions: t.launch.versions as Version[],
      v4Algorithm: t.launch.v4Algorithm,
      v4Fields: { HEADER: t.fields.v4.header, ENTRY: t.fields.v4.entry, ALLOCATION: t.fields.v4.allocation },
    }));
    ctx = { origin: h.origin, paths: { 1: h.config.paths.v1Launch, 4: h.config.paths.v4Launch }, tenants, ids: await sandboxIds(h) };

    const specs = fc.sample(caseArb(ctx), { seed: SEED, numRuns: RUNS });
    cases = specs.map((spec, index) => materialise(ctx, spec, index));

    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) await run(cases[next++]);
      }),
    );
    seconds = (performance.now() - started) / 1000;
    process.stdout.write(summary());
  }, 180_000);

  afterAll(async () => {
    agent?.destroy();
    await h?.close();
  });

  const describeResult = (r: Result) =>
    `#${r.c.index} ${r.c.kind} v${r.c.version}@${r.c.tenant} [${r.step.expect}${r.step.followUp ? ', original after forgery' : ''}] -> ${r.error ?? r.status}: ${r.step.url.slice(0, 1200)}`;
  const failures = (pred: (r: Result) => boolean) => {
    const hits = results.filter(pred);
    return { count: hits.length, first: hits.slice(0, 8).map(describeResult) };
  };
  const none = { count: 0, first: [] };
  const is = (...expects: Expect[]) => (r: Result) => expects.includes(r.step.expect);
  const is4xx = (status: number) => status >= 400 && status < 500;

  function summary(): string {
    const histogram = (rs: Result[]) => {
      const counts = new Map<string, number>();
      for (const r of rs) {
        const key = r.error ? 'error' : r.accepted ? '303' : String(r.status);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}:${n}`).join(' ');
    };
    const generated = results.filter((r) => !r.step.followUp).reduce((n, r) => n + (r.step.parallel ?? 1), 0);
    const lines = [
      '',
      `forgery corpus: seed ${SEED} (FORGERY_SEED to replay), ${cases.length} cases, ${generated} generated URLs + ${results.filter((r) => r.step.followUp).length} originals re-sent after forgeries, ${seconds.toFixed(1)} s`,
      `  all answers        ${histogram(results)}`,
    ];
    for (const expect of ['accept', 'refuse', 'forgery', 'replay', 'tolerated', 'race'] as const) {
      lines.push(`  ${expect.padEnd(18)} ${histogram(results.filter((r) => r.step.expect === expect && !r.step.followUp))}`);
    }
    lines.push(`  original after forgery (nonce unused)     ${histogram(results.filter((r) => r.step.followUp && r.step.expect === 'accept'))}`);
    const observed = results.filter((r) => r.step.followUp && r.step.expect === 'observe');
    const burnedBy = new Map<string, number>();
    for (const r of observed) if (!r.accepted) burnedBy.set(r.c.kind, (burnedBy.get(r.c.kind) ?? 0) + 1);
    lines.push(
      `  original after forgery whose MAC matched  ${histogram(observed)}${burnedBy.size ? ` (nonce used up by: ${[...burnedBy].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`,
    );
    lines.push('  by kind (the mutated URL of each case; expected; answers):');
    const kinds = new Map<string, Result[]>();
    for (const r of results) {
      // The mutated URL of each case: not the original sent before a replay, nor the one after a forgery.
      const primary = r.c.steps.find((s) => !s.followUp && s.expect !== 'accept') ?? r.c.steps[0];
      if (r.step === primary) kinds.set(r.c.kind, [...(kinds.get(r.c.kind) ?? []), r]);
    }
    for (const [kind, rs] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`    ${kind.padEnd(46)} ${String(rs.length).padStart(4)}  ${rs[0].step.expect.padEnd(9)} ${histogram(rs)}`);
    }
    return `${lines.join('\n')}\n`;
  }

  it('the test signs as Concur does: its independent signer reproduces the published vectors', () => {
    const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'signature-vectors.json'), 'utf8')).vectors;
    for (const v of vectors) expect(signVector(v)).toBe(v.signature);
  });

  it(`sends at least ${RUNS} generated launch URLs, every kind of mutation many times`, () => {
    expect(cases.length).toBe(RUNS);
    const generated = results.filter((r) => !r.step.followUp).length;
    expect(generated).toBeGreaterThanOrEqual(RUNS);
    const byOp = new Map<string, number>();
    for (const c of cases) byOp.set(c.op, (byOp.get(c.op) ?? 0) + 1);
    const rare = OP_NAMES.filter((op) => (byOp.get(op) ?? 0) < Math.min(20, RUNS / 500));
    expect(rare).toEqual([]);
    expect(results.filter((r) => r.step.expect === 'forgery').length).toBeGreaterThan(RUNS / 2);
  });

  it('accepts no forgery and no replay, and answers each with a 4xx', () => {
    expect(failures((r) => is('forgery', 'replay')(r) && (r.accepted || !is4xx(r.status)))).toEqual(none);
  });

  it('answers nothing with a 5xx or a dropped connection', () => {
    expect(failures((r) => r.status >= 500 || r.status === 0)).toEqual(none);
  });

  it('accepts every correctly signed launch with a fresh nonce', () => {
    const genuine = results.filter((r) => r.step.expect === 'accept' && !r.step.followUp);
    expect(genuine.length).toBeGreaterThan(RUNS / 10);
    expect(failures((r) => r.step.expect === 'accept' && !r.step.followUp && !r.accepted)).toEqual(none);
  });

  it('refuses, with a 4xx, correctly signed launches that are not acceptable for another reason', () => {
    expect(failures((r) => r.step.expect === 'refuse' && (r.accepted || !is4xx(r.status)))).toEqual(none);
  });

  it('answers launches in spellings the protocol does not define with 303 or a 4xx', () => {
    expect(failures((r) => is('tolerated', 'observe')(r) && !r.accepted && !is4xx(r.status))).toEqual(none);
  });

  it('a refused forgery does not use up the nonce: the original URL is accepted after it', () => {
    const after = results.filter((r) => r.step.followUp && r.step.expect === 'accept');
    expect(after.length).toBeGreaterThan(RUNS / 4);
    expect(failures((r) => r.step.followUp === true && r.step.expect === 'accept' && !r.accepted)).toEqual(none);
  });

  it('one fresh URL sent six times at once is accepted exactly once', () => {
    const races = results.filter((r) => r.step.expect === 'race');
    expect(races.length).toBeGreaterThan(0);
    expect(failures((r) => r.step.expect === 'race' && (r.acceptedCopies !== 1 || r.status >= 500))).toEqual(none);
  });

  it('the audit chain stays intact through all of it', async () => {
    expect(await h.audit.verify()).toMatchObject({ intact: true });
  }, 60_000);
});

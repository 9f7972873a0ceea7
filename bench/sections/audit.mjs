// Audit log: how fast the app appends (AuditService.record(), as every launch and update does),
// on SQLite (a file, as the embedded default opens it: WAL, synchronous=FULL) and PostgreSQL,
// one at a time, with concurrent callers and (PostgreSQL) two replicas under the append lock,
// the hash chain verified after; then filtered pages and a CSV export of everything over a log
// of 1,000,000 events (short: 20,000), seeded and cached by bench/audit.mjs's machinery
// (bench/lib/audit-data.mjs: bench/.cache and clc_bench_audit_<N>_<key>), the export in a process
// of its own with its RSS sampled every 50 ms (bench/lib/export-run.mjs).
// Without a reachable PostgreSQL its rows say skipped. `npm run bench:audit` has every filter,
// the query plans, subset exports, the HTTP export and verify() of the large log.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { adminQuery, defaultPgAdminUrl, preparePostgres, prepareSqlite, reachable, runExportChild, urlOf } from '../lib/audit-data.mjs';
import { appendFor, appendInputs, appendReplicas, migrate, openAppender } from '../lib/audit-append.mjs';
import { prng } from '../lib/dataset.mjs';
import { fmtInt } from '../lib/dist.mjs';
import { fmtMs, percentile, round } from '../lib/popup-flow.mjs';
import { openService } from '../lib/service.mjs';

export const title = 'Audit log';

const SEED = 42; // bench/audit.mjs's default: the same cached databases
const CONCURRENCY = 16;
const REPLICAS = 2;
const PAGE_SIZE = 50;
const DEEP_PAGE = 20;
const TARGETS = { exportPeakRssBytes: 250 * 1024 * 1024, pageP99Ms: 100 };
const MB = 1024 * 1024;
const mb = (bytes) => `${Math.round(bytes / MB)} MB`;
const perSecond = (r) => r.appended / r.seconds;
const rate = (n) => `${fmtInt(n)}/s`;
const DB_NAME = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

// ---------------------------------------------------------------------------------------------
// Appends

async function appends(dialect, target, { seconds, inputs, log }) {
  const name = DB_NAME[dialect];
  const { service, close } = await openAppender(dialect, target);
  const figures = {};
  const rows = [];
  try {
    const warm = await appendFor(service, inputs, { seconds: 0.3 }); // warm-up (JIT, connections)
    const one = await appendFor(service, inputs, { seconds });
    const many = await appendFor(service, inputs, { seconds, concurrency: CONCURRENCY });
    log(`  ${name}: one at a time ${rate(perSecond(one))} (p50 ${fmtMs(percentile(one.times, 50))}, p99 ${fmtMs(percentile(one.times, 99))}); ${CONCURRENCY} callers ${rate(perSecond(many))} (p99 wait ${fmtMs(percentile(many.times, 99))})`);
    rows.push(
      {
        metric: `${name} appends, one at a time`,
        value: rate(perSecond(one)),
        target: '',
        status: 'INFO',
        note: `AuditService.record() for ${seconds} s; each p50 ${fmtMs(percentile(one.times, 50))}, p99 ${fmtMs(percentile(one.times, 99))}`,
      },
      {
        metric: `${name} appends, ${CONCURRENCY} concurrent callers`,
        value: rate(perSecond(many)),
        target: '',
        status: 'INFO',
        note: `one process (its append queue); a caller waits p50 ${fmtMs(percentile(many.times, 50))}, p99 ${fmtMs(percentile(many.times, 99))}`,
      },
    );
    figures[`audit${name}AppendsPerSecond`] = Math.round(perSecond(one));
    figures[`audit${name}AppendP99Ms`] = round(percentile(one.times, 99), 3);
    figures[`audit${name}AppendsPerSecondConcurrent`] = Math.round(perSecond(many));
    let appended = warm.appended + one.appended + many.appended;
    if (dialect === 'postgres') {
      const outcomes = await appendReplicas({ target, replicas: REPLICAS, concurrency: CONCURRENCY / REPLICAS, seconds });
      appended += outcomes.reduce((n, o) => n + o.appended, 0);
      const together = outcomes.reduce((n, o) => n + o.appended / o.seconds, 0);
      log(`  ${name}: ${REPLICAS} replicas x ${CONCURRENCY / REPLICAS} callers ${rate(together)} together (p99 wait ${outcomes.map((o) => fmtMs(o.p99)).join(', ')})`);
      rows.push({
        metric: `${name} appends, ${REPLICAS} replicas x ${CONCURRENCY / REPLICAS} callers`,
        value: rate(together),
        target: '',
        status: 'INFO',
        note: `${REPLICAS} processes on one log under its advisory lock; p99 wait ${outcomes.map((o) => fmtMs(o.p99)).join(' / ')}`,
      });
      figures[`audit${name}AppendsPerSecondReplicas`] = Math.round(together);
    }
    // Everything appended above, by every process, must form one intact chain.
    const head = await service.head();
    const started = performance.now();
    const verification = await service.verify();
    const verifySeconds = (performance.now() - started) / 1000;
    // Intact, and holding every event appended: none lost or duplicated between the replicas.
    const intact = verification.intact && verification.count === appended && head.seq === appended && verification.headHash === head.hash;
    log(`  ${name}: verify() of the ${fmtInt(head.seq)} appended events: ${verification.intact ? `intact, ${fmtInt(verification.count)} events` : `BROKEN at #${verification.brokenAt}: ${verification.why}`} (${verifySeconds.toFixed(2)} s)`);
    rows.push({
      metric: `${name} hash chain after the appends`,
      value: verification.intact ? `intact, ${fmtInt(verification.count)} events` : `BROKEN at #${verification.brokenAt}`,
      target: 'intact',
      status: intact ? 'PASS' : 'MISS',
      note: verification.intact
        ? `verify() recomputed every hash (HMAC-SHA256 under the chain key) and link in ${verifySeconds.toFixed(2)} s (${fmtInt(head.seq / verifySeconds)} events/s); head #${fmtInt(head.seq)}, ${fmtInt(appended)} record() calls resolved${head.seq === appended ? '' : ': COUNTS DIFFER'}`
        : verification.why,
    });
    figures[`audit${name}AppendChainIntact`] = intact;
    figures[`audit${name}VerifyEventsPerSecond`] = Math.round(head.seq / verifySeconds);
    return { rows, figures };
  } finally {
    await close();
  }
}

async function sqliteAppends(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'clc-bench-append-'));
  const file = join(dir, 'connector.db');
  try {
    await migrate('sqlite', file);
    return await appends('sqlite', file, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresAppends(adminUrl, opts) {
  const database = `clc_bench_append_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${database}`);
  try {
    const url = urlOf(adminUrl, database);
    await migrate('postgres', url);
    return await appends('postgres', url, opts);
  } finally {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

// ---------------------------------------------------------------------------------------------
// A large log: filtered pages and the export of everything

const DAY_MS = 86_400_000;
const reportOf = (url) => /^(.*\/reports\/[^/]+)/.exec(url)?.[1] ?? url;

/** Filters an auditor uses, with values from events picked at random (busy tenants and users come up more). */
const FILTERS = [
  { name: 'tenant', needs: 'tenant_id', make: (r) => ({ tenantId: r.tenant_id }) },
  { name: 'user', needs: 'acting_user', make: (r) => ({ actingUser: r.acting_user }) },
  { name: 'report', needs: 'item_url', make: (r) => ({ item: reportOf(r.item_url) }) },
  {
    name: 'tenant + 30 days',
    needs: 'tenant_id',
    make: (r) => {
      const day = Date.parse(`${r.occurred_at.slice(0, 10)}T00:00:00.000Z`);
      return { tenantId: r.tenant_id, from: new Date(day - 15 * DAY_MS).toISOString(), to: new Date(day + 15 * DAY_MS).toISOString() };
    },
  },
  { name: 'type=update.failed', make: () => ({ type: 'update.failed' }) },
];

async function pages(dialect, target, runs) {
  const { repository, service, close } = await openService(dialect, target);
  try {
    const head = await service.head();
    const rand = prng(SEED + 13);
    const sample = async (needs) => {
      for (let tries = 0; ; tries++) {
        const row = await repository.findBySeq(1 + Math.floor(rand() * head.seq));
        if (row && (!needs || row[needs] !== null) || tries > 200) return row;
      }
    };
    const first = [];
    const deep = [];
    const byFilter = [];
    for (const filter of FILTERS) {
      await service.search(filter.make(await sample(filter.needs)), PAGE_SIZE); // warm-up
      const times = [];
      for (let i = 0; i < runs; i++) {
        const value = filter.make(await sample(filter.needs));
        let t = performance.now();
        let page = await service.search(value, PAGE_SIZE);
        times.push(performance.now() - t);
        // Deep pages: follow the cursor where there are that many.
        for (let n = 2; n <= DEEP_PAGE && page.nextCursor; n++) {
          t = performance.now();
          page = await service.search(value, PAGE_SIZE, page.nextCursor);
          if (n === DEEP_PAGE) deep.push(performance.now() - t);
        }
      }
      first.push(...times);
      byFilter.push({ name: filter.name, p50: percentile(times, 50), p99: percentile(times, 99) });
    }
    return { headSeq: head.seq, first, deep, byFilter };
  } finally {
    await close();
  }
}

async function largeLog(dialect, prepared, { events, runs, log }) {
  const name = DB_NAME[dialect];
  const target = dialect === 'sqlite' ? prepared.file : prepared.url;
  const rows = [];
  const figures = {};
  const seeded = prepared.seed.reused ? 'cached' : `seeded in ${prepared.seed.seconds.toFixed(0)} s`;

  const q = await pages(dialect, target, runs);
  const firstP99 = percentile(q.first, 99);
  const deepP99 = percentile(q.deep, 99);
  log(`  ${name}, ${fmtInt(q.headSeq)} events: first page p50 ${fmtMs(percentile(q.first, 50))} p99 ${fmtMs(firstP99)}; page ${DEEP_PAGE} p99 ${fmtMs(deepP99)} (${q.deep.length} runs) — ${q.byFilter.map((f) => `${f.name} ${fmtMs(f.p99)}`).join(', ')}`);
  rows.push(
    {
      metric: `${name} filtered page p99, ${fmtInt(q.headSeq)} events`,
      value: `${fmtMs(firstP99)} first; ${fmtMs(deepP99)} page ${DEEP_PAGE}`,
      target: `<= ${TARGETS.pageP99Ms} ms`,
      status: firstP99 <= TARGETS.pageP99Ms && (deepP99 ?? 0) <= TARGETS.pageP99Ms ? 'PASS' : 'MISS',
      note: `search(filter, ${PAGE_SIZE}) x ${runs} values of each: ${q.byFilter.map((f) => `${f.name} ${fmtMs(f.p99)}`).join(', ')} (first page p99); bench:audit's yardstick; data ${seeded}`,
    },
  );
  figures[`audit${name}PageP50Ms`] = round(percentile(q.first, 50), 3);
  figures[`audit${name}PageP99Ms`] = round(firstP99, 3);
  figures[`audit${name}Page${DEEP_PAGE}P99Ms`] = round(deepP99, 3);

  const r = await runExportChild({ dialect, target, mode: 'export', filter: {} });
  const ok = r.rssPeak < TARGETS.exportPeakRssBytes;
  log(`  ${name}: export of all ${fmtInt(r.rows)} events to CSV: ${r.seconds.toFixed(1)} s, ${fmtInt(r.rows / r.seconds)} rows/s, ${mb(r.bytes)}; peak RSS ${mb(r.rssPeak)} (+${mb(r.rssGrowth)} over ${mb(r.rssBaseline)} before)`);
  rows.push({
    metric: `${name} CSV export of all ${fmtInt(r.rows)} events`,
    value: `${r.seconds.toFixed(1)} s, peak RSS ${mb(r.rssPeak)}`,
    target: `peak RSS < ${mb(TARGETS.exportPeakRssBytes)}`,
    status: ok ? 'PASS' : 'MISS',
    note: `${fmtInt(r.rows / r.seconds)} rows/s, ${mb(r.bytes)} of CSV to a null sink; the process's peak RSS, +${mb(r.rssGrowth)} over its ${mb(r.rssBaseline)} before the export (${r.samples} samples)`,
  });
  figures[`audit${name}ExportRows`] = r.rows;
  figures[`audit${name}ExportSeconds`] = round(r.seconds, 2);
  figures[`audit${name}ExportRowsPerSecond`] = Math.round(r.rows / r.seconds);
  figures[`audit${name}ExportPeakRssMb`] = Math.round(r.rssPeak / MB);
  figures[`audit${name}ExportRssGrowthMb`] = Math.round(r.rssGrowth / MB);
  return { rows, figures };
}

// ---------------------------------------------------------------------------------------------

export async function run({ short, log }) {
  const events = short ? 20_000 : 1_000_000;
  const seconds = short ? 2 : 10;
  const runs = short ? 10 : 30;
  const adminUrl = defaultPgAdminUrl();
  const rows = [];
  const figures = { auditLogEvents: events, auditAppendSeconds: seconds };
  const add = (part) => {
    rows.push(...part.rows);
    Object.assign(figures, part.figures);
  };
  const pgUp = await reachable(adminUrl);
  const pgSkipped = (what) => ({
    metric: `PostgreSQL ${what}`,
    value: 'skipped',
    target: '',
    status: 'INFO',
    note: `skipped: PostgreSQL is not reachable at ${new URL(adminUrl).host} (set BENCH_DATABASE_URL)`,
  });

  log(`appends for ${seconds} s each (fresh databases)`);
  const inputs = appendInputs(20_000);
  add(await sqliteAppends({ seconds, inputs, log }));
  if (pgUp) add(await postgresAppends(adminUrl, { seconds, inputs, log }));
  else rows.push(pgSkipped('appends'));

  log(`a log of ${fmtInt(events)} events (bench/.cache; seeding takes minutes the first time for 1,000,000)`);
  const sqlite = await prepareSqlite({ events, seed: SEED, log: (line) => log(`  ${line}`) });
  add(await largeLog('sqlite', sqlite, { events, runs, log }));
  if (pgUp) {
    const postgres = await preparePostgres({ adminUrl, events, seed: SEED, log: (line) => log(`  ${line}`) });
    add(await largeLog('postgres', postgres, { events, runs, log }));
  } else {
    rows.push(pgSkipped(`filtered pages and export, ${fmtInt(events)} events`));
  }
  figures.auditPostgres = pgUp ? 'measured' : 'skipped: not reachable';
  return { figures, rows };
}

#!/usr/bin/env node
// Benchmark of the audit log's reads with a large log (issue 5, item 7 "Speed"): filtered pages
// (first and deep) for every filter with their query plans, exports of everything and of subsets
// (time, rows/s, peak memory), verify(); on SQLite and, when reachable, PostgreSQL. A benchmark,
// not a test: it prints figures and PASS/MISS against the targets, and writes
// bench/results/audit-latest.json. See bench/README.md.
//
//   npm run bench:audit                               1,000,000 events, both databases
//   npm run bench:audit -- --events 20000 --quick     a quick look
//
// Options: --events N, --quick (fewer runs per filter, fewer pages), --runs N, --pages N,
// --only sqlite|postgres, --postgres URL (an admin URL: the benchmark creates its own databases;
// default $BENCH_DATABASE_URL, $TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test),
// --reseed (ignore the cached databases), --no-http, --seed N.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CompiledQuery } from 'kysely';
import { ACTIVE, prng } from './lib/dataset.mjs';
import * as auditData from './lib/audit-data.mjs';
import { DIST, ROOT, fmtInt, fromDist, parseArgs } from './lib/dist.mjs';
import { get, startConnector } from './lib/connector.mjs';
import { startRssSampler } from './lib/rss-sampler.mjs';
import { BENCH_CHAIN_KEY, openService } from './lib/service.mjs';

const args = parseArgs(process.argv.slice(2), {
  events: 'number', quick: 'flag', runs: 'number', pages: 'number', only: 'string', postgres: 'string', reseed: 'flag',
  'no-http': 'flag', seed: 'number', help: 'flag',
});
if (args.help) {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const EVENTS = args.events ?? 1_000_000;
const SEED = args.seed ?? 42;
const RUNS = args.runs ?? (args.quick ? 10 : 50);
const PAGES = args.pages ?? (args.quick ? 5 : 20);
const PAGE_SIZE = 50;
/** Stop sampling a filter once it has taken this long (a slow filter must not hold the whole run). */
const FILTER_BUDGET_MS = args.quick ? 15_000 : 60_000;
const PG_ADMIN_URL = args.postgres ?? auditData.defaultPgAdminUrl();
const CACHE = auditData.CACHE;
const RESULTS = join(ROOT, 'bench', 'results');
if (args.only && !['sqlite', 'postgres'].includes(args.only)) throw new Error('--only: sqlite or postgres');

/** Targets; the page latencies are this benchmark's own yardstick, the memory one is the issue's. */
const TARGETS = { pageP99Ms: 100, exportRssGrowthBytes: 250 * 1024 * 1024 };

const MB = 1024 * 1024;
const log = (...a) => console.log(...a);
const ms = (x) => (x === null || x === undefined ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : fmtInt(x));
const mb = (bytes) => `${(bytes / MB).toFixed(0)} MB`;

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const cacheKey = () => auditData.cacheKey(EVENTS, SEED);

// ---------------------------------------------------------------------------------------------
// Databases (bench/lib/audit-data.mjs, shared with bench/sections/audit.mjs)

const prepareSqlite = (key) => auditData.prepareSqlite({ events: EVENTS, seed: SEED, key, reseed: args.reseed, log });
const reachable = auditData.reachable;
const adminQuery = (text) => auditData.adminQuery(PG_ADMIN_URL, text);
const urlOf = (database) => auditData.urlOf(PG_ADMIN_URL, database);
const preparePostgres = (key) => auditData.preparePostgres({ adminUrl: PG_ADMIN_URL, events: EVENTS, seed: SEED, key, reseed: args.reseed, log });

// ---------------------------------------------------------------------------------------------
// Filters

const DAY_MS = 86_400_000;
const dayOf = (iso) => Date.parse(`${iso.slice(0, 10)}T00:00:00.000Z`);
const range = (start, days) => ({ from: new Date(start).toISOString(), to: new Date(start + days * DAY_MS).toISOString() });
const reportOf = (url) => /^(.*\/reports\/[^/]+)/.exec(url)?.[1] ?? url;

/**
 * Each case makes `RUNS` filters from events picked at random (so values are weighted as the
 * log is: busy tenants and users come up more often), or cycles through the fixed values.
 */
/** A company domain of some other tenant (the generator's tenants use <tenant>.com). */
const otherDomain = (tenant, i) => ['acme.com', 'globex.com', 'initech.com'].filter((d) => d !== `${tenant}.com`)[i % 2];

function filterCases(types) {
  if (!ACTIVE.nakatomi) throw new Error('the data set no longer has a tenant that left: update the cases');
  const rareTypes = ['update.failed', 'launch.rejected', 'update.succeeded', 'launch.accepted', 'audit.read'];
  return [
    { name: 'tenant', needs: 'tenant_id', make: (r) => ({ tenantId: r.tenant_id }) },
    // A tenant that left long ago: its events all lie at the old end of the seq order.
    { name: 'tenant (left 20 months ago)', make: () => ({ tenantId: 'nakatomi' }) },
    { name: 'company domain', needs: 'company_domain', make: (r) => ({ companyDomain: r.company_domain }) },
    { name: 'user', needs: 'acting_user', make: (r) => ({ actingUser: r.acting_user }) },
    { name: 'report owner', needs: 'report_owner', make: (r) => ({ reportOwner: r.report_owner }) },
    { name: 'item (report URL prefix)', needs: 'item_url', make: (r) => ({ item: reportOf(r.item_url) }) },
    { name: 'field', needs: 'field', make: (r) => ({ field: r.field }) },
    { name: 'type', make: (_, i) => ({ type: types[i % types.length] }) },
    { name: 'outcome', make: (_, i) => ({ outcome: ['success', 'failure', 'pending'][i % 3] }) },
    { name: 'launch', needs: 'launch_id', make: (r) => ({ launchId: r.launch_id }) },
    { name: 'correlation', needs: 'correlation_id', make: (r) => ({ correlationId: r.correlation_id }) },
    { name: 'time range (1 day)', make: (r) => range(dayOf(r.occurred_at), 1) },
    { name: 'time range (90 days)', make: (r) => range(dayOf(r.occurred_at) - 45 * DAY_MS, 90) },
    { name: 'tenant + type', needs: 'tenant_id', make: (r, i) => ({ tenantId: r.tenant_id, type: rareTypes[i % rareTypes.length] }) },
    { name: 'tenant + 1 day', needs: 'tenant_id', make: (r) => ({ tenantId: r.tenant_id, ...range(dayOf(r.occurred_at), 1) }) },
    { name: 'type + 30 days', make: (r, i) => ({ type: rareTypes[i % rareTypes.length], ...range(dayOf(r.occurred_at), 30) }) },
    // Two filters that never hold together (a tenant and another tenant's company domain): no page
    // ever fills, so whatever the plan reads before it can tell there is nothing, it reads in full.
    { name: 'tenant + other domain (0)', needs: 'tenant_id', make: (r, i) => ({ tenantId: r.tenant_id, companyDomain: otherDomain(r.tenant_id, i) }) },
  ];
}

async function sampleFilters(repository, headSeq, testCase, rand) {
  const filters = [];
  for (let i = 0; i < RUNS; i++) {
    let row;
    for (let tries = 0; tries < 200; tries++) {
      row = await repository.findBySeq(1 + Math.floor(rand() * headSeq));
      if (row && (!testCase.needs || row[testCase.needs] !== null)) break;
    }
    filters.push(testCase.make(row, i));
  }
  return filters;
}

// ---------------------------------------------------------------------------------------------
// Plans

async function plan(db, dialect, query) {
  const compiled = query.compile();
  const prefix = dialect === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ';
  const { rows } = await db.executeQuery(CompiledQuery.raw(prefix + compiled.sql, [...compiled.parameters]));
  if (dialect === 'postgres') return rows.map((r) => r['QUERY PLAN']);
  // SQLite: rows of (id, parent, detail) as a tree.
  const depth = new Map([[0, -1]]);
  return rows.map((r) => {
    const d = (depth.get(r.parent) ?? -1) + 1;
    depth.set(r.id, d);
    return `${'  '.repeat(d)}${r.detail}`;
  });
}

/** How many columns a filter constrains (from and to are one: occurred_at). */
const columnsOf = (filter) => new Set(Object.keys(filter).map((k) => (k === 'from' || k === 'to' ? 'occurred_at' : k))).size;

/**
 * What a plan means for a filtered query: FULL SCAN (every row read, or may be: a table scan, or
 * a walk of the whole seq order filtering as it goes), SORT (the matches are sorted: costs grow
 * with the number of matches), or index.
 */
function judgePlan(dialect, lines, filtered, combined = false) {
  const text = lines.join('\n');
  const flags = [];
  if (dialect === 'sqlite') {
    if (/^\s*SCAN audit_events(?! USING (COVERING )?INDEX)/m.test(text) && filtered) flags.push('FULL SCAN: whole table in seq order, filtered row by row');
    else if (/^\s*SCAN audit_events USING/m.test(text) && filtered) flags.push('FULL INDEX SCAN');
    if (/USE TEMP B-TREE FOR ORDER BY/.test(text)) flags.push('SORT of all matches');
    if (/MULTI-INDEX OR/.test(text)) flags.push('multi-index OR');
  } else {
    if (/Seq Scan on audit_events/.test(text)) flags.push('FULL SCAN: Seq Scan');
    if (filtered && /Index Scan( Backward)? using audit_events_pkey/.test(text) && /Filter:/.test(text)) flags.push('FULL SCAN: pkey walked in seq order, filtered row by row');
    if (/\bSort\b/.test(text) && /Sort Key/.test(text)) flags.push('SORT of all matches');
    if (/BitmapOr/.test(text)) flags.push('BitmapOr');
  }
  const index = dialect === 'sqlite'
    ? /USING (?:COVERING )?INDEX (\S+)/.exec(text)?.[1] ?? (/USING INTEGER PRIMARY KEY/.test(text) ? 'seq (rowid)' : null)
    : [...text.matchAll(/(?:Index Scan(?: Backward)?|Bitmap Index Scan|Index Only Scan(?: Backward)?) (?:using|on) (\S+)/g)].map((m) => m[1]).filter((v, i, a) => a.indexOf(v) === i).join(' + ') || null;
  if (combined && !flags.some((f) => f.startsWith('FULL')) && !/BitmapAnd/.test(text)) flags.push('one index, the other filters row by row');
  return { index, flags, fullScan: flags.some((f) => f.startsWith('FULL')) };
}

// ---------------------------------------------------------------------------------------------
// Pages

async function measurePages(target) {
  const { db, repository, service, close } = await openService(target.dialect, target.location);
  try {
    const head = await service.head();
    const { AUDIT_EVENT_TYPES } = await fromDist('audit/audit.types.js');
    const results = [];
    const rand = prng(SEED + 7);
    for (const testCase of filterCases(AUDIT_EVENT_TYPES)) {
      const filters = await sampleFilters(repository, head.seq, testCase, rand);
      const firstPageQuery = (filter) => repository['filtered'](filter).selectAll().orderBy('seq', 'desc').limit(PAGE_SIZE + 1);
      const lines = await plan(db, target.dialect, firstPageQuery(filters[0]));
      const verdict = judgePlan(target.dialect, lines, true, columnsOf(filters[0]) > 1);
      const countRow = await repository['filtered'](filters[0]).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      await service.search(filters[0], PAGE_SIZE); // warm-up
      const first = [];
      const deep = [];
      let reachedDeep = 0;
      let worst = { ms: -1, filter: null };
      const started = performance.now();
      for (const filter of filters) {
        let t = performance.now();
        let page = await service.search(filter, PAGE_SIZE);
        const took = performance.now() - t;
        first.push(took);
        if (took > worst.ms) worst = { ms: took, filter };
        for (let n = 2; n <= PAGES && page.nextCursor; n++) {
          t = performance.now();
          page = await service.search(filter, PAGE_SIZE, page.nextCursor);
          if (n === PAGES) {
            deep.push(performance.now() - t);
            reachedDeep++;
          }
        }
        if (performance.now() - started > FILTER_BUDGET_MS) break;
      }
      // The slowest first page and its plan (with another value the planner may choose otherwise).
      const worstLines = await plan(db, target.dialect, firstPageQuery(worst.filter));
      const worstVerdict = judgePlan(target.dialect, worstLines, true, columnsOf(worst.filter) > 1);
      worst = { ...worst, index: worstVerdict.index, flags: worstVerdict.flags, fullScan: worstVerdict.fullScan, plan: worstLines };
      const row = {
        worst,
        name: testCase.name,
        example: filters[0],
        exampleMatches: Number(countRow?.n ?? 0),
        runs: first.length,
        firstP50: percentile(first, 50),
        firstP99: percentile(first, 99),
        deepRuns: reachedDeep,
        deepP50: percentile(deep, 50),
        deepP99: percentile(deep, 99),
        plan: lines,
        index: verdict.index,
        flags: verdict.flags,
        fullScan: verdict.fullScan,
      };
      row.target = Math.max(row.firstP99 ?? 0, row.deepP99 ?? 0) <= TARGETS.pageP99Ms ? 'PASS' : 'MISS';
      results.push(row);
      log(`  ${testCase.name.padEnd(26)} first p50 ${ms(row.firstP50).padStart(7)} ms  p99 ${ms(row.firstP99).padStart(7)} ms  page ${PAGES} p50 ${ms(row.deepP50).padStart(7)} ms  p99 ${ms(row.deepP99).padStart(7)} ms  (${row.runs} runs, ${row.deepRuns} deep)  ${row.index ?? ''} ${row.flags.join(', ')}`);
    }
    return { head, results };
  } finally {
    await close();
  }
}

async function exportPlans(target, filters) {
  const { db, repository, close } = await openService(target.dialect, target.location);
  try {
    const head = await repository.head();
    const out = [];
    for (const [name, filter] of filters) {
      const query = repository['filtered'](filter).selectAll().where('seq', '>', Math.floor(head.seq / 2)).where('seq', '<=', head.seq).orderBy('seq').limit(1000);
      const lines = await plan(db, target.dialect, query);
      out.push({ name, filter, plan: lines, ...judgePlan(target.dialect, lines, Object.keys(filter).length > 0, columnsOf(filter) > 1) });
    }
    return out;
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------------------------
// Exports and verify, each in a process of its own (clean memory figures)

const runChild = auditData.runExportChild;

async function exportCases(target, pages) {
  const tenant = 'acme';
  const month = pages.find((p) => p.name === 'time range (1 day)')?.example.from ?? '2025-06-01T00:00:00.000Z';
  const monthStart = dayOf(month);
  return [
    ['all events', {}],
    [`tenant=${tenant}`, { tenantId: tenant }],
    ['one month', range(monthStart, 30)],
    ['type=update.failed', { type: 'update.failed' }],
  ];
}

/** V8 old space for the capped run: an export that kept rows would run out of it long before 1,000,000. */
const HEAP_CAP_MB = 48;

async function measureExports(target, cases) {
  const results = [];
  // Each case, then everything again with the heap capped: finishing shows memory is flat, not just collected late.
  const runs = [...cases.map(([name, filter]) => [name, filter, []]), [`${cases[0][0]}, heap cap ${HEAP_CAP_MB} MB`, cases[0][1], [`--max-old-space-size=${HEAP_CAP_MB}`]]];
  for (const [name, filter, nodeArgs] of runs) {
    let r;
    try {
      r = await runChild({ dialect: target.dialect, target: target.location, mode: 'export', filter }, nodeArgs);
    } catch (err) {
      if (!nodeArgs.length) throw err;
      results.push({ name, filter, failed: err.message.slice(0, 300), target: 'MISS' });
      log(`  export ${name}: FAILED (${err.message.slice(0, 120)})`);
      continue;
    }
    const row = {
      name, filter, rows: r.rows, bytes: r.bytes, seconds: r.seconds, rowsPerSecond: r.rows / r.seconds,
      rssBaseline: r.rssBaseline, rssPeak: r.rssPeak, rssGrowth: r.rssGrowth, samples: r.samples,
      target: r.rssGrowth < TARGETS.exportRssGrowthBytes ? 'PASS' : 'MISS',
    };
    results.push(row);
    log(`  export ${name.padEnd(20)} ${fmtInt(row.rows).padStart(9)} rows  ${row.seconds.toFixed(2).padStart(6)} s  ${fmtInt(row.rowsPerSecond).padStart(8)} rows/s  ${(row.bytes / MB).toFixed(0).padStart(4)} MB CSV  RSS +${mb(row.rssGrowth)} (peak ${mb(row.rssPeak)})  ${row.target}`);
  }
  return results;
}

async function measureVerify(target) {
  const r = await runChild({ dialect: target.dialect, target: target.location, mode: 'verify' });
  const row = { ...r, rowsPerSecond: (r.verification.count ?? 0) / r.seconds };
  log(`  verify(): ${JSON.stringify(r.verification.intact ? { intact: true, count: r.verification.count } : r.verification)}  ${r.seconds.toFixed(1)} s  ${fmtInt(row.rowsPerSecond)} events/s  RSS +${mb(r.rssGrowth)}`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// The same export over HTTP: GET /api/audit/export?format=csv on the built app (dist/main.js)

const HTTP_CONTROLLER = join(DIST, 'audit', 'workbench', 'audit-api.controller.js');

async function measureHttp(target, cases) {
  if (!existsSync(HTTP_CONTROLLER)) return { skipped: `dist/audit/workbench/audit-api.controller.js is missing: the app has no GET /api/audit/export in this build` };
  // The app writes (an audit.read per export, reconciliation at start): it gets a copy, the cache stays as seeded.
  let env;
  let cleanup;
  if (target.dialect === 'sqlite') {
    const dir = join(CACHE, 'http', 'data');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    copyFileSync(target.location, join(dir, 'connector.db'));
    env = { CONNECTOR_DATA_DIR: dir, CONNECTOR_AUDIT_CHAIN_KEY: BENCH_CHAIN_KEY.toString('base64') };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const copy = `${target.name}_http`;
    await adminQuery(`DROP DATABASE IF EXISTS ${copy} WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE ${copy} TEMPLATE ${target.name}`);
    env = { DATABASE_URL: urlOf(copy), CONNECTOR_AUDIT_CHAIN_KEY: BENCH_CHAIN_KEY.toString('base64') };
    cleanup = () => adminQuery(`DROP DATABASE IF EXISTS ${copy} WITH (FORCE)`);
  }
  let app;
  try {
    app = await startConnector({ env });
    log(`  app ready in ${app.startSeconds.toFixed(1)} s (start-up with ${fmtInt(EVENTS)} events)`);
    const sampler = await startRssSampler({ pid: app.pid, intervalMs: 50 });
    const results = [];
    const params = { tenantId: 'tenant', companyDomain: 'company', actingUser: 'user', reportOwner: 'owner', item: 'item', field: 'field', type: 'type', outcome: 'outcome', launchId: 'launch', correlationId: 'correlation', from: 'from', to: 'to' };
    for (const [name, filter] of cases) {
      const query = new URLSearchParams({ format: 'csv' });
      for (const [key, value] of Object.entries(filter)) query.set(params[key], value);
      await new Promise((resolve) => setTimeout(resolve, 300));
      sampler.reset();
      const baseline = sampler.current();
      let bytes = 0;
      let lines = 0;
      const started = performance.now();
      const authorization = `Basic ${Buffer.from('auditor:auditor-demo').toString('base64')}`;
      const res = await get(app.port, `/api/audit/export?${query}`, {
        headers: { authorization },
        onData: (chunk) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      if (res.status !== 200) throw new Error(`GET /api/audit/export answered ${res.status}`);
      const { peak } = sampler.read();
      const rows = lines - 2; // the header and the trailer
      const row = { name, filter, rows, bytes, seconds, rowsPerSecond: rows / seconds, rssBaseline: baseline, rssPeak: peak, rssGrowth: Math.max(0, peak - baseline) };
      row.target = row.rssGrowth < TARGETS.exportRssGrowthBytes ? 'PASS' : 'MISS';
      results.push(row);
      log(`  HTTP export ${name.padEnd(15)} ${fmtInt(rows).padStart(9)} rows  ${seconds.toFixed(2).padStart(6)} s  ${fmtInt(row.rowsPerSecond).padStart(8)} rows/s  server RSS +${mb(row.rssGrowth)} (peak ${mb(peak)})  ${row.target}`);
    }
    await sampler.stop();
    return { startSeconds: app.startSeconds, results };
  } finally {
    await app?.stop();
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

/** Columns are [heading, value, 'l' to align left]; the first is always left-aligned. */
function printTable(title, rows, columns) {
  const widths = columns.map(([head, get]) => Math.max(head.length, ...rows.map((r) => String(get(r)).length)));
  const left = (i) => i === 0 || columns[i][2] === 'l';
  log(`\n${title}`);
  log(columns.map(([head], i) => (left(i) ? head.padEnd(widths[i]) : head.padStart(widths[i]))).join('  ').trimEnd());
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) log(columns.map(([, get], i) => (left(i) ? String(get(r)).padEnd(widths[i]) : String(get(r)).padStart(widths[i]))).join('  ').trimEnd());
}

function report(name, outcome) {
  log(`\n==================== ${name}: ${fmtInt(EVENTS)} events ====================`);
  if (outcome.skipped) {
    log(`SKIPPED: ${outcome.skipped}`);
    return;
  }
  const seed = outcome.seed;
  log(seed.reused ? `data: reused the cached seeded database (seeded at ${fmtInt(seed.rowsPerSecond)} rows/s)` : `data: seeded in ${seed.seconds.toFixed(1)} s, ${fmtInt(seed.rowsPerSecond)} rows/s`);
  printTable(`Filtered pages (limit ${PAGE_SIZE}), ms; "page ${PAGES}" follows the cursor ${PAGES - 1} times; target p99 <= ${TARGETS.pageP99Ms} ms`, outcome.pages, [
    ['filter', (r) => r.name],
    ['matches*', (r) => fmtInt(r.exampleMatches)],
    ['runs', (r) => r.runs],
    ['first p50', (r) => ms(r.firstP50)],
    ['first p99', (r) => ms(r.firstP99)],
    [`page${PAGES} p50`, (r) => ms(r.deepP50)],
    [`page${PAGES} p99`, (r) => ms(r.deepP99)],
    ['target', (r) => r.target],
    ['index used', (r) => (r.index ?? '-').replace(/^audit_events_/, ''), 'l'],
    ['plan', (r) => (r.flags.length ? r.flags.join('; ') : 'index range scan, in seq order'), 'l'],
  ]);
  log('* rows matching the first sampled value of the filter');
  const scans = outcome.pages.filter((r) => r.fullScan || r.worst.fullScan);
  log(scans.length ? `FULL SCAN in the first-page plan of: ${scans.map((r) => r.name).join(', ')}` : 'No first-page plan is a full table scan.');
  log('\nSlowest first page of each filter, and its plan:');
  for (const r of outcome.pages) {
    const w = r.worst;
    log(`  ${r.name.padEnd(28)} ${ms(w.ms).padStart(7)} ms  ${(w.index ?? '-').replace(/^audit_events_/, '')}${w.flags.length ? ` (${w.flags.join('; ')})` : ''}  ${JSON.stringify(w.filter).slice(0, 110)}`);
  }
  printTable(`Exports to CSV (csvRow, null sink), each in a fresh process; target RSS growth < ${TARGETS.exportRssGrowthBytes / MB} MB`, outcome.exports.filter((r) => !r.failed), [
    ['export', (r) => r.name, 'l'],
    ['rows', (r) => fmtInt(r.rows)],
    ['seconds', (r) => r.seconds.toFixed(2)],
    ['rows/s', (r) => fmtInt(r.rowsPerSecond)],
    ['CSV MB', (r) => (r.bytes / MB).toFixed(0)],
    ['RSS growth', (r) => mb(r.rssGrowth)],
    ['RSS peak', (r) => mb(r.rssPeak)],
    ['target', (r) => r.target],
  ]);
  for (const r of outcome.exports.filter((x) => x.failed)) log(`${r.name}: FAILED, MISS: ${r.failed}`);
  if (outcome.http?.skipped) log(`\nHTTP export: SKIPPED: ${outcome.http.skipped}`);
  else if (outcome.http) {
    printTable(`HTTP GET /api/audit/export?format=csv (app from dist, Basic auth), server RSS; app start-up ${outcome.http.startSeconds.toFixed(1)} s`, outcome.http.results, [
      ['export', (r) => r.name, 'l'],
      ['rows', (r) => fmtInt(r.rows)],
      ['seconds', (r) => r.seconds.toFixed(2)],
      ['rows/s', (r) => fmtInt(r.rowsPerSecond)],
      ['MB', (r) => (r.bytes / MB).toFixed(0)],
      ['RSS growth', (r) => mb(r.rssGrowth)],
      ['RSS peak', (r) => mb(r.rssPeak)],
      ['target', (r) => r.target],
    ]);
  }
  const v = outcome.verify;
  log(`\nverify(): ${v.verification.intact ? `intact, ${fmtInt(v.verification.count)} events` : `BROKEN: ${JSON.stringify(v.verification)}`} in ${v.seconds.toFixed(1)} s (${fmtInt(v.rowsPerSecond)} events/s, RSS +${mb(v.rssGrowth)})`);
  log('\nExport batch query plans (keyset: seq > after ORDER BY seq LIMIT 1000):');
  for (const p of outcome.exportPlans) log(`  ${p.name}: ${p.index ?? '-'} ${p.flags.join('; ')}\n${p.plan.map((l) => `      ${l}`).join('\n')}`);
  log('\nFirst-page query plans:');
  for (const r of outcome.pages) {
    log(`  ${r.name}${r.fullScan ? '   <-- FULL SCAN' : ''}\n${r.plan.map((l) => `      ${l}`).join('\n')}`);
    if (r.worst.plan.join('\n') !== r.plan.join('\n')) {
      log(`    slowest value (${ms(r.worst.ms)} ms)${r.worst.fullScan ? '   <-- FULL SCAN' : ''}\n${r.worst.plan.map((l) => `      ${l}`).join('\n')}`);
    }
  }
}

async function runDialect(dialect, key) {
  const prepared = dialect === 'sqlite' ? await prepareSqlite(key) : await preparePostgres(key);
  const target = dialect === 'sqlite'
    ? { dialect, location: prepared.file }
    : { dialect, location: prepared.url, name: prepared.name };
  log(`${dialect}: filtered pages (${RUNS} values each, ${PAGES} pages deep)`);
  const { results: pages } = await measurePages(target);
  const cases = await exportCases(target, pages);
  const exportPlansOut = await exportPlans(target, cases.filter(([, f]) => Object.keys(f).length));
  log(`${dialect}: exports`);
  const exports = await measureExports(target, cases);
  log(`${dialect}: verify`);
  const verify = await measureVerify(target);
  let http;
  if (args['no-http']) http = { skipped: '--no-http' };
  else {
    log(`${dialect}: HTTP export`);
    http = await measureHttp(target, cases.slice(0, 2));
    if (http.skipped) log(`  SKIPPED: ${http.skipped}`);
  }
  return { seed: prepared.seed, pages, exports, exportPlans: exportPlansOut, verify, http };
}

async function main() {
  const key = cacheKey();
  const out = {
    benchmark: 'audit',
    startedAt: new Date().toISOString(),
    events: EVENTS,
    seed: SEED,
    runsPerFilter: RUNS,
    pagesDeep: PAGES,
    pageSize: PAGE_SIZE,
    targets: TARGETS,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version, platform: `${process.platform}-${process.arch}` },
    sqlite: null,
    postgres: null,
  };
  if (args.only !== 'postgres') out.sqlite = await runDialect('sqlite', key);
  if (args.only !== 'sqlite') {
    if (await reachable(PG_ADMIN_URL)) {
      const [{ version }] = await adminQuery('SELECT version()');
      out.machine.postgres = version;
      out.postgres = await runDialect('postgres', key);
    } else {
      out.postgres = { skipped: `PostgreSQL is not reachable at ${new URL(PG_ADMIN_URL).host}` };
      log(`PostgreSQL: SKIPPED (not reachable at ${new URL(PG_ADMIN_URL).host})`);
    }
  }
  out.finishedAt = new Date().toISOString();
  if (out.sqlite) report('SQLite', out.sqlite);
  if (out.postgres) report('PostgreSQL', out.postgres);

  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, 'audit-latest.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`\nwrote ${file}`);
}

main().catch((err) => {
  console.error(`bench:audit failed: ${err.stack ?? err.message}`);
  process.exit(1);
});

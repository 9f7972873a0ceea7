#!/usr/bin/env node
// Seeds an audit log with N realistic events and a valid hash chain (seq 1..N, prev_hash links,
// hash = keyedEventHash of the row under the benchmarks' chain key, BENCH_CHAIN_KEY of
// bench/lib/service.mjs), into a SQLite file or a PostgreSQL database, migrated first.
//
//   node bench/seed-audit.mjs --events 1000000 --sqlite bench/.cache/audit-1000000.db
//   node bench/seed-audit.mjs --events 1000000 --postgres postgresql://postgres@127.0.0.1:5432/bench
//
// Options: --seed N (same seed, same events), --force (SQLite: replace an existing file),
// --live-indexes (insert with every index in place instead of building them after the load).
// The table must be empty. Secondary indexes are dropped for the load and rebuilt from their
// own definitions afterwards (the schema ends exactly as migrated; this only makes the load faster).
import { existsSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { COLUMNS, fmtInt, fromDist, parseArgs } from './lib/dist.mjs';

const PG_TYPES = { seq: 'integer' };

async function migrate(kysely) {
  const { runMigrations } = await fromDist('database/migrations.js');
  try {
    await runMigrations(kysely);
  } finally {
    await kysely.destroy();
  }
}

/**
 * Rows with their place in the chain, in batches of `size` value arrays (column order of
 * COLUMNS), made and hashed in a worker thread; returns the head.
 */
async function* chainedBatches(events, seed, size) {
  const worker = new Worker(new URL('./lib/seed-worker.mjs', import.meta.url), { workerData: { events, seed, batchSize: size, credits: 3 } });
  const queue = [];
  let wake = null;
  let failure = null;
  worker.on('message', (message) => {
    queue.push(message);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  worker.on('exit', (code) => {
    if (code !== 0 && !failure) failure = new Error(`seed worker exited with ${code}`);
    wake?.();
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure) throw failure;
        await new Promise((resolve) => (wake = resolve));
      }
      const message = queue.shift();
      if (message.head) return message.head;
      worker.postMessage('credit');
      yield message.batch;
    }
  } finally {
    await worker.terminate();
  }
}

function progress(log, started, done, total) {
  const s = (performance.now() - started) / 1000;
  log(`  ${fmtInt(done)} / ${fmtInt(total)} events, ${s.toFixed(1)} s, ${fmtInt(done / s)} rows/s`);
}

export async function seedSqlite({ file, events, seed = 42, force = false, liveIndexes = false, log = console.log }) {
  if (existsSync(file)) {
    if (!force) throw new Error(`${file} exists: pass --force to replace it`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
  const { createSqliteKysely } = await fromDist('database/database.factory.js');
  await migrate(createSqliteKysely(file));
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(file);
  // Loading only: the connector itself opens the file with synchronous = FULL.
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1048576');
  db.pragma('temp_store = MEMORY');
  if (db.prepare('SELECT count(*) AS n FROM audit_events').get().n !== 0) throw new Error(`${file}: audit_events is not empty`);
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL ORDER BY name").all();
  if (!liveIndexes) for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`);

  const insert = db.prepare(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
  const insertMany = db.transaction((rows) => {
    for (const values of rows) insert.run(values);
  });
  const started = performance.now();
  let done = 0;
  let nextReport = 100_000;
  const batches = chainedBatches(events, seed, 50_000);
  let head;
  for (;;) {
    const { value, done: finished } = await batches.next();
    if (finished) {
      head = value;
      break;
    }
    insertMany(value);
    done += value.length;
    if (done >= nextReport) {
      progress(log, started, done, events);
      nextReport += 100_000;
    }
  }
  const loaded = performance.now();
  if (!liveIndexes) {
    log(`  loaded in ${((loaded - started) / 1000).toFixed(1)} s; building ${indexes.length} indexes...`);
    for (const { sql } of indexes) db.exec(sql);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const seconds = (performance.now() - started) / 1000;
  log(`SQLite ${file}: ${fmtInt(events)} events in ${seconds.toFixed(1)} s (${fmtInt(events / seconds)} rows/s${liveIndexes ? ', indexes live' : `, load ${((loaded - started) / 1000).toFixed(1)} s + indexes ${((performance.now() - loaded) / 1000).toFixed(1)} s`}); head #${head.seq} ${head.hash}`);
  return { seconds, rowsPerSecond: events / seconds, head };
}

export async function seedPostgres({ url, events, seed = 42, liveIndexes = false, log = console.log }) {
  const { createPostgresKysely } = await fromDist('database/database.factory.js');
  await migrate(createPostgresKysely(url, 2));
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, application_name: 'clc-bench-seed' });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    await client.query("SET maintenance_work_mem = '512MB'");
    const { rows: [{ n }] } = await client.query('SELECT count(*)::int AS n FROM audit_events');
    if (n !== 0) throw new Error('audit_events is not empty');
    // Secondary indexes (not those of the primary key or unique constraint), to rebuild from their own definitions.
    const { rows: indexes } = await client.query(`
      SELECT i.relname AS name, pg_get_indexdef(i.oid) AS sql
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      WHERE x.indrelid = 'audit_events'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
      ORDER BY i.relname`);
    if (!liveIndexes) for (const { name } of indexes) await client.query(`DROP INDEX "${name}"`);

    const insertSql = `INSERT INTO audit_events (${COLUMNS.join(', ')}) SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c] ?? 'text'}[]`).join(', ')})`;
    const started = performance.now();
    let done = 0;
    let nextReport = 100_000;
    let inFlight = Promise.resolve();
    const batches = chainedBatches(events, seed, 10_000);
    let head;
    for (;;) {
      const { value, done: finished } = await batches.next();
      if (finished) {
        head = value;
        break;
      }
      const params = COLUMNS.map((_, i) => value.map((values) => values[i]));
      // One batch in the database while the next is generated and hashed.
      await inFlight;
      inFlight = client.query(insertSql, params).then(() => {
        done += value.length;
        if (done >= nextReport) {
          progress(log, started, done, events);
          nextReport += 100_000;
        }
      });
    }
    await inFlight;
    const loaded = performance.now();
    if (!liveIndexes) {
      log(`  loaded in ${((loaded - started) / 1000).toFixed(1)} s; building ${indexes.length} indexes...`);
      for (const { sql } of indexes) await client.query(sql);
    }
    // What autovacuum would do shortly after such a load: statistics for the planner.
    await client.query('VACUUM ANALYZE audit_events');
    const seconds = (performance.now() - started) / 1000;
    log(`PostgreSQL: ${fmtInt(events)} events in ${seconds.toFixed(1)} s (${fmtInt(events / seconds)} rows/s${liveIndexes ? ', indexes live' : `, load ${((loaded - started) / 1000).toFixed(1)} s + indexes and ANALYZE ${((performance.now() - loaded) / 1000).toFixed(1)} s`}); head #${head.seq} ${head.hash}`);
    return { seconds, rowsPerSecond: events / seconds, head };
  } finally {
    await client.end();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2), {
    events: 'number', sqlite: 'string', postgres: 'string', seed: 'number', force: 'flag', 'live-indexes': 'flag', help: 'flag',
  });
  if (args.help || (!args.sqlite && !args.postgres) || (args.sqlite && args.postgres)) {
    console.log('usage: node bench/seed-audit.mjs [--events 1000000] [--seed 42] (--sqlite FILE [--force] | --postgres URL) [--live-indexes]');
    process.exit(args.help ? 0 : 2);
  }
  const common = { events: args.events ?? 1_000_000, seed: args.seed ?? 42, liveIndexes: Boolean(args['live-indexes']) };
  if (common.events < 1) throw new Error('--events must be at least 1');
  if (args.sqlite) await seedSqlite({ file: args.sqlite, force: Boolean(args.force), ...common });
  else await seedPostgres({ url: args.postgres, ...common });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`seed-audit: ${err.message}`);
    process.exit(1);
  });
}

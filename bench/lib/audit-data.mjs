// The seeded audit logs the benchmarks share (bench/audit.mjs and bench/sections/audit.mjs):
// a SQLite file in bench/.cache and a PostgreSQL database per data set, reused while the
// generator, hash-chain.js and migrations.js are unchanged; and one export or verify() in a
// process of its own (bench/lib/export-run.mjs) for clean memory figures.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { DIST, ROOT, fmtInt } from './dist.mjs';
import { seedPostgres, seedSqlite } from '../seed-audit.mjs';

export const CACHE = join(ROOT, 'bench', '.cache');

/** The admin URL the benchmarks create their databases with. */
export const defaultPgAdminUrl = () =>
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A key of everything a cached database depends on: the generator, the hash and its key, the schema. */
export function cacheKey(events, seed) {
  const hash = createHash('sha256');
  for (const file of [join(ROOT, 'bench', 'lib', 'dataset.mjs'), join(ROOT, 'bench', 'lib', 'seed-worker.mjs'), join(ROOT, 'bench', 'lib', 'service.mjs'), join(DIST, 'audit', 'hash-chain.js'), join(DIST, 'database', 'migrations.js')]) {
    hash.update(readFileSync(file));
  }
  return hash.update(`${events}:${seed}`).digest('hex').slice(0, 10);
}

/** The cached SQLite file of `events` events, seeded first when missing (or with `reseed`). */
export async function prepareSqlite({ events, seed, key = cacheKey(events, seed), reseed = false, log = console.log }) {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `audit-${events}-${key}.db`);
  const marker = `${file}.seeded.json`;
  if (!reseed && existsSync(file) && existsSync(marker)) {
    log(`SQLite: reusing ${file}`);
    return { file, seed: { reused: true, ...JSON.parse(readFileSync(marker, 'utf8')) } };
  }
  // Files of an older generator or schema for this size are stale: make room (about 1.3 GB per million).
  for (const stale of readdirSync(CACHE).filter((f) => f.startsWith(`audit-${events}-`) && !f.startsWith(`audit-${events}-${key}.`))) {
    rmSync(join(CACHE, stale), { force: true });
  }
  log(`SQLite: seeding ${fmtInt(events)} events into ${file} ...`);
  const seeded = await seedSqlite({ file, events, seed, force: true, log });
  writeFileSync(marker, JSON.stringify(seeded));
  return { file, seed: { reused: false, ...seeded } };
}

/** Whether a TCP connection to the URL's host and port (default: PostgreSQL's) opens within 1.5 s. */
export function reachable(url, defaultPort = 5432) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || defaultPort), hostname.replace(/^\[|\]$/g, ''), () => done(true));
  });
}

export async function adminQuery(adminUrl, text) {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'clc-bench' });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** The admin URL with another database. */
export function urlOf(adminUrl, database) {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A database per data set, kept between runs; reused when its head is the one seeded. */
export async function preparePostgres({ adminUrl, events, seed, key = cacheKey(events, seed), reseed = false, log = console.log }) {
  const name = `clc_bench_audit_${events}_${key}`;
  const url = urlOf(adminUrl, name);
  const marker = join(CACHE, `${name}.seeded.json`);
  const exists = (await adminQuery(adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length > 0;
  if (!reseed && exists && existsSync(marker)) {
    const seeded = JSON.parse(readFileSync(marker, 'utf8'));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const head = (await client.query('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1')).rows[0];
    await client.end();
    if (head && Number(head.seq) === seeded.head.seq && head.hash === seeded.head.hash) {
      log(`PostgreSQL: reusing database ${name}`);
      return { url, name, seed: { reused: true, ...seeded } };
    }
  }
  if (exists) await adminQuery(adminUrl, `DROP DATABASE ${name} WITH (FORCE)`);
  for (const { datname } of await adminQuery(adminUrl, `SELECT datname FROM pg_database WHERE datname LIKE 'clc\\_bench\\_audit\\_${events}\\_%'`)) {
    await adminQuery(adminUrl, `DROP DATABASE ${datname} WITH (FORCE)`);
    rmSync(join(CACHE, `${datname}.seeded.json`), { force: true });
  }
  rmSync(marker, { force: true });
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  log(`PostgreSQL: seeding ${fmtInt(events)} events into database ${name} ...`);
  const seeded = await seedPostgres({ url, events, seed, log });
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(marker, JSON.stringify(seeded));
  return { url, name, seed: { reused: false, ...seeded } };
}

/**
 * One export (CSV to a null sink) or verify() through AuditService in a fresh process
 * (bench/lib/export-run.mjs): `job` = { dialect, target, mode: 'export' | 'verify', filter }.
 * Resolves with its JSON line: rows, bytes, seconds, rssBaseline, rssPeak, rssGrowth, samples.
 */
export function runExportChild(job, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs, join(ROOT, 'bench', 'lib', 'export-run.mjs'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`export-run exited with ${code}: ${out}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (err) {
        reject(err);
      }
    });
  });
}

// Appends to the audit log as the app does: AuditService.record() from dist (its in-process
// queue, the append transaction, on PostgreSQL the advisory lock every replica takes), over a
// database opened by the app's own factory (SQLite: WAL, synchronous=FULL) and migrated by its
// migrations. Events come from the benchmarks' generator, as AuditEventInput.
//
// Also a worker: `node bench/lib/audit-append.mjs '{"dialect":"postgres","target":URL,...}'`
// appends for a while as one replica would, and prints one JSON line (started by appendReplicas()).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateEvents } from './dataset.mjs';
import { fromDist } from './dist.mjs';
import { BENCH_CHAIN_KEY } from './service.mjs';

const unused = (what) =>
  new Proxy({}, { get: (_, key) => { throw new Error(`the benchmark's AuditService has no ${what} (${String(key)} was read)`); } });

/** AuditService over a SQLite file or a PostgreSQL URL, with the app's Metrics (record() counts events). */
export async function openAppender(dialect, target, poolSize = 10) {
  const { createSqliteKysely, createPostgresKysely } = await fromDist('database/database.factory.js');
  const { AuditRepository } = await fromDist('audit/audit.repository.js');
  const { AuditService } = await fromDist('audit/audit.service.js');
  const { Metrics } = await fromDist('metrics/metrics.service.js');
  const db = dialect === 'sqlite' ? createSqliteKysely(target) : createPostgresKysely(target, poolSize);
  const service = new AuditService(new AuditRepository(db), new Metrics(), unused('config'), BENCH_CHAIN_KEY);
  return { db, service, close: () => db.destroy() };
}

/** Creates the schema as the app's start-up does. */
export async function migrate(dialect, target) {
  const { createSqliteKysely, createPostgresKysely } = await fromDist('database/database.factory.js');
  const { runMigrations } = await fromDist('database/migrations.js');
  const db = dialect === 'sqlite' ? createSqliteKysely(target) : createPostgresKysely(target, 2);
  try {
    await runMigrations(db);
  } finally {
    await db.destroy();
  }
}

/** `count` realistic inputs of AuditService.record() (launches, updates, rejections, auditor reads). */
export function appendInputs(count, seed = 99) {
  const inputs = [];
  for (const row of generateEvents({ count, seed })) {
    inputs.push({
      type: row.event_type, outcome: row.outcome, tenantId: row.tenant_id, companyDomain: row.company_domain,
      actingUser: row.acting_user, reportOwner: row.report_owner, itemUrl: row.item_url, launchId: row.launch_id,
      field: row.field, oldValue: row.old_value, newValue: row.new_value, reason: row.reason,
      correlationId: row.correlation_id, clientIp: row.client_ip, userAgent: row.user_agent,
    });
  }
  return inputs;
}

/**
 * `concurrency` callers each appending one event after another until `seconds` have passed
 * (from `startAt`, epoch ms, when given). Resolves with the count and each append's time.
 */
export async function appendFor(service, inputs, { seconds, concurrency = 1, startAt }) {
  if (startAt) await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const times = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const input = inputs[next++ % inputs.length];
        const t = performance.now();
        await service.record(input);
        times.push(performance.now() - t);
      }
    }),
  );
  return { appended: times.length, seconds: (performance.now() - started) / 1000, times };
}

/** `replicas` processes appending at the same time to one PostgreSQL log, each with `concurrency` callers. */
export function appendReplicas({ target, replicas, concurrency, seconds }) {
  const startAt = Date.now() + 1500; // all connected and ready before the clock starts
  return Promise.all(
    Array.from({ length: replicas }, (_, i) =>
      new Promise((resolve, reject) => {
        const job = { dialect: 'postgres', target, concurrency, seconds, startAt, seed: 100 + i };
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('error', reject);
        child.on('exit', (code) => {
          if (code !== 0) return reject(new Error(`append worker exited with ${code}: ${out}`));
          try {
            resolve(JSON.parse(out.trim().split('\n').pop()));
          } catch (err) {
            reject(err);
          }
        });
      }),
    ),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(process.argv[2]);
  const inputs = appendInputs(5000, job.seed);
  const { service, close } = await openAppender(job.dialect, job.target);
  await service.head(); // connected before the clock starts
  const { appended, seconds, times } = await appendFor(service, inputs, job);
  await close();
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.max(0, Math.ceil((p / 100) * times.length) - 1))] ?? null;
  process.stdout.write(`${JSON.stringify({ appended, seconds, p50: at(50), p99: at(99) })}\n`);
}

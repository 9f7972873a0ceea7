// AuditService from dist over a SQLite file or a PostgreSQL URL, wired by hand (no Nest
// container): search, exportEvents and verify use only the repository and the chain key.
import { createHash } from 'node:crypto';
import { fromDist } from './dist.mjs';

/**
 * The audit chain key of every log the benchmarks seed, append to and verify. Fixed (derived from
 * a label), so a cached seeded database still verifies in a later run; never a real deployment's.
 */
export const BENCH_CHAIN_KEY = createHash('sha256').update('concur-launch-connector benchmark audit chain key').digest();

const unused = (what) =>
  new Proxy({}, { get: (_, key) => { throw new Error(`the benchmark's AuditService has no ${what} (${String(key)} was read)`); } });

export async function openService(dialect, target, poolSize = 4) {
  const { createSqliteKysely, createPostgresKysely } = await fromDist('database/database.factory.js');
  const { AuditRepository } = await fromDist('audit/audit.repository.js');
  const { AuditService } = await fromDist('audit/audit.service.js');
  const db = dialect === 'sqlite' ? createSqliteKysely(target) : createPostgresKysely(target, poolSize);
  const repository = new AuditRepository(db);
  const service = new AuditService(repository, unused('metrics'), unused('config'), BENCH_CHAIN_KEY);
  return { db, repository, service, close: () => db.destroy() };
}

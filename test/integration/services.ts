import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

/**
 * Where the integration suites find PostgreSQL and Redis. Outside CI a missing service makes
 * its suites skip, saying so; under CI=true a missing service fails the run.
 */
export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const REQUIRED = process.env.CI === 'true';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port), hostname.replace(/^\[|\]$/g, ''), () => done(true));
  });
}

const status = {
  postgres: await reachable(PG_ADMIN_URL),
  redis: await reachable(REDIS_TEST_URL),
};

function gate(name: 'postgres' | 'redis', url: string): boolean {
  if (status[name]) return true;
  const where = new URL(url).host;
  if (REQUIRED) throw new Error(`CI=true but ${name} is not reachable at ${where}: the integration tests must run in CI`);
  // Straight to stderr: Jest swallows console output of a suite whose tests are all skipped.
  process.stderr.write(
    `\nSKIPPED: ${name} is not reachable at ${where}; its integration tests in ${suiteName()} did not run (set CI=true to make this an error)\n`,
  );
  return false;
}

function suiteName(): string {
  return expect.getState().testPath?.split('/').slice(-1)[0] ?? 'this suite';
}

/** `describe` when the services are reachable, `describe.skip` (with a warning) otherwise. */
export function describeWith(services: Array<'postgres' | 'redis'>, name: string, body: () => void): void {
  const ok = services.map((s) => gate(s, s === 'postgres' ? PG_ADMIN_URL : REDIS_TEST_URL)).every(Boolean);
  (ok ? describe : describe.skip)(name, body);
}

/** A fresh, empty PostgreSQL database for one suite; drop() removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `clc_it_${randomBytes(6).toString('hex')}`;
  const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: PG_ADMIN_URL, max: 1 }) }) });
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin);
      await admin.destroy();
    },
  };
}

/** A Redis key prefix no other suite or run uses. */
export function uniqueRedisPrefix(): string {
  return `clc-it-${randomBytes(6).toString('hex')}:`;
}

import { HealthIndicatorService } from '@nestjs/terminus';
import type { Kysely } from 'kysely';
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { createSqliteKysely } from '../database/database.factory.js';
import type { Database } from '../database/database.types.js';
import { runMigrations } from '../database/migrations.js';
import type { RedisClient } from '../redis/redis.module.js';
import { CHECK_TIMEOUT_MS, ReadinessChecks } from './readiness.service.js';
import { ShutdownState } from './shutdown-state.js';

describe(ReadinessChecks.name, () => {
  let db: Kysely<Database>;
  let shutdown: ShutdownState;
  let warned: string[];

  beforeEach(async () => {
    db = createSqliteKysely(':memory:');
    await runMigrations(db);
    shutdown = new ShutdownState();
    warned = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warned.push(String(message)));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await db.destroy().catch(() => undefined);
  });

  /** The checks' results merged as terminus does: info (up), error (down). */
  async function run(redis: Partial<RedisClient> | null) {
    const checks = new ReadinessChecks(new HealthIndicatorService(), shutdown, db, redis as RedisClient | null);
    const details: Record<string, { status: string; message?: string }> = Object.assign({}, ...(await Promise.all(checks.all().map((check) => check()))));
    const pick = (status: string) => Object.fromEntries(Object.entries(details).filter(([, v]) => v.status === status));
    const error = pick('down');
    return { status: Object.keys(error).length ? 'error' : 'ok', info: pick('up'), error, details };
  }

  it('is ok with the database answering, no migration pending and no Redis configured', async () => {
    const result = await run(null);
    expect(result.status).toBe('ok');
    expect(Object.keys(result.details).sort()).toEqual(['database', 'migrations', 'shutdown']);
  });

  it('checks Redis with PING when it is configured', async () => {
    const ping = jest.fn(async () => 'PONG');
    const result = await run({ ping } as unknown as Partial<RedisClient>);
    expect(result.status).toBe('ok');
    expect(result.info).toHaveProperty('redis.status', 'up');
    expect(ping).toHaveBeenCalledTimes(1);
  });

  it('names Redis as down with a fixed message, the cause only in the log', async () => {
    const ping = async () => {
      throw new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.7:6379');
    };
    const result = await run({ ping } as unknown as Partial<RedisClient>);
    expect(result.status).toBe('error');
    expect(result.error).toEqual({ redis: expect.objectContaining({ status: 'down', message: 'Redis did not answer' }) });
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(warned.join('\n')).toContain('readiness check redis failed');
  });

  it(`gives a check that hangs ${CHECK_TIMEOUT_MS} ms, then reports it down`, async () => {
    const ping = () => new Promise<string>(() => undefined);
    const result = await run({ ping } as unknown as Partial<RedisClient>);
    expect(result.error).toHaveProperty('redis.message', `timeout of ${CHECK_TIMEOUT_MS}ms exceeded`);
  });

  it('reports pending migrations by name', async () => {
    await db.destroy();
    db = createSqliteKysely(':memory:');
    const result = await run(null);
    expect(result.status).toBe('error');
    expect(result.error).toHaveProperty('migrations.message', '6 migration(s) pending: 001_initial, 002_audit_append_only, 003_audit_workbench, 004_oauth_token_geolocation, 005_claimed_nonces, 006_audit_chain_keyed_guard');
    expect(result.info).toHaveProperty('database.status', 'up');
  });

  it('reports a database that does not answer', async () => {
    await db.destroy();
    const result = await run(null);
    expect(result.error).toHaveProperty('database.message', 'the database did not answer');
  });

  it('is not ready once shutdown began', async () => {
    shutdown.begin();
    const result = await run(null);
    expect(result.status).toBe('error');
    expect(result.error).toEqual({ shutdown: { status: 'down', message: 'the process is shutting down' } });
  });
});

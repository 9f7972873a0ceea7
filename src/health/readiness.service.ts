import { Inject, Injectable, Logger } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { DB } from '../database/database.tokens.js';
import type { Database } from '../database/database.types.js';
import { pendingMigrations } from '../database/migrations.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { ShutdownState } from './shutdown-state.js';

/** One check, as terminus's HealthCheckService.check takes it. */
export type ReadinessCheck = () => PromiseLike<HealthIndicatorResult> | HealthIndicatorResult;

/** Each check gets this long; a probe must answer before Kubernetes gives up on it. */
export const CHECK_TIMEOUT_MS = 1000;

/**
 * The checks behind GET /health/ready: database, migrations, Redis (when configured) and
 * shutdown. A failing check says what failed in fixed words; the cause goes to the log.
 */
@Injectable()
export class ReadinessChecks {
  private readonly logger = new Logger('Readiness');

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
    @Inject(DB) private readonly db: Kysely<Database>,
    @Inject(REDIS) private readonly redis: RedisClient | null,
  ) {}

  all(): ReadinessCheck[] {
    const checks: ReadinessCheck[] = [
      () => this.shutdownCheck(),
      () =>
        this.attempt('database', 'the database did not answer', async () => {
          await sql`SELECT 1`.execute(this.db);
        }),
      () =>
        this.attempt('migrations', 'the migrations could not be read', async () => {
          const pending = await pendingMigrations(this.db);
          if (pending.length) throw new PendingMigrations(pending);
        }),
    ];
    const redis = this.redis;
    if (redis) {
      checks.push(() =>
        this.attempt('redis', 'Redis did not answer', async () => {
          await redis.ping();
        }),
      );
    }
    return checks;
  }

  private shutdownCheck() {
    const check = this.indicators.check('shutdown');
    return this.shutdown.shuttingDown ? check.down({ message: 'the process is shutting down' }) : check.up();
  }

  /** Runs `probe` with the timeout; any failure becomes `failure` (or the pending migrations), never a raw driver message. */
  private attempt(key: string, failure: string, probe: () => Promise<void>) {
    return this.indicators
      .check(key)
      .attempt(async () => {
        try {
          await probe();
        } catch (error) {
          if (error instanceof PendingMigrations) throw error;
          this.logger.warn(`readiness check ${key} failed: ${(error as Error)?.message ?? String(error)}`);
          throw new Error(failure);
        }
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }
}

class PendingMigrations extends Error {
  constructor(names: string[]) {
    super(`${names.length} migration(s) pending: ${names.join(', ')}`);
  }
}

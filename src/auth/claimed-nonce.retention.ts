import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { ClaimedNonceRepository } from './claimed-nonce.repository.js';

/** Rows one purge statement deletes at most. */
export const PURGE_BATCH = 1000;

/** When the audit keeps everything, nonces are kept this long (a launch URL older than this is not a realistic find). */
const DEFAULT_RETENTION_DAYS = 400;

/** Days a claimed nonce is kept: replay.retentionDays, else the audit's retention, else 400. */
export function replayRetentionDays(config: AppConfig): number {
  return config.replay.retentionDays ?? (config.audit.retention.days || DEFAULT_RETENTION_DAYS);
}

/**
 * Purges claimed nonces older than the retention, in bounded batches, at start and every
 * audit.retention.checkIntervalHours. Every replica does it; the deletes are idempotent.
 */
@Injectable()
export class ClaimedNonceRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ClaimedNonceRetention.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopping = false;

  constructor(
    private readonly repository: ClaimedNonceRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // In the background: a large first purge must not hold up the start.
    this.startPurge();
    this.timer = setInterval(() => this.startPurge(), this.config.audit.retention.checkIntervalHours * 3_600_000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes every nonce claimed more than the retention ago (`now`: ms), batch by batch; returns how many. */
  async purge(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - replayRetentionDays(this.config) * 86_400_000).toISOString();
    let total = 0;
    // Until a batch deletes nothing, not until one is short: a batch comes back short also when
    // another replica purging at the same time took some of its rows.
    for (;;) {
      const deleted = await this.repository.purgeClaimedBefore(cutoff, PURGE_BATCH);
      total += deleted;
      if (deleted === 0 || this.stopping) return total;
    }
  }

  /** One purge at a time: a run still going when the timer fires again is left to finish. */
  private startPurge(): void {
    this.running ??= this.purgeQuietly().finally(() => (this.running = undefined));
  }

  private async purgeQuietly(): Promise<void> {
    try {
      const pending = await this.repository.pendingMigrations();
      if (pending.length) return;
      const purged = await this.purge();
      if (purged) this.logger.log(`Purged ${purged} claimed launch nonces older than ${replayRetentionDays(this.config)} days`);
    } catch (error) {
      this.logger.warn(`Claimed nonce purge failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

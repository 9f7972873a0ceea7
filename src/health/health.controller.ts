import { Controller, Get, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { ReadinessChecks } from './readiness.service.js';

/** Kubernetes probes. JSON only; no secrets, no connection strings. */
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Readiness');
  private lastFailed = '';

  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: ReadinessChecks,
  ) {}

  /** 200 while the process runs: a restart would not fix anything a dependency lacks. */
  @Get('live')
  @HealthCheck()
  live() {
    return { status: 'ok' };
  }

  /** 200 when the database, the schema, Redis (if used) are fine and no shutdown began; else 503 naming the failed checks. */
  @Get('ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      const result = await this.health.check(this.checks.all());
      this.noteFailed([]);
      return result;
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // Terminus's own body (status, info, error, details), not the generic error JSON.
      const result = error.getResponse() as HealthCheckResult;
      this.noteFailed(Object.keys(result.error ?? {}));
      res.status(503);
      return result;
    }
  }

  /** Logs when the set of failing checks changes, not on every probe. */
  private noteFailed(failed: string[]): void {
    const now = failed.sort().join(', ');
    if (now === this.lastFailed) return;
    if (now) this.logger.warn(`not ready: ${now}`);
    else this.logger.log('ready');
    this.lastFailed = now;
  }
}

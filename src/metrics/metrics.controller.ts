import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { correlationIdOf } from '../common/request-meta.js';
import { AppConfig } from '../config/index.js';
import { METRICS_CHALLENGE, metricsCredentialsMatch } from './metrics-auth.js';
import { Metrics } from './metrics.service.js';

/** Prometheus scrape endpoint: text exposition of this instance's registry, Basic auth when configured. */
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  @Get('metrics')
  async scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    const { enabled, username, password } = this.config.metrics;
    if (!enabled) {
      refuse(req, res, 404, 'Not Found', 'Metrics are turned off on this connector (metrics.enabled).');
      return;
    }
    // Either one set means auth is wanted (config insists on both): fail closed.
    const protectedByAuth = username !== undefined || password !== undefined;
    if (protectedByAuth && !(username && password && metricsCredentialsMatch(req.headers.authorization, username, password))) {
      res.setHeader('WWW-Authenticate', METRICS_CHALLENGE);
      refuse(req, res, 401, 'Unauthorized', 'Metrics credentials are missing or wrong.');
      return;
    }
    const body = await this.metrics.registry.metrics();
    res.status(200).type(this.metrics.registry.contentType).send(body);
  }
}

/** The same JSON shape as the exception filter's. */
function refuse(req: Request, res: Response, status: number, error: string, message: string): void {
  res.status(status).json({ statusCode: status, error, message, correlationId: correlationIdOf(req) });
}

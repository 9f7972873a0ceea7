import { Controller, Get, HttpException, HttpStatus, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { correlationIdOf } from '../common/request-meta.js';
import { AppConfig } from '../config/index.js';
import { clientIpOf } from '../throttle/client-ip.js';
import { secondsText, storeFullMessage, STORE_RETRY_AFTER_SECONDS } from '../throttle/rate-limit.errors.js';
import { RateLimitStoreFull } from '../throttle/rate-limit.storage.js';
import { RateLimiter } from '../throttle/rate-limiter.service.js';
import { METRICS_CHALLENGE, metricsCredentialsMatch } from './metrics-auth.js';
import { Metrics } from './metrics.service.js';

/**
 * Prometheus scrape endpoint: text exposition of this instance's registry, Basic auth when configured.
 *
 * Password guessing: a request that carries an Authorization header counts against its client address
 * (`failed_metrics_auth`: audit.signIn.maxFailuresPerAddress failures in lockoutSeconds, like
 * the auditor sign-in's per-address lockout, in a count of its own) before they are judged, and
 * is taken back when they were right; so concurrent guesses cannot get past the limit, and a
 * locked address gets 429 with Retry-After even with the right password. A request without
 * credentials guesses nothing and is not counted. IPv6 addresses count per /64.
 */
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
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
    if (protectedByAuth && !(await this.signedIn(req, res, username, password))) return;
    const body = await this.metrics.registry.metrics();
    res.status(200).type(this.metrics.registry.contentType).send(body);
  }

  /** Judges the credentials under the per-address lockout; answers the refusal itself (false). */
  private async signedIn(req: Request, res: Response, username?: string, password?: string): Promise<boolean> {
    const header = req.headers.authorization;
    const subject = clientIpOf(req);
    if (header !== undefined) {
      try {
        const verdict = await this.limiter.hit('failed_metrics_auth', subject);
        if (!verdict.allowed) {
          this.metrics.rateLimited.inc({ limit: 'failed_metrics_auth' });
          res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
          const message = `Too many failed metrics sign-ins from your address; wait ${secondsText(verdict.retryAfterSeconds)} and try again.`;
          refuse(req, res, 429, 'Too Many Requests', message);
          return false;
        }
      } catch (error) {
        if (error instanceof RateLimitStoreFull) {
          this.metrics.rateLimited.inc({ limit: 'memory_store_full' });
          res.setHeader('Retry-After', String(error.retryAfterSeconds));
          refuse(req, res, 429, 'Too Many Requests', storeFullMessage(error.retryAfterSeconds));
          return false;
        }
        if (error instanceof HttpException && error.getStatus() === HttpStatus.SERVICE_UNAVAILABLE) {
          res.setHeader('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
          refuse(req, res, 503, 'Service Unavailable', `The connector could not reach its shared store; wait ${secondsText(STORE_RETRY_AFTER_SECONDS)} and try again.`);
          return false;
        }
        throw error;
      }
    }
    if (username && password && metricsCredentialsMatch(header, username, password)) {
      await this.limiter.takeBack('failed_metrics_auth', subject);
      return true;
    }
    res.setHeader('WWW-Authenticate', METRICS_CHALLENGE);
    refuse(req, res, 401, 'Unauthorized', 'Metrics credentials are missing or wrong.');
    return false;
  }
}

/** The same JSON shape as the exception filter's. */
function refuse(req: Request, res: Response, status: number, error: string, message: string): void {
  res.status(status).json({ statusCode: status, error, message, correlationId: correlationIdOf(req) });
}

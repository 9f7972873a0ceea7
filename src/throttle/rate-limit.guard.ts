import { applyDecorators, type CanActivate, type ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { LAUNCH_VERSION } from '../auth/launch.decorator.js';
import { tooManyLaunchesPage } from '../common/page.exception.js';
import { Metrics } from '../metrics/metrics.service.js';
import { clientIpOf } from './client-ip.js';
import { limiterFailure, tooManyTestConnections } from './rate-limit.errors.js';
import { RateLimitStoreFull } from './rate-limit.storage.js';
import { RateLimiter } from './rate-limiter.service.js';

/** Metadata key of the per-client-IP limit a route counts against (set by @RateLimit). */
export const RATE_LIMIT = 'clc:rate-limit';

export type IpLimitName = 'launch' | 'test_connection';

/**
 * Refuses a request with 429 and Retry-After once its client IP is over the route's limit:
 * the launch popup gets the error page, Test Connection JSON. Runs before the other guards of
 * the route, so a refused launch never claims its nonce. When the count cannot be kept
 * (Redis down) the request is refused with 503 and Retry-After, not let through; when the memory
 * store has no room for a new address, with 429 and Retry-After (metrics: limit
 * "memory_store_full"), so no count is ever dropped to make room.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly metrics: Metrics,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const name = this.reflector.get<IpLimitName | undefined>(RATE_LIMIT, context.getHandler());
    if (name !== 'launch' && name !== 'test_connection') throw new Error('RateLimitGuard needs @RateLimit(...) on the route');
    if (!this.limiter.enabled) return true;
    const http = context.switchToHttp();
    const ip = clientIpOf(http.getRequest<Request>());
    const res = http.getResponse<Response>();
    const verdict = await this.limiter.hit(name, ip).catch((error: unknown) => {
      if (error instanceof RateLimitStoreFull) this.refused(context, name, 'memory_store_full');
      throw limiterFailure(error, res, name);
    });
    if (verdict.allowed) return true;

    res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
    this.refused(context, name, name);
    if (name === 'test_connection') throw tooManyTestConnections(verdict.retryAfterSeconds, 'network');
    throw tooManyLaunchesPage(verdict.retryAfterSeconds, `launch rate limit reached for ${ip}`);
  }

  /** Counts a 429 in the metrics: by the limit that refused it, and as the route's outcome. */
  private refused(context: ExecutionContext, name: IpLimitName, limit: string): void {
    this.metrics.rateLimited.inc({ limit });
    if (name === 'test_connection') {
      this.metrics.testConnections.inc({ outcome: 'rate_limited' });
      return;
    }
    const version = this.reflector.get<unknown>(LAUNCH_VERSION, context.getHandler());
    this.metrics.launches.inc({ version: version === 1 || version === 4 ? String(version) : 'unknown', outcome: 'rate_limited' });
  }
}

/**
 * The route counts against a per-client-IP limit of config.rateLimit. Guards run in the order
 * they are added and decorators apply bottom-up: put this below the route's other guard
 * decorators (nearest the method) so it runs first.
 */
export function RateLimit(name: IpLimitName) {
  return applyDecorators(SetMetadata(RATE_LIMIT, name), UseGuards(RateLimitGuard));
}

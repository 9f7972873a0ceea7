import { Global, Module } from '@nestjs/common';
import { ThrottleModule } from '../throttle/throttle.module.js';
import { MetricsController } from './metrics.controller.js';
import { Metrics } from './metrics.service.js';

/**
 * One Metrics instance for the whole application; every module may count into it. GET /metrics
 * exposes it, its Basic auth under a per-address lockout (RateLimiter, hence ThrottleModule).
 */
@Global()
@Module({ imports: [ThrottleModule], controllers: [MetricsController], providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}

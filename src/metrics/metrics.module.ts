import { Global, Module } from '@nestjs/common';
import { Metrics } from './metrics.service.js';

/** One Metrics instance for the whole application; every module may count into it. */
@Global()
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}

import { type DynamicModule, Module } from '@nestjs/common';
import { AuditAccessModule } from './audit/access/access.module.js';
import { AuditWorkbenchModule } from './audit/workbench/workbench.module.js';
import { CalloutModule } from './callout/callout.module.js';
import { ConfigModule, type LoadedConfig } from './config/index.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { createRootLogger } from './logging/logging.options.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RedisModule } from './redis/redis.module.js';
import { SandboxModule } from './sandbox/sandbox.module.js';
import { ThrottleModule } from './throttle/throttle.module.js';

/** What a caller of createApp may set beyond the configuration (tests capture logs this way). */
export interface AppModuleOptions {
  /** Where log lines go instead of stdout, as JSON whatever logging.format says. */
  logDestination?: NodeJS.WritableStream;
}

@Module({})
export class AppModule {
  static forRoot(loaded: LoadedConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(loaded),
        LoggingModule.forRoot(createRootLogger(loaded.config.logging, options.logDestination)),
        DatabaseModule,
        RedisModule,
        MetricsModule,
        HealthModule,
        ThrottleModule,
        CalloutModule,
        AuditAccessModule,
        AuditWorkbenchModule,
        ...(loaded.config.sandbox.enabled ? [SandboxModule] : []),
      ],
    };
  }
}

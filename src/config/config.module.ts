import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { LoadedConfig } from './config.loader.js';
import { AppConfig } from './config.schema.js';
import { ServerAddress } from './server-address.js';
import { Tenants } from './tenants.js';

/** Makes the validated AppConfig (and the server's own address) injectable everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(loaded: LoadedConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: AppConfig, useValue: loaded.config }, ServerAddress, Tenants],
      exports: [AppConfig, ServerAddress, Tenants],
    };
  }
}

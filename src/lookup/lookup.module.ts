import { Module } from '@nestjs/common';
import { LookupService } from './lookup.service.js';

/** Searching a tenant's system of record; needs the global ConfigModule (AppConfig, Tenants). */
@Module({
  providers: [LookupService],
  exports: [LookupService],
})
export class LookupModule {}

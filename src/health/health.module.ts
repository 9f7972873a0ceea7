import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { ReadinessChecks } from './readiness.service.js';
import { ShutdownState } from './shutdown-state.js';

/** /health/live and /health/ready; ShutdownState for everyone (graceful shutdown sets it, readiness reads it). */
@Global()
@Module({
  // Terminus would log every failed probe at error level; the controller logs changes instead.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ShutdownState, ReadinessChecks],
  exports: [ShutdownState],
})
export class HealthModule {}

import { Module } from '@nestjs/common';
import { SandboxConcurController } from './sandbox-concur.controller.js';
import { SandboxPageController } from './sandbox-page.controller.js';
import { SandboxFaults } from './sandbox.faults.js';
import { SandboxLaunch } from './sandbox.launch.js';
import { SandboxOAuth } from './sandbox.oauth.js';
import { SandboxStore } from './sandbox.store.js';

/** A stand-in Concur on the connector's own server, for demos and tests. Mounted only when sandbox.enabled. */
@Module({
  controllers: [SandboxConcurController, SandboxPageController],
  providers: [SandboxStore, SandboxFaults, SandboxOAuth, SandboxLaunch],
  exports: [SandboxStore, SandboxFaults],
})
export class SandboxModule {}

import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ConnectorBasicAuthGuard } from './basic-auth.guard.js';
import { LaunchSessionService } from './launch-session.service.js';
import { MemoryReplayStore, ReplayStore } from './replay.store.js';
import { MemorySessionStore, SessionStore } from './session.store.js';
import { SignatureGuard } from './signature.guard.js';

/** Launch verification (signature, nonce), launch sessions and the Test Connection guard. */
@Module({
  imports: [AuditModule],
  providers: [
    { provide: ReplayStore, useClass: MemoryReplayStore },
    { provide: SessionStore, useClass: MemorySessionStore },
    LaunchSessionService,
    SignatureGuard,
    ConnectorBasicAuthGuard,
  ],
  exports: [ReplayStore, SessionStore, LaunchSessionService, SignatureGuard, ConnectorBasicAuthGuard],
})
export class AuthModule {}

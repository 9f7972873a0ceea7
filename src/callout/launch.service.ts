import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { RejectedLaunchAudit } from '../audit/rejected-launch.audit.js';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { AcceptedLaunch, LaunchSession } from '../auth/launch.types.js';
import type { RequestMeta } from '../common/request-meta.js';
import { LaunchTokensService, UserTokenRequiredError } from './launch-tokens.service.js';

export interface StartedLaunch {
  session: LaunchSession;
  cookieSecret: string;
  location: string;
}

/**
 * Turns an accepted launch (SignatureGuard checked its signature, item and unsigned input, and
 * claimed its nonce) into a launch session, or a 401 page when the tenant requires user tokens
 * and the launch brought none.
 */
@Injectable()
export class LaunchService {
  private readonly logger = new Logger(LaunchService.name);

  constructor(
    private readonly sessions: LaunchSessionService,
    private readonly audit: AuditService,
    private readonly rejectedLaunches: RejectedLaunchAudit,
    private readonly launchTokens: LaunchTokensService,
  ) {}

  /** `origin`: https://host the launch arrived at (the default redirect_uri of the client_auth_code exchange). */
  async start(launch: AcceptedLaunch, meta: RequestMeta, origin?: string): Promise<StartedLaunch> {
    const { item, choices } = launch.input;
    const { notes, ...chosen } = choices;
    for (const note of notes) this.logger.warn(`launch input fallback [${meta.correlationId}]: ${note}`);
    let principal;
    try {
      principal = await this.launchTokens.principalOf(launch, meta, origin);
    } catch (error) {
      if (!(error instanceof UserTokenRequiredError)) throw error;
      await this.auditRejection(launch, meta, error.reason);
      throw error.page;
    }
    const { session, cookieSecret } = await this.sessions.create({
      version: launch.version,
      tenantId: launch.tenant.id,
      companyDomain: launch.companyDomain,
      userId: launch.userId,
      reportOwnerUserId: launch.reportOwnerUserId,
      reportOwnerEmployeeId: launch.reportOwnerEmployeeId,
      item,
      ...chosen,
      ...(principal.userGrant ? { userGrant: principal.userGrant } : {}),
    });
    await this.audit.record({
      type: 'launch.accepted',
      outcome: 'success',
      tenantId: launch.tenant.id,
      companyDomain: launch.companyDomain,
      actingUser: launch.userId,
      reportOwner: launch.reportOwnerUserId,
      itemUrl: item.url,
      launchId: session.id,
      field: session.field,
      reason: principal.note,
      ...meta,
    });
    return { session, cookieSecret, location: `/launch/s/${session.id}` };
  }

  private async auditRejection(launch: AcceptedLaunch, meta: RequestMeta, reason: string): Promise<void> {
    this.logger.warn(`launch rejected [${meta.correlationId}]: ${reason}`);
    // The person still gets the page that says what to do, even when the audit store fails.
    await this.rejectedLaunches.record({
      type: 'launch.rejected',
      outcome: 'failure',
      reason,
      tenantId: launch.tenant.id,
      companyDomain: launch.companyDomain,
      actingUser: launch.userId,
      reportOwner: launch.reportOwnerUserId,
      itemUrl: launch.itemUrl,
      ...meta,
    }).catch((error: unknown) => {
      this.logger.error(`launch.rejected could not be audited [${meta.correlationId}]: ${(error as Error).message}`);
    });
  }
}

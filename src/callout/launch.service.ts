import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession, VerifiedLaunch } from '../auth/launch.types.js';
import type { RequestMeta } from '../common/request-meta.js';
import { badLaunchPage } from '../common/page.exception.js';
import { ItemUrlError, type ItemRef } from '../concur/concur.types.js';
import { HostAllowList } from '../concur/host-allow-list.js';
import { parseItemUrl } from '../concur/item-url.js';
import { itemApiOf, LaunchInputError, resolveLaunchChoices } from './launch-input.js';
import { LaunchTokensService, UserTokenRequiredError } from './launch-tokens.service.js';

export interface StartedLaunch {
  session: LaunchSession;
  cookieSecret: string;
  location: string;
}

/** Turns a verified launch into a launch session, or a 400 page when its item or unsigned input is not acceptable. */
@Injectable()
export class LaunchService {
  private readonly logger = new Logger(LaunchService.name);

  constructor(
    private readonly sessions: LaunchSessionService,
    private readonly allowList: HostAllowList,
    private readonly audit: AuditService,
    private readonly launchTokens: LaunchTokensService,
  ) {}

  /** `origin`: https://host the launch arrived at (the default redirect_uri of the client_auth_code exchange). */
  async start(launch: VerifiedLaunch, meta: RequestMeta, origin?: string): Promise<StartedLaunch> {
    let item: ItemRef;
    let choices;
    try {
      item = parseItemUrl(launch.itemUrl, itemApiOf(launch.version), this.allowList.originsFor(launch.tenant));
      choices = resolveLaunchChoices(launch, item);
    } catch (error) {
      if (!(error instanceof ItemUrlError || error instanceof LaunchInputError)) throw error;
      await this.auditRejection(launch, meta, error.message);
      throw badLaunchPage(error.message);
    }
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

  private async auditRejection(launch: VerifiedLaunch, meta: RequestMeta, reason: string): Promise<void> {
    this.logger.warn(`launch rejected [${meta.correlationId}]: ${reason}`);
    // The person still gets the page that says what to do, even when the audit store fails.
    await this.audit.record({
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

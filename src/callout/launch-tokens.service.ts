import { Injectable, Logger } from '@nestjs/common';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession, VerifiedLaunch } from '../auth/launch.types.js';
import { PageException } from '../common/page.exception.js';
import type { RequestMeta } from '../common/request-meta.js';
import type { TenantConfig } from '../config/index.js';
import { ConcurError } from '../concur/concur.types.js';
import { type UserTokens, UserTokenService } from '../concur/user-token.service.js';
import { msg } from '../i18n/i18n.js';
import { Metrics } from '../metrics/metrics.service.js';

/** Whose tokens a launch session reads and writes with, and why; the why goes into the audit. */
export interface LaunchPrincipal {
  /** The user's grant, sealed (SecretBox), or undefined for the company token. */
  userGrant?: string;
  /** For the launch.accepted event, e.g. "as the user (client_auth_code exchanged)". */
  note: string;
}

/** A refused launch of a tenant whose `oauth.userTokens` is `required`: the audit reason and the page. */
export class UserTokenRequiredError extends Error {
  constructor(
    readonly reason: string,
    readonly page: PageException,
  ) {
    super(reason);
    this.name = 'UserTokenRequiredError';
  }
}

const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

/**
 * The user's own tokens for a v4 launch (v4.launch-external-url.markdown: the connector must
 * exchange client_auth_code, authorization_code grant), by the tenant's `oauth.userTokens`:
 * preferred falls back to the company token and says so; required refuses the launch.
 */
@Injectable()
export class LaunchTokensService {
  private readonly logger = new Logger(LaunchTokensService.name);

  constructor(
    private readonly userTokens: UserTokenService,
    private readonly sessions: LaunchSessionService,
    private readonly metrics: Metrics,
  ) {}

  /** `origin`: where the launch arrived (https://host), the redirect_uri when none is configured. */
  async principalOf(launch: VerifiedLaunch, meta: RequestMeta, origin: string | undefined): Promise<LaunchPrincipal> {
    const tenant = launch.tenant;
    const mode = tenant.oauth.userTokens;
    if (launch.version === 1) return { note: 'company token (v1 launches carry no client_auth_code)' };
    if (mode === 'off') {
      this.metrics.userTokens.inc({ outcome: 'off' });
      return { note: 'company token (oauth.userTokens: off)' };
    }
    const code = launch.unsigned.client_auth_code;
    if (!code) {
      this.metrics.userTokens.inc({ outcome: 'no_code' });
      return this.fallback(mode, 'the launch carried no client_auth_code');
    }
    const redirectUri = tenant.oauth.redirectUri ?? origin;
    if (!redirectUri) return this.fallback(mode, 'no oauth.redirectUri is configured and the launch origin is unknown');
    try {
      const grant = await this.userTokens.exchange(tenant, code, redirectUri, meta.correlationId);
      this.metrics.userTokens.inc({ outcome: 'exchanged' });
      return { userGrant: this.userTokens.seal(grant), note: "as the user (client_auth_code exchanged for the user's tokens)" };
    } catch (error) {
      if (!(error instanceof ConcurError)) throw error;
      this.metrics.userTokens.inc({ outcome: 'refused' });
      this.logger.warn(`client_auth_code of tenant ${tenant.id} not exchanged [${meta.correlationId}]: ${error.message}`);
      return this.fallback(mode, `client_auth_code not exchanged: ${error.message}`.slice(0, 400));
    }
  }

  /** The session's user tokens for the Concur client; a renewed grant is sealed into the session. */
  tokensOf(session: LaunchSession): UserTokens | undefined {
    if (!session.userGrant) return undefined;
    const grant = this.userTokens.open(session.userGrant);
    if (!grant) {
      // Sealed with another key (a rotated CONNECTOR_ENCRYPTION_KEY): the user relaunches.
      throw new PageException(410, {
        title: msg('This window has expired'),
        message: msg('For your security this window stops working after a while. Close this window and click the field again in Concur.'),
        detail: "the session's user grant cannot be opened",
      });
    }
    return {
      grant,
      renewed: async (renewed) => {
        session.userGrant = this.userTokens.seal(renewed);
        await this.sessions.save(session);
      },
    };
  }

  private fallback(mode: TenantConfig['oauth']['userTokens'], why: string): LaunchPrincipal {
    if (mode === 'required') {
      throw new UserTokenRequiredError(
        `oauth.userTokens is required and ${why}`,
        new PageException(401, {
          title: msg('Concur did not confirm who you are'),
          message: msg('This connector writes to Concur only as you, and Concur did not confirm your sign-in. Close this window, make sure you are signed in to Concur, and click the field again.'),
          detail: why,
        }),
      );
    }
    return { note: `company token (${why})` };
  }
}

/**
 * The default redirect_uri: https://host of the launch, when its Host header looks like a host.
 * Always https: Concur calls the connector over HTTPS only, and behind a TLS-terminating proxy
 * the request itself may look like plain http.
 */
export function launchOrigin(host: string | undefined): string | undefined {
  if (!host || !HOST.test(host)) return undefined;
  return `https://${host}`;
}

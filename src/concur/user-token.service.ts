import { Injectable } from '@nestjs/common';
import { AppConfig, type TenantConfig } from '../config/index.js';
import { HostAllowList } from './host-allow-list.js';
import { OAuthClient, type TokenAnswer } from './oauth.client.js';
import { SecretBox } from './secret-box.js';

/**
 * A user's tokens from a v4 launch's client_auth_code (v4.launch-external-url.markdown: the
 * connector must exchange it with the authorization_code grant). They live only in the launch
 * session, sealed; never in the database, never in a log.
 */
export interface UserGrant {
  accessToken: string;
  refreshToken?: string;
  /** Where this token's refreshes and API calls go. */
  geolocation: string;
  /** Epoch ms after which the access token is renewed before use (expiry minus the configured skew). */
  refreshAt: number;
}

/** A user's grant as the Concur client uses it, and what to do when it was renewed (save the session). */
export interface UserTokens {
  grant: UserGrant;
  renewed(grant: UserGrant): Promise<void>;
}

@Injectable()
export class UserTokenService {
  constructor(
    private readonly oauth: OAuthClient,
    private readonly config: AppConfig,
    private readonly hostAllowList: HostAllowList,
    private readonly box: SecretBox,
  ) {}

  /** The authorization_code grant at the tenant's OAuth base (apidoc.markdown "Authorization grant"). */
  async exchange(tenant: TenantConfig, code: string, redirectUri: string, correlationId: string): Promise<UserGrant> {
    const answer = await this.oauth.requestToken(
      tenant,
      this.hostAllowList.oauthBaseUrl(tenant),
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
      correlationId,
    );
    return this.grantOf(answer);
  }

  /** The refresh_token grant at the token's geolocation; the refresh token rotates as Concur says. */
  async renew(tenant: TenantConfig, grant: UserGrant, correlationId: string): Promise<UserGrant> {
    if (!grant.refreshToken) throw new Error("the user's grant has no refresh token");
    const base = this.hostAllowList.isAllowedBase(tenant, grant.geolocation) ? grant.geolocation : this.hostAllowList.oauthBaseUrl(tenant);
    const answer = await this.oauth.requestToken(tenant, base, { grant_type: 'refresh_token', refresh_token: grant.refreshToken }, correlationId);
    return { ...this.grantOf(answer), refreshToken: answer.refreshToken ?? grant.refreshToken };
  }

  seal(grant: UserGrant): string {
    return this.box.seal(JSON.stringify(grant));
  }

  /** The grant, or undefined when it cannot be opened (another key) or read. */
  open(sealed: string): UserGrant | undefined {
    try {
      const value = JSON.parse(this.box.open(sealed)) as Partial<UserGrant>;
      if (typeof value.accessToken !== 'string' || typeof value.geolocation !== 'string' || typeof value.refreshAt !== 'number') return undefined;
      return {
        accessToken: value.accessToken,
        geolocation: value.geolocation,
        refreshAt: value.refreshAt,
        ...(typeof value.refreshToken === 'string' ? { refreshToken: value.refreshToken } : {}),
      };
    } catch {
      return undefined;
    }
  }

  private grantOf(answer: TokenAnswer): UserGrant {
    const lifetime = answer.expiresInSeconds !== undefined ? Math.max(0, answer.expiresInSeconds - this.config.concur.tokenRefreshSkewSeconds) : 0;
    return {
      accessToken: answer.accessToken,
      ...(answer.refreshToken ? { refreshToken: answer.refreshToken } : {}),
      geolocation: answer.geolocation,
      refreshAt: Date.now() + lifetime * 1000,
    };
  }
}

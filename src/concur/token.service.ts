import { createHash } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig, tenantEnvPrefix, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { type AccessToken, ConcurError } from './concur.types.js';
import { HostAllowList } from './host-allow-list.js';
import { OAUTH_BAD_REFRESH_TOKEN, OAuthClient, type TokenAnswer } from './oauth.client.js';
import { SecretBox } from './secret-box.js';
import { constantTimeEqual } from '../common/secret-compare.js';
import { type FreshToken, MemoryTokenCache, TokenCache } from './token-cache.js';
import { TokenRepository } from './token.repository.js';

/** A refresh token closer than this to its expiry is logged as a warning at every refresh. */
export const REFRESH_TOKEN_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export function seedHash(refreshToken: string): string {
  return createHash('sha256').update(refreshToken, 'utf8').digest('hex');
}

interface CurrentGrant {
  refreshToken: string;
  /** Where the last token answer said refreshes go; undefined: the configured OAuth base URL. */
  geolocation?: string;
}

/**
 * Company access tokens by the refresh_token grant: cached, one refresh at a time per tenant
 * (across replicas with the Redis cache); the rotated refresh token, the token's geolocation and
 * the refresh token's expiry are persisted, and the geolocation is where the next refresh goes.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);
  /** A rotated refresh token whose save failed: kept so this process does not fall back to a stale one. */
  private readonly unsaved = new Map<string, { seedHash: string; grant: CurrentGrant; refreshExpiresAt?: number }>();

  constructor(
    private readonly oauth: OAuthClient,
    private readonly config: AppConfig,
    private readonly hostAllowList: HostAllowList,
    private readonly tokens: TokenRepository,
    private readonly box: SecretBox,
    @Optional() private readonly cache: TokenCache = new MemoryTokenCache(),
    @Optional() private readonly metrics?: Metrics,
  ) {}

  get stats(): { tokenRequests: number } {
    return this.oauth.stats;
  }

  getAccessToken(tenant: TenantConfig, correlationId: string): Promise<AccessToken> {
    return this.cache.get(tenant.id, () => this.refresh(tenant, correlationId));
  }

  /**
   * Forgets the cached access token because Concur answered 401 to it. With rejectedToken, only
   * that token is forgotten: a newer one fetched meanwhile by a concurrent caller stays, as does an in-flight refresh.
   */
  invalidate(tenantId: string, rejectedToken?: string): Promise<void> {
    return this.cache.invalidate(tenantId, rejectedToken);
  }

  /** Runs under the cache's per-tenant lock, so the refresh token read here is the latest one stored. */
  private async refresh(tenant: TenantConfig, correlationId: string): Promise<FreshToken> {
    const seed = seedHash(tenant.oauth.refreshToken);
    const current = await this.currentGrant(tenant, seed);
    const base =
      current.geolocation && this.hostAllowList.isAllowedBase(tenant, current.geolocation)
        ? current.geolocation
        : this.hostAllowList.oauthBaseUrl(tenant);
    let answer: TokenAnswer;
    try {
      answer = await this.oauth.requestToken(tenant, base, { grant_type: 'refresh_token', refresh_token: current.refreshToken }, correlationId);
    } catch (error) {
      if (error instanceof ConcurError && error.details.oauthCode !== undefined) this.refused(tenant, error, correlationId);
      throw error;
    }
    const lifetime = answer.expiresInSeconds !== undefined ? Math.max(0, answer.expiresInSeconds - this.config.concur.tokenRefreshSkewSeconds) : 0;
    const rotated = answer.refreshToken !== undefined && answer.refreshToken !== current.refreshToken;
    const moved = answer.geolocation !== (current.geolocation ?? base);
    if (rotated || moved || answer.refreshExpiresAt !== undefined) {
      await this.persist(tenant.id, seed, { refreshToken: answer.refreshToken ?? current.refreshToken, geolocation: answer.geolocation }, answer.refreshExpiresAt);
    }
    if (answer.refreshExpiresAt !== undefined) this.watchExpiry(tenant, answer.refreshExpiresAt);
    return { accessToken: answer.accessToken, refreshAt: Date.now() + lifetime * 1000, geolocation: answer.geolocation };
  }

  /** Concur refused the company's grant: a metric, and for 108 a line that tells the admin what to do. */
  private refused(tenant: TenantConfig, error: ConcurError, correlationId: string): void {
    const code = error.details.oauthCode!;
    this.metrics?.oauthRefusals.inc({ tenant: tenant.id, code: String(code) });
    if (code === OAUTH_BAD_REFRESH_TOKEN) {
      this.logger.error(
        `tenant ${tenant.id}: Concur refused the company refresh token (code 108: bad or expired refresh token). ` +
          `Obtain a new company refresh token (company-auth.markdown: App Center, password grant), set ${tenantEnvPrefix(tenant.id)}OAUTH_REFRESH_TOKEN ` +
          `(or tenants[].oauth.refreshToken) and restart the connector; other tenants are not affected (correlation ${correlationId})`,
      );
    }
  }

  /** The refresh token's expiry as a gauge; a warning while it is under REFRESH_TOKEN_WARNING_DAYS away. */
  private watchExpiry(tenant: TenantConfig, expiresAt: number): void {
    const left = expiresAt - Date.now();
    this.metrics?.refreshTokenExpiry.set({ tenant: tenant.id }, Math.round(left / 1000));
    if (left < REFRESH_TOKEN_WARNING_DAYS * DAY_MS) {
      this.logger.warn(
        `tenant ${tenant.id}: the company refresh token expires in ${Math.max(0, Math.floor(left / DAY_MS))} day(s) (${new Date(expiresAt).toISOString()}); ` +
          `obtain a new one (company-auth.markdown) and set ${tenantEnvPrefix(tenant.id)}OAUTH_REFRESH_TOKEN before then`,
      );
    }
  }

  private async currentGrant(tenant: TenantConfig, seed: string): Promise<CurrentGrant> {
    const unsaved = this.unsaved.get(tenant.id);
    if (unsaved && unsaved.seedHash === seed) {
      // Store it now (this runs under the tenant's refresh lock), so other replicas stop using
      // the token it replaced; only if that fails again does this process keep it to itself.
      await this.persist(tenant.id, seed, unsaved.grant, unsaved.refreshExpiresAt);
      if (this.unsaved.has(tenant.id)) return unsaved.grant;
    }
    const stored = await this.tokens.find(tenant.id);
    if (stored && constantTimeEqual(stored.seed_hash, seed)) {
      try {
        return { refreshToken: this.box.open(stored.refresh_token_enc), geolocation: stored.geolocation ?? undefined };
      } catch {
        this.logger.warn(`stored refresh token of tenant ${tenant.id} cannot be opened; using the configured one`);
      }
    }
    return { refreshToken: tenant.oauth.refreshToken };
  }

  private async persist(tenantId: string, seed: string, grant: CurrentGrant, refreshExpiresAt?: number): Promise<void> {
    try {
      await this.tokens.save({
        tenant_id: tenantId,
        refresh_token_enc: this.box.seal(grant.refreshToken),
        seed_hash: seed,
        updated_at: new Date().toISOString(),
        geolocation: grant.geolocation ?? null,
        refresh_expires_at: refreshExpiresAt !== undefined ? new Date(refreshExpiresAt).toISOString() : null,
      });
      this.unsaved.delete(tenantId);
    } catch (error) {
      this.unsaved.set(tenantId, { seedHash: seed, grant, refreshExpiresAt });
      this.logger.error(`rotated refresh token of tenant ${tenantId} could not be stored: ${(error as Error).message}`);
    }
  }
}

import { createHash } from 'node:crypto';
import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, Optional } from '@nestjs/common';
import type { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AppConfig, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { ConcurError } from './concur.types.js';
import { HostAllowList } from './host-allow-list.js';
import { SecretBox } from './secret-box.js';
import { constantTimeEqual } from '../common/secret-compare.js';
import { type FreshToken, MemoryTokenCache, TokenCache } from './token-cache.js';
import { TokenRepository } from './token.repository.js';

interface TokenResponse {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
}

export function seedHash(refreshToken: string): string {
  return createHash('sha256').update(refreshToken, 'utf8').digest('hex');
}

/**
 * Company access tokens by the refresh_token grant: cached, one refresh at a time per tenant
 * (across replicas with the Redis cache), rotation persisted.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);
  /** A rotated refresh token whose save failed: kept so this process does not fall back to a stale one. */
  private readonly unsaved = new Map<string, { seedHash: string; refreshToken: string }>();
  readonly stats = { tokenRequests: 0 };

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly hostAllowList: HostAllowList,
    private readonly tokens: TokenRepository,
    private readonly box: SecretBox,
    @Optional() private readonly cache: TokenCache = new MemoryTokenCache(),
    @Optional() private readonly metrics?: Metrics,
  ) {}

  getAccessToken(tenant: TenantConfig, correlationId: string): Promise<string> {
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
    const refreshToken = await this.currentRefreshToken(tenant, seed);
    const url = `${this.hostAllowList.oauthBaseUrl(tenant)}/oauth2/v0/token`;
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: tenant.oauth.clientId,
      client_secret: tenant.oauth.clientSecret,
      refresh_token: refreshToken,
    });
    this.stats.tokenRequests++;
    const started = Date.now();
    let response: AxiosResponse<unknown>;
    try {
      const post = () =>
        firstValueFrom(
          this.http.post<unknown>(url, form.toString(), {
            headers: {
              'Content-Type': 'application/x-www-form-urlencoded',
              Accept: 'application/json',
              'concur-correlationid': correlationId,
            },
            timeout: this.config.concur.timeoutMs,
            maxRedirects: 0,
            validateStatus: () => true,
          }),
        );
      response = this.metrics ? await this.metrics.timeConcur('token', post, (r) => r.status) : await post();
    } catch (error) {
      this.logger.warn(
        `token request for tenant ${tenant.id} failed: ${(error as { code?: string }).code ?? 'network error'} (correlation ${correlationId})`,
      );
      throw new ConcurError('unavailable', "Concur's OAuth service could not be reached");
    }
    const { status } = response;
    this.logger.debug(`token refresh tenant=${tenant.id} status=${status} ms=${Date.now() - started} correlation=${correlationId}`);
    if (status === 429 || status >= 500) {
      throw new ConcurError('unavailable', "Concur's OAuth service is unavailable", status);
    }
    if (status < 200 || status >= 300) {
      this.logger.warn(`Concur refused the OAuth credentials of tenant ${tenant.id} (status ${status}, correlation ${correlationId})`);
      throw new ConcurError('auth', "Concur refused the connector's OAuth credentials", status);
    }
    const body = (typeof response.data === 'object' && response.data !== null ? response.data : {}) as TokenResponse;
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new ConcurError('unavailable', "Concur's OAuth service answered without an access token", status);
    }
    const expiresIn = Number(body.expires_in);
    const lifetime = Number.isFinite(expiresIn) ? Math.max(0, expiresIn - this.config.concur.tokenRefreshSkewSeconds) : 0;
    const fresh = { accessToken: body.access_token, refreshAt: Date.now() + lifetime * 1000 };
    if (typeof body.refresh_token === 'string' && body.refresh_token !== '' && body.refresh_token !== refreshToken) {
      await this.persistRotated(tenant.id, seed, body.refresh_token);
    }
    return fresh;
  }

  private async currentRefreshToken(tenant: TenantConfig, seed: string): Promise<string> {
    const unsaved = this.unsaved.get(tenant.id);
    if (unsaved && unsaved.seedHash === seed) {
      // Store it now (this runs under the tenant's refresh lock), so other replicas stop using
      // the token it replaced; only if that fails again does this process keep it to itself.
      await this.persistRotated(tenant.id, seed, unsaved.refreshToken);
      if (this.unsaved.has(tenant.id)) return unsaved.refreshToken;
    }
    const stored = await this.tokens.find(tenant.id);
    if (stored && constantTimeEqual(stored.seed_hash, seed)) {
      try {
        return this.box.open(stored.refresh_token_enc);
      } catch {
        this.logger.warn(`stored refresh token of tenant ${tenant.id} cannot be opened; using the configured one`);
      }
    }
    return tenant.oauth.refreshToken;
  }

  private async persistRotated(tenantId: string, seed: string, refreshToken: string): Promise<void> {
    try {
      await this.tokens.save({
        tenant_id: tenantId,
        refresh_token_enc: this.box.seal(refreshToken),
        seed_hash: seed,
        updated_at: new Date().toISOString(),
      });
      this.unsaved.delete(tenantId);
    } catch (error) {
      this.unsaved.set(tenantId, { seedHash: seed, refreshToken });
      this.logger.error(`rotated refresh token of tenant ${tenantId} could not be stored: ${(error as Error).message}`);
    }
  }
}

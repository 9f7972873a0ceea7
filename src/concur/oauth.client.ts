import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, Optional } from '@nestjs/common';
import type { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AppConfig, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { ConcurError } from './concur.types.js';
import { assertContract, checkContract } from './contract/contract.js';
import { concurCorrelationHeader, concurCorrelationIdOf, concurReason } from './concur-errors.js';
import { HostAllowList } from './host-allow-list.js';

/** A token answer (apidoc.markdown "Access Tokens"), read loosely where the docs are loose. */
export interface TokenAnswer {
  accessToken: string;
  refreshToken?: string;
  /** Access token lifetime in seconds; undefined when Concur did not say (or said something unreadable). */
  expiresInSeconds?: number;
  /** Epoch ms the refresh token expires, when Concur said (refresh_expires_in). */
  refreshExpiresAt?: number;
  /** Where refreshes and API calls for this token go: the answer's geolocation if allowed, else the base asked. */
  geolocation: string;
}

export type TokenGrant =
  | { grant_type: 'refresh_token'; refresh_token: string }
  | { grant_type: 'authorization_code'; code: string; redirect_uri: string };

/** OAuth error codes of apidoc.markdown "Response Codes" the connector acts on. */
export const OAUTH_USER_LIVES_ELSEWHERE = 16;
export const OAUTH_BAD_REFRESH_TOKEN = 108;

const EPOCH_SECONDS_FROM = 1_000_000_000;

/**
 * Concur's token endpoint (`POST {base}/oauth2/v0/token`, form-encoded): one place for the
 * request, the answer and Concur's OAuth errors, shared by the company and the user tokens.
 * Secrets go only to the configured OAuth base URL or an allowed geolocation.
 */
@Injectable()
export class OAuthClient {
  private readonly logger = new Logger(OAuthClient.name);
  readonly stats = { tokenRequests: 0 };

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly hostAllowList: HostAllowList,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /**
   * Asks `base` (no trailing slash) for a token. Concur's "user lives elsewhere" (code 16) with
   * an allowed geolocation is followed once.
   */
  async requestToken(tenant: TenantConfig, base: string, grant: TokenGrant, correlationId: string): Promise<TokenAnswer> {
    const form: Record<string, string> = { client_id: tenant.oauth.clientId, client_secret: tenant.oauth.clientSecret, ...grant };
    assertContract(grant.grant_type === 'refresh_token' ? 'oauth.RefreshTokenRequest' : 'oauth.AuthorizationCodeRequest', form);
    let response = await this.post(tenant, base, form, correlationId);
    const elsewhere = this.userLivesElsewhere(tenant, base, response);
    if (elsewhere) {
      this.logger.warn(`tenant ${tenant.id}: Concur says the token lives at ${elsewhere}; asking there (correlation ${correlationId})`);
      base = elsewhere;
      response = await this.post(tenant, base, form, correlationId);
    }
    return this.read(tenant, base, response, grant.grant_type, correlationId);
  }

  private async post(tenant: TenantConfig, base: string, form: Record<string, string>, correlationId: string): Promise<AxiosResponse<unknown>> {
    const url = `${base.replace(/\/+$/, '')}/oauth2/v0/token`;
    this.stats.tokenRequests++;
    const started = Date.now();
    const post = () =>
      firstValueFrom(
        this.http.post<unknown>(url, new URLSearchParams(form).toString(), {
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            Accept: 'application/json',
            'concur-correlationid': concurCorrelationHeader(correlationId),
          },
          timeout: this.config.concur.timeoutMs,
          maxRedirects: 0,
          validateStatus: () => true,
        }),
      );
    try {
      const response = this.metrics ? await this.metrics.timeConcur('token', post, (r) => r.status) : await post();
      this.logger.debug(
        `token ${form.grant_type} tenant=${tenant.id} status=${response.status} ms=${Date.now() - started} concur-correlationid=${concurCorrelationIdOf(response) ?? '-'} correlation=${correlationId}`,
      );
      return response;
    } catch (error) {
      this.logger.warn(
        `token request for tenant ${tenant.id} failed: ${(error as { code?: string }).code ?? 'network error'} (correlation ${correlationId})`,
      );
      throw new ConcurError('unavailable', "Concur's OAuth service could not be reached");
    }
  }

  /** The allowed geolocation of a code-16 answer that names another base, else undefined. */
  private userLivesElsewhere(tenant: TenantConfig, base: string, response: AxiosResponse<unknown>): string | undefined {
    if (response.status < 400 || response.status >= 500 || !checkContract('oauth.Error', response.data).ok) return undefined;
    const body = response.data as { code?: unknown; geolocation?: unknown };
    if (Number(body.code) !== OAUTH_USER_LIVES_ELSEWHERE || typeof body.geolocation !== 'string') return undefined;
    const geolocation = body.geolocation.replace(/\/+$/, '');
    if (geolocation === base.replace(/\/+$/, '') || !this.hostAllowList.isAllowedBase(tenant, geolocation)) return undefined;
    return geolocation;
  }

  private read(tenant: TenantConfig, base: string, response: AxiosResponse<unknown>, grantType: string, correlationId: string): TokenAnswer {
    const { status } = response;
    const concurCorrelationId = concurCorrelationIdOf(response);
    if (status === 429 || status >= 500) {
      throw new ConcurError('unavailable', "Concur's OAuth service is unavailable", status, 'concur', { concurCorrelationId });
    }
    if (status < 200 || status >= 300) {
      const body = (checkContract('oauth.Error', response.data).ok ? response.data : {}) as { code?: unknown };
      const code = Number.isInteger(Number(body.code)) && body.code !== undefined && body.code !== null ? Number(body.code) : undefined;
      const concurMessage = concurReason(response.data);
      this.logger.warn(
        `Concur refused the ${grantType} grant of tenant ${tenant.id} (HTTP ${status}${code !== undefined ? `, code ${code}` : ''}${concurMessage ? `: ${concurMessage}` : ''}; concur-correlationid ${concurCorrelationId ?? '-'}, correlation ${correlationId})`,
      );
      throw new ConcurError('auth', `Concur refused the ${grantType} grant (HTTP ${status}${code !== undefined ? `, code ${code}` : ''})${concurMessage ? `: ${concurMessage}` : ''}`, status, 'concur', {
        oauthCode: code,
        concurMessage,
        concurCorrelationId,
      });
    }
    const check = checkContract('oauth.TokenResponse', response.data);
    const body = (typeof response.data === 'object' && response.data !== null ? response.data : {}) as Record<string, unknown>;
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new ConcurError('unavailable', "Concur's OAuth service answered without an access token", status, 'concur', { concurCorrelationId });
    }
    if (!check.ok) {
      this.logger.warn(`token answer for tenant ${tenant.id} differs from apidoc.markdown: ${check.errors.join('; ')} (correlation ${correlationId})`);
    }
    let geolocation = base.replace(/\/+$/, '');
    if (typeof body.geolocation === 'string' && body.geolocation !== '') {
      const named = body.geolocation.replace(/\/+$/, '');
      if (this.hostAllowList.isAllowedBase(tenant, named)) geolocation = named;
      else this.logger.warn(`tenant ${tenant.id}: the token's geolocation ${named.slice(0, 200)} is not an allowed Concur host; keeping ${geolocation}`);
    }
    return {
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined,
      expiresInSeconds: seconds(body.expires_in),
      refreshExpiresAt: refreshExpiry(body.refresh_expires_in),
      geolocation,
    };
  }
}

/** A count of seconds sent as a number or a string of digits (the docs show `"3600"`). */
function seconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,12}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

/**
 * refresh_expires_in: apidoc.markdown calls it "Epoch time format"; a small number is read as
 * seconds from now, as its name suggests. Epoch ms, or undefined.
 */
function refreshExpiry(value: unknown, now = Date.now()): number | undefined {
  const parsed = seconds(value);
  if (parsed === undefined) return undefined;
  return parsed >= EPOCH_SECONDS_FROM ? parsed * 1000 : now + parsed * 1000;
}

import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { checkContract, type ContractName } from '../concur/contract/contract.js';
import { ServerAddress, Tenants, type TenantConfig } from '../config/index.js';
import { failure, oauthErrorReply, oauthInvalidRequest, oauthSuccess, type Failure, type OAuthErrorCode, type Reply } from './sandbox.errors.js';
import { SandboxFaults } from './sandbox.faults.js';
import { COMPANY, isPrincipal, principalUserId, userPrincipal, type Principal } from './sandbox.principal.js';
import { SANDBOX_COMPANY } from './sandbox.seed.js';

/** Where the fake Concur answers, under the server's origin (and under the geolocation's). */
export const SANDBOX_API_PREFIX = '/sandbox/concur';

const REFRESH_PREFIX = 'sbxrt';
const ACCESS_PREFIX = 'sbxat';
/** "A refresh token has a six month lifetime" (apidoc.markdown "Refreshing a token"). */
export const REFRESH_LIFETIME_SECONDS = 180 * 24 * 3600;
/** A launch's client_auth_code is a temporary token; the sandbox keeps it five minutes. */
export const AUTH_CODE_LIFETIME_MS = 5 * 60 * 1000;
const MAX_CODES = 50_000;
const MAX_USED_REFRESH_TOKENS = 20_000;
const MAX_TOKEN_LENGTH = 2048;
const SCOPE = 'EXPRPT expense.report.read expense.report.readwrite';

/** The tenant whose Concur is the sandbox: the first with `oauth.baseUrl: sandbox`. */
export function findSandboxTenant(tenants: Tenants): TenantConfig | undefined {
  return tenants.all().find((tenant) => tenant.oauth.baseUrl === 'sandbox');
}

/** Equal-length digests first, so neither the length nor the content of a secret leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function hostOf(origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** A form field the client sent, once, not empty. */
function supplied(form: Record<string, unknown>, name: string): boolean {
  return form[name] !== undefined && form[name] !== '';
}

/**
 * What a token says, signed: its principal; whether it is bound to the geolocation (`g`); issued
 * and expiry times (access: ms, refresh: s since epoch); and a random `n`, the id of a refresh
 * token once it is used.
 */
export interface TokenClaims {
  p: Principal;
  g: 0 | 1;
  iat: number;
  exp: number;
  n: string;
}

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

export interface IssuedRefreshToken {
  refreshToken: string;
  /** Seconds since epoch (a token answer's refresh_expires_in). */
  expiresAt: number;
}

/** The principal of a valid access token, or why the API refuses it: 401, or 403 for a revoked one. */
export type Authentication = { ok: true; principal: Principal } | Failure;

/**
 * The sandbox's OAuth2 service (apidoc.markdown). Tokens are signed instead of stored, so a refresh
 * token the connector persisted stays valid across a restart of the app:
 * `sbxrt.<claims>.<mac>` and `sbxat.<claims>.<mac>`, claims base64url JSON (TokenClaims), mac an
 * HMAC-SHA256 (base64url) of what precedes it, keyed with the sandbox tenant's client secret.
 *
 * As with Concur, a refresh token works once (the used ones are remembered in memory, the newest
 * 20 000), the tenant's seed refresh token too, and a launch's client_auth_code once within five
 * minutes. Grants that obtain a token (the seed refresh token, a code) are redeemed at the main
 * origin, the application's geolocation; every token issued lives at the geolocation (the server's
 * other loopback name, ServerAddress.sandboxGeoOrigin()), where it must be refreshed and used.
 */
@Injectable()
export class SandboxOAuth {
  private codes = new Map<string, { userId: string; expiresAt: number }>();
  private usedRefreshTokens = new Set<string>();
  private seedUsed = false;

  constructor(
    private readonly tenants: Tenants,
    private readonly faults: SandboxFaults,
    private readonly serverAddress: ServerAddress,
  ) {}

  tenant(): TenantConfig | undefined {
    return findSandboxTenant(this.tenants);
  }

  clientMatches(clientId: unknown, clientSecret: unknown): boolean {
    const tenant = this.tenant();
    if (!tenant || typeof clientId !== 'string' || typeof clientSecret !== 'string') return false;
    const idOk = sameSecret(clientId, tenant.oauth.clientId);
    const secretOk = sameSecret(clientSecret, tenant.oauth.clientSecret);
    return idOk && secretOk;
  }

  /** The base URL the sandbox's tokens live at: `<geo origin>/sandbox/concur`, else the main origin's. */
  geolocation(requestOrigin?: string): string {
    return `${this.serverAddress.sandboxGeoOrigin() ?? this.mainOrigin(requestOrigin)}${SANDBOX_API_PREFIX}`;
  }

  /** The application's geolocation: where the seed refresh token and codes are redeemed. */
  applicationGeolocation(requestOrigin?: string): string {
    return `${this.mainOrigin(requestOrigin)}${SANDBOX_API_PREFIX}`;
  }

  /**
   * POST /oauth2/v0/token: the refresh_token and authorization_code grants, with the codes and
   * descriptions of apidoc.markdown "Response Codes". `requestOrigin`: scheme and Host header of the request.
   */
  token(form: Record<string, unknown>, requestOrigin: string, now = Date.now()): Reply {
    const here = this.geolocationOf(requestOrigin);
    if (!supplied(form, 'client_id')) return oauthErrorReply(62, here);
    if (!supplied(form, 'client_secret')) return oauthErrorReply(63, here);
    if (!supplied(form, 'grant_type')) return oauthErrorReply(65, here);
    if (!this.clientMatches(form.client_id, form.client_secret)) return oauthErrorReply(64, here);
    if (form.grant_type === 'refresh_token') return this.refreshGrant(form, requestOrigin, now);
    if (form.grant_type === 'authorization_code') return this.codeGrant(form, requestOrigin, now);
    return oauthErrorReply(60, here);
  }

  /** A launch's client_auth_code: random, for this user only, once, within five minutes. */
  issueAuthorizationCode(userId: string, now = Date.now()): string {
    this.pruneCodes(now);
    const code = randomUUID();
    this.codes.set(code, { userId, expiresAt: now + AUTH_CODE_LIFETIME_MS });
    return code;
  }

  /** The principal of the request's `Authorization: Bearer` access token, checked at the origin it was sent to. */
  authenticate(authorization: string | undefined, requestOrigin: string, now = Date.now()): Authentication {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return failure(401, 'An access token is required: Authorization: Bearer <access_token>');
    const claims = this.verify(match[1], ACCESS_PREFIX);
    if (!claims) return failure(401, 'The access token is not valid');
    if (claims.exp <= now || claims.iat < this.faults.tokensValidFrom()) return failure(401, 'The access token has expired');
    if (claims.iat < this.faults.tokensNotRevokedFrom()) return failure(403, 'The OAuth token has expired or been revoked');
    if (claims.g && !this.atGeolocation(requestOrigin)) {
      return failure(401, `The access token is not valid here: its geolocation is ${this.geolocation(requestOrigin)}`);
    }
    return { ok: true, principal: claims.p };
  }

  issueAccessToken(principal: Principal, bound: boolean, now = Date.now()): IssuedAccessToken {
    const expiresIn = this.faults.tokenTtlSeconds;
    const exp = now + expiresIn * 1000;
    const claims: TokenClaims = { p: principal, g: bound ? 1 : 0, iat: now, exp, n: randomBytes(12).toString('base64url') };
    return { accessToken: this.sign(ACCESS_PREFIX, claims), expiresIn };
  }

  issueRefreshToken(principal: Principal, bound: boolean, now = Date.now()): IssuedRefreshToken {
    const iat = Math.floor(now / 1000);
    const exp = iat + REFRESH_LIFETIME_SECONDS;
    const claims: TokenClaims = { p: principal, g: bound ? 1 : 0, iat, exp, n: randomBytes(18).toString('base64url') };
    return { refreshToken: this.sign(REFRESH_PREFIX, claims), expiresAt: claims.exp };
  }

  /** Forgets used tokens and codes, and makes the seed refresh token usable again (POST /sandbox/api/reset). */
  reset(): void {
    this.codes = new Map();
    this.usedRefreshTokens = new Set();
    this.seedUsed = false;
  }

  private refreshGrant(form: Record<string, unknown>, requestOrigin: string, now: number): Reply {
    const here = this.geolocationOf(requestOrigin);
    if (!supplied(form, 'refresh_token')) return oauthErrorReply(106, here);
    const shape = this.formProblem('oauth.RefreshTokenRequest', form, here);
    if (shape) return shape;
    const token = form.refresh_token as string;
    const tenant = this.tenant()!;
    const geo = this.serverAddress.sandboxGeoOrigin();
    if (sameSecret(token, tenant.oauth.refreshToken)) {
      if (this.seedUsed) return oauthErrorReply(108, here);
      if (geo !== undefined && this.atGeolocation(requestOrigin)) return oauthErrorReply(16, this.applicationGeolocation(requestOrigin));
      this.seedUsed = true;
      return this.grant(COMPANY, requestOrigin, now);
    }
    const claims = this.verify(token, REFRESH_PREFIX);
    if (!claims || claims.exp <= Math.floor(now / 1000) || this.usedRefreshTokens.has(claims.n)) return oauthErrorReply(108, here);
    if (claims.g && !this.atGeolocation(requestOrigin)) return oauthErrorReply(16, this.geolocation(requestOrigin));
    this.markUsed(claims.n);
    return this.grant(claims.p, requestOrigin, now);
  }

  private codeGrant(form: Record<string, unknown>, requestOrigin: string, now: number): Reply {
    const here = this.geolocationOf(requestOrigin);
    if (!supplied(form, 'code')) return oauthErrorReply(101, here);
    if (!supplied(form, 'redirect_uri')) return oauthErrorReply(102, here);
    const shape = this.formProblem('oauth.AuthorizationCodeRequest', form, here);
    if (shape) return shape;
    const code = form.code as string;
    const issued = this.codes.get(code);
    if (!issued || issued.expiresAt <= now) {
      this.codes.delete(code);
      return oauthErrorReply(103, here);
    }
    const registered = this.registeredRedirectUri();
    if (registered !== undefined && form.redirect_uri !== registered) return oauthErrorReply(104, here);
    if (this.serverAddress.sandboxGeoOrigin() !== undefined && this.atGeolocation(requestOrigin)) {
      return oauthErrorReply(16, this.applicationGeolocation(requestOrigin));
    }
    this.codes.delete(code);
    return this.grant(userPrincipal(issued.userId), requestOrigin, now);
  }

  /** A new access and refresh token for the principal, bound to the geolocation when there is one. */
  private grant(principal: Principal, requestOrigin: string, now: number): Reply {
    const bound = this.serverAddress.sandboxGeoOrigin() !== undefined;
    const { accessToken, expiresIn } = this.issueAccessToken(principal, bound, now);
    const { refreshToken, expiresAt } = this.issueRefreshToken(principal, bound, now);
    const geolocation = this.geolocation(requestOrigin);
    return oauthSuccess({
      expires_in: String(expiresIn),
      scope: SCOPE,
      token_type: 'Bearer',
      access_token: accessToken,
      refresh_token: refreshToken,
      refresh_expires_in: String(expiresAt),
      id_token: this.idToken(principal, geolocation, now, expiresIn),
      geolocation,
    });
  }

  /**
   * A form with a documented field of the wrong type or an undocumented field. The page's table has
   * no code for this, so the answer is invalid_request without one.
   */
  private formProblem(contract: ContractName, form: Record<string, unknown>, geolocation: string): Reply | undefined {
    const check = checkContract(contract, form);
    return check.ok ? undefined : oauthInvalidRequest(`The form does not match the grant's fields: ${check.errors.join('; ')}`, geolocation);
  }

  /** The OpenID id_token of apidoc.markdown "ID Token": whom the tokens speak for, signed HS256 with the client secret. */
  private idToken(principal: Principal, issuer: string, now: number, expiresIn: number): string {
    const tenant = this.tenant()!;
    const user = principalUserId(principal);
    const iat = Math.floor(now / 1000);
    const payload = {
      aud: tenant.oauth.clientId,
      'concur.version': 2,
      'concur.type': user ? 'user' : 'company',
      sub: user ?? SANDBOX_COMPANY.uuid,
      iss: issuer,
      exp: iat + expiresIn,
      nbf: iat,
      iat,
    };
    const signed = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
    return `${signed}.${createHmac('sha256', tenant.oauth.clientSecret).update(signed, 'utf8').digest('base64url')}`;
  }

  /** The tenant's oauth.redirectUri, when the configuration has one. */
  private registeredRedirectUri(): string | undefined {
    const configured = (this.tenant()?.oauth as { redirectUri?: unknown } | undefined)?.redirectUri;
    return typeof configured === 'string' && configured !== '' ? configured : undefined;
  }

  private mainOrigin(requestOrigin?: string): string {
    if (this.serverAddress.isKnown()) return this.serverAddress.get();
    return requestOrigin ?? '';
  }

  /** The geolocation of the origin a request came to (for error answers). */
  private geolocationOf(requestOrigin: string): string {
    return this.atGeolocation(requestOrigin) ? this.geolocation(requestOrigin) : this.applicationGeolocation(requestOrigin);
  }

  /** Whether the request came to the geolocation's origin (by its Host); always true when there is none. */
  private atGeolocation(requestOrigin: string): boolean {
    const geo = this.serverAddress.sandboxGeoOrigin();
    if (geo === undefined) return true;
    const host = hostOf(requestOrigin);
    return host !== undefined && host === hostOf(geo);
  }

  private pruneCodes(now: number): void {
    // Every code lives equally long, so the oldest (first inserted) expire first.
    for (const [code, issued] of this.codes) {
      if (issued.expiresAt > now && this.codes.size < MAX_CODES) break;
      this.codes.delete(code);
    }
  }

  private markUsed(id: string): void {
    this.usedRefreshTokens.add(id);
    if (this.usedRefreshTokens.size > MAX_USED_REFRESH_TOKENS) {
      const oldest = this.usedRefreshTokens.values().next().value;
      if (oldest !== undefined) this.usedRefreshTokens.delete(oldest);
    }
  }

  private sign(prefix: string, claims: TokenClaims): string {
    const payload = `${prefix}.${base64url(claims)}`;
    return `${payload}.${this.mac(payload)}`;
  }

  private verify(token: unknown, prefix: string): TokenClaims | undefined {
    if (!this.tenant() || typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== prefix || !this.macMatches(`${parts[0]}.${parts[1]}`, parts[2])) return undefined;
    let claims: Partial<TokenClaims>;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<TokenClaims>;
    } catch {
      return undefined;
    }
    const valid =
      isPrincipal(claims.p) &&
      (claims.g === 0 || claims.g === 1) &&
      Number.isSafeInteger(claims.iat) &&
      Number.isSafeInteger(claims.exp) &&
      typeof claims.n === 'string';
    return valid ? (claims as TokenClaims) : undefined;
  }

  private mac(payload: string): string {
    const tenant = this.tenant();
    if (!tenant) throw new Error('No sandbox tenant (oauth.baseUrl: sandbox) is configured');
    return createHmac('sha256', tenant.oauth.clientSecret).update(payload, 'utf8').digest('base64url');
  }

  private macMatches(payload: string, received: string): boolean {
    const expected = Buffer.from(this.mac(payload), 'utf8');
    const given = Buffer.from(received, 'utf8');
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

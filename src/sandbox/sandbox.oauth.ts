import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Tenants, type TenantConfig } from '../config/index.js';
import { SandboxFaults } from './sandbox.faults.js';

const REFRESH_PREFIX = 'sbxrt';
const ACCESS_PREFIX = 'sbxat';

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

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

/**
 * The sandbox's OAuth2 tokens, signed instead of stored, so a refresh token the connector
 * persisted stays valid across a restart of the app:
 * refresh `sbxrt.<random>.<mac>`, access `sbxat.<expiresAtMs>.<issuedAtMs>-<random>.<mac>`,
 * mac = HMAC-SHA256 (base64url) of everything before it, keyed with the sandbox tenant's client secret.
 */
@Injectable()
export class SandboxOAuth {
  constructor(
    private readonly tenants: Tenants,
    private readonly faults: SandboxFaults,
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

  /** The tenant's configured seed token, or one this sandbox signed. */
  isValidRefreshToken(token: unknown): boolean {
    const tenant = this.tenant();
    if (!tenant || typeof token !== 'string' || token.length > 512) return false;
    if (sameSecret(token, tenant.oauth.refreshToken)) return true;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== REFRESH_PREFIX) return false;
    return this.macMatches(`${parts[0]}.${parts[1]}`, parts[2]);
  }

  issueRefreshToken(): string {
    const payload = `${REFRESH_PREFIX}.${randomBytes(24).toString('base64url')}`;
    return `${payload}.${this.mac(payload)}`;
  }

  issueAccessToken(now = Date.now()): IssuedAccessToken {
    const expiresIn = this.faults.tokenTtlSeconds;
    const payload = `${ACCESS_PREFIX}.${now + expiresIn * 1000}.${now}-${randomBytes(16).toString('hex')}`;
    return { accessToken: `${payload}.${this.mac(payload)}`, expiresIn };
  }

  /** Signed by this sandbox, not expired, and not issued before the last "expire tokens" switch. */
  isValidAccessToken(token: unknown, now = Date.now()): boolean {
    if (typeof token !== 'string' || token.length > 512) return false;
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== ACCESS_PREFIX) return false;
    const [prefix, expiresAt, nonce, mac] = parts;
    if (!this.macMatches(`${prefix}.${expiresAt}.${nonce}`, mac)) return false;
    const issuedAt = /^(\d{1,15})-[0-9a-f]+$/.exec(nonce);
    if (!issuedAt || !/^\d{1,15}$/.test(expiresAt)) return false;
    return Number(expiresAt) > now && Number(issuedAt[1]) >= this.faults.tokensValidFrom();
  }

  private mac(payload: string): string {
    const tenant = this.tenant();
    if (!tenant) throw new Error('No sandbox tenant (oauth.baseUrl: sandbox) is configured');
    return createHmac('sha256', tenant.oauth.clientSecret).update(payload, 'utf8').digest('base64url');
  }

  private macMatches(payload: string, received: string): boolean {
    if (!this.tenant()) return false;
    const expected = Buffer.from(this.mac(payload), 'utf8');
    const given = Buffer.from(received, 'utf8');
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

import { Injectable } from '@nestjs/common';
import { AppConfig, ServerAddress, type TenantConfig } from '../config/index.js';
import { v1LaunchParams, v4LaunchParams } from '../auth/launch-params.js';
import { buildSignedQuery } from '../auth/signature.js';
import type { ItemLevel } from '../concur/concur.types.js';
import { SANDBOX_API_PREFIX, SandboxOAuth } from './sandbox.oauth.js';
import { SANDBOX_USER, SandboxStore } from './sandbox.store.js';

export { SANDBOX_API_PREFIX } from './sandbox.oauth.js';

/** A launch the sandbox page (or a test) asks for, as raw query values. */
export interface LaunchRequestQuery {
  version?: unknown;
  level?: unknown;
  id?: unknown;
  /** v1: the entry id (`id` works too). */
  entry?: unknown;
  mobile?: unknown;
  lang?: unknown;
}

export class SandboxLaunchError extends Error {
  constructor(
    readonly status: 400 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxLaunchError';
  }
}

const LEVELS: readonly ItemLevel[] = ['HEADER', 'ENTRY', 'ALLOCATION'];
export const LANGUAGE = /^[a-z]{2}(-[A-Z]{2})?$/;

export function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Builds the signed launch URLs Concur would open for the sandbox's items. A v4 launch carries a
 * fresh client_auth_code for the logged-in user, as Concur's does (v4.launch-external-url.markdown
 * "Authorization"): the connector may exchange it once, within five minutes, for the user's tokens.
 */
@Injectable()
export class SandboxLaunch {
  constructor(
    private readonly config: AppConfig,
    private readonly serverAddress: ServerAddress,
    private readonly oauth: SandboxOAuth,
    private readonly store: SandboxStore,
  ) {}

  findTenant(): TenantConfig | undefined {
    return this.oauth.tenant();
  }

  tenant(): TenantConfig {
    const tenant = this.oauth.tenant();
    if (!tenant) throw new SandboxLaunchError(503, 'No tenant has oauth.baseUrl: sandbox, so the sandbox cannot sign launches.');
    return tenant;
  }

  /** The v3 entry field a v1 launch writes, if the tenant has v1 rules. */
  v1Field(): string | undefined {
    return this.oauth.tenant()?.fields.v1?.field;
  }

  /** The first custom field the tenant allows at this v4 level. */
  v4Field(level: ItemLevel): string | undefined {
    const rules = this.oauth.tenant()?.fields.v4;
    if (!rules) return undefined;
    return { HEADER: rules.header, ENTRY: rules.entry, ALLOCATION: rules.allocation }[level][0];
  }

  /** A relative URL: the connector's launch path and a freshly signed query (new nonce each call). */
  buildUrl(query: LaunchRequestQuery): string {
    const version = single(query.version);
    if (version === '1') return `${this.config.paths.v1Launch}?${this.v1Query(query)}`;
    if (version === '4') return `${this.config.paths.v4Launch}?${this.v4Query(query)}`;
    throw new SandboxLaunchError(400, 'version must be 1 or 4');
  }

  private origin(): string {
    if (!this.serverAddress.isKnown()) throw new SandboxLaunchError(503, 'The server does not know its own address yet.');
    return this.serverAddress.sandboxOrigin();
  }

  private v1Query(query: LaunchRequestQuery): string {
    const level = single(query.level);
    if (level !== undefined && level !== 'ENTRY') throw new SandboxLaunchError(400, 'a v1 launch is for an expense entry only');
    const id = single(query.entry) ?? single(query.id);
    if (id === undefined || !this.store.getEntry(id)) throw new SandboxLaunchError(400, 'entry must name a sandbox expense entry');
    const tenant = this.tenant();
    const params = v1LaunchParams({
      companyDomain: tenant.companyDomains[0],
      userId: SANDBOX_USER.login,
      itemUrl: `${this.origin()}${SANDBOX_API_PREFIX}/api/v3.0/expense/entries/${encodeURIComponent(id)}`,
    });
    return buildSignedQuery(1, 'sha1', params, tenant.connector.username, tenant.connector.password);
  }

  private v4Query(query: LaunchRequestQuery): string {
    const level = single(query.level) as ItemLevel | undefined;
    if (!level || !LEVELS.includes(level)) throw new SandboxLaunchError(400, 'level must be HEADER, ENTRY or ALLOCATION');
    const id = single(query.id);
    if (id === undefined) throw new SandboxLaunchError(400, 'id is required');
    const item = this.store.locate(level, id);
    if (!item) {
      const what = { HEADER: 'report', ENTRY: 'expense', ALLOCATION: 'allocation' }[level];
      throw new SandboxLaunchError(400, `id must name a sandbox ${what}`);
    }
    const suffix =
      level === 'ENTRY' ? `/expenses/${encodeURIComponent(id)}` : level === 'ALLOCATION' ? `/allocations/${encodeURIComponent(id)}` : '';
    const field = this.v4Field(level);
    if (!field) throw new SandboxLaunchError(400, `the sandbox tenant allows no field at ${level} level`);
    const tenant = this.tenant();
    const mobile = single(query.mobile) === 'true';
    const lang = single(query.lang);
    const e = encodeURIComponent;
    const report = `${this.origin()}${SANDBOX_API_PREFIX}/expensereports/v4/users/${e(item.ownerId)}/context/TRAVELER/reports/${e(item.reportId)}`;
    const params = v4LaunchParams({
      companyDomain: tenant.companyDomains[0],
      userId: SANDBOX_USER.uuid,
      reportOwnerUserId: item.ownerId,
      reportOwnerEmployeeId: SANDBOX_USER.employeeId,
      itemUrl: `${report}${suffix}`,
      field,
      level,
      expenseIds: item.expenseIds,
      mobile,
      language: lang !== undefined && LANGUAGE.test(lang) ? lang : 'en',
      clientAuthCode: this.oauth.issueAuthorizationCode(SANDBOX_USER.uuid),
    });
    return buildSignedQuery(4, tenant.launch.v4Algorithm, params, tenant.connector.username, tenant.connector.password);
  }
}

import { Injectable } from '@nestjs/common';
import { AppConfig, ServerAddress, type TenantConfig } from '../config/index.js';
import type { AllowedOrigin, ItemRef } from './concur.types.js';
import { itemApiPath, originMatches, pathBelow } from './item-url.js';

export const SANDBOX_PATH_PREFIX = '/sandbox/concur';

/** Where a tenant's Concur token may be sent: Concur's API origins, the tenant's extras, and the sandbox while it is on. */
@Injectable()
export class HostAllowList {
  constructor(
    private readonly config: AppConfig,
    private readonly serverAddress: ServerAddress,
  ) {}

  originsFor(tenant: TenantConfig): AllowedOrigin[] {
    const origins: AllowedOrigin[] = [...this.config.concur.apiOrigins, ...tenant.allowedOrigins].map((origin) => ({
      origin,
      pathPrefix: '',
    }));
    if (this.config.sandbox.enabled && this.serverAddress.isKnown()) {
      origins.push({ origin: this.serverAddress.sandboxOrigin(), pathPrefix: SANDBOX_PATH_PREFIX });
      // The sandbox's tokens say their API calls go to its second origin (their geolocation).
      const geo = this.serverAddress.sandboxGeoOrigin();
      if (geo) origins.push({ origin: geo, pathPrefix: SANDBOX_PATH_PREFIX });
    }
    return origins;
  }

  /**
   * A base URL a token may be sent to: an allowed origin with exactly its path prefix ('' for
   * Concur's hosts). Token answers name one as their geolocation; it is believed only if allowed.
   */
  isAllowedBase(tenant: TenantConfig, base: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(base);
    } catch {
      return false;
    }
    if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') return false;
    const path = parsed.pathname.replace(/\/+$/, '');
    return originMatches(parsed, this.originsFor(tenant)).some((entry) => entry.pathPrefix.replace(/\/+$/, '') === path);
  }

  /**
   * Where a call for this item goes: the token's geolocation when it is an allowed base
   * (apidoc.markdown "Base URIs": API calls use the token's geolocation), else the item URL's own base.
   */
  apiBase(tenant: TenantConfig, item: ItemRef, geolocation: string | undefined): string {
    if (geolocation && this.isAllowedBase(tenant, geolocation)) return geolocation.replace(/\/+$/, '');
    const path = itemApiPath(item);
    return item.url.endsWith(path) ? item.url.slice(0, item.url.length - path.length) : new URL(item.url).origin;
  }

  isAllowed(tenant: TenantConfig, url: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.username !== '' || parsed.password !== '') return false;
    return originMatches(parsed, this.originsFor(tenant)).some((entry) => pathBelow(parsed.pathname, entry.pathPrefix) !== undefined);
  }

  oauthBaseUrl(tenant: TenantConfig): string {
    if (tenant.oauth.baseUrl === 'sandbox') return `${this.serverAddress.sandboxOrigin()}${SANDBOX_PATH_PREFIX}`;
    return tenant.oauth.baseUrl.replace(/\/+$/, '');
  }
}

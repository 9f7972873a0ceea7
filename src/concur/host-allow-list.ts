import { Injectable } from '@nestjs/common';
import { AppConfig, ServerAddress, type TenantConfig } from '../config/index.js';
import type { AllowedOrigin } from './concur.types.js';
import { originMatches, pathBelow } from './item-url.js';

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
      origins.push({ origin: this.serverAddress.get(), pathPrefix: SANDBOX_PATH_PREFIX });
    }
    return origins;
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
    if (tenant.oauth.baseUrl === 'sandbox') return `${this.serverAddress.get()}${SANDBOX_PATH_PREFIX}`;
    return tenant.oauth.baseUrl.replace(/\/+$/, '');
  }
}

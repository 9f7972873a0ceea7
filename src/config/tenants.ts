import { Injectable } from '@nestjs/common';
import { AppConfig, type TenantConfig } from './config.schema.js';

/** The configured tenants, found by company domain or id. */
@Injectable()
export class Tenants {
  private readonly byDomain = new Map<string, TenantConfig>();
  private readonly byId = new Map<string, TenantConfig>();

  constructor(config: AppConfig) {
    for (const tenant of config.tenants) {
      this.byId.set(tenant.id, tenant);
      for (const domain of tenant.companyDomains) this.byDomain.set(domain.toLowerCase(), tenant);
    }
  }

  findByDomain(domain: string): TenantConfig | undefined {
    return this.byDomain.get(domain.toLowerCase());
  }

  findById(id: string): TenantConfig | undefined {
    return this.byId.get(id);
  }

  all(): TenantConfig[] {
    return [...this.byId.values()];
  }
}

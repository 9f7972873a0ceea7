import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { resolve } from 'node:path';
import { AppConfig, Tenants, type TenantConfig } from '../config/index.js';
import { FileLookupProvider } from './file-lookup.provider.js';
import { LookupProvider } from './lookup.provider.js';
import { MAX_PAGE_SIZE } from './lookup-ranking.js';
import type { LookupItem, LookupPage } from './lookup.types.js';

/** Each tenant's system of record, loaded once and kept in memory. */
@Injectable()
export class LookupService implements OnModuleInit {
  private readonly logger = new Logger(LookupService.name);
  private readonly providers = new Map<string, LookupProvider>();

  constructor(
    private readonly config: AppConfig,
    private readonly tenants: Tenants,
  ) {}

  /** Loads every tenant's source so that a broken file stops the start, not the first user. */
  onModuleInit(): void {
    const problems: string[] = [];
    for (const tenant of this.tenants.all()) {
      try {
        const provider = this.providerFor(tenant);
        this.logger.log(`Tenant "${tenant.id}": ${provider.size()} lookup entries from ${this.sourcePath(tenant)}`);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (problems.length) throw new Error(`Lookup sources cannot be loaded:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }

  /** `page` counts from 1; `pageSize` is capped at 100. */
  search(tenant: TenantConfig, query: string, page = 1, pageSize = 20): Promise<LookupPage> {
    const size = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(pageSize) || 1));
    const number = Math.max(1, Math.floor(page) || 1);
    return this.providerFor(tenant).search(query, (number - 1) * size, size);
  }

  /** Exact, case-sensitive code match: only a real code may be written into Concur. */
  find(tenant: TenantConfig, code: string): Promise<LookupItem | undefined> {
    return this.providerFor(tenant).find(code);
  }

  private providerFor(tenant: TenantConfig): LookupProvider {
    let provider = this.providers.get(tenant.id);
    if (!provider) {
      provider = this.load(tenant);
      this.providers.set(tenant.id, provider);
    }
    return provider;
  }

  private load(tenant: TenantConfig): LookupProvider {
    const source = tenant.lookup;
    try {
      switch (source.type) {
        case 'file':
          return FileLookupProvider.fromFile(this.sourcePath(tenant));
        default:
          throw new Error(`unknown lookup type "${String(source.type)}" for ${source.file}`);
      }
    } catch (error) {
      throw new Error(`Tenant "${tenant.id}": ${(error as Error).message}`, { cause: error });
    }
  }

  private sourcePath(tenant: TenantConfig): string {
    return resolve(this.config.configDir, tenant.lookup.file);
  }
}

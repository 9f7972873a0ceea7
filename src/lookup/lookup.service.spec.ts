import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { AppConfig, ConfigModule, Tenants, type TenantConfig } from '../config/index.js';
import { LookupModule } from './lookup.module.js';
import { LookupService } from './lookup.service.js';

const dir = mkdtempSync(join(tmpdir(), 'clc-lookup-service-'));
writeFileSync(join(dir, 'alpha.csv'), 'code,label\nA-1,Alpine data migration\nA-2,Alpha office\nA-10,Berlin rollout\n');
writeFileSync(join(dir, 'beta.json'), JSON.stringify([{ code: 'B-1', label: 'Beta launch' }]));
writeFileSync(join(dir, 'broken.csv'), 'code,label\nA-1,Alpha\nA-1,Again\n');

function tenant(id: string, file: string): TenantConfig {
  return { id, name: id, companyDomains: [`${id}.example.com`], lookup: { type: 'file', file } } as TenantConfig;
}

function appConfig(configDir: string, tenants: TenantConfig[]): AppConfig {
  return Object.assign(new AppConfig(), { configDir, tenants });
}

async function boot(config: AppConfig) {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot({ config, warnings: [] }), LookupModule],
  }).compile();
  return { moduleRef, lookup: moduleRef.get(LookupService) };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(LookupService.name, () => {
  const alpha = tenant('alpha', 'alpha.csv');
  const beta = tenant('beta', 'beta.json');

  it('searches and finds in each tenant its own source, resolved against the config folder', async () => {
    const { moduleRef, lookup } = await boot(appConfig(dir, [alpha, beta]));
    await moduleRef.init();
    const page = await lookup.search(alpha, 'al');
    expect(page.items.map((item) => item.code)).toEqual(['A-1', 'A-2']);
    expect(page).toMatchObject({ total: 2, offset: 0, limit: 20, query: 'al' });
    expect(await lookup.find(alpha, 'A-10')).toEqual({ code: 'A-10', label: 'Berlin rollout' });
    expect(await lookup.find(beta, 'B-1')).toEqual({ code: 'B-1', label: 'Beta launch' });
    expect(await lookup.find(beta, 'A-1')).toBeUndefined();
    expect(await lookup.find(alpha, 'a-1')).toBeUndefined();
    await moduleRef.close();
  });

  it('turns page and page size into offset and limit, capping the page size at 100', async () => {
    const lookup = new LookupService(appConfig(dir, [alpha]), new Tenants(appConfig(dir, [alpha])));
    expect(await lookup.search(alpha, '', 2, 2)).toMatchObject({ offset: 2, limit: 2, total: 3, items: [{ code: 'A-10' }] });
    expect(await lookup.search(alpha, '', 0, 1000)).toMatchObject({ offset: 0, limit: 100 });
    expect(await lookup.search(alpha, '', -3, 0)).toMatchObject({ offset: 0, limit: 1, items: [{ code: 'A-1' }] });
  });

  it('loads a source once, on first use, and keeps it', async () => {
    const file = join(dir, 'lazy.csv');
    writeFileSync(file, 'code,label\nL-1,Lazy\n');
    const lazy = tenant('lazy', 'lazy.csv');
    const lookup = new LookupService(appConfig(dir, [lazy]), new Tenants(appConfig(dir, [lazy])));
    expect(await lookup.find(lazy, 'L-1')).toEqual({ code: 'L-1', label: 'Lazy' });
    writeFileSync(file, 'code,label\nL-2,Changed\n');
    expect(await lookup.find(lazy, 'L-1')).toEqual({ code: 'L-1', label: 'Lazy' });
    expect(await lookup.find(lazy, 'L-2')).toBeUndefined();
  });

  it('loads the sandbox sample data shipped in config/lookup/projects.csv', async () => {
    const configDir = resolve(import.meta.dirname, '..', '..', 'config');
    const sandbox = tenant('sandbox', 'lookup/projects.csv');
    const { moduleRef, lookup } = await boot(appConfig(configDir, [sandbox]));
    await moduleRef.init();
    expect(await lookup.find(sandbox, 'PRJ-1001')).toEqual({ code: 'PRJ-1001', label: 'Alpine data migration' });
    expect(await lookup.find(sandbox, 'CC-4100')).toEqual({ code: 'CC-4100', label: 'Marketing EMEA' });
    expect((await lookup.search(sandbox, '')).total).toBeGreaterThanOrEqual(250);
    expect((await lookup.search(sandbox, 'zürich')).items[0]).toEqual({ code: 'PRJ-1040', label: 'Zürich office fit-out' });
    expect((await lookup.search(sandbox, 'café')).items[0].label).toBe('Café renovation, Paris');
    expect((await lookup.search(sandbox, '東京')).items.map((item) => item.code)).toEqual(['PRJ-1042']);
    await moduleRef.close();
  });

  it('stops the start when a source is broken, naming the tenant, the file and the line', async () => {
    const { moduleRef } = await boot(appConfig(dir, [alpha, tenant('broken', 'broken.csv'), tenant('gone', 'gone.csv')]));
    const start = moduleRef.init();
    await expect(start).rejects.toThrow(/Tenant "broken": Lookup file .*broken\.csv, line 3: duplicate code "A-1"/);
    await expect(start).rejects.toThrow(/Tenant "gone": Lookup file .*gone\.csv: cannot be read/);
    await expect(start).rejects.not.toThrow(/Tenant "alpha"/);
  });
});

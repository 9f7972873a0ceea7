import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { AuditService } from '../src/audit/audit.service.js';
import { deepMerge, loadConfig, type AppConfig } from '../src/config/index.js';
import { createApp, type CreateAppOptions, listen } from '../src/server.js';

export interface Harness {
  app: NestExpressApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> — the app listens for real, so the sandbox is reached over HTTP. */
  origin: string;
  audit: AuditService;
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * Boots the real application in process on an ephemeral port, on the embedded default with
 * the sandbox, a throw-away data folder and an in-memory SQLite database.
 */
export async function startApp(
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
  options: CreateAppOptions = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clc-e2e-'));
  const base = {
    storage: { sqliteFile: ':memory:' },
    concur: { retryBaseDelayMs: 5, timeoutMs: 2000 },
    logging: { level: 'silent' },
    // High enough that suites never meet them; test/rate-limits.e2e-spec.ts sets small ones.
    rateLimit: {
      launch: { limit: 100000, windowSeconds: 60 },
      testConnection: { limit: 100000, windowSeconds: 60 },
      failedTestConnection: { limit: 100000, windowSeconds: 60 },
    },
    // Every e2e client is 127.0.0.1; suites that test the per-address limit set their own.
    audit: { signIn: { maxFailuresPerAddress: 100000 }, rejectedLaunches: { limit: 100000, windowSeconds: 60 } },
  };
  const loaded = loadConfig({ CONNECTOR_DATA_DIR: dataDir, ...env }, deepMerge(base, overrides));
  const app = await createApp(loaded, options);
  const origin = await listen(app, 0, '127.0.0.1');
  return {
    app,
    config: loaded.config,
    origin,
    audit: app.get(AuditService),
    http: request(origin),
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a launch as the popup would: the signed URL, its 303, then the session page, with a
 * cookie-keeping agent. Returns the 303 response too, for assertions on its headers.
 */
export async function openLaunch(h: Harness, url: string) {
  const agent = request.agent(h.origin);
  const redirect = await agent.get(url).expect(303);
  const location = redirect.headers.location as string;
  const page = await agent.get(location).expect(200);
  return { agent, redirect, location, id: location.split('/').pop()!, page, csrf: csrfOf(page.text) };
}

/** The hidden CSRF token of a rendered session page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token on the page');
  return match[1];
}

/** The `Reference:` correlation ID shown on an error page. */
export function referenceOf(html: string): string | undefined {
  return /Reference: <code>([^<]+)<\/code>/.exec(html)?.[1];
}

import { buildSignedQuery, type LaunchParams } from '../src/auth/signature.js';

/** Sandbox data the tests launch on, read from the sandbox's own state endpoint. */
export interface SandboxIds {
  userId: string;
  reportId: string;
  entryIds: string[];
  expenseIds: string[];
  allocationIds: string[];
}

export async function sandboxIds(h: Harness): Promise<SandboxIds> {
  const state = (await h.http.get('/sandbox/api/state').expect(200)).body;
  const entries = state.entries as Array<{ ID: string }>;
  const expenses = state.expenses as Array<{ expenseId: string }>;
  const allocations = state.allocations as Array<{ allocationId: string }>;
  const report = state.report as { reportId: string };
  return {
    userId: state.userId,
    reportId: report.reportId,
    entryIds: entries.map((e) => e.ID),
    expenseIds: expenses.map((e) => e.expenseId),
    allocationIds: allocations.map((a) => a.allocationId),
  };
}

/** A launch URL (path and query) signed with the sandbox tenant's credentials, or other ones. */
export function signedUrl(
  h: Harness,
  version: 1 | 4,
  params: LaunchParams,
  opts: { username?: string; password?: string; algorithm?: 'sha1' | 'sha256' } = {},
): string {
  const tenant = h.config.tenants[0];
  const algorithm = opts.algorithm ?? (version === 1 ? 'sha1' : tenant.launch.v4Algorithm);
  const query = buildSignedQuery(
    version,
    algorithm,
    params,
    opts.username ?? tenant.connector.username,
    opts.password ?? tenant.connector.password,
  );
  return `${version === 1 ? h.config.paths.v1Launch : h.config.paths.v4Launch}?${query}`;
}

export function v1Params(h: Harness, entryId: string, extra: LaunchParams = {}): LaunchParams {
  return {
    xcompanydomain: h.config.tenants[0].companyDomains[0],
    xuserid: 'sam.employee@sandbox.example.com',
    itemurl: `${h.origin}/sandbox/concur/api/v3.0/expense/entries/${encodeURIComponent(entryId)}`,
    ...extra,
  };
}

export function v4Params(
  h: Harness,
  ids: SandboxIds,
  level: 'HEADER' | 'ENTRY' | 'ALLOCATION',
  extra: LaunchParams = {},
): LaunchParams {
  const report = `${h.origin}/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/${ids.reportId}`;
  const itemUrl =
    level === 'HEADER' ? report : level === 'ENTRY' ? `${report}/expenses/${ids.expenseIds[0]}` : `${report}/allocations/${ids.allocationIds[0]}`;
  return {
    company_domain: h.config.tenants[0].companyDomains[0],
    logged_in_user_id: ids.userId,
    report_owner_user_id: ids.userId,
    report_owner_employee_id: 'E1001',
    item_url: itemUrl,
    custom_field_launched_from: 'custom9',
    source: level,
    is_mobile: 'false',
    language_code: 'en',
    ...(level === 'ALLOCATION' ? { expense_ids: ids.expenseIds[0] } : {}),
    ...extra,
  };
}

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { Request } from 'express';
import type { AuditEventInput } from '../audit/audit.types.js';
import type { RejectedLaunchAudit } from '../audit/rejected-launch.audit.js';
import { PageException } from '../common/page.exception.js';
import { type AppConfig, ServerAddress, Tenants, validateConfig } from '../config/index.js';
import { HostAllowList } from '../concur/host-allow-list.js';
import { Metrics } from '../metrics/metrics.service.js';
import { LaunchEndpoint } from './launch.decorator.js';
import { MemoryReplayStore } from './replay.store.js';
import { buildSignedQuery, signLaunchParams } from './signature.js';
import { type LaunchRequest, SignatureGuard } from './signature.guard.js';

const LOOKUP = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json');

function tenant(id: string, domain: string, username: string, password: string, versions: Array<1 | 4>, v4Algorithm = 'sha256') {
  return {
    id,
    name: id,
    companyDomains: [domain],
    connector: { username, password },
    launch: { versions, v4Algorithm },
    oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
    fields: { v1: { field: 'Custom1' }, v4: { header: ['custom9'], entry: ['custom9'], allocation: [] } },
    lookup: { type: 'file', file: LOOKUP },
  };
}

const config: AppConfig = validateConfig(
  {
    concur: { apiOrigins: ['https://us.api.concursolutions.com'] },
    tenants: [
      tenant('acme', 'acme.example.com', 'AcmeConnector', 'acme-password-1', [1, 4]),
      tenant('initech', 'initech.example', 'InitechConnector', 'Tps-Report-2026', [4], 'sha1'),
      tenant('legacy', 'legacy.example', 'LegacyConnector', 'legacy-password', [1]),
    ],
  },
  import.meta.dirname,
  {},
).config;

const V1 = {
  xcompanydomain: 'acme.example.com',
  xuserid: 'jane.doe@acme.example.com',
  itemurl: 'https://us.api.concursolutions.com/api/v3.0/expense/entries/gWqXb9xC6c2kP7r$pYzQ1UDhn',
};

const V4 = {
  company_domain: 'acme.example.com',
  logged_in_user_id: 'aa11bb22-cc33-dd44-ee55-ff6677889900',
  report_owner_user_id: '12345678-90ab-cdef-1234-567890abcdef',
  report_owner_employee_id: 'E77',
  item_url: 'https://us.api.concursolutions.com/expensereports/v4/users/12345678-90ab-cdef-1234-567890abcdef/context/PROXY/reports/R/expenses/E',
  custom_field_launched_from: 'custom9',
  source: 'ENTRY',
  is_mobile: 'true',
  client_auth_code: 'auth-code-secret',
  language_code: 'de',
};

@Controller()
class LaunchRoutes {
  @Get('v1') @LaunchEndpoint(1) v1(): void {}
  @Get('v4') @LaunchEndpoint(4) v4(): void {}
  @Get('none') none(): void {}
}

type Handler = 'v1' | 'v4' | 'none';

let lastResponse: { headers: Record<string, string>; setHeader(name: string, value: string): void };

function responseOf() {
  lastResponse = {
    headers: {},
    setHeader(name: string, value: string) {
      this.headers[name] = value;
    },
  };
  return lastResponse;
}

function requestOf(path: string, query: string): LaunchRequest {
  return {
    method: 'GET',
    originalUrl: `${path}?${query}`,
    url: `${path}?${query}`,
    headers: { 'user-agent': 'jest-agent' },
    ip: '203.0.113.9',
    correlationId: 'corr-1',
  } as unknown as LaunchRequest;
}

describe(SignatureGuard.name, () => {
  let audit: { record: jest.Mock<(input: AuditEventInput) => Promise<void>> };
  let replay: MemoryReplayStore;
  let guard: SignatureGuard;
  let metrics: Metrics;
  let warn: jest.SpiedFunction<Logger['warn']>;
  let error: jest.SpiedFunction<Logger['error']>;

  beforeEach(() => {
    audit = { record: jest.fn(async () => undefined) };
    replay = new MemoryReplayStore(config);
    metrics = new Metrics();
    const allowList = new HostAllowList(config, new ServerAddress());
    guard = new SignatureGuard(new Tenants(config), replay, audit as unknown as RejectedLaunchAudit, allowList, config, new Reflector(), metrics);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function run(handler: Handler, query: string): Promise<LaunchRequest> {
    const req = requestOf(`/${handler}`, query);
    const context = new ExecutionContextHost([req, responseOf()], LaunchRoutes, LaunchRoutes.prototype[handler]);
    await expect(guard.canActivate(context)).resolves.toBe(true);
    return req;
  }

  async function refused(handler: Handler, query: string): Promise<PageException> {
    const context = new ExecutionContextHost([requestOf(`/${handler}`, query), responseOf()], LaunchRoutes, LaunchRoutes.prototype[handler]);
    try {
      await guard.canActivate(context);
    } catch (thrown) {
      expect(thrown).toBeInstanceOf(PageException);
      return thrown as PageException;
    }
    throw new Error('expected the guard to refuse');
  }

  function expectOneRejection(reason: string, fields: Partial<AuditEventInput> = {}): void {
    expect(audit.record).toHaveBeenCalledTimes(1);
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({
        type: 'launch.rejected',
        outcome: 'failure',
        reason,
        correlationId: 'corr-1',
        clientIp: '203.0.113.9',
        userAgent: 'jest-agent',
        ...fields,
      }),
    );
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('corr-1'));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(reason));
  }

  describe('accepts', () => {
    it('a good v1 launch and fills req.launch', async () => {
      const req = await run('v1', buildSignedQuery(1, 'sha1', { ...V1, nonce: 'n-1' }, 'AcmeConnector', 'acme-password-1'));
      expect(req.launch).toEqual({
        version: 1,
        tenant: config.tenants[0],
        companyDomain: V1.xcompanydomain,
        userId: V1.xuserid,
        reportOwnerUserId: null,
        reportOwnerEmployeeId: null,
        itemUrl: V1.itemurl,
        nonce: 'n-1',
        unsigned: {},
        input: {
          item: expect.objectContaining({ api: 'v3', level: 'ENTRY' }),
          choices: { field: 'Custom1', isMobile: false, languageCode: '', expenseIds: [], notes: [] },
        },
      });
      expect(audit.record).not.toHaveBeenCalled();
    });

    it('a good v4 launch, with the unsigned parameters copied raw', async () => {
      const req = await run('v4', buildSignedQuery(4, 'sha256', { ...V4, nonce: 'n-4' }, 'AcmeConnector', 'acme-password-1'));
      expect(req.launch).toEqual({
        version: 4,
        tenant: config.tenants[0],
        companyDomain: V4.company_domain,
        userId: V4.logged_in_user_id,
        reportOwnerUserId: V4.report_owner_user_id,
        reportOwnerEmployeeId: 'E77',
        itemUrl: V4.item_url,
        nonce: 'n-4',
        unsigned: {
          custom_field_launched_from: 'custom9',
          source: 'ENTRY',
          is_mobile: 'true',
          client_auth_code: 'auth-code-secret',
          language_code: 'de',
        },
        input: {
          item: expect.objectContaining({ api: 'v4', level: 'ENTRY', userId: V4.report_owner_user_id }),
          choices: { field: 'custom9', isMobile: true, languageCode: 'de', expenseIds: [], notes: [] },
        },
      });
    });

    it("a v4 launch signed with the tenant's sha1 setting, with an empty employee id as null", async () => {
      const params = { ...V4, company_domain: 'INITECH.example', report_owner_employee_id: '' };
      const req = await run('v4', buildSignedQuery(4, 'sha1', params, 'InitechConnector', 'Tps-Report-2026'));
      expect(req.launch?.tenant.id).toBe('initech');
      expect(req.launch?.reportOwnerEmployeeId).toBeNull();
    });

    it("a '+' that stands for a space in a signed value", async () => {
      const query = buildSignedQuery(1, 'sha1', { ...V1, xuserid: 'jane doe', nonce: 'n-sp' }, 'AcmeConnector', 'acme-password-1');
      const req = await run('v1', query.replace('jane%20doe', 'jane+doe'));
      expect(req.launch?.userId).toBe('jane doe');
    });

    it("a nonce that is a form-encoded timestamp, its spaces sent as '+'", async () => {
      const query = buildSignedQuery(1, 'sha1', { ...V1, nonce: '2022-04-01 12:00:00.000' }, 'AcmeConnector', 'acme-password-1');
      const formEncoded = query.replace('2022-04-01%2012%3A00%3A00.000', '2022-04-01+12%3A00%3A00.000');
      expect(formEncoded).toContain('nonce=2022-04-01+12');
      const req = await run('v1', formEncoded);
      expect(req.launch?.nonce).toBe('2022-04-01 12:00:00.000');
    });

    it("a literal '+' in a signed value", async () => {
      const query = buildSignedQuery(1, 'sha1', { ...V1, xuserid: 'jane+tag@acme', nonce: 'n-plus' }, 'AcmeConnector', 'acme-password-1');
      expect(query).toContain('jane%2Btag');
      const req = await run('v1', query.replace('jane%2Btag', 'jane+tag'));
      expect(req.launch?.userId).toBe('jane+tag@acme');
    });

    it('a signature whose form-encoded + arrived as a space', async () => {
      const params = { ...V1, nonce: 'n-0' };
      let signature = '';
      for (let i = 0; !signature.includes('+'); i++) {
        params.nonce = `n-${i}`;
        signature = signLaunchParams(1, 'sha1', params, 'AcmeConnector', 'acme-password-1');
      }
      const query = `${new URLSearchParams(params).toString().replaceAll('+', '%20')}&signature=${signature.replaceAll('+', '%20')}`;
      await expect(run('v1', query)).resolves.toHaveProperty('launch.nonce', params.nonce);
    });
  });

  describe('refuses with 401', () => {
    it('a bad signature', async () => {
      const query = buildSignedQuery(1, 'sha1', { ...V1, nonce: 'n-bad' }, 'AcmeConnector', 'wrong-password');
      const page = await refused('v1', query);
      expect(page.getStatus()).toBe(401);
      expect(page.page.detail).toBe('signature does not match');
      expectOneRejection('signature does not match', {
        tenantId: 'acme',
        companyDomain: V1.xcompanydomain,
        actingUser: V1.xuserid,
        itemUrl: V1.itemurl,
      });
    });

    it('a signed value changed after signing', async () => {
      const query = buildSignedQuery(4, 'sha256', { ...V4, nonce: 'n-ch' }, 'AcmeConnector', 'acme-password-1');
      const page = await refused('v4', query.replace('reports%2FR%2F', 'reports%2FX%2F'));
      expect(page.getStatus()).toBe(401);
      expectOneRejection('signature does not match');
    });

    it('a v4 launch signed with the wrong algorithm for the tenant', async () => {
      const query = buildSignedQuery(4, 'sha256', { ...V4, company_domain: 'initech.example' }, 'InitechConnector', 'Tps-Report-2026');
      expect((await refused('v4', query)).getStatus()).toBe(401);
      expectOneRejection('signature does not match', { tenantId: 'initech' });
    });

    it('an unknown company domain', async () => {
      const query = buildSignedQuery(1, 'sha1', { ...V1, xcompanydomain: 'evil.example' }, 'AcmeConnector', 'acme-password-1');
      const page = await refused('v1', query);
      expect(page.getStatus()).toBe(401);
      expectOneRejection('unknown company domain', { companyDomain: 'evil.example', actingUser: V1.xuserid });
      expect(audit.record.mock.calls[0][0].tenantId).toBeUndefined();
    });

    it('a version the tenant has not enabled', async () => {
      const v1 = buildSignedQuery(1, 'sha1', { ...V1, xcompanydomain: 'initech.example' }, 'InitechConnector', 'Tps-Report-2026');
      expect((await refused('v1', v1)).getStatus()).toBe(401);
      expectOneRejection('launch version 1 is not enabled for tenant initech', { tenantId: 'initech' });
    });

    it('a reused nonce, without consuming nonces of refused launches', async () => {
      const good = buildSignedQuery(1, 'sha1', { ...V1, nonce: 'n-once' }, 'AcmeConnector', 'acme-password-1');
      const forged = buildSignedQuery(1, 'sha1', { ...V1, nonce: 'n-once' }, 'AcmeConnector', 'guess');
      expect((await refused('v1', forged)).getStatus()).toBe(401);
      audit.record.mockClear();
      warn.mockClear();
      await run('v1', good);
      const page = await refused('v1', good);
      expect(page.getStatus()).toBe(401);
      expectOneRejection('nonce already used', { tenantId: 'acme' });
    });

    it('still refuses, and logs, when the audit write fails', async () => {
      audit.record.mockRejectedValueOnce(new Error('disk full'));
      const query = buildSignedQuery(1, 'sha1', V1, 'AcmeConnector', 'nope');
      expect((await refused('v1', query)).getStatus()).toBe(401);
      expect(error).toHaveBeenCalledWith(expect.stringContaining('disk full'));
    });
  });

  describe('refuses with 400', () => {
    it.each([
      ['a missing parameter', 'missing parameter "signature"', (q: string) => q.replace(/&signature=[^&]*/, '')],
      ['a duplicated parameter', 'parameter "nonce" appears twice', (q: string) => `${q}&nonce=other`],
      ['a non-base64 signature', 'parameter "signature" is not valid base64', (q: string) => q.replace(/signature=[^&]*/, 'signature=%24%24%24%24')],
      ['a bad escape', 'parameter "xuserid" is not correctly percent-encoded', (q: string) => q.replace(/xuserid=[^&]*/, 'xuserid=%E0%A4')],
    ])('%s', async (_label, reason, damage) => {
      const query = damage(buildSignedQuery(1, 'sha1', V1, 'AcmeConnector', 'acme-password-1'));
      const page = await refused('v1', query);
      expect(page.getStatus()).toBe(400);
      expect(page.page.detail).toBe(reason);
      expectOneRejection(reason);
    });

    it('a query longer than server.maxQueryBytes', async () => {
      const query = buildSignedQuery(1, 'sha1', { ...V1, pad: 'x'.repeat(config.server.maxQueryBytes) }, 'AcmeConnector', 'acme-password-1');
      expect((await refused('v1', query)).getStatus()).toBe(400);
    });

    it('a launch with no query at all', async () => {
      const req = { method: 'GET', originalUrl: '/v4', headers: {}, ip: '203.0.113.9' } as unknown as Request;
      const context = new ExecutionContextHost([req, responseOf()], LaunchRoutes, LaunchRoutes.prototype.v4);
      await expect(guard.canActivate(context)).rejects.toMatchObject({ page: { detail: 'missing parameter "company_domain"' } });
    });
  });

  describe('refuses with 400, before the nonce is claimed, a signed launch whose input is unusable', () => {
    it.each([
      ['source', 'HEADERX', 'source "HEADERX" is not HEADER, ENTRY or ALLOCATION'],
      ['source', 'HEADER', 'source HEADER does not match the item URL, which names a entry'],
      ['custom_field_launched_from', 'custom10', 'field custom10 is not set up for the connector at entry level'],
      ['custom_field_launched_from', 'name', 'custom_field_launched_from "name" is not a custom field id'],
      ['expense_ids', 'E1', 'expense_ids is only sent for allocations'],
      ['client_auth_code', 'has spaces', 'client_auth_code is malformed'],
    ])('%s=%s, and the same URL with it corrected is then accepted', async (name, value, reason) => {
      const query = buildSignedQuery(4, 'sha256', { ...V4, [name]: value, nonce: `n-${name}` }, 'AcmeConnector', 'acme-password-1');
      const page = await refused('v4', query);
      expect(page.getStatus()).toBe(400);
      expect(page.page.detail).toBe(reason);
      expectOneRejection(reason, { tenantId: 'acme', actingUser: V4.logged_in_user_id, reportOwner: V4.report_owner_user_id, itemUrl: V4.item_url });
      // The unsigned parameters are not in the signature: the corrected URL keeps its signature and nonce.
      const corrected = query.replace(`${name}=${encodeURIComponent(value)}`, `${name}=${encodeURIComponent((V4 as Record<string, string>)[name] ?? '')}`);
      expect(corrected).not.toBe(query);
      await expect(run('v4', corrected)).resolves.toHaveProperty('launch.nonce', `n-${name}`);
      await expect(refused('v4', corrected)).resolves.toMatchObject({ page: { detail: 'nonce already used' } });
    });

    it('an item URL outside the allowed Concur origins, keeping the nonce', async () => {
      const elsewhere = { ...V4, item_url: 'https://evil.example/expensereports/v4/users/u/context/PROXY/reports/R/expenses/E', nonce: 'n-item' };
      const page = await refused('v4', buildSignedQuery(4, 'sha256', elsewhere, 'AcmeConnector', 'acme-password-1'));
      expect(page.getStatus()).toBe(400);
      expect(audit.record).toHaveBeenCalledWith(expect.objectContaining({ type: 'launch.rejected', itemUrl: elsewhere.item_url }));
      await expect(replay.claim('acme:n-item', 60)).resolves.toBe(true);
    });

    it('only once the signature holds: a forged launch with bad input is a 401', async () => {
      const query = buildSignedQuery(4, 'sha256', { ...V4, source: 'HEADERX' }, 'AcmeConnector', 'wrong-password');
      expect((await refused('v4', query)).getStatus()).toBe(401);
      expectOneRejection('signature does not match');
    });
  });

  it('refuses a HEAD (a link checker) with 405 before the nonce is claimed', async () => {
    const query = buildSignedQuery(1, 'sha1', { ...V1, nonce: 'n-head' }, 'AcmeConnector', 'acme-password-1');
    const req = { ...requestOf('/v1', query), method: 'HEAD' } as unknown as Request;
    const context = new ExecutionContextHost([req, responseOf()], LaunchRoutes, LaunchRoutes.prototype.v1);
    await expect(guard.canActivate(context)).rejects.toMatchObject({ status: 405 });
    await run('v1', query);
  });

  it('marks accepted and refused launch responses no-store and no-referrer', async () => {
    await run('v1', buildSignedQuery(1, 'sha1', V1, 'AcmeConnector', 'acme-password-1'));
    expect(lastResponse.headers).toEqual({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    await refused('v1', buildSignedQuery(1, 'sha1', V1, 'AcmeConnector', 'nope'));
    expect(lastResponse.headers).toEqual({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
  });

  it('never logs the signature, password or client_auth_code', async () => {
    const query = buildSignedQuery(4, 'sha256', { ...V4, nonce: 'n-log' }, 'AcmeConnector', 'wrong-password');
    const signature = new URLSearchParams(query).get('signature')!;
    await refused('v4', query);
    const logged = JSON.stringify([warn.mock.calls, error.mock.calls, audit.record.mock.calls]);
    expect(logged).not.toContain(signature);
    expect(logged).not.toContain('wrong-password');
    expect(logged).not.toContain('acme-password-1');
    expect(logged).not.toContain('auth-code-secret');
  });

  describe('counts clc_launches_total', () => {
    async function launches(): Promise<Record<string, number>> {
      const { values } = await metrics.launches.get();
      return Object.fromEntries(values.map((v) => [`${v.labels.version}:${v.labels.outcome}`, v.value]));
    }

    it('accepted, rejected, replayed and invalid (unreadable query or unusable input), by version', async () => {
      const good = buildSignedQuery(1, 'sha1', { ...V1, nonce: 'n-m1' }, 'AcmeConnector', 'acme-password-1');
      await run('v1', good);
      await run('v4', buildSignedQuery(4, 'sha256', { ...V4, nonce: 'n-m4' }, 'AcmeConnector', 'acme-password-1'));
      await refused('v1', good);
      await refused('v4', buildSignedQuery(4, 'sha256', { ...V4, nonce: 'n-m5' }, 'AcmeConnector', 'wrong'));
      await refused('v1', buildSignedQuery(1, 'sha1', { ...V1, xcompanydomain: 'evil.example' }, 'AcmeConnector', 'acme-password-1'));
      await refused('v4', 'company_domain=acme.example.com');
      await refused('v4', buildSignedQuery(4, 'sha256', { ...V4, source: 'x', nonce: 'n-m6' }, 'AcmeConnector', 'acme-password-1'));
      expect(await launches()).toEqual({ '1:accepted': 1, '4:accepted': 1, '1:replayed': 1, '4:rejected': 1, '1:rejected': 1, '4:invalid': 2 });
    });

    it('does not count a HEAD, which is no launch attempt', async () => {
      const req = { ...requestOf('/v1', 'x=1'), method: 'HEAD' } as unknown as Request;
      const context = new ExecutionContextHost([req, responseOf()], LaunchRoutes, LaunchRoutes.prototype.v1);
      await expect(guard.canActivate(context)).rejects.toMatchObject({ status: 405 });
      expect(await launches()).toEqual({});
    });
  });

  it('fails loudly on a route without @LaunchEndpoint', async () => {
    const context = new ExecutionContextHost([requestOf('/none', ''), responseOf()], LaunchRoutes, LaunchRoutes.prototype.none);
    await expect(guard.canActivate(context)).rejects.toThrow(/LaunchEndpoint/);
  });
});

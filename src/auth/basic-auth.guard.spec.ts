import { join } from 'node:path';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, UnauthorizedException } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { type TenantConfig, Tenants, validateConfig } from '../config/index.js';
import { BASIC_CHALLENGE, ConnectorBasicAuthGuard, type ConnectorRequest, ConnectorTenant } from './basic-auth.guard.js';

const LOOKUP = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json');

const tenant = (id: string, domain: string, username: string, password: string) => ({
  id,
  name: id,
  companyDomains: [domain],
  connector: { username, password },
  launch: { versions: [4] },
  oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
  fields: { v4: { header: ['custom9'] } },
  lookup: { type: 'file', file: LOOKUP },
});

const { config } = validateConfig(
  {
    concur: { apiOrigins: ['https://us.api.concursolutions.com'] },
    tenants: [
      tenant('acme', 'acme.example.com', 'AcmeConnector', 'acme-Password-1'),
      tenant('globex', 'globex.example', 'GlobexConnector', 'glöbex:pass word'),
    ],
  },
  import.meta.dirname,
  {},
);

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

class FakeResponse {
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }
}

describe(ConnectorBasicAuthGuard.name, () => {
  let guard: ConnectorBasicAuthGuard;

  beforeEach(() => {
    guard = new ConnectorBasicAuthGuard(new Tenants(config));
  });

  function attempt(authorization: string | undefined) {
    const req = { headers: authorization === undefined ? {} : { authorization } } as ConnectorRequest;
    const res = new FakeResponse();
    const context = new ExecutionContextHost([req, res]);
    try {
      return { ok: guard.canActivate(context), req, res };
    } catch (error) {
      return { error, req, res };
    }
  }

  function expectRefused(authorization: string | undefined): void {
    const { error, req, res } = attempt(authorization);
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect((error as UnauthorizedException).getStatus()).toBe(401);
    expect(res.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
    expect(req.tenant).toBeUndefined();
  }

  it('accepts the connector credentials of a tenant and sets req.tenant', () => {
    const { ok, req, res } = attempt(basic('AcmeConnector', 'acme-Password-1'));
    expect(ok).toBe(true);
    expect(req.tenant?.id).toBe('acme');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('finds the right tenant among several, with a colon and non-ASCII in the password', () => {
    expect(attempt(basic('GlobexConnector', 'glöbex:pass word')).req.tenant?.id).toBe('globex');
  });

  it('ignores the case of the username', () => {
    expect(attempt(basic('acmeconnector', 'acme-Password-1')).req.tenant?.id).toBe('acme');
    expect(attempt(basic('ACMECONNECTOR', 'acme-Password-1')).req.tenant?.id).toBe('acme');
  });

  it('accepts the scheme in any case', () => {
    expect(attempt(basic('AcmeConnector', 'acme-Password-1').replace('Basic', 'bAsIc')).ok).toBe(true);
  });

  it('refuses a wrong password, also one that differs only in case', () => {
    expectRefused(basic('AcmeConnector', 'wrong'));
    expectRefused(basic('AcmeConnector', 'acme-password-1'));
  });

  it('refuses a wrong username', () => {
    expectRefused(basic('OtherConnector', 'acme-Password-1'));
  });

  it("refuses one tenant's username with another tenant's password", () => {
    expectRefused(basic('AcmeConnector', 'glöbex:pass word'));
  });

  it('refuses a missing header', () => {
    expectRefused(undefined);
  });

  it.each([
    ['another scheme', `Bearer ${Buffer.from('AcmeConnector:acme-Password-1').toString('base64')}`],
    ['no credentials', 'Basic'],
    ['invalid base64', 'Basic !!!!'],
    ['base64 of a bad length', `Basic ${Buffer.from('AcmeConnector:acme-Password-1').toString('base64').replace(/=+$/, '')}x`],
    ['no colon', `Basic ${Buffer.from('AcmeConnectoracme-Password-1').toString('base64')}`],
    ['an empty value', ''],
  ])('refuses a malformed header: %s', (_label, header) => {
    expectRefused(header);
  });

  it('refuses a header over 1024 characters, even with valid credentials in it', () => {
    const header = basic('AcmeConnector', 'acme-Password-1');
    expect(attempt(header).ok).toBe(true);
    expectRefused(`${header}${' '.repeat(1025 - header.length)}`);
  });
});

@Controller()
class TestConnection {
  @Get() check(@ConnectorTenant() tenant: TenantConfig): string {
    return tenant.id;
  }
}

describe('ConnectorTenant', () => {
  const factory = () => {
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, TestConnection, 'check') as Record<string, { factory: Function }>;
    return Object.values(args)[0].factory as (data: unknown, ctx: ExecutionContextHost) => unknown;
  };

  it('returns req.tenant', () => {
    const tenant = config.tenants[0];
    expect(factory()(undefined, new ExecutionContextHost([{ tenant }]))).toBe(tenant);
  });

  it('fails loudly when no guard set the tenant', () => {
    expect(() => factory()(undefined, new ExecutionContextHost([{}]))).toThrow(/ConnectorBasicAuthGuard/);
  });
});

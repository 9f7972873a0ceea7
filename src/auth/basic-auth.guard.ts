import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { type TenantConfig, Tenants } from '../config/index.js';

/** A request that passed ConnectorBasicAuthGuard. */
export type ConnectorRequest = Request & { tenant?: TenantConfig };

const MAX_HEADER_LENGTH = 1024;
const BASIC = /^basic +([A-Za-z0-9+/]+={0,2})$/i;
export const BASIC_CHALLENGE = 'Basic realm="concur-launch-connector", charset="UTF-8"';

/**
 * Concur's Test Connection: HTTP Basic credentials must be one tenant's connector username
 * (any case) and password. Every tenant is compared, with no early exit, so the time taken
 * does not tell which tenant or which half matched.
 */
@Injectable()
export class ConnectorBasicAuthGuard implements CanActivate {
  constructor(private readonly tenants: Tenants) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<ConnectorRequest>();
    const credentials = parseBasic(req.headers.authorization);
    const tenant = credentials ? this.match(credentials.username, credentials.password) : undefined;
    if (!tenant) {
      http.getResponse<Response>().setHeader('WWW-Authenticate', BASIC_CHALLENGE);
      throw new UnauthorizedException('Connector credentials are missing or wrong');
    }
    req.tenant = tenant;
    return true;
  }

  private match(username: string, password: string): TenantConfig | undefined {
    const user = sha256(username.toLowerCase());
    const pass = sha256(password);
    let found: TenantConfig | undefined;
    for (const tenant of this.tenants.all()) {
      const ok =
        Number(timingSafeEqual(user, sha256(tenant.connector.username.toLowerCase()))) &
        Number(timingSafeEqual(pass, sha256(tenant.connector.password)));
      if (ok === 1 && !found) found = tenant;
    }
    return found;
  }
}

/** Parameter decorator: the tenant whose connector credentials the request carried. */
export const ConnectorTenant = createParamDecorator((_: unknown, ctx: ExecutionContext): TenantConfig => {
  const tenant = ctx.switchToHttp().getRequest<ConnectorRequest>().tenant;
  if (!tenant) throw new Error('@ConnectorTenant() used on a route without ConnectorBasicAuthGuard');
  return tenant;
});

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return undefined;
  const encoded = BASIC.exec(header.trim())?.[1];
  if (!encoded || encoded.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

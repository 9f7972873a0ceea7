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
import { parseBasicAuth } from '../common/basic-auth-header.js';
import { Metrics } from '../metrics/metrics.service.js';
import { RateLimitKeys } from '../throttle/rate-limit-keys.js';
import { limiterFailure, tooManyTestConnections } from '../throttle/rate-limit.errors.js';
import { RateLimiter } from '../throttle/rate-limiter.service.js';
import { RateLimitStoreFull } from '../throttle/rate-limit.storage.js';

/** A request that passed ConnectorBasicAuthGuard. */
export type ConnectorRequest = Request & { tenant?: TenantConfig };

export const BASIC_CHALLENGE = 'Basic realm="concur-launch-connector", charset="UTF-8"';

/**
 * Concur's Test Connection: HTTP Basic credentials must be one tenant's connector username
 * (any case) and password. Every tenant is compared, with no early exit, so the time taken
 * does not tell which tenant or which half matched.
 *
 * Password guessing: an attempt with a tenant's username counts against that tenant's
 * failed-login limit before the password is judged, and is taken back when it was right; so
 * concurrent guesses cannot get past the limit, and once it is reached even the right
 * password gets 429 until the window ends. A success does not reset the count.
 *
 * An unknown username counts the same way, under a keyed hash of the username (any case),
 * with the same number of storage calls as a tenant's wrong password: 401 and 429 come after
 * the same number of attempts, so they do not tell which usernames exist. A storage failure
 * is a 503, never a judged attempt that was not counted.
 */
@Injectable()
export class ConnectorBasicAuthGuard implements CanActivate {
  constructor(
    private readonly tenants: Tenants,
    private readonly limiter: RateLimiter,
    private readonly keys: RateLimitKeys,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<ConnectorRequest>();
    const res = http.getResponse<Response>();
    const credentials = parseBasicAuth(req.headers.authorization);
    const { tenant, named } = credentials ? this.match(credentials.username, credentials.password) : {};
    if (credentials) {
      const unknown = `username:${this.keys.digest('username', credentials.username.toLowerCase())}`;
      // Tenant IDs have no ':', so they never meet an unknown username's subject.
      const subject = (tenant ?? named)?.id ?? unknown;
      try {
        const verdict = await this.limiter.hit('failed_test_connection', subject);
        if (!verdict.allowed) {
          res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
          this.metrics.rateLimited.inc({ limit: 'failed_test_connection' });
          this.metrics.testConnections.inc({ outcome: 'rate_limited' });
          throw tooManyTestConnections(verdict.retryAfterSeconds, 'failed_logins');
        }
        if (tenant) await this.limiter.takeBack('failed_test_connection', subject);
      } catch (error) {
        if (error instanceof RateLimitStoreFull) this.metrics.rateLimited.inc({ limit: 'memory_store_full' });
        throw limiterFailure(error, res, 'test_connection');
      }
    }
    if (!tenant) {
      this.metrics.testConnections.inc({ outcome: 'unauthorized' });
      res.setHeader('WWW-Authenticate', BASIC_CHALLENGE);
      throw new UnauthorizedException('Connector credentials are missing or wrong');
    }
    this.metrics.testConnections.inc({ outcome: 'success' });
    req.tenant = tenant;
    return true;
  }

  /** `tenant`: username and password matched; `named`: the first tenant whose username matched. */
  private match(username: string, password: string): { tenant?: TenantConfig; named?: TenantConfig } {
    const user = sha256(username.toLowerCase());
    const pass = sha256(password);
    let tenant: TenantConfig | undefined;
    let named: TenantConfig | undefined;
    for (const candidate of this.tenants.all()) {
      const userOk = Number(timingSafeEqual(user, sha256(candidate.connector.username.toLowerCase())));
      const ok = userOk & Number(timingSafeEqual(pass, sha256(candidate.connector.password)));
      if (userOk === 1 && !named) named = candidate;
      if (ok === 1 && !tenant) tenant = candidate;
    }
    return { tenant, named };
  }
}

/** Parameter decorator: the tenant whose connector credentials the request carried. */
export const ConnectorTenant = createParamDecorator((_: unknown, ctx: ExecutionContext): TenantConfig => {
  const tenant = ctx.switchToHttp().getRequest<ConnectorRequest>().tenant;
  if (!tenant) throw new Error('@ConnectorTenant() used on a route without ConnectorBasicAuthGuard');
  return tenant;
});


function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

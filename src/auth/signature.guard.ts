import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { AuditEventInput } from '../audit/audit.types.js';
import { RejectedLaunchAudit } from '../audit/rejected-launch.audit.js';
import { checkLaunchInput, LaunchInputError } from '../callout/launch-input.js';
import { badLaunchPage, CLOSE_AND_RELAUNCH, PageException, rejectedLaunchPage } from '../common/page.exception.js';
import { requestMeta } from '../common/request-meta.js';
import { AppConfig, Tenants, type TenantConfig } from '../config/index.js';
import { HostAllowList } from '../concur/host-allow-list.js';
import { Metrics } from '../metrics/metrics.service.js';
import { LaunchQueryError, parseLaunchQuery } from './launch-query.js';
import { type AcceptedLaunch, type LaunchVersion, V4_UNSIGNED_PARAMS, type VerifiedLaunch } from './launch.types.js';
import { nonceKey, ReplayStore } from './replay.store.js';
import { launchMac, macMatches, type SignatureAlgorithm } from './signature.js';
import { msg } from '../i18n/i18n.js';

/** Metadata key of the launch version a route accepts (set by @LaunchEndpoint). */
export const LAUNCH_VERSION = 'concur:launch-version';

/** A request that passed SignatureGuard. */
export type LaunchRequest = Request & { launch?: AcceptedLaunch };

/** Values of the base string besides username, password and nonce. */
const BASE_VALUES: Record<LaunchVersion, readonly string[]> = {
  1: ['xcompanydomain', 'xuserid', 'itemurl'],
  4: ['company_domain', 'logged_in_user_id', 'report_owner_user_id', 'report_owner_employee_id', 'item_url'],
};

type Known = Pick<AuditEventInput, 'tenantId' | 'companyDomain' | 'actingUser' | 'reportOwner' | 'itemUrl'>;

/** clc_launches_total outcomes of a refused launch: unreadable query or unusable input, failed check, used nonce. */
type RefusalOutcome = 'invalid' | 'rejected' | 'replayed';

class Rejection {
  constructor(
    readonly page: PageException,
    readonly reason: string,
    readonly known: Known,
    readonly outcome: RefusalOutcome,
  ) {}
}

/**
 * Lets a launch through only when its signature matches the tenant's connector credentials,
 * its item and unsigned parameters are acceptable, and its nonce was never seen; fills
 * `req.launch`. Every refusal is logged and audited.
 */
@Injectable()
export class SignatureGuard implements CanActivate {
  private readonly logger = new Logger(SignatureGuard.name);

  constructor(
    private readonly tenants: Tenants,
    private readonly replay: ReplayStore,
    private readonly rejectedLaunches: RejectedLaunchAudit,
    private readonly allowList: HostAllowList,
    private readonly config: AppConfig,
    private readonly reflector: Reflector,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const version = this.reflector.getAllAndOverride<LaunchVersion | undefined>(LAUNCH_VERSION, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (version !== 1 && version !== 4) throw new Error('SignatureGuard needs @LaunchEndpoint(1|4) on the route');
    const http = context.switchToHttp();
    const req = http.getRequest<LaunchRequest>();
    // Set here, not only by @Header: those apply after the guard, so a rejection page would miss them.
    const res = http.getResponse<Response>();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (req.method !== 'GET') {
      // Express also routes HEAD here; a link checker's HEAD must not use up the user's nonce.
      res.setHeader('Allow', 'GET');
      throw new PageException(405, { title: msg('This link only opens in a browser window'), message: CLOSE_AND_RELAUNCH, detail: `${req.method} on a launch path` });
    }
    try {
      req.launch = await this.verify(req, version);
      this.metrics.launches.inc({ version: String(version), outcome: 'accepted' });
      return true;
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      this.metrics.launches.inc({ version: String(version), outcome: error.outcome });
      await this.reject(req, error);
      throw error.page;
    }
  }

  private async verify(req: Request, version: LaunchVersion): Promise<AcceptedLaunch> {
    let params: Record<string, string>;
    try {
      params = parseLaunchQuery(rawQueryOf(req), version, this.config.server.maxQueryBytes);
    } catch (error) {
      if (error instanceof LaunchQueryError) throw new Rejection(badLaunchPage(error.reason), error.reason, {}, 'invalid');
      throw error;
    }
    const v1 = version === 1;
    const companyDomain = v1 ? params.xcompanydomain : params.company_domain;
    const known: Known = {
      companyDomain,
      actingUser: v1 ? params.xuserid : params.logged_in_user_id,
      itemUrl: v1 ? params.itemurl : params.item_url,
    };
    const refuse = (reason: string, outcome: RefusalOutcome = 'rejected') =>
      new Rejection(rejectedLaunchPage(reason), reason, known, outcome);

    const tenant = this.tenants.findByDomain(companyDomain);
    if (!tenant) throw refuse('unknown company domain');
    known.tenantId = tenant.id;
    if (!tenant.launch.versions.includes(version)) {
      throw refuse(`launch version ${version} is not enabled for tenant ${tenant.id}`);
    }

    const signed = signedReading(version, this.algorithmOf(version, tenant), params, tenant);
    if (!signed) throw refuse('signature does not match');
    const launch = toLaunch(version, tenant, signed, params);
    if (launch.reportOwnerUserId) known.reportOwner = launch.reportOwnerUserId;

    // Before the claim: a launch refused for its input (the unsigned parameters are anyone's to
    // change) must not use up the nonce of a genuine URL.
    let input;
    try {
      input = checkLaunchInput(launch, this.allowList.originsFor(tenant));
    } catch (error) {
      if (error instanceof LaunchInputError) throw new Rejection(badLaunchPage(error.message), error.message, known, 'invalid');
      throw error;
    }

    if (!(await this.replay.claim(nonceKey(tenant.id, signed.nonce), this.config.replay.ttlSeconds))) {
      throw refuse('nonce already used', 'replayed');
    }
    return { ...launch, input };
  }

  private algorithmOf(version: LaunchVersion, tenant: TenantConfig): SignatureAlgorithm {
    return version === 1 ? 'sha1' : tenant.launch.v4Algorithm;
  }

  private async reject(req: Request, rejection: Rejection): Promise<void> {
    const meta = requestMeta(req);
    this.logger.warn(`launch rejected [${meta.correlationId}]: ${rejection.reason}`);
    try {
      await this.rejectedLaunches.record({
        type: 'launch.rejected',
        outcome: 'failure',
        reason: rejection.reason,
        ...rejection.known,
        correlationId: meta.correlationId,
        clientIp: meta.clientIp,
        userAgent: meta.userAgent,
      });
    } catch (error) {
      this.logger.error(
        `audit of a rejected launch failed [${meta.correlationId}]: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/** Everything after the first '?' of the URL as the client sent it. */
function rawQueryOf(req: Request): string {
  const url = req.originalUrl ?? req.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

/**
 * The signed values that match the signature, or undefined. Some senders form-encode, so a
 * '+' in a signed value may stand for a space: that reading is tried when the literal one fails.
 */
function signedReading(
  version: LaunchVersion,
  algorithm: SignatureAlgorithm,
  params: Record<string, string>,
  tenant: TenantConfig,
): Record<string, string> | undefined {
  const received = Buffer.from(params.signature, 'base64');
  const { username, password } = tenant.connector;
  if (macMatches(launchMac(version, algorithm, params, username, password), received)) return params;
  // The nonce too: Concur's pages show it as a "URL-encoded timestamp", whose spaces may come as '+'.
  const names = [...BASE_VALUES[version], 'nonce'];
  if (!names.some((name) => params[name].includes('+'))) return undefined;
  const spaced = { ...params };
  for (const name of names) spaced[name] = params[name].replaceAll('+', ' ');
  return macMatches(launchMac(version, algorithm, spaced, username, password), received) ? spaced : undefined;
}

function toLaunch(
  version: LaunchVersion,
  tenant: TenantConfig,
  signed: Record<string, string>,
  params: Record<string, string>,
): VerifiedLaunch {
  if (version === 1) {
    return {
      version,
      tenant,
      companyDomain: signed.xcompanydomain,
      userId: signed.xuserid,
      reportOwnerUserId: null,
      reportOwnerEmployeeId: null,
      itemUrl: signed.itemurl,
      nonce: signed.nonce,
      unsigned: {},
    };
  }
  const unsigned: VerifiedLaunch['unsigned'] = {};
  for (const name of V4_UNSIGNED_PARAMS) {
    if (params[name] !== undefined) unsigned[name] = params[name];
  }
  return {
    version,
    tenant,
    companyDomain: signed.company_domain,
    userId: signed.logged_in_user_id,
    reportOwnerUserId: signed.report_owner_user_id,
    reportOwnerEmployeeId: signed.report_owner_employee_id || null,
    itemUrl: signed.item_url,
    nonce: signed.nonce,
    unsigned,
  };
}

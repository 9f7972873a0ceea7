import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, Optional } from '@nestjs/common';
import type { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AppConfig, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { concurCorrelationHeader, concurCorrelationIdOf, concurReason } from './concur-errors.js';
import { type AccessToken, ConcurError, type ItemRef, type ItemView, ItemMismatchError } from './concur.types.js';
import { assertContract, checkContract, type ContractName, ContractViolation } from './contract/contract.js';
import { allocationWrite, expenseWrite, type FieldWrite, itemContract, readItemView, reportHeaderWrite, v3EntryWrite } from './field-values.js';
import { HostAllowList } from './host-allow-list.js';
import { itemApiPath, reportApiPath, submittedExpenseApiPath } from './item-url.js';
import { TokenService } from './token.service.js';
import { type UserTokens, UserTokenService } from './user-token.service.js';

const RETRIED_NETWORK_ERRORS = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN']);
const MAX_BACKOFF_MS = 30_000;
/** http-status-codes.markdown: a 403 also means "The Oauth token has expired or been revoked". */
const EXPIRED_OR_REVOKED = /expired|revoked|invalid[_ ]token/i;

/** clc_concur_requests_total operation of each kind of call. */
const METRIC_OPERATION = { read: 'read_item', write: 'write_field' } as const;

interface Call {
  operation: 'read' | 'write';
  method: 'GET' | 'PUT' | 'PATCH';
  /** Below the API base (the token's geolocation), e.g. /expensereports/v4/users/.../reports/R1. */
  path: string;
  body?: Record<string, unknown>;
  /** A v4 PATCH succeeds with 204 only; everything else with any 2xx. */
  successStatus?: number;
}

export interface WriteOptions {
  /** The user's own tokens (from the launch's client_auth_code); without them, the company's. */
  user?: UserTokens;
  /** The field's id as Concur spelled it when the item was read. */
  fieldId?: string | null;
  /** ALLOCATION: the launch's unsigned expense_ids, which must include the allocation's expense. */
  expenseIds?: string[];
}

/**
 * Reads and writes Concur items with the user's tokens or the tenant's company token, in the
 * shapes Concur's pages document (every body checked against its contract before it leaves);
 * only ever towards allow-listed hosts, at the token's geolocation.
 */
@Injectable()
export class ConcurClient {
  private readonly logger = new Logger(ConcurClient.name);
  readonly stats = { calls: 0, retries: 0 };

  constructor(
    private readonly http: HttpService,
    private readonly tokens: TokenService,
    private readonly hostAllowList: HostAllowList,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Optional() private readonly userTokens?: UserTokenService,
  ) {}

  async readItem(tenant: TenantConfig, item: ItemRef, field: string, correlationId: string, user?: UserTokens): Promise<ItemView> {
    const body = await this.get(tenant, item, itemApiPath(item), itemContract(item), correlationId, user);
    return readItemView(item, field, body);
  }

  async writeField(tenant: TenantConfig, item: ItemRef, field: string, value: string, correlationId: string, options: WriteOptions = {}): Promise<void> {
    const target = { item, tenant, field, fieldId: options.fieldId, value };
    let write: FieldWrite;
    if (item.api === 'v3') {
      write = v3EntryWrite(target, itemApiPath(item));
    } else if (item.level === 'HEADER') {
      write = reportHeaderWrite(target, itemApiPath(item));
    } else if (item.level === 'ENTRY') {
      const report = await this.get(tenant, item, reportApiPath(item), 'v4.ReportDetails', correlationId, options.user);
      const status = readItemView({ ...item, level: 'HEADER' }, field, report).approvalStatusId;
      if (!status) throw new ConcurError('rejected', "Concur's report has no approvalStatusId, so the expense's update path is unknown");
      write = expenseWrite(target, status, { unsubmitted: itemApiPath(item), submitted: submittedExpenseApiPath(item) });
    } else {
      const allocation = await this.get(tenant, item, itemApiPath(item), 'v4.ReportAllocationResponse', correlationId, options.user);
      const expenseId = readItemView(item, field, allocation).expenseId;
      if (!expenseId) throw new ConcurError('rejected', "Concur's allocation names no expenseId");
      checkAllocationExpense(expenseId, options.expenseIds ?? []);
      write = allocationWrite(target, expenseId, itemApiPath(item));
    }
    try {
      assertContract(write.contract, write.body);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      this.logger.error(`not sent: ${error.message} (correlation ${correlationId})`);
      throw new ConcurError('rejected', `the connector did not send a body Concur does not accept (${error.message})`);
    }
    await this.send(
      tenant,
      item,
      { operation: 'write', method: write.method, path: write.path, body: write.body, successStatus: item.api === 'v4' ? 204 : undefined },
      correlationId,
      options.user,
    );
  }

  /** Waits between attempts; a seam for tests. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** A GET whose answer is checked against Concur's documented response; a differing one is logged, not refused. */
  private async get(tenant: TenantConfig, item: ItemRef, path: string, contract: ContractName, correlationId: string, user?: UserTokens): Promise<unknown> {
    const response = await this.send(tenant, item, { operation: 'read', method: 'GET', path }, correlationId, user);
    const check = checkContract(contract, response.data);
    if (!check.ok) {
      this.logger.warn(`Concur's answer differs from ${contract}: ${check.errors.join('; ')} (correlation ${correlationId})`);
    }
    return response.data;
  }

  private async token(tenant: TenantConfig, correlationId: string, user?: UserTokens): Promise<AccessToken> {
    if (!user) return this.tokens.getAccessToken(tenant, correlationId);
    if (Date.now() >= user.grant.refreshAt && user.grant.refreshToken) await this.renewUser(tenant, user, correlationId);
    return { accessToken: user.grant.accessToken, geolocation: user.grant.geolocation };
  }

  private async renewUser(tenant: TenantConfig, user: UserTokens, correlationId: string): Promise<void> {
    if (!this.userTokens || !user.grant.refreshToken) {
      throw new ConcurError('auth', "Concur refused the user's token and it cannot be renewed", undefined, 'concur', { userToken: true });
    }
    let grant;
    try {
      grant = await this.userTokens.renew(tenant, user.grant, correlationId);
    } catch (error) {
      if (error instanceof ConcurError) throw new ConcurError(error.kind, error.message, error.status, error.source, { ...error.details, userToken: true });
      throw error;
    }
    user.grant = grant;
    await user.renewed(grant);
  }

  private async send(tenant: TenantConfig, item: ItemRef, call: Call, correlationId: string, user?: UserTokens): Promise<AxiosResponse<unknown>> {
    // Checked before any token is asked for: nothing at all happens for an item on another host.
    if (!this.hostAllowList.isAllowed(tenant, item.url)) {
      this.logger.warn(`refused a Concur ${call.operation} towards a host that is not allowed (correlation ${correlationId})`);
      throw new ConcurError('rejected', 'item host is not allowed');
    }
    const { maxRetries, retryBaseDelayMs, maxRetryAfterSeconds, timeoutMs } = this.config.concur;
    let retries = 0;
    let tokenRenewed = false;
    let lastStatus: number | undefined;
    for (;;) {
      let token: AccessToken | undefined;
      let response: AxiosResponse<unknown> | undefined;
      let networkError: string | undefined;
      let tokenError: ConcurError | undefined;
      let url = '';
      const started = Date.now();
      try {
        token = await this.token(tenant, correlationId, user);
        url = `${this.hostAllowList.apiBase(tenant, item, token.geolocation)}${call.path}`;
        if (!this.hostAllowList.isAllowed(tenant, url)) {
          this.logger.warn(`refused a Concur ${call.operation} towards a host that is not allowed (correlation ${correlationId})`);
          throw new ConcurError('rejected', 'item host is not allowed');
        }
        this.stats.calls++;
        response = await this.metrics.timeConcur(
          METRIC_OPERATION[call.operation],
          () =>
            firstValueFrom(
              this.http.request<unknown>({
                method: call.method,
                url,
                data: call.body,
                headers: {
                  Authorization: `Bearer ${token!.accessToken}`,
                  Accept: 'application/json',
                  'concur-correlationid': concurCorrelationHeader(correlationId),
                  ...(call.body ? { 'Content-Type': 'application/json' } : {}),
                },
                timeout: timeoutMs,
                maxRedirects: 0,
                validateStatus: () => true,
              }),
            ),
          (answer) => answer.status,
        );
      } catch (error) {
        if (error instanceof ConcurError) {
          // A busy or unreachable OAuth endpoint is as transient as a 5xx from the API; refused credentials are not.
          if (error.kind !== 'unavailable') throw error;
          tokenError = error;
        } else {
          networkError = (error as { code?: string }).code ?? 'ERR_NETWORK';
        }
      }
      const ms = Date.now() - started;
      const concurCorrelationId = response ? concurCorrelationIdOf(response) : undefined;
      this.logger.debug(
        `concur ${call.operation} ${call.method} ${call.path} tenant=${tenant.id} as=${user ? 'user' : 'company'} status=${response?.status ?? networkError ?? 'no-token'} ms=${ms} concur-correlationid=${concurCorrelationId ?? '-'} correlation=${correlationId}`,
      );

      let waitMs: number;
      if (tokenError) {
        lastStatus = tokenError.status;
        waitMs = backoff(retryBaseDelayMs, retries);
      } else if (response === undefined) {
        if (!RETRIED_NETWORK_ERRORS.has(networkError!)) {
          throw new ConcurError('unavailable', `Concur could not be reached (${networkError})`);
        }
        waitMs = backoff(retryBaseDelayMs, retries);
      } else {
        const { status } = response;
        lastStatus = status;
        const succeeded = call.successStatus !== undefined ? status === call.successStatus : status >= 200 && status < 300;
        if (succeeded) return response;
        if (!tokenRenewed && (status === 401 || (status === 403 && tokenExpiredOrRevoked(response)))) {
          tokenRenewed = true;
          if (user) await this.renewUser(tenant, user, correlationId);
          else await this.tokens.invalidate(tenant.id, token!.accessToken);
          this.stats.retries++;
          continue;
        }
        if (status === 429) {
          const retryAfter = retryAfterSeconds(response.headers['retry-after']);
          if (retryAfter !== undefined && retryAfter > maxRetryAfterSeconds) {
            throw new ConcurError('unavailable', `Concur asked to wait ${retryAfter} seconds before trying again`, status, 'concur', { concurCorrelationId });
          }
          waitMs = retryAfter !== undefined ? retryAfter * 1000 : backoff(retryBaseDelayMs, retries);
        } else if (status >= 500) {
          waitMs = backoff(retryBaseDelayMs, retries);
        } else {
          throw this.refused(call, response, correlationId);
        }
      }
      if (retries >= maxRetries) {
        if (tokenError) throw new ConcurError('unavailable', `${tokenError.message} after ${retries + 1} attempts`, lastStatus, tokenError.source);
        const reason = response ? `HTTP ${response.status}` : networkError;
        const concurMessage = response ? concurReason(response.data) : undefined;
        throw new ConcurError(
          'unavailable',
          `Concur is unavailable (${reason}${concurMessage ? `: ${concurMessage}` : ''}) after ${retries + 1} attempts`,
          lastStatus,
          'concur',
          { concurMessage, concurCorrelationId },
        );
      }
      retries++;
      this.stats.retries++;
      await this.sleep(waitMs);
    }
  }

  /** A 4xx (or an unexpected success status): Concur's reason kept for the log and the audit. */
  private refused(call: Call, response: AxiosResponse<unknown>, correlationId: string): ConcurError {
    const concurMessage = concurReason(response.data);
    const concurCorrelationId = concurCorrelationIdOf(response);
    const what = response.status < 300 ? `answered HTTP ${response.status} instead of ${call.successStatus}` : `refused the ${call.operation} (HTTP ${response.status})`;
    this.logger.warn(
      `Concur ${what} ${call.method} ${call.path}${concurMessage ? `: ${concurMessage}` : ''} (concur-correlationid ${concurCorrelationId ?? '-'}, correlation ${correlationId})`,
    );
    return new ConcurError('rejected', `Concur ${what}${concurMessage ? `: ${concurMessage}` : ''}`, response.status, 'concur', {
      concurMessage,
      concurCorrelationId,
    });
  }
}

/** The allocation's expense, as Concur says, must be one the launch named (when it named any). */
export function checkAllocationExpense(expenseId: string, expenseIds: string[]): void {
  if (expenseIds.length > 0 && !expenseIds.includes(expenseId)) {
    throw new ItemMismatchError(`expense_ids (${expenseIds.join(',').slice(0, 200)}) do not include the allocation's expense ${expenseId}`);
  }
}

function tokenExpiredOrRevoked(response: AxiosResponse<unknown>): boolean {
  const challenge = response.headers['www-authenticate'];
  if (typeof challenge === 'string' && /invalid_token/i.test(challenge)) return true;
  return EXPIRED_OR_REVOKED.test(concurReason(response.data) ?? '');
}

/**
 * The longest one Concur call (read or write) can take under this configuration: every attempt
 * (the first, each retry, and one more after a 401 renews the token) may first wait for a token
 * request and then for the call, each up to timeoutMs; between attempts it waits Retry-After (at
 * most maxRetryAfterSeconds) or the backoff (at most its cap).
 */
export function longestConcurCallMs(concur: Pick<AppConfig['concur'], 'timeoutMs' | 'maxRetries' | 'retryBaseDelayMs' | 'maxRetryAfterSeconds'>): number {
  const attempts = concur.maxRetries + 2;
  let waits = 0;
  for (let retry = 0; retry < concur.maxRetries; retry++) {
    const longestBackoff = Math.min(MAX_BACKOFF_MS, concur.retryBaseDelayMs * 2 ** retry + Math.floor(concur.retryBaseDelayMs / 4) + 1);
    waits += Math.max(concur.maxRetryAfterSeconds * 1000, longestBackoff);
  }
  return attempts * 2 * concur.timeoutMs + waits;
}

/** A field write is up to two calls: a read of the report or allocation, then the write. */
export function longestConcurWriteMs(concur: Parameters<typeof longestConcurCallMs>[0]): number {
  return 2 * longestConcurCallMs(concur);
}

function backoff(baseMs: number, attempt: number): number {
  const jitter = Math.floor(Math.random() * (baseMs / 4 + 1));
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt + jitter);
}

/** Retry-After in seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterSeconds(header: unknown): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import type { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AppConfig, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { ConcurError, type ItemRef, type ItemView } from './concur.types.js';
import { buildUpdate, readItemView } from './field-values.js';
import { HostAllowList } from './host-allow-list.js';
import { TokenService } from './token.service.js';

const RETRIED_NETWORK_ERRORS = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN']);
const MAX_BACKOFF_MS = 30_000;

/** clc_concur_requests_total operation of each kind of call. */
const METRIC_OPERATION = { read: 'read_item', write: 'write_field' } as const;

interface Call {
  operation: 'read' | 'write';
  method: 'GET' | 'PUT' | 'PATCH';
  body?: Record<string, unknown>;
}

/** Reads and writes Concur items with the tenant's company token; only ever towards allow-listed hosts. */
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
  ) {}

  async readItem(tenant: TenantConfig, item: ItemRef, field: string, correlationId: string): Promise<ItemView> {
    const response = await this.send(tenant, item, { operation: 'read', method: 'GET' }, correlationId);
    return readItemView(item, field, response.data);
  }

  async writeField(tenant: TenantConfig, item: ItemRef, field: string, value: string, correlationId: string): Promise<void> {
    const { method, body } = buildUpdate(item, field, value);
    await this.send(tenant, item, { operation: 'write', method, body }, correlationId);
  }

  /** Waits between attempts; a seam for tests. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private async send(tenant: TenantConfig, item: ItemRef, call: Call, correlationId: string): Promise<AxiosResponse<unknown>> {
    if (!this.hostAllowList.isAllowed(tenant, item.url)) {
      this.logger.warn(`refused a Concur ${call.operation} towards a host that is not allowed (correlation ${correlationId})`);
      throw new ConcurError('rejected', 'item host is not allowed');
    }
    const { maxRetries, retryBaseDelayMs, maxRetryAfterSeconds, timeoutMs } = this.config.concur;
    let retries = 0;
    let tokenRenewed = false;
    let lastStatus: number | undefined;
    for (;;) {
      let token: string | undefined;
      let response: AxiosResponse<unknown> | undefined;
      let networkError: string | undefined;
      let tokenError: ConcurError | undefined;
      const started = Date.now();
      try {
        token = await this.tokens.getAccessToken(tenant, correlationId);
        this.stats.calls++;
        response = await this.metrics.timeConcur(
          METRIC_OPERATION[call.operation],
          () =>
            firstValueFrom(
              this.http.request<unknown>({
                method: call.method,
                url: item.url,
                data: call.body,
                headers: {
                  Authorization: `Bearer ${token}`,
                  Accept: 'application/json',
                  'concur-correlationid': correlationId,
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
      this.logger.debug(
        `concur ${call.operation} ${call.method} tenant=${tenant.id} status=${response?.status ?? networkError ?? 'no-token'} ms=${ms} correlation=${correlationId}`,
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
        if (status >= 200 && status < 300) return response;
        if (status === 401 && !tokenRenewed) {
          tokenRenewed = true;
          await this.tokens.invalidate(tenant.id, token!);
          this.stats.retries++;
          continue;
        }
        if (status === 429) {
          const retryAfter = retryAfterSeconds(response.headers['retry-after']);
          if (retryAfter !== undefined && retryAfter > maxRetryAfterSeconds) {
            throw new ConcurError('unavailable', `Concur asked to wait ${retryAfter} seconds before trying again`, status);
          }
          waitMs = retryAfter !== undefined ? retryAfter * 1000 : backoff(retryBaseDelayMs, retries);
        } else if (status >= 500) {
          waitMs = backoff(retryBaseDelayMs, retries);
        } else {
          throw new ConcurError('rejected', `Concur refused the ${call.operation} (HTTP ${status})`, status);
        }
      }
      if (retries >= maxRetries) {
        if (tokenError) throw new ConcurError('unavailable', `${tokenError.message} after ${retries + 1} attempts`, lastStatus, tokenError.source);
        const reason = response ? `HTTP ${response.status}` : networkError;
        throw new ConcurError('unavailable', `Concur is unavailable (${reason}) after ${retries + 1} attempts`, lastStatus);
      }
      retries++;
      this.stats.retries++;
      await this.sleep(waitMs);
    }
  }
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

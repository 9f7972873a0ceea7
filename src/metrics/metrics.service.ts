import { Injectable } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds buckets for calls to Concur and for our own HTTP answers. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The connector's Prometheus metrics, in a registry of this application instance (not
 * prom-client's global one, so two instances in one process stay apart). Label values are
 * fixed words chosen by the code, never request input, so cardinality stays bounded.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  /** version: 1 | 4 | unknown. outcome: accepted | rejected | replayed | invalid | rate_limited. */
  readonly launches = new Counter({
    name: 'clc_launches_total',
    help: 'Signed launches by callout version and outcome',
    labelNames: ['version', 'outcome'] as const,
    registers: [this.registry],
  });

  /** outcome: success | unauthorized | rate_limited. */
  readonly testConnections = new Counter({
    name: 'clc_test_connections_total',
    help: 'Concur Test Connection calls by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** operation: token | read_item | write_field. status: the HTTP status, or error (no answer). */
  readonly concurRequests = new Counter({
    name: 'clc_concur_requests_total',
    help: 'HTTP requests to Concur by operation and status',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });

  readonly concurDuration = new Histogram({
    name: 'clc_concur_request_duration_seconds',
    help: 'Duration of HTTP requests to Concur by operation and status',
    labelNames: ['operation', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  /** outcome: succeeded | failed | conflict (already saved, or refused before Concur was called). */
  readonly fieldUpdates = new Counter({
    name: 'clc_field_updates_total',
    help: 'Field updates written to Concur by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly auditEvents = new Counter({
    name: 'clc_audit_events_total',
    help: 'Audit events appended, by event type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  /** limit: launch | test_connection | failed_test_connection | failed_audit_sign_in | failed_audit_sign_in_ip | failed_metrics_auth | memory_store_full. */
  readonly rateLimited = new Counter({
    name: 'clc_rate_limited_total',
    help: 'Requests refused with 429, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  /** tenant: a configured tenant id. code: Concur's OAuth error code (apidoc.markdown), e.g. 108. */
  readonly oauthRefusals = new Counter({
    name: 'clc_concur_oauth_refusals_total',
    help: "Company token requests Concur refused, by tenant and Concur's OAuth error code (108: bad or expired refresh token)",
    labelNames: ['tenant', 'code'] as const,
    registers: [this.registry],
  });

  /** Set at every company token refresh whose answer said when the refresh token expires. */
  readonly refreshTokenExpiry = new Gauge({
    name: 'clc_concur_refresh_token_expires_in_seconds',
    help: "Seconds until the tenant's company refresh token expires, as of its last refresh (warn under 30 days)",
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  /** outcome: exchanged | refused | no_code (a v4 launch without client_auth_code) | off. */
  readonly userTokens = new Counter({
    name: 'clc_user_token_exchanges_total',
    help: "v4 launches by what became of their client_auth_code (the user's own tokens)",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** route: the matched route pattern (never the raw URL), or "unmatched". */
  readonly httpDuration = new Histogram({
    name: 'clc_http_request_duration_seconds',
    help: 'Duration of HTTP requests served, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Times `work` as one Concur call; the status comes from `statusOf` of its result, or "error" if it throws. */
  async timeConcur<T>(operation: string, work: () => Promise<T>, statusOf: (result: T) => number): Promise<T> {
    const end = this.concurDuration.startTimer({ operation });
    try {
      const result = await work();
      const status = String(statusOf(result));
      end({ status });
      this.concurRequests.inc({ operation, status });
      return result;
    } catch (error) {
      end({ status: 'error' });
      this.concurRequests.inc({ operation, status: 'error' });
      throw error;
    }
  }
}

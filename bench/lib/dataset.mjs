// A deterministic generator of realistic audit events for the benchmarks: ~20 tenants of
// uneven size, ~5,000 Concur users, reports and their expenses (v4 item URLs), custom1..40
// fields, every event type in the proportions a live connector produces, over two years.
// Same seed, same events: a cached database can be recreated exactly.

/** sfc32: a small, fast, seedable PRNG (Math.random cannot be seeded). */
export function prng(seed = 1) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 20; i++) next();
  return next;
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function helpers(rand) {
  const int = (n) => Math.floor(rand() * n);
  const pick = (list) => list[int(list.length)];
  const word = () => {
    const w = (rand() * 4294967296) >>> 0;
    return BYTE_HEX[w >>> 24] + BYTE_HEX[(w >>> 16) & 255] + BYTE_HEX[(w >>> 8) & 255] + BYTE_HEX[w & 255];
  };
  const hex = (n, upper = false) => {
    let s = '';
    while (s.length < n) s += word();
    s = s.slice(0, n);
    return upper ? s.toUpperCase() : s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`;
  const b64url = (bytes) => {
    const buf = Buffer.allocUnsafe(bytes);
    for (let i = 0; i < bytes; i++) buf[i] = int(256);
    return buf.toString('base64url');
  };
  /** Picks an index by weights via a precomputed cumulative array (binary search). */
  const weighted = (cumulative) => {
    const x = rand() * cumulative[cumulative.length - 1];
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const exp = (mean) => -Math.log(1 - rand()) * mean;
  return { int, pick, hex, uuid, b64url, weighted, exp };
}

function cumulate(weights) {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (out[i] = sum += w));
  return out;
}

const COMPANIES = [
  'acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne',
  'soylent', 'oscorp', 'massive', 'vandelay', 'gringotts', 'aperture', 'blackmesa', 'dunder', 'pied-piper', 'nakatomi',
];
const DATACENTERS = ['us.api.concursolutions.com', 'us.api.concursolutions.com', 'us.api.concursolutions.com', 'us2.api.concursolutions.com', 'emea.api.concursolutions.com'];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 SAPConcur/9.118',
];
const REJECT_REASONS = [
  'signature does not match', 'nonce already used', 'timestamp outside the allowed window', 'unknown company domain',
  'item URL is not on an allowed Concur origin', 'missing parameter: itemUrl', 'field is not configured for this tenant',
];
const FAIL_REASONS = [
  'concur HTTP 503: Service Unavailable', 'concur HTTP 429: rate limited', 'timeout: no answer within 10000 ms',
  'concur HTTP 400: The value is not in the list', 'concur HTTP 403: report is not in an editable state', 'token: refresh token rejected',
];
/** Tenants that did not use the connector all along: [start, end) as shares of the span. */
export const ACTIVE = { nakatomi: [0, 4 / 24], dunder: [22 / 24, 1] };
const READS = ['search', 'search', 'search', 'event', 'event', 'export', 'verify'];
const AUDITORS = ['auditor', 'internal.audit.jane', 'internal.audit.omar', 'ext.kpmg.lee', 'ext.kpmg.ruiz', 'compliance.mia', 'compliance.ben', 'sec.ops.ava'];

/**
 * An iterator of rows (without seq, prev_hash, hash) in time order; `spanMs` is the time
 * they are spread over, ending at `end`.
 */
export function* generateEvents({ count, seed = 42, end = Date.parse('2026-11-01T00:00:00.000Z'), spanMs = 730 * 86_400_000 }) {
  const rand = prng(seed);
  const h = helpers(rand);

  // Tenants of uneven size (Zipf-like), each on one data centre, with one or two company domains and a few fields.
  const tenants = COMPANIES.map((name, i) => ({
    id: name,
    host: DATACENTERS[i % DATACENTERS.length],
    domains: i % 3 === 0 ? [`${name}.com`, `${name}-eu.com`] : [`${name}.com`],
    fields: Array.from({ length: 2 + (i % 5) }, () => `custom${1 + h.int(40)}`),
    fieldWeights: null,
    net: `${100 + i}.${h.int(256)}`,
    users: [],
    userWeights: null,
    // Share of the span in which the tenant uses the connector: most throughout; one left after
    // the first four months, one joined for the last two (ACTIVE).
    active: ACTIVE[name] ?? [0, 1],
  }));
  for (const t of tenants) t.fieldWeights = cumulate(t.fields.map((_, i) => 1 / (i + 1)));
  const tenantWeights = cumulate(tenants.map((_, i) => 1 / (i + 1) ** 0.8));

  // ~5,000 users spread over the tenants by size; some use the connector far more than others.
  const USERS = 5000;
  for (let u = 0; u < USERS; u++) {
    const t = tenants[h.weighted(tenantWeights)];
    t.users.push({ id: h.uuid(), report: null, expenses: [], expenseCount: 0, ip: `${t.net}.${h.int(256)}.${1 + h.int(254)}`, ua: h.pick(USER_AGENTS), activity: 0.1 + h.exp(1) });
  }
  for (const t of tenants) {
    if (t.users.length === 0) t.users.push({ id: h.uuid(), report: null, expenses: [], expenseCount: 0, ip: `${t.net}.0.1`, ua: USER_AGENTS[0], activity: 1 });
    t.userWeights = cumulate(t.users.map((u) => u.activity));
  }
  const pickUser = (t) => t.users[h.weighted(t.userWeights)];
  /** A tenant by size among those active at time t. */
  const activeTenant = () => {
    // The episodes' clock may run a little past `end`: count that as the end of the span.
    const share = Math.min((t - (end - spanMs)) / spanMs, 0.999999);
    for (;;) {
      const tenant = tenants[h.weighted(tenantWeights)];
      if (share >= tenant.active[0] && share < tenant.active[1]) return tenant;
    }
  };

  const reportOf = (owner) => {
    // A new report now and then; an owner's launches otherwise come back to the current one.
    if (owner.report === null || rand() < 0.25) {
      owner.report = h.hex(20, true);
      owner.expenseCount = 1 + h.int(12);
      owner.expenses = [];
    }
    return owner.report;
  };
  /** One of the current report's expenses; their ids are made when first needed. */
  const expenseOf = (owner) => {
    const i = h.int(owner.expenseCount);
    while (owner.expenses.length <= i) owner.expenses.push(h.hex(24, true));
    return owner.expenses[i];
  };
  const value = () => `${h.pick(['PRJ', 'CC', 'WBS', 'GL', 'DEPT'])}-${10000 + h.int(90000)}`;

  // Time: episodes (a launch and its updates, a rejection, an auditor's session) arrive as a
  // Poisson process; the events of one episode follow one another within seconds.
  // Expected events and seconds within one episode (from the probabilities below), so that the
  // clock ends near `end` whatever the count.
  const EVENTS_PER_EPISODE = 2.73;
  const MS_WITHIN_EPISODE = 20_000;
  const episodeGap = Math.max(1000, spanMs / (count / EVENTS_PER_EPISODE) - MS_WITHIN_EPISODE);
  let t = end - spanMs;
  let emitted = 0;
  const at = (ms) => new Date(ms).toISOString();
  const NO_CONTEXT = { tenant_id: null, company_domain: null, acting_user: null, report_owner: null, item_url: null, field: null, client_ip: null, user_agent: null };
  /** One event of fixed shape (no spreads: this runs a million times). */
  const row = (c, event_type, outcome, launch_id, old_value, new_value, reason, correlation_id, field = c.field) => {
    emitted++;
    return {
      id: h.uuid(), occurred_at: at(t), event_type, outcome, tenant_id: c.tenant_id, company_domain: c.company_domain,
      acting_user: c.acting_user, report_owner: c.report_owner, item_url: c.item_url, launch_id, field, old_value,
      new_value, reason, correlation_id, client_ip: c.client_ip, user_agent: c.user_agent,
    };
  };

  while (emitted < count) {
    t += h.exp(episodeGap);
    const kind = rand();
    if (kind < 0.9) {
      // A launch: accepted, then (mostly) one or more updates, each requested then succeeded or failed.
      const tenant = activeTenant();
      const owner = pickUser(tenant);
      const own = rand() < 0.72;
      const actor = own ? owner : pickUser(tenant);
      const report = reportOf(owner);
      const context = own ? 'TRAVELER' : rand() < 0.8 ? 'MANAGER' : 'PROXY';
      const reportUrl = `https://${tenant.host}/expensereports/v4/users/${owner.id}/context/${context}/reports/${report}`;
      const where = rand();
      const expense = expenseOf(owner);
      const itemUrl =
        where < 0.2 ? reportUrl
        : where < 0.9 ? `${reportUrl}/expenses/${expense}`
        : `${reportUrl}/expenses/${expense}/allocations/${h.hex(24, true)}`;
      const field = tenant.fields[h.weighted(tenant.fieldWeights)];
      const base = {
        tenant_id: tenant.id, company_domain: h.pick(tenant.domains), acting_user: actor.id, report_owner: owner.id,
        item_url: itemUrl, field, client_ip: actor.ip, user_agent: actor.ua,
      };
      const launchId = h.b64url(16);
      yield row(base, 'launch.accepted', 'success', launchId, null, null, null, h.uuid());
      if (rand() < 0.78) {
        const updates = rand() < 0.88 ? 1 : rand() < 0.8 ? 2 : 3;
        let old = rand() < 0.4 ? null : value();
        // Room for both events of an update, or none: no request is left without its outcome.
        for (let u = 0; u < updates && emitted + 2 <= count; u++) {
          const correlation = h.uuid();
          const next = value();
          t += 2000 + h.exp(15_000);
          yield row(base, 'update.requested', 'pending', launchId, old, next, null, correlation);
          t += 150 + h.exp(600);
          if (rand() < 0.035) {
            yield row(base, 'update.failed', 'failure', launchId, old, next, h.pick(FAIL_REASONS), correlation);
          } else {
            yield row(base, 'update.succeeded', 'success', launchId, old, next, null, correlation);
            old = next;
          }
        }
      }
    } else if (kind < 0.965) {
      // A refused launch: what was known of it before it was refused.
      const tenant = activeTenant();
      const known = rand() < 0.7;
      const user = pickUser(tenant);
      const context = {
        tenant_id: known ? tenant.id : null, company_domain: known ? h.pick(tenant.domains) : null,
        acting_user: known ? user.id : null, report_owner: known ? user.id : null,
        item_url: known ? `https://${tenant.host}/expensereports/v4/users/${user.id}/context/TRAVELER/reports/${reportOf(user)}` : null,
        field: null, client_ip: user.ip, user_agent: user.ua,
      };
      yield row(context, 'launch.rejected', 'failure', null, null, null, h.pick(REJECT_REASONS), h.uuid());
    } else {
      // An auditor's session: sign-in (sometimes failing), some reads, usually a sign-out.
      const auditor = h.pick(AUDITORS);
      const meta = { ...NO_CONTEXT, acting_user: auditor, client_ip: `198.51.100.${1 + h.int(254)}`, user_agent: USER_AGENTS[h.int(3)] };
      if (rand() < 0.1) {
        yield row(meta, 'audit.sign_in', 'failure', null, null, null, 'wrong user name or password', h.uuid());
        continue;
      }
      yield row(meta, 'audit.sign_in', 'success', null, null, null, null, h.uuid());
      const reads = 1 + h.int(6);
      for (let r = 0; r < reads && emitted < count; r++) {
        t += 3000 + h.exp(40_000);
        yield row(meta, 'audit.read', 'success', null, null, null, null, h.uuid(), h.pick(READS));
      }
      if (emitted < count && rand() < 0.6) {
        t += 5000 + h.exp(60_000);
        yield row(meta, 'audit.sign_out', 'success', null, null, null, null, h.uuid());
      }
    }
  }
}

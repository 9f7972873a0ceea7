// Shared by the reliability specs: a seeded random source, an HTTP client that never throws
// (it records what happened to each request, with timings), the popup flow against a running
// connector, the bound on one Concur call, the built app with an overlay, and RSS readings.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify as toYaml } from 'yaml';
import { startConnector, type StartedConnector } from '../../bench/lib/connector.mjs';
import { buildSignedQuery, type LaunchParams } from '../../src/auth/signature.js';
import { deepMerge, loadConfig, type AppConfig } from '../../src/config/index.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: a small, fast, seedable generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `name` in the environment (to replay a failed run), else a new one; printed either way. */
export function seedFor(name: string, what: string): number {
  const given = process.env[name];
  const seed = given !== undefined && /^\d+$/.test(given) ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  // On stderr at once, so it is there even if the run is killed; Jest's console would only print it later.
  process.stderr.write(`[${what}] seed ${seed} (replay with ${name}=${seed})\n`);
  return seed;
}

export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

export function intBetween(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

// ---------------------------------------------------------------------------------------------
// The longest a request that calls Concur once may take

/**
 * The longest one Concur read or write may take, from src/concur/concur.client.ts: at most
 * `maxRetries + 1` counted attempts plus one uncounted attempt after a 401 (the token is renewed
 * once); each attempt may refresh the token (a POST with `timeoutMs`) and then call the API
 * (`timeoutMs`); between counted attempts it waits a Retry-After of at most
 * `maxRetryAfterSeconds` (a longer one fails at once), or the backoff `base * 2^n + base/4`
 * (jitter), capped at 30 s.
 */
export function concurCallBoundMs(concur: AppConfig['concur']): number {
  const attempts = concur.maxRetries + 2;
  let waits = 0;
  for (let n = 0; n < concur.maxRetries; n++) {
    const backoff = Math.min(30_000, concur.retryBaseDelayMs * 2 ** n + Math.floor(concur.retryBaseDelayMs / 4));
    waits += Math.max(concur.maxRetryAfterSeconds * 1000, backoff);
  }
  return attempts * 2 * concur.timeoutMs + waits;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Exchange {
  method: string;
  path: string;
  /** performance.now() when the request was handed to Node. */
  startedAt: number;
  /** performance.now() when the request had a connected socket (undefined if it never had one). */
  socketAt?: number;
  /** The socket had carried an earlier request (keep-alive). */
  reusedSocket: boolean;
  endedAt: number;
  ms: number;
  status?: number;
  headers?: IncomingHttpHeaders;
  body: string;
  /** A socket error code (ECONNREFUSED, ECONNRESET...), or CLIENT_TIMEOUT. */
  error?: string;
}

/** An HTTP/1.1 client for 127.0.0.1:port; `send` never rejects, it reports what happened. */
export class Client {
  readonly agent: Agent;

  constructor(
    readonly port: number,
    options: { keepAlive?: boolean; maxSockets?: number } = {},
  ) {
    this.agent = new Agent({ keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? 64 });
  }

  send(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<Exchange> {
    const startedAt = performance.now();
    return new Promise((done) => {
      const ex: Exchange = { method, path, startedAt, reusedSocket: false, endedAt: 0, ms: 0, body: '' };
      let finished = false;
      const finish = (error?: string) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        ex.endedAt = performance.now();
        ex.ms = ex.endedAt - startedAt;
        if (error) ex.error = error;
        done(ex);
      };
      const headers: Record<string, string> = { 'user-agent': 'clc-reliability', ...options.headers };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = request({ host: '127.0.0.1', port: this.port, path, method, agent: this.agent, headers }, (res) => {
        ex.status = res.statusCode;
        ex.headers = res.headers;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          ex.body = Buffer.concat(chunks).toString('utf8');
          finish();
        });
        res.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
      });
      req.on('socket', (socket) => {
        ex.reusedSocket = req.reusedSocket;
        if (req.reusedSocket || !socket.connecting) ex.socketAt = performance.now();
        else socket.once('connect', () => (ex.socketAt = performance.now()));
      });
      req.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
      const timer = setTimeout(() => {
        req.destroy();
        finish('CLIENT_TIMEOUT');
      }, options.timeoutMs ?? 60_000);
      req.end(options.body);
    });
  }

  get(path: string, headers: Record<string, string> = {}, timeoutMs?: number): Promise<Exchange> {
    return this.send('GET', path, { headers, timeoutMs });
  }

  postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}, timeoutMs?: number): Promise<Exchange> {
    return this.send('POST', path, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
      timeoutMs,
    });
  }

  async json<T = unknown>(method: string, path: string, value?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.send(method, path, {
      headers: value === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: value === undefined ? undefined : JSON.stringify(value),
    });
    if (res.error || res.status === undefined || res.status < 200 || res.status >= 300) {
      throw new Error(`${method} ${path} answered ${res.status ?? res.error}: ${res.body.slice(0, 300)}`);
    }
    return JSON.parse(res.body) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

export function summarize(ex: Exchange): string {
  return `${ex.method} ${ex.path.split('?')[0]} -> ${ex.status ?? ex.error} in ${Math.round(ex.ms)} ms${ex.reusedSocket ? ' (reused socket)' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The sandbox and the popup

export interface SandboxIds {
  userId: string;
  reportId: string;
  entryIds: string[];
  expenseIds: string[];
  allocationIds: string[];
}

interface CustomDatum {
  id: string;
  value: string | null;
}

export interface SandboxState {
  userId: string;
  report: { reportId: string; customData: CustomDatum[] };
  entries: Array<{ ID: string } & Record<string, unknown>>;
  expenses: Array<{ expenseId: string; customData: CustomDatum[] }>;
  allocations: Array<{ allocationId: string; customData: CustomDatum[] }>;
  faults: unknown[];
  tokenRequests: number;
  apiRequests: number;
  updates: number;
}

export function idsOf(state: SandboxState): SandboxIds {
  return {
    userId: state.userId,
    reportId: state.report.reportId,
    entryIds: state.entries.map((e) => e.ID),
    expenseIds: state.expenses.map((e) => e.expenseId),
    allocationIds: state.allocations.map((a) => a.allocationId),
  };
}

/** What a launch is for: v1 (a v3 entry) or v4 at one of its levels, and which item. */
export interface LaunchTarget {
  version: 1 | 4;
  level: 'ENTRY' | 'HEADER' | 'ALLOCATION';
  /** The v3 entry, v4 expense or allocation id (the report id for HEADER). */
  itemId: string;
}

export function describeTarget(t: LaunchTarget): string {
  return t.version === 1 ? `v1 entry ${t.itemId}` : `v4 ${t.level} ${t.itemId}`;
}

/** Every item of the sandbox, as launch targets. */
export function allTargets(ids: SandboxIds): LaunchTarget[] {
  return [
    ...ids.entryIds.map((itemId) => ({ version: 1 as const, level: 'ENTRY' as const, itemId })),
    { version: 4, level: 'HEADER', itemId: ids.reportId },
    ...ids.expenseIds.map((itemId) => ({ version: 4 as const, level: 'ENTRY' as const, itemId })),
    ...ids.allocationIds.map((itemId) => ({ version: 4 as const, level: 'ALLOCATION' as const, itemId })),
  ];
}

/** A signed launch URL (path and query, fresh nonce) for `target`, as Concur would open it. */
export function signedLaunchPath(config: AppConfig, origin: string, ids: SandboxIds, target: LaunchTarget): string {
  const tenant = config.tenants[0];
  let params: LaunchParams;
  if (target.version === 1) {
    params = {
      xcompanydomain: tenant.companyDomains[0],
      xuserid: 'sam.employee@sandbox.example.com',
      itemurl: `${origin}/sandbox/concur/api/v3.0/expense/entries/${encodeURIComponent(target.itemId)}`,
    };
  } else {
    const report = `${origin}/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/${ids.reportId}`;
    const expenseOfAllocation = ids.expenseIds[0];
    params = {
      company_domain: tenant.companyDomains[0],
      logged_in_user_id: ids.userId,
      report_owner_user_id: ids.userId,
      report_owner_employee_id: 'E1001',
      item_url:
        target.level === 'HEADER' ? report : target.level === 'ENTRY' ? `${report}/expenses/${target.itemId}` : `${report}/allocations/${target.itemId}`,
      custom_field_launched_from: 'custom9',
      source: target.level,
      is_mobile: 'false',
      language_code: 'en',
      ...(target.level === 'ALLOCATION' ? { expense_ids: expenseOfAllocation } : {}),
    };
  }
  const algorithm = target.version === 1 ? 'sha1' : tenant.launch.v4Algorithm;
  const query = buildSignedQuery(target.version, algorithm, params, tenant.connector.username, tenant.connector.password);
  return `${target.version === 1 ? config.paths.v1Launch : config.paths.v4Launch}?${query}`;
}

/** The field value of `target` in the sandbox (Custom1 for v1, custom9 for v4, as the sandbox tenant writes them). */
export function itemValue(state: SandboxState, target: LaunchTarget): string | null | undefined {
  if (target.version === 1) {
    const entry = state.entries.find((e) => e.ID === target.itemId);
    return (entry?.Custom1 as { Value?: string | null } | undefined)?.Value;
  }
  const data =
    target.level === 'HEADER'
      ? state.report.customData
      : target.level === 'ENTRY'
        ? state.expenses.find((e) => e.expenseId === target.itemId)?.customData
        : state.allocations.find((a) => a.allocationId === target.itemId)?.customData;
  return data?.find((d) => d.id === 'custom9')?.value;
}

const CSRF = /name="csrf" value="([^"]+)"/;

export function csrfIn(html: string): string | undefined {
  return CSRF.exec(html)?.[1];
}

export function referenceIn(html: string): string | undefined {
  return /Reference: <code>([^<]+)<\/code>/.exec(html)?.[1];
}

const unescapeHtml = (text: string) =>
  text.replaceAll('&#x3D;', '=').replaceAll('&#x2F;', '/').replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&amp;', '&');

/** The Retry form of an error page: its method, action and hidden fields; undefined when there is none. */
export function retryFormIn(html: string): { method: string; action: string; fields: Record<string, string> } | undefined {
  const form = /<form method="([^"]+)" action="([^"]+)" class="actions">([\s\S]*?)<\/form>/.exec(html);
  if (!form) return undefined;
  const fields: Record<string, string> = {};
  for (const input of form[3].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[input[1]] = unescapeHtml(input[2]);
  return { method: form[1].toUpperCase(), action: unescapeHtml(form[2]), fields };
}

/** The cookie (name=value) a launch's 303 sets. */
export function cookieOf(ex: Exchange): string {
  const set = ex.headers?.['set-cookie'];
  return String(set?.[0] ?? '').split(';')[0];
}

/** The codes of the lookup file the sandbox tenant searches (config/lookup/projects.csv). */
export function lookupCodes(): string[] {
  return readFileSync(join(ROOT, 'config', 'lookup', 'projects.csv'), 'utf8')
    .split(/\r?\n/)
    .slice(1)
    .map((line) => line.split(',')[0])
    .filter((code) => code !== '');
}

// ---------------------------------------------------------------------------------------------
// The built app

/** Compiles src/ into dist/ when a source is newer (what `npm run test:reliability` does first). */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-needed.mjs')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** What every built app of these specs runs with: loopback only, quiet, no rate limit in the way of the load. */
const BASE_OVERLAY = {
  server: { host: '127.0.0.1' },
  audit: { headLogIntervalSeconds: 0 },
  logging: { level: 'warn', format: 'json' },
  rateLimit: {
    launch: { limit: 1_000_000, windowSeconds: 60 },
    testConnection: { limit: 1_000_000, windowSeconds: 60 },
    failedTestConnection: { limit: 1_000_000, windowSeconds: 60 },
  },
};

export interface BuiltApp {
  connector: StartedConnector;
  /** The configuration the child runs with (the same files), for the tenant's secrets and the paths. */
  config: AppConfig;
  overlayFile: string;
  dataDir: string;
  /** Removes the overlay's folder (not a data folder the caller passed in). */
  cleanup(): void;
}

/**
 * dist/main.js as a child process (bench/lib/connector.mjs) with `overlay` laid over the
 * embedded defaults. Its own CONNECTOR_CONFIG replaces the one startConnector writes, whose
 * `server` and `audit` keys could not be given twice. Pass `dataDir` to keep the SQLite file.
 */
export async function startBuilt(options: { overlay?: Record<string, unknown>; dataDir?: string; env?: Record<string, string> } = {}): Promise<BuiltApp> {
  const scratch = mkdtempSync(join(tmpdir(), 'clc-reliability-'));
  const overlayFile = join(scratch, 'connector.yaml');
  writeFileSync(overlayFile, toYaml(deepMerge(BASE_OVERLAY, options.overlay ?? {})));
  const env: Record<string, string> = {
    CONNECTOR_CONFIG: overlayFile,
    // Jest's --experimental-vm-modules is not for the app.
    NODE_OPTIONS: '',
    LOG_LEVEL: 'warn',
    ...(options.dataDir ? { CONNECTOR_DATA_DIR: options.dataDir } : {}),
    ...options.env,
  };
  const connector = await startConnector({ env, readyTimeoutMs: 60_000 });
  const config = loadConfig({ CONNECTOR_CONFIG: overlayFile, CONNECTOR_DATA_DIR: connector.dataDir, PORT: String(connector.port) }).config;
  return {
    connector,
    config,
    overlayFile,
    dataDir: connector.dataDir,
    cleanup: () => rmSync(scratch, { recursive: true, force: true }),
  };
}

/** The resident set of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** HTTP Basic for the demo auditor of config/default.yaml. */
export const AUDITOR = { authorization: `Basic ${Buffer.from('auditor:auditor-demo').toString('base64')}` };

/** An exported audit event (GET /api/audit/export?format=ndjson), the fields these specs read. */
export interface ExportedEvent {
  seq: number;
  type: string;
  outcome: string;
  launchId: string | null;
  newValue: string | null;
  reason: string | null;
  correlationId: string | null;
}

/** Every audit event, oldest first, through the auditors' export (the trailer line left out). */
export async function exportAudit(client: Client): Promise<ExportedEvent[]> {
  const res = await client.get('/api/audit/export?format=ndjson', AUDITOR);
  if (res.status !== 200) throw new Error(`audit export answered ${res.status ?? res.error}: ${res.body.slice(0, 300)}`);
  return res.body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExportedEvent & { export?: unknown })
    .filter((row) => row.export === undefined);
}

/**
 * Pairs every update.requested with its outcomes: the outcome events of the same launch that
 * follow it, before the launch's next update.requested. Returns the requests with zero or
 * several outcomes (each should have exactly one).
 */
export function unpairedRequests<E extends { seq: number; type: string; launchId: string | null }>(events: readonly E[]): Array<{ request: E; outcomes: E[] }> {
  const byLaunch = new Map<string, E[]>();
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (!e.launchId || !e.type.startsWith('update.')) continue;
    byLaunch.set(e.launchId, [...(byLaunch.get(e.launchId) ?? []), e]);
  }
  const bad: Array<{ request: E; outcomes: E[] }> = [];
  for (const list of byLaunch.values()) {
    let open: { request: E; outcomes: E[] } | undefined;
    const close = () => {
      if (open && open.outcomes.length !== 1) bad.push(open);
    };
    for (const e of list) {
      if (e.type === 'update.requested') {
        close();
        open = { request: e, outcomes: [] };
      } else if (e.type === 'update.succeeded' || e.type === 'update.failed') {
        if (open) open.outcomes.push(e);
        else bad.push({ request: e, outcomes: [] }); // an outcome without a request
      }
    }
    close();
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------
// A full garbage collection in a child, through its inspector

/**
 * The inspector of a child started with `--inspect=127.0.0.1:0` (its URL is on its stderr), over
 * a minimal WebSocket client (RFC 6455: masked text frames out, unmasked frames in); Node 20
 * has no WebSocket without a flag, and the project no `ws`. `collectGarbage()` asks V8 for a
 * full collection (HeapProfiler.collectGarbage, a low-memory notification), after which RSS
 * holds what the process keeps rather than where its heap happens to be in its GC cycle.
 */
export class Inspector {
  private buffer = Buffer.alloc(0);
  private nextId = 0;
  private readonly waiting = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();

  private constructor(private readonly socket: import('node:net').Socket) {
    socket.on('data', (data: Buffer) => this.receive(data));
  }

  static urlIn(stderr: string): string {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
    if (!url) throw new Error(`no inspector URL on the app's stderr: ${stderr.slice(-500)}`);
    return url;
  }

  static connect(wsUrl: string): Promise<Inspector> {
    const url = new URL(wsUrl);
    return new Promise((resolveConnect, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
      });
      req.once('upgrade', (_res, socket) => resolveConnect(new Inspector(socket)));
      req.once('response', (res) => reject(new Error(`inspector answered ${res.statusCode} instead of upgrading`)));
      req.once('error', reject);
      req.end();
    });
  }

  send(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<unknown> {
    const id = ++this.nextId;
    const data = Buffer.from(JSON.stringify({ id, method, params }), 'utf8');
    const mask = randomBytes(4);
    const length =
      data.length < 126
        ? Buffer.from([0x80 | data.length])
        : data.length < 65536
          ? Buffer.from([0x80 | 126, data.length >> 8, data.length & 0xff])
          : (() => {
              const b = Buffer.alloc(9);
              b[0] = 0x80 | 127;
              b.writeBigUInt64BE(BigInt(data.length), 1);
              return b;
            })();
    const masked = Buffer.from(data.map((byte, i) => byte ^ mask[i % 4]));
    return new Promise((resolveSend, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`inspector: no answer to ${method} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`inspector: ${method}: ${message.error.message}`));
        else resolveSend(message.result);
      });
      this.socket.write(Buffer.concat([Buffer.from([0x81]), length, mask, masked]));
    });
  }

  collectGarbage(): Promise<unknown> {
    return this.send('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.buffer.length < 2) return;
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const opcode = this.buffer[0] & 0x0f;
      const payload = this.buffer.subarray(offset, offset + length).toString('utf8');
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode !== 0x1) continue;
      try {
        const message = JSON.parse(payload) as { id?: number; result?: unknown; error?: { message: string } };
        if (message.id !== undefined) {
          this.waiting.get(message.id)?.(message);
          this.waiting.delete(message.id);
        }
      } catch {
        // not JSON: ignored
      }
    }
  }
}

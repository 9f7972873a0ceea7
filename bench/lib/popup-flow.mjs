// The popup as Concur and a browser drive it, against a connector started by connector.mjs:
// a signed launch URL (from the sandbox), the 303 to the session page with its cookie, the
// page (which reads the item from Concur), and Save (POST .../select, which writes to Concur).
// Plus the sandbox's JSON controls (state, faults, reset). Used by bench/sections/latency.mjs
// and tokens.mjs. Keep-alive connections, as a browser keeps them; nothing is parsed beyond
// what the next step needs, so the client costs the shared CPUs as little as possible.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** An HTTP/1.1 client for 127.0.0.1:port with its own keep-alive pool. */
export function client(port, { maxSockets = 64 } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = (method, path, { headers = {}, body } = {}) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, agent, headers: { 'user-agent': 'clc-bench', ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    send,
    get: (path, headers) => send('GET', path, { headers }),
    async json(method, path, value) {
      const res = await send(method, path, {
        headers: value === undefined ? {} : { 'content-type': 'application/json' },
        body: value === undefined ? undefined : JSON.stringify(value),
      });
      if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${res.body.slice(0, 300)}`);
      return JSON.parse(res.body);
    },
    close: () => agent.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// The sandbox's controls

export const sandboxState = (http) => http.json('GET', '/sandbox/api/state');
export const setFaults = (http, body) => http.json('POST', '/sandbox/api/faults', body);
export const resetSandbox = (http) => http.json('POST', '/sandbox/api/reset', {});

/** The sandbox's counters, without its data. */
export async function sandboxCounters(http) {
  const { tokenRequests, apiRequests, updates, faults, tokenTtlSeconds } = await sandboxState(http);
  return { tokenRequests, apiRequests, updates, pendingFaults: faults.reduce((n, f) => n + f.count, 0), tokenTtlSeconds };
}

/**
 * Every next Concur call of `target` ('api', 'token' or 'any') waits `delayMs` first, for the
 * next `calls` calls: the sandbox takes at most 100 switches of at most 1,000 calls each.
 */
export async function delayConcurCalls(http, { delayMs, calls, target = 'any' }) {
  const switches = [];
  for (let left = calls; left > 0; left -= 1000) switches.push({ target, delayMs, count: Math.min(1000, left) });
  if (switches.length > 100) throw new Error(`the sandbox queues at most 100,000 delayed calls (asked for ${calls})`);
  await setFaults(http, { switches });
}

/** Freshly signed launch URLs (relative, one nonce each), fetched before any timing starts. */
export async function launchUrls(http, count, { version = 4, level = 'ENTRY', id = 'SBXX1', concurrency = 8 } = {}) {
  const query = new URLSearchParams({ version: String(version), level, id });
  const urls = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        urls[i] = (await http.json('GET', `/sandbox/api/launch-url?${query}`)).url;
      }
    }),
  );
  return urls;
}

// ---------------------------------------------------------------------------------------------
// The popup

const CSRF = /name="csrf" value="([^"]+)"/;
const CODE = /name="code" value="([^"]+)"/g;

/** The signed URL: resolves with the 303's session page and its cookie. */
export async function startLaunch(http, url) {
  const launch = await http.get(url);
  if (launch.status !== 303) throw new Error(`launch answered ${launch.status}: ${launch.body.slice(0, 200)}`);
  return { location: launch.headers.location, cookie: String(launch.headers['set-cookie']?.[0] ?? '').split(';')[0] };
}

/** The session page of a started launch: what Save needs (CSRF token, the listed codes). */
export async function openPage(http, { location, cookie }) {
  const page = await http.get(location, { cookie });
  if (page.status !== 200) throw new Error(`session page answered ${page.status}: ${page.body.slice(0, 200)}`);
  const csrf = CSRF.exec(page.body)?.[1];
  if (!csrf) throw new Error('the session page has no CSRF token');
  const codes = [];
  for (const match of page.body.matchAll(CODE)) codes.push(match[1]);
  return { location, cookie, csrf, codes };
}

/**
 * Launch to page: the signed URL (303 + cookie), then the session page. Resolves with the
 * time from sending the signed URL to the last byte of the page, and what Save needs.
 */
export async function openPopup(http, url) {
  const started = performance.now();
  const popup = await openPage(http, await startLaunch(http, url));
  return { ms: performance.now() - started, ...popup };
}

/** Select to done: Save with the page's CSRF token and a code of its list; resolves with the time to the done page. */
export async function save(http, popup, code = popup.codes[0]) {
  const body = new URLSearchParams({ csrf: popup.csrf, code }).toString();
  const started = performance.now();
  const res = await http.send('POST', `${popup.location}/select`, {
    headers: { cookie: popup.cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`select answered ${res.status}: ${res.body.slice(0, 200)}`);
  return { ms, correlationId: res.headers['x-request-id'] };
}

// ---------------------------------------------------------------------------------------------
// Figures

export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** 0.123 -> "0.12 ms", 12.3 -> "12.3 ms", 1234 -> "1,234 ms". */
export function fmtMs(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  const abs = Math.abs(x);
  return `${abs < 10 ? x.toFixed(2) : abs < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')} ms`;
}

export const round = (x, digits = 2) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));

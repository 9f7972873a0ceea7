// Launch load for the benchmarks: signed v1 launch URLs made before the timed window (every one
// with its own nonce, so every request is a first use), and an autocannon run that sends each
// request with the next URL of the pool and times every answer.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { freePort, get } from './connector.mjs';
import { ROOT, fromDist } from './dist.mjs';

/** The sandbox tenant of config/default.yaml: what the launches are signed with. */
export const SANDBOX_TENANT = {
  domain: 'sandbox.example.com',
  username: 'SandboxConnector',
  password: 'sandbox-connector-password',
};

export const V1_PATH = '/concur/form/v1.0/get';

/**
 * Pre-signed v1 launch URLs (path and query), as Concur would open them: a real Concur item URL
 * (www.concursolutions.com is on the connector's allow-list, so the URLs do not depend on a port),
 * one of 500 users, a fresh nonce each. Every target is a fresh process with its own nonce store,
 * so each target uses the pool from index 0; the pool grows as the largest target needs.
 */
export class LaunchUrlPool {
  #urls = [];
  #sign;
  #serial = 0;
  /** Seconds spent signing (outside any timed window). */
  signSeconds = 0;

  static async create() {
    const { buildSignedQuery } = await fromDist('auth/signature.js');
    const { v1LaunchParams } = await fromDist('auth/launch-params.js');
    return new LaunchUrlPool((n) => {
      const params = v1LaunchParams({
        companyDomain: SANDBOX_TENANT.domain,
        userId: `user${n % 500}@sandbox.example.com`,
        itemUrl: `https://www.concursolutions.com/api/v3.0/expense/entries/BENCH${(n % 100_000).toString(36).toUpperCase()}`,
      });
      return `${V1_PATH}?${buildSignedQuery(1, 'sha1', params, SANDBOX_TENANT.username, SANDBOX_TENANT.password)}`;
    });
  }

  constructor(sign) {
    this.#sign = sign;
  }

  get length() {
    return this.#urls.length;
  }

  /** Signs until the pool holds at least `count` URLs. */
  ensure(count) {
    if (count <= this.#urls.length) return;
    const started = performance.now();
    while (this.#urls.length < count) this.#urls.push(this.#sign(this.#serial++));
    this.signSeconds += (performance.now() - started) / 1000;
  }

  /** The URL at `index`; beyond the pool, one signed now (counted by the caller as signed in the window). */
  at(index) {
    return index < this.#urls.length ? this.#urls[index] : this.#sign(this.#serial++);
  }

  /** A URL outside the pool (self-checks). */
  fresh() {
    return this.#sign(this.#serial++);
  }

  /** The same launch with a different user: the signature no longer matches. */
  static tampered(url) {
    return url.replace(/xuserid=user\d+/, 'xuserid=mallory');
  }
}

let shared;
/** One pool for the whole `npm run bench` process (the launch and footprint sections share it). */
export async function sharedPool() {
  shared ??= await LaunchUrlPool.create();
  return shared;
}

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Keep-alive load on 127.0.0.1:`port` for `seconds`: `connections` connections, one request in
 * flight each, request i going to pool.at(from + i). Latency is timed per answer (ms, float) for
 * every status. Returns { launches (answers), perSecond, p50, p99, statuses, errors, timeouts,
 * used (URLs taken), signedInWindow }.
 */
export function runLoad({ port, pool, from = 0, connections, seconds }) {
  let cursor = from;
  let signedInWindow = 0;
  const latencies = [];
  const statuses = {};
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        headers: { 'user-agent': 'clc-bench (autocannon)' },
        requests: [
          {
            method: 'GET',
            setupRequest(req) {
              if (cursor >= pool.length) signedInWindow++;
              req.path = pool.at(cursor++);
              return req;
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        latencies.sort((a, b) => a - b);
        const answers = latencies.length;
        resolve({
          launches: answers,
          perSecond: answers / result.duration,
          seconds: result.duration,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          used: cursor - from,
          signedInWindow,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
}

/** Answers of `statuses` ({ code: count }) other than `expected`. */
export function unexpected(statuses, expected) {
  return Object.entries(statuses).reduce((sum, [code, count]) => (Number(code) === expected ? sum : sum + count), 0);
}

/** VmRSS and VmHWM of a process, in bytes (Linux /proc); null elsewhere. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: null, hwm: null };
  }
}

/**
 * Starts a peer (bench/peers/<name>.mjs) on a free port with the sandbox tenant's credentials;
 * ready when it prints its "listening" line. Returns { port, pid, startSeconds, stop() }.
 */
export async function startPeer(name, { args = [], readyTimeoutMs = 30_000 } = {}) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bench', 'peers', `${name}.mjs`), '--port', String(port), '--username', SANDBOX_TENANT.username, '--password', SANDBOX_TENANT.password, '--domain', SANDBOX_TENANT.domain, ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer ${name} did not start in ${readyTimeoutMs / 1000} s: ${output}`));
    }, readyTimeoutMs);
    const onData = (chunk) => {
      output = (output + chunk).slice(-8000);
      if (/listening on/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peer ${name} exited with ${code}: ${output}`));
    });
  });
  return {
    port,
    pid: child.pid,
    startSeconds: (performance.now() - started) / 1000,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

/** Status of one GET of `path` (a self-check). */
export async function statusOf(port, path) {
  return (await get(port, path)).status;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc); null elsewhere. */
export function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** Share of the machine's CPUs busy over `ms` (all processes), from /proc/stat; null elsewhere. */
export async function machineBusy(ms = 1000) {
  const read = () => {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const idle = ticks[3] + (ticks[4] ?? 0);
    return { idle, total: ticks.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const b = read();
    return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
  } catch {
    return null;
  }
}

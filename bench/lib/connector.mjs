// The built connector (dist/main.js) as a child process, as an operator runs it: a config overlay
// (CONNECTOR_CONFIG), env, a free port on 127.0.0.1, ready when /health/ready answers 200.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DIST, ROOT } from './dist.mjs';
import { BENCH_CHAIN_KEY } from './service.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET on 127.0.0.1: { status, headers, body } (or each chunk to onData instead of the body). */
export function get(port, path, { headers = {}, onData } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { 'user-agent': 'clc-bench', ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (onData ? onData(chunk) : (body += chunk)));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts dist/main.js. `config`: YAML text of the overlay (merged over config/default.yaml);
 * `env`: extra environment (DATABASE_URL, REDIS_URL, CONNECTOR_DATA_DIR...). Without
 * CONNECTOR_DATA_DIR the app gets a throw-away data folder, removed by stop().
 * Returns { port, origin, pid, startSeconds, stderr(), stop(signal) }.
 */
export async function startConnector({ config = '', env = {}, readyTimeoutMs = 180_000 } = {}) {
  const port = await freePort();
  const scratch = mkdtempSync(join(tmpdir(), 'clc-bench-'));
  const overlay = join(scratch, 'bench-config.yaml');
  writeFileSync(overlay, `server:\n  host: 127.0.0.1\naudit:\n  headLogIntervalSeconds: 0\n${config}`);
  const dataDir = join(scratch, 'data');
  mkdirSync(dataDir);
  const { DATABASE_URL: _d, REDIS_URL: _r, NODE_ENV: _n, ...inherited } = process.env;
  const started = performance.now();
  const child = spawn(process.execPath, [join(DIST, 'main.js')], {
    cwd: ROOT,
    env: {
      ...inherited,
      CONNECTOR_CONFIG: overlay,
      CONNECTOR_DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      // Required with DATABASE_URL; a throw-away key (the OAuth tokens it protects are the sandbox's).
      CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // Also required with DATABASE_URL: the audit chain's key, the benchmarks' fixed one, so a
      // restart or another replica on the same database continues the same chain. On SQLite the
      // app keeps a generated key in its data folder, where verify-audit finds it too.
      ...(env.DATABASE_URL ? { CONNECTOR_AUDIT_CHAIN_KEY: BENCH_CHAIN_KEY.toString('base64') } : {}),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the app exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
    try {
      if ((await get(port, '/health/ready')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > readyTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`the app did not become ready in ${readyTimeoutMs / 1000} s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    pid: child.pid,
    child,
    dataDir: env.CONNECTOR_DATA_DIR ?? dataDir,
    startSeconds: (performance.now() - started) / 1000,
    stderr: () => stderr,
    exited,
    /** SIGTERM (a graceful drain) by default, SIGKILL after 30 s; resolves with the exit. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const exit = await exited;
      clearTimeout(timer);
      rmSync(scratch, { recursive: true, force: true });
      return exit;
    },
  };
}

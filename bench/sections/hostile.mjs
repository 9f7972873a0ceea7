// Hostile input (#17): what a long path chosen to be expensive costs the connector, and whether
// the health probe stays fast while clients send them. The app is dist/main.js as shipped, at the
// default log level (info: every request's access line, a 404 at info, a 400 at warn).
//   CPU per request: the connector process's user + system CPU (/proc/<pid>/stat) over a window
//     of requests on two keep-alive connections, divided by the answers. Paths of 8 KB and of the
//     longest Node's HTTP parser lets through (16 KB for the request line and headers together:
//     about 16,300 characters with this client's headers; a longer one gets 431 from Node before
//     the app sees it), full of words the log scrubber looks for, of broken %-escapes, of slashes,
//     and under /api/ (JSON). Each against a normal 404 (/no/such/page). Target: under 2x.
//   /health/live while two clients send the 16 KB paths back to back (each on its own keep-alive
//     connection, the next as soon as the last is answered): a third client asks for
//     /health/live every 10 ms and times each answer. Target: p99 under 50 ms (the chart's
//     probe gives up after 3 s).
import { request } from 'node:http';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startConnector } from '../lib/connector.mjs';
import { cpuSecondsOf, median } from '../lib/load.mjs';
import { fmtMs, percentile, round } from '../lib/popup-flow.mjs';

export const title = 'Hostile input';

const RATIO_TARGET = 2;
const HEALTH_P99_TARGET_MS = 50;
const NORMAL_404 = '/no/such/page';

/** `prefix` and `unit` repeated to exactly `length` characters. */
const fill = (prefix, unit, length) => prefix + unit.repeat(Math.ceil((length - prefix.length) / unit.length)).slice(0, length - prefix.length);

/** The kinds of hostile path, by length. */
const KINDS = [
  { key: 'triggerWords', label: 'words the scrubber looks for', path: (n) => fill('/', 'password/token/secret/sig=', n) },
  { key: 'badEscapes', label: 'broken %-escapes (router decode error, 400)', path: (n) => fill('/', 'pass%E0%A4%A', n) },
  { key: 'slashes', label: 'a run of slashes', path: (n) => `${'/'.repeat(n - 1)}a` },
  { key: 'apiTriggerWords', label: 'words the scrubber looks for, under /api/ (JSON)', path: (n) => fill('/api/', 'client_secret=x&token=', n) },
];

/** A keep-alive client of `connections` sockets: get(path) resolves with { status, ms, bytes }. */
function client(port, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const get = (path) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'user-agent': 'clc-bench', accept: 'text/html' } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

/** The longest path (characters) this client's requests can have before Node answers 431. */
async function longestPath(port) {
  const http = client(port, 1);
  try {
    let ok = 1024;
    let refused = 64 * 1024;
    while (refused - ok > 1) {
      const mid = (ok + refused) >> 1;
      if ((await http.get(fill('/', 'a', mid))).status === 431) refused = mid;
      else ok = mid;
    }
    return ok;
  } finally {
    http.close();
  }
}

/**
 * `path` on `connections` connections, one request in flight on each, for `seconds`: the
 * connector's CPU per answer, the answers' statuses.
 */
async function cpuPerRequest(port, pid, path, { seconds, connections = 2 }) {
  const http = client(port, connections);
  try {
    for (let i = 0; i < 20; i++) await http.get(path); // warm-up: JIT, connections
    const statuses = {};
    let answers = 0;
    const cpu0 = cpuSecondsOf(pid);
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < until) {
          const { status } = await http.get(path);
          statuses[status] = (statuses[status] ?? 0) + 1;
          answers++;
        }
      }),
    );
    const cpu = cpuSecondsOf(pid) - cpu0;
    const wall = (performance.now() - started) / 1000;
    return { cpuMs: (cpu / answers) * 1000, answers, perSecond: answers / wall, statuses };
  } finally {
    http.close();
  }
}

/**
 * /health/live every `intervalMs` for `seconds`, each answer timed, while `attackers` clients
 * send `paths` (in turn) back to back, each on a connection of its own.
 */
async function healthUnder(port, pid, { paths, attackers, seconds, intervalMs = 10 }) {
  const probe = client(port, 1);
  const clients = Array.from({ length: attackers }, () => client(port, 1));
  let stop = false;
  let hostile = 0;
  let hostileBytes = 0;
  const statuses = {};
  try {
    await probe.get('/health/live');
    const cpu0 = cpuSecondsOf(pid);
    const started = performance.now();
    const attacks = clients.map(async (http, i) => {
      for (let n = i; !stop; n++) {
        const path = paths[n % paths.length];
        const { status } = await http.get(path);
        statuses[status] = (statuses[status] ?? 0) + 1;
        hostile++;
        hostileBytes += path.length;
      }
    });
    const times = [];
    const healthStatuses = {};
    const until = started + seconds * 1000;
    while (performance.now() < until) {
      const { status, ms } = await probe.get('/health/live');
      times.push(ms);
      healthStatuses[status] = (healthStatuses[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    stop = true;
    await Promise.all(attacks);
    const wall = (performance.now() - started) / 1000;
    const cpu = cpuSecondsOf(pid) - cpu0;
    return {
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      max: percentile(times, 100),
      probes: times.length,
      healthStatuses,
      hostilePerSecond: hostile / wall,
      hostileKBPerSecond: hostileBytes / 1024 / wall,
      statuses,
      cpuShare: cpu / wall,
    };
  } finally {
    stop = true;
    probe.close();
    for (const http of clients) http.close();
  }
}

const fmtStatuses = (statuses) =>
  Object.entries(statuses)
    .map(([code, count]) => `${count} x ${code}`)
    .join(', ');

export async function run({ short, log }) {
  const seconds = short ? 2 : 4;
  const rounds = short ? 1 : 3;
  log('starting the connector (dist/main.js, logs at info as shipped)');
  const app = await startConnector({ env: { LOG_LEVEL: 'info' } });
  try {
    const longest = await longestPath(app.port);
    log(`longest path that gets through: ${longest} characters (431 above)`);
    const sizes = [
      { key: '8k', label: '8 KB', length: 8 * 1024 },
      { key: '16k', label: `${(longest / 1024).toFixed(1)} KB`, length: longest },
    ];
    const cases = [{ key: 'normal404', label: 'normal 404', path: NORMAL_404 }];
    for (const kind of KINDS) {
      for (const size of sizes) {
        if (kind.key === 'apiTriggerWords' && size.key === '8k') continue;
        cases.push({ key: `${kind.key}${size.key}`, label: `${size.label} path, ${kind.label}`, path: kind.path(size.length) });
      }
    }
    // Interleaved rounds: a shared machine's slow minutes fall on every case alike.
    const samples = Object.fromEntries(cases.map((c) => [c.key, []]));
    const last = {};
    for (let r = 0; r < rounds; r++) {
      for (const c of cases) {
        const result = await cpuPerRequest(app.port, app.pid, c.path, { seconds });
        samples[c.key].push(result.cpuMs);
        last[c.key] = result;
        log(`  ${c.label}: ${fmtMs(result.cpuMs)} CPU per request, ${Math.round(result.perSecond)}/s (${fmtStatuses(result.statuses)})`);
      }
    }
    const cpuMs = Object.fromEntries(cases.map((c) => [c.key, median(samples[c.key])]));
    const baseline = cpuMs.normal404;

    const attackPaths = KINDS.filter((k) => k.key !== 'apiTriggerWords').map((k) => k.path(longest));
    const quiet = await healthUnder(app.port, app.pid, { paths: attackPaths, attackers: 0, seconds: short ? 2 : 5 });
    log(`  /health/live alone: p50 ${fmtMs(quiet.p50)} p99 ${fmtMs(quiet.p99)}`);
    const attacked = await healthUnder(app.port, app.pid, { paths: attackPaths, attackers: 2, seconds: short ? 5 : 15 });
    log(
      `  /health/live with 2 clients sending 16 KB hostile paths (${Math.round(attacked.hostilePerSecond)}/s, ${Math.round(attacked.hostileKBPerSecond).toLocaleString('en-US')} KB/s): ` +
        `p50 ${fmtMs(attacked.p50)} p99 ${fmtMs(attacked.p99)} max ${fmtMs(attacked.max)}; connector CPU ${Math.round(attacked.cpuShare * 100)}% of one core`,
    );

    const rows = [
      {
        metric: `CPU per request: ${cases[0].label}`,
        value: fmtMs(baseline),
        target: '',
        status: 'INFO',
        note: `user + system CPU of the connector (/proc/<pid>/stat) over ${rounds > 1 ? `${rounds} interleaved windows` : 'a window'} of ${seconds} s on 2 keep-alive connections, divided by the answers (median of the windows); logs at info; ${fmtStatuses(last.normal404.statuses)}`,
      },
    ];
    const figures = { longestPathChars: longest, normal404CpuMs: round(baseline, 3) };
    for (const c of cases.slice(1)) {
      const ratio = cpuMs[c.key] / baseline;
      figures[`${c.key}CpuMs`] = round(cpuMs[c.key], 3);
      figures[`${c.key}Ratio`] = round(ratio, 2);
      rows.push({
        metric: `CPU per request: ${c.label}`,
        value: `${fmtMs(cpuMs[c.key])} (${ratio.toFixed(2)}x)`,
        target: `< ${RATIO_TARGET}x normal 404`,
        status: ratio < RATIO_TARGET ? 'PASS' : 'MISS',
        note: c.key === `${KINDS[0].key}16k` ? `the longest path Node's parser lets through with this client's headers: ${longest} characters (a longer one gets 431 from Node); answers: ${fmtStatuses(last[c.key].statuses)}` : undefined,
      });
    }
    const healthStatus = attacked.p99 < HEALTH_P99_TARGET_MS && Object.keys(attacked.healthStatuses).every((code) => code === '200') ? 'PASS' : 'MISS';
    rows.push(
      {
        metric: '/health/live p99, 2 clients sending 16 KB hostile paths',
        value: `${fmtMs(attacked.p99)} (p50 ${fmtMs(attacked.p50)}, max ${fmtMs(attacked.max)})`,
        target: `< ${HEALTH_P99_TARGET_MS} ms`,
        status: healthStatus,
        note:
          `${attacked.probes} probes, one every 10 ms (${fmtStatuses(attacked.healthStatuses)}), while 2 clients sent trigger words, broken %-escapes and slashes back to back: ` +
          `${Math.round(attacked.hostilePerSecond)} requests/s, ${Math.round(attacked.hostileKBPerSecond).toLocaleString('en-US')} KB/s (${fmtStatuses(attacked.statuses)}); the connector used ${Math.round(attacked.cpuShare * 100)}% of one core`,
      },
      { metric: '/health/live p99, no other load', value: `${fmtMs(quiet.p99)} (p50 ${fmtMs(quiet.p50)})`, target: '', status: 'INFO' },
    );
    Object.assign(figures, {
      healthUnderAttackP50Ms: round(attacked.p50, 3),
      healthUnderAttackP99Ms: round(attacked.p99, 3),
      healthUnderAttackMaxMs: round(attacked.max, 3),
      attackRequestsPerSecond: round(attacked.hostilePerSecond, 1),
      attackKBPerSecond: round(attacked.hostileKBPerSecond, 1),
      attackConnectorCpuShare: round(attacked.cpuShare, 2),
      healthQuietP99Ms: round(quiet.p99, 3),
    });
    return { figures, rows };
  } finally {
    await app.stop();
  }
}

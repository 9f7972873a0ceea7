// Section "launch" of npm run bench (bench/run.mjs): signed v1 launches per second under
// keep-alive load, every request a first use of its nonce, from the signed URL to the answer.
//
// Four targets, each its own child process on this machine, one at a time, same load:
// - the connector: dist/main.js, embedded default (SQLite audit, memory nonces and sessions),
//   sandbox on, launch rate limit raised (the load comes from one address), logs at warn. Its
//   answer is the 303 to the session page after: HMAC check, item and unsigned input check, nonce
//   claim (memory fast path, then one INSERT into SQLite's claimed_nonces, the durable record that
//   keeps a used URL refused across restarts and past the TTL), session, cookie, launch.accepted
//   appended to the audit hash chain (committed to disk before the answer).
// - bench/peers/express-peer.mjs: Express 5 + hbs, same HMAC check, a Map of nonces, a page.
// - the same peer with --audit-db: plus one hash-chained SQLite row per launch, on disk before the
//   answer (WAL, synchronous=FULL): the peer doing the connector's most expensive piece of work,
//   to show how much of the gap to the peer that piece is (INFO; the target is against the peer).
// - bench/peers/node-limit.mjs: node:http, same check and Map, a template-literal page.
// A round starts each target fresh, warms it up, then measures a window; the figures are the
// medians over rounds (short: 1 round of 5 s; full: 3 rounds of 20 s, the targets interleaved,
// so a slow minute of a shared machine hits all of them).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import { get, startConnector } from '../lib/connector.mjs';
import { fmtInt } from '../lib/dist.mjs';
import {
  LaunchUrlPool, cpuSecondsOf, median, memoryOf, runLoad, sharedPool, startPeer, statusOf, unexpected,
} from '../lib/load.mjs';

export const title = 'Launch throughput';

const CONNECTIONS = 32;
const MB = 1024 * 1024;
const AUDITOR = `Basic ${Buffer.from('auditor:auditor-demo').toString('base64')}`;

/** The connector's overlay: only the launch rate limit (one client address sends everything) and the log level. */
export const CONNECTOR_CONFIG = `logging:
  level: warn
rateLimit:
  launch: { limit: 1000000, windowSeconds: 1 }
`;

const TARGETS = [
  { key: 'connector', label: 'connector', expect: 303 },
  { key: 'expressPeer', label: 'express peer (Express 5 + hbs)', peer: 'express-peer', expect: 200 },
  { key: 'limit', label: 'node:http limit', peer: 'node-limit', expect: 200 },
  { key: 'durablePeer', label: 'express peer + durable audit row', peer: 'express-peer', auditDb: true, expect: 200 },
];

async function start(target, env) {
  if (!target.peer) return startConnector({ config: CONNECTOR_CONFIG, env });
  if (!target.auditDb) return startPeer(target.peer);
  const dir = mkdtempSync(join(tmpdir(), 'clc-bench-peer-audit-'));
  try {
    const running = await startPeer(target.peer, { args: ['--audit-db', join(dir, 'audit.db')] });
    return { ...running, stop: async () => { try { await running.stop(); } finally { rmSync(dir, { recursive: true, force: true }); } } };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A good URL is accepted once; the same URL again and a tampered one are refused. */
async function selfCheck(target, port, pool) {
  const url = pool.fresh();
  const first = await statusOf(port, url);
  const again = await statusOf(port, url);
  const tampered = await statusOf(port, LaunchUrlPool.tampered(pool.fresh()));
  const ok = first === target.expect && again >= 400 && again < 500 && tampered >= 400 && tampered < 500;
  if (!ok) {
    throw new Error(`${target.label} failed its self-check: good URL ${first} (want ${target.expect}), same URL again ${again}, tampered ${tampered} (want 4xx)`);
  }
  return `good ${first}, again ${again}, tampered ${tampered}`;
}

/** One load window with the server's and this process's CPU use over it. */
async function window(port, pid, pool, from, seconds) {
  const server0 = cpuSecondsOf(pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runLoad({ port, pool, from, connections: CONNECTIONS, seconds });
  const elapsed = (performance.now() - t0) / 1000;
  const server1 = cpuSecondsOf(pid);
  const client = process.cpuUsage(client0);
  result.serverCpu = server0 === null || server1 === null ? null : (server1 - server0) / elapsed;
  result.clientCpu = (client.user + client.system) / 1e6 / elapsed;
  return result;
}

/**
 * What the connector counted and audited: clc_launches_total accepted (counted when the
 * signature and nonce passed), the launch.accepted events in the log, and a verify of the chain.
 */
async function auditCheck(port) {
  // Requests still in flight when the load stopped finish within milliseconds.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const metrics = await get(port, '/metrics');
  const accepted = Number(/^clc_launches_total\{version="1",outcome="accepted"\} (\d+)/m.exec(metrics.body)?.[1] ?? NaN);
  let tail = '';
  const exported = await get(port, '/api/audit/export?type=launch.accepted&format=ndjson', {
    headers: { authorization: AUDITOR },
    onData: (chunk) => (tail = (tail + chunk).slice(-4096)),
  });
  if (exported.status !== 200) throw new Error(`audit export answered ${exported.status}`);
  const trailer = JSON.parse(tail.trim().split('\n').pop());
  const verify = await get(port, '/api/audit/verify', { headers: { authorization: AUDITOR } });
  if (verify.status !== 200) throw new Error(`audit verify answered ${verify.status}`);
  const chain = JSON.parse(verify.body);
  return { accepted, audited: trailer.export.rows, intact: chain.intact === true, summary: chain.summary };
}

/** Rows of the durable nonce record (claimed_nonces in the connector's SQLite file), read beside the running app (WAL). */
function nonceRecordRows(dataDir) {
  const db = new SQLite(join(dataDir, 'connector.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) AS n FROM claimed_nonces').get().n;
  } finally {
    db.close();
  }
}

export async function run({ short, log }) {
  const warmSeconds = short ? 3 : 5;
  const seconds = short ? 5 : 20;
  const rounds = short ? 1 : 3;
  const pool = await sharedPool();
  // Enough URLs that no window signs in-line (each target starts from the pool's first URL: a
  // fresh process). A target's first window: its warm-up rate x 2.5 (a warm-up runs before the JIT
  // and the machine settle); later ones: what its last window used, plus 30%.
  const lastUsed = {};
  const windows = Object.fromEntries(TARGETS.map((t) => [t.key, []]));
  const selfChecks = {};
  const audit = { accepted: 0, audited: 0, intact: true, summaries: [], nonceRows: 0 };
  let connectorAnswers = 0;
  let connectorUnexpected = 0;
  let peerUnexpected = 0;
  const rssAfter = {};
  let urlsPerTarget = 0;

  for (let round = 1; round <= rounds; round++) {
    for (const target of TARGETS) {
      const running = await start(target);
      try {
        selfChecks[target.key] = await selfCheck(target, running.port, pool);
        const last = lastUsed[target.key];
        pool.ensure(last ? Math.ceil(last.warm * 1.3) : 5_000);
        const warm = await window(running.port, running.pid, pool, 0, warmSeconds);
        pool.ensure(warm.used + (last ? Math.ceil(last.measured * 1.3) : Math.ceil(warm.perSecond * 2.5 * seconds) + 2 * CONNECTIONS));
        const measured = await window(running.port, running.pid, pool, warm.used, seconds);
        lastUsed[target.key] = { warm: warm.used, measured: measured.used };
        windows[target.key].push(measured);
        urlsPerTarget = Math.max(urlsPerTarget, warm.used + measured.used);
        const bad = unexpected(warm.statuses, target.expect) + unexpected(measured.statuses, target.expect) + warm.errors + measured.errors + warm.timeouts + measured.timeouts;
        if (target.peer) peerUnexpected += bad;
        else {
          connectorUnexpected += bad;
          connectorAnswers += warm.launches + measured.launches;
          const checked = await auditCheck(running.port);
          audit.accepted += checked.accepted;
          audit.audited += checked.audited;
          audit.intact &&= checked.intact;
          audit.summaries.push(checked.summary);
          audit.nonceRows += nonceRecordRows(running.dataDir);
        }
        rssAfter[target.key] = memoryOf(running.pid).rss;
        log(
          `round ${round}/${rounds} ${target.label}: ${fmtInt(measured.perSecond)}/s, p50 ${measured.p50.toFixed(1)} ms, p99 ${measured.p99.toFixed(1)} ms, ` +
            `statuses ${JSON.stringify(measured.statuses)}, server CPU ${pct(measured.serverCpu)}, bench CPU ${pct(measured.clientCpu)}` +
            (measured.signedInWindow ? `, ${measured.signedInWindow} URLs signed in the window` : ''),
        );
      } finally {
        await running.stop();
      }
    }
  }

  // Request logs at info, once (full run): the same load on a connector with LOG_LEVEL=info.
  let infoCost = null;
  let infoRateCost = null;
  if (!short) {
    const running = await startConnector({ config: CONNECTOR_CONFIG.replace('level: warn', 'level: info'), env: { LOG_LEVEL: 'info' } });
    try {
      pool.ensure(Math.ceil((lastUsed.connector.warm + lastUsed.connector.measured) * 1.3));
      const warm = await window(running.port, running.pid, pool, 0, warmSeconds);
      const info = await window(running.port, running.pid, pool, warm.used, seconds);
      // As CPU per launch (steadier on a shared machine; launches/s goes as its inverse), and as launches/s.
      const warnCpu = median(windows.connector.map((w) => (w.serverCpu === null ? null : w.serverCpu / w.perSecond)));
      infoRateCost = 1 - info.perSecond / median(windows.connector.map((w) => w.perSecond));
      infoCost = warnCpu !== null && info.serverCpu !== null ? 1 - warnCpu / (info.serverCpu / info.perSecond) : infoRateCost;
      log(`connector with request logs at info: ${fmtInt(info.perSecond)}/s (${(infoRateCost * 100).toFixed(0)}% fewer than at warn), CPU per launch +${((1 / (1 - infoCost) - 1) * 100).toFixed(0)}%`);
    } finally {
      await running.stop();
    }
  }

  const stat = (key, field) => median(windows[key].map((w) => w[field]));
  // CPU time per answer: steadier than launches/s on a machine that other work shares.
  const cpuMsPerLaunch = (key) => median(windows[key].map((w) => (w.serverCpu === null ? null : (w.serverCpu / w.perSecond) * 1000)));
  const rate = Object.fromEntries(TARGETS.map((t) => [t.key, stat(t.key, 'perSecond')]));
  const ratioVsExpressPeer = rate.connector / rate.expressPeer;
  const ratioVsLimit = rate.connector / rate.limit;
  const signedInWindow = Object.values(windows).flat().reduce((sum, w) => sum + w.signedInWindow, 0);
  const auditComplete = audit.intact && audit.audited === audit.accepted && audit.accepted >= connectorAnswers;
  const noncesRecorded = audit.nonceRows === audit.accepted;

  const figures = {
    connections: CONNECTIONS,
    windowSeconds: seconds,
    rounds,
    connectorPerSecond: round1(rate.connector),
    expressPeerPerSecond: round1(rate.expressPeer),
    limitPerSecond: round1(rate.limit),
    durablePeerPerSecond: round1(rate.durablePeer),
    ratioVsExpressPeer: round3(ratioVsExpressPeer),
    ratioVsLimit: round3(ratioVsLimit),
    ratioVsDurablePeer: round3(rate.connector / rate.durablePeer),
  };
  for (const t of TARGETS) {
    figures[`${t.key}P50Ms`] = round2(stat(t.key, 'p50'));
    figures[`${t.key}P99Ms`] = round2(stat(t.key, 'p99'));
    figures[`${t.key}ServerCpu`] = round2(stat(t.key, 'serverCpu'));
    figures[`${t.key}CpuMsPerLaunch`] = round3(cpuMsPerLaunch(t.key));
    figures[`${t.key}BenchCpu`] = round2(stat(t.key, 'clientCpu'));
    figures[`${t.key}Rounds`] = windows[t.key].map((w) => Math.round(w.perSecond)).join(' / ');
    figures[`${t.key}RssAfterLoadMB`] = rssAfter[t.key] ? Math.round(rssAfter[t.key] / MB) : null;
  }
  Object.assign(figures, {
    errors: connectorUnexpected,
    peerErrors: peerUnexpected,
    connectorAnswers,
    serverAccepted: audit.accepted,
    auditLaunchAccepted: audit.audited,
    auditChainIntact: audit.intact ? 'yes' : 'no',
    durableNonceRows: audit.nonceRows,
    infoLoggingCostPct: infoCost === null ? null : Math.round(infoCost * 1000) / 10,
    infoLoggingRateCostPct: infoRateCost === null ? null : Math.round(infoRateCost * 1000) / 10,
    urlsPresigned: pool.length,
    urlsPerTargetMax: urlsPerTarget,
    presignSeconds: Math.round(pool.signSeconds * 10) / 10,
    urlsSignedInWindow: signedInWindow,
    selfCheck: Object.entries(selfChecks).map(([k, v]) => `${k}: ${v}`).join('; '),
  });

  const logNote =
    infoCost === null
      ? 'logs at warn (request logs at info: measured by the full run only)'
      : `logs at warn; request logs at info would cost ${(infoCost * 100).toFixed(0)}% of this (by CPU per launch; ${(infoRateCost * 100).toFixed(0)}% by launches/s in one window)`;
  const rows = [
    { metric: 'v1 launches/s: connector', value: fmtInt(rate.connector), target: null, status: 'INFO', note: `303 after HMAC, input check, nonce (memory + durable SQLite record), session, audit append (SQLite, durable); ${logNote}` },
    { metric: `v1 launches/s: ${TARGETS[1].label}`, value: fmtInt(rate.expressPeer), target: null, status: 'INFO', note: 'HMAC, nonce Map, rendered page; no session, no audit' },
    { metric: `v1 launches/s: ${TARGETS[2].label}`, value: fmtInt(rate.limit), target: null, status: 'INFO', note: limitNote(windows.limit) },
    { metric: `v1 launches/s: ${TARGETS[3].label}`, value: fmtInt(rate.durablePeer), target: null, status: 'INFO', note: 'the express peer plus one hash-chained SQLite row per launch, committed (WAL, synchronous=FULL) before the answer' },
    { metric: 'connector / express peer', value: `${ratioVsExpressPeer.toFixed(2)}x`, target: '>= 1.0x', status: ratioVsExpressPeer >= 1 ? 'PASS' : 'MISS' },
    { metric: 'connector / node:http limit', value: `${ratioVsLimit.toFixed(2)}x`, target: null, status: 'INFO' },
    { metric: 'connector / express peer + durable audit row', value: `${(rate.connector / rate.durablePeer).toFixed(2)}x`, target: null, status: 'INFO' },
    ...TARGETS.map((t) => ({
      metric: `latency p50 / p99: ${t.label}`,
      value: `${fmtMs(stat(t.key, 'p50'))} / ${fmtMs(stat(t.key, 'p99'))} ms`,
      target: null,
      status: 'INFO',
    })),
    {
      metric: 'server CPU per launch: connector / express peer / limit / peer + durable row',
      value: TARGETS.map((t) => fmtMs(cpuMsPerLaunch(t.key))).join(' / ') + ' ms',
      target: null,
      status: 'INFO',
      note: 'user + system CPU time of the target process over the window (/proc/<pid>/stat), divided by its answers',
    },
    {
      metric: 'connector answers other than 303',
      value: fmtInt(connectorUnexpected),
      target: '0',
      status: connectorUnexpected === 0 ? 'PASS' : 'MISS',
      note: `of ${fmtInt(connectorAnswers)} (warm-ups and windows; socket errors and timeouts count too)`,
    },
    {
      metric: 'audit: launch.accepted per accepted launch',
      value: `${fmtInt(audit.audited)} of ${fmtInt(audit.accepted)}`,
      target: 'all, chain intact',
      status: auditComplete ? 'PASS' : 'MISS',
      note: `server-side accepted count (clc_launches_total) vs launch.accepted rows (audit export), chain ${audit.intact ? 'intact' : 'BROKEN'} (/api/audit/verify)`,
    },
    {
      metric: 'durable nonce record: rows per accepted launch',
      value: `${fmtInt(audit.nonceRows)} of ${fmtInt(audit.accepted)}`,
      target: 'all',
      status: noncesRecorded ? 'PASS' : 'MISS',
      note: 'claimed_nonces rows (a keyed hash each) in the SQLite file vs clc_launches_total accepted: each accepted launch paid one durable INSERT',
    },
  ];
  const setup = `${CONNECTIONS} keep-alive connections; ${rounds === 1 ? "1 round" : `${rounds} rounds`} of ${warmSeconds} s warm-up + ${seconds} s window per target, median`;
  rows[0].note += `; ${setup}; ${fmtInt(pool.length)} URLs signed before the windows (at most ${fmtInt(urlsPerTarget)} used by one target), ${fmtInt(signedInWindow)} signed inside a measured window`;
  return { figures, rows };
}

function limitNote(windows) {
  const client = median(windows.map((w) => w.clientCpu));
  const server = median(windows.map((w) => w.serverCpu));
  const base = 'same check, template literal, nothing else';
  if (client !== null && client > 0.9) return `${base}; the load generator (${pct(client)} CPU) was the bottleneck, the server used ${pct(server)}: a lower bound`;
  return base;
}

const pct = (x) => (x === null || x === undefined ? '-' : `${Math.round(x * 100)}%`);
const fmtMs = (x) => (x === null ? '-' : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : fmtInt(x));
const round1 = (x) => Math.round(x * 10) / 10;
const round2 = (x) => (x === null ? null : Math.round(x * 100) / 100);
const round3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

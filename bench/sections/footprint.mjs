// Section "footprint" of npm run bench (bench/run.mjs): how long the connector takes from spawn to
// ready, and how much memory it holds idle and after launch load. The peers' idle memory beside it.
//
// - Start to ready: spawn of `node dist/main.js` (embedded default, an empty data folder, so the
//   migrations run) until GET /health/ready first answers 200 (polled every 20 ms). Full: median
//   of 3 starts; short: 1.
// - Idle RSS: VmRSS from /proc/<pid>/status a few seconds after ready, without forcing a GC
//   (nothing can: the process runs as an operator runs it, without --expose-gc).
// - After load: RSS right after a window of signed v1 launches (as in the launch section), and
//   the peak (VmHWM).
import { setTimeout as sleep } from 'node:timers/promises';
import { startConnector } from '../lib/connector.mjs';
import { fmtInt } from '../lib/dist.mjs';
import { median, memoryOf, runLoad, sharedPool, startPeer, unexpected } from '../lib/load.mjs';
import { CONNECTOR_CONFIG } from './launch.mjs';

export const title = 'Footprint (start, memory)';

const MB = 1024 * 1024;
const SETTLE_MS = 5_000;
const CONNECTIONS = 32;

export async function run({ short, log }) {
  const starts = short ? 1 : 3;
  const loadSeconds = short ? 5 : 15;
  const startSeconds = [];
  const idleRss = [];
  let afterLoad = null;

  for (let i = 1; i <= starts; i++) {
    const connector = await startConnector({ config: CONNECTOR_CONFIG });
    try {
      startSeconds.push(connector.startSeconds);
      await sleep(SETTLE_MS);
      const idle = memoryOf(connector.pid).rss;
      idleRss.push(idle);
      log(`start ${i}/${starts}: ready in ${connector.startSeconds.toFixed(2)} s, idle RSS ${mb(idle)}`);
      if (i === starts) {
        const pool = await sharedPool();
        pool.ensure(5_000);
        const warm = await runLoad({ port: connector.port, pool, from: 0, connections: CONNECTIONS, seconds: 2 });
        pool.ensure(warm.used + Math.ceil(warm.perSecond * 2.5 * loadSeconds) + 2 * CONNECTIONS);
        const load = await runLoad({ port: connector.port, pool, from: warm.used, connections: CONNECTIONS, seconds: loadSeconds });
        const memory = memoryOf(connector.pid);
        afterLoad = {
          launches: warm.launches + load.launches,
          refused: unexpected(warm.statuses, 303) + unexpected(load.statuses, 303),
          rss: memory.rss,
          hwm: memory.hwm,
        };
        await sleep(SETTLE_MS);
        afterLoad.settled = memoryOf(connector.pid).rss;
        log(`after ${fmtInt(afterLoad.launches)} launches: RSS ${mb(afterLoad.rss)} (peak ${mb(afterLoad.hwm)}), ${mb(afterLoad.settled)} ${SETTLE_MS / 1000} s later`);
      }
    } finally {
      await connector.stop();
    }
  }

  const peers = {};
  for (const name of ['express-peer', 'node-limit']) {
    const peer = await startPeer(name);
    try {
      await sleep(SETTLE_MS);
      peers[name] = { startSeconds: peer.startSeconds, rss: memoryOf(peer.pid).rss };
    } finally {
      await peer.stop();
    }
  }

  const start = median(startSeconds);
  const idle = median(idleRss);
  const figures = {
    startToReadySeconds: round2(start),
    startToReadyRuns: startSeconds.map((s) => s.toFixed(2)).join(' / '),
    idleRssMB: toMB(idle),
    launchesUnderLoad: afterLoad?.launches ?? null,
    rssAfterLoadMB: toMB(afterLoad?.rss),
    peakRssMB: toMB(afterLoad?.hwm),
    rssSettledAfterLoadMB: toMB(afterLoad?.settled),
    refusedUnderLoad: afterLoad?.refused ?? null,
    expressPeerIdleRssMB: toMB(peers['express-peer']?.rss),
    limitIdleRssMB: toMB(peers['node-limit']?.rss),
    expressPeerStartSeconds: round2(peers['express-peer']?.startSeconds),
    limitStartSeconds: round2(peers['node-limit']?.startSeconds),
  };
  const rows = [
    {
      metric: 'connector start to ready',
      value: `${start.toFixed(2)} s`,
      target: null,
      status: 'INFO',
      note: `spawn to the first 200 of /health/ready, empty data folder (migrations run); ${starts === 1 ? '1 start' : `median of ${starts} starts (${figures.startToReadyRuns} s)`}`,
    },
    { metric: 'connector idle RSS', value: mb(idle), target: null, status: 'INFO', note: `VmRSS ${SETTLE_MS / 1000} s after ready, no forced GC` },
    {
      metric: 'connector RSS after launch load',
      value: `${mb(afterLoad.rss)} (peak ${mb(afterLoad.hwm)})`,
      target: null,
      status: 'INFO',
      note: `right after ${fmtInt(afterLoad.launches)} launches in ${loadSeconds + 2} s (sessions and nonces kept in memory); ${mb(afterLoad.settled)} ${SETTLE_MS / 1000} s later`,
    },
    { metric: 'idle RSS: express peer / node:http limit', value: `${mb(peers['express-peer'].rss)} / ${mb(peers['node-limit'].rss)}`, target: null, status: 'INFO' },
  ];
  return { figures, rows };
}

const mb = (bytes) => (bytes === null || bytes === undefined || Number.isNaN(bytes) ? '-' : `${Math.round(bytes / MB)} MB`);
const toMB = (bytes) => (bytes === null || bytes === undefined || Number.isNaN(bytes) ? null : Math.round(bytes / MB));
const round2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);

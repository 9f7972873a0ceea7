// Peak resident memory, sampled every `intervalMs` in a worker thread: the thread being measured
// may run for seconds without yielding to its event loop (better-sqlite3 is synchronous), which
// a setInterval in that thread would miss. Samples this process, or another one by pid (Linux /proc).
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const PAGE = 4096;

function rssOf(pid) {
  if (pid === null) return process.memoryUsage.rss();
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
}

if (!isMainThread && workerData?.rssSampler) {
  const { pid, intervalMs, shared } = workerData;
  const cells = new Float64Array(shared); // [peak, last, samples]
  const sample = () => {
    try {
      const rss = rssOf(pid);
      cells[1] = rss;
      if (rss > cells[0]) cells[0] = rss;
      cells[2] += 1;
    } catch {
      // the process is gone
    }
  };
  sample();
  setInterval(sample, intervalMs);
  parentPort.postMessage('started');
}

/** Starts sampling; `reset()` starts a new peak from now, `read()` gives the peak and sample count. */
export async function startRssSampler({ pid = null, intervalMs = 50 } = {}) {
  const shared = new SharedArrayBuffer(3 * 8);
  const cells = new Float64Array(shared);
  const worker = new Worker(new URL(import.meta.url), { workerData: { rssSampler: true, pid, intervalMs, shared } });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    current: () => rssOf(pid),
    reset() {
      cells[0] = rssOf(pid);
      cells[2] = 0;
    },
    read: () => ({ peak: cells[0], samples: cells[2] }),
    stop: () => worker.terminate(),
  };
}

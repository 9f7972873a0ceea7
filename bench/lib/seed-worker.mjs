// Generates and hashes the events in a worker thread, so the main thread only inserts: the two
// overlap on two cores. Batches are arrays of value arrays (in the order of COLUMNS); at most a
// few are in flight (the main thread hands back a credit per batch taken), so memory stays flat.
import { parentPort, workerData } from 'node:worker_threads';
import { generateEvents } from './dataset.mjs';
import { COLUMNS, fromDist } from './dist.mjs';
import { BENCH_CHAIN_KEY } from './service.mjs';

const { events, seed, batchSize, credits: initialCredits } = workerData;
const { keyedEventHash, GENESIS_HASH } = await fromDist('audit/hash-chain.js');

let credits = initialCredits;
let wake = null;
parentPort.on('message', () => {
  credits++;
  wake?.();
});
const credit = async () => {
  while (credits === 0) await new Promise((resolve) => (wake = resolve));
  credits--;
};

let prev = GENESIS_HASH;
let seq = 0;
let batch = [];
for (const body of generateEvents({ count: events, seed })) {
  seq++;
  const row = body;
  row.seq = seq;
  row.prev_hash = prev;
  row.hash = keyedEventHash(row, BENCH_CHAIN_KEY);
  // Marked as the connector marks its keyed events, which also keeps the guard of migration 006 from running per row.
  row.hash_alg = 'hmac-sha256';
  prev = row.hash;
  batch.push(COLUMNS.map((c) => row[c]));
  if (batch.length === batchSize) {
    await credit();
    parentPort.postMessage({ batch });
    batch = [];
  }
}
if (batch.length) {
  await credit();
  parentPort.postMessage({ batch });
}
parentPort.postMessage({ head: { seq, hash: prev } });

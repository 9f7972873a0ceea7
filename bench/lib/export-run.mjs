// One export (CSV to a null sink) or one verify(), through AuditService from dist, in a process
// of its own so its peak memory is its own. Prints one JSON line. Started by bench/audit.mjs:
//   node --expose-gc bench/lib/export-run.mjs '{"dialect":"sqlite","target":"file.db","mode":"export","filter":{}}'
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { openService } from './service.mjs';
import { startRssSampler } from './rss-sampler.mjs';
import { fromDist } from './dist.mjs';

const job = JSON.parse(process.argv[2]);
const { service, close } = await openService(job.dialect, job.target);
const { csvHeader, csvRow } = await fromDist('audit/workbench/export-format.js');

/** Takes everything and keeps nothing; honours backpressure like a socket would. */
class NullSink extends Writable {
  bytes = 0;
  _write(chunk, _encoding, callback) {
    this.bytes += chunk.length;
    callback();
  }
}

const sampler = await startRssSampler({ intervalMs: 50 });
globalThis.gc?.();
await new Promise((resolve) => setTimeout(resolve, 200));
sampler.reset();
const baseline = sampler.current();
const started = performance.now();
let result;
if (job.mode === 'verify') {
  const verification = await service.verify();
  result = { verification };
} else {
  const sink = new NullSink();
  const write = (text) => (sink.write(text) ? undefined : new Promise((resolve) => sink.once('drain', resolve)));
  const { head, events } = await service.exportEvents(job.filter);
  let rows = 0;
  let chunk = csvHeader();
  // As the HTTP export does: rows joined into chunks of about 64 KiB.
  for await (const event of events) {
    chunk += csvRow(event);
    rows++;
    if (chunk.length >= 65_536) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  result = { rows, bytes: sink.bytes, head };
}
const seconds = (performance.now() - started) / 1000;
const { peak, samples } = sampler.read();
await sampler.stop();
await close();
process.stdout.write(`${JSON.stringify({ ...result, seconds, rssBaseline: baseline, rssPeak: peak, rssGrowth: Math.max(0, peak - baseline), samples })}\n`);

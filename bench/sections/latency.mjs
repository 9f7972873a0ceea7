// Added latency: the connector's own share of the two steps a user waits for, with the sandbox
// Concur answering every call after a fixed delay.
//   launch-to-page: the signed URL -> 303 -> the session page (which reads the item from Concur)
//   select-to-done: POST /launch/s/{id}/select with the page's CSRF token and a listed code ->
//                   the done page (which PATCHes the item in Concur)
// Added = measured - (Concur calls of the step x the delay). The sandbox runs in the connector's
// process and sleeps in a timer, so its delay costs no CPU; what it does cost (answering the fake
// Concur call, and a timer that fires late while the event loop is busy) counts as the
// connector's: the figure is an upper bound of the connector's share.
// The app is dist/main.js as shipped (embedded default: SQLite with synchronous=FULL, memory
// sessions and nonces), with the launch rate limit raised and logging at warn.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { startConnector } from '../lib/connector.mjs';
import { ROOT } from '../lib/dist.mjs';
import {
  client, delayConcurCalls, fmtMs, launchUrls, openPopup, percentile, resetSandbox, round, sandboxCounters, save,
} from '../lib/popup-flow.mjs';

export const title = 'Added latency';

const DELAY_MS = 50;
const USERS = 20;
const TARGET_P99_MS = 5;

const OVERLAY = `rateLimit:
  launch: { limit: 1000000, windowSeconds: 60 }
logging:
  level: warn
`;

/** One flow step by step, no delay, token cached: how many Concur calls each step makes (what is subtracted). */
async function callsPerStep(http) {
  const [url] = await launchUrls(http, 1);
  const before = await sandboxCounters(http);
  const popup = await openPopup(http, url);
  const afterPage = await sandboxCounters(http);
  await save(http, popup);
  const afterSave = await sandboxCounters(http);
  const calls = (a, b) => b.apiRequests - a.apiRequests + (b.tokenRequests - a.tokenRequests);
  return { page: calls(before, afterPage), save: calls(afterPage, afterSave), itemUrl: new URL(url, 'http://x').searchParams.get('item_url') };
}

/**
 * What one fake Concur call costs the shared process: the item read straight from the bench
 * (its own token), no delay, one at a time. Each page view and Save pays about this much for
 * the sandbox, not for the connector.
 */
async function sandboxCallMs(http, itemUrl, calls) {
  // A token of the bench's own, as Concur's pages give one: the authorization_code grant for a
  // client_auth_code of the sandbox's launcher (its seed refresh token is the connector's, and
  // Concur's refresh tokens are good once). Its calls go to its geolocation, the sandbox's second origin.
  const config = parse(readFileSync(join(ROOT, 'config', 'default.yaml'), 'utf8'));
  const tenant = config.tenants.find((t) => t.oauth?.baseUrl === 'sandbox');
  const { url } = await http.json('GET', '/sandbox/api/launch-url?version=4&level=ENTRY&id=SBXX1');
  const code = new URL(url, 'http://x').searchParams.get('client_auth_code');
  const form = new URLSearchParams({
    grant_type: 'authorization_code', client_id: tenant.oauth.clientId, client_secret: tenant.oauth.clientSecret, code, redirect_uri: 'http://127.0.0.1',
  }).toString();
  const token = await http.send('POST', '/sandbox/concur/oauth2/v0/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(form.length) },
    body: form,
  });
  if (token.status !== 200) throw new Error(`the sandbox answered ${token.status} to the token request: ${token.body.slice(0, 200)}`);
  const { access_token: accessToken, geolocation } = JSON.parse(token.body);
  const path = new URL(itemUrl).pathname;
  const times = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const res = await http.get(path, { authorization: `Bearer ${accessToken}`, accept: 'application/json', host: new URL(geolocation).host });
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`the sandbox answered ${res.status} to the item read`);
  }
  return { p50: percentile(times.slice(calls / 5), 50) };
}

/** p50/p99 of `count` sequential GETs of `path` (after a warm-up). */
async function roundTrips(http, path, count) {
  for (let i = 0; i < 200; i++) await http.get(path);
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await http.get(path);
    times.push(performance.now() - started);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/**
 * This machine's floor for one loopback HTTP round trip: a bare node:http server in a process of
 * its own answering a constant, and the connector's GET /health/live (no work but its middleware).
 */
async function roundTripFloor(http, count) {
  const server = spawn(
    process.execPath,
    ['-e', `const s = require('node:http').createServer((q, r) => r.end('{"status":"ok"}')); s.listen(0, '127.0.0.1', () => console.log(s.address().port));`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = Number(await new Promise((resolve) => server.stdout.once('data', resolve)));
    const bare = client(port);
    try {
      return { bare: await roundTrips(bare, '/', count), health: await roundTrips(http, '/health/live', count) };
    } finally {
      bare.close();
    }
  } finally {
    server.kill();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `users` users over `flows` launches, every Concur call delayed by `delayMs`. Without
 * `thinkMs` they are closed-loop (each starts its next launch as soon as its last Save is done);
 * with it, each waits a random [thinkMs/2, 3*thinkMs/2) between the page and Save and between launches.
 */
async function phase(http, { users, flows, delayMs, thinkMs = 0, calls, log, label }) {
  const urls = await launchUrls(http, flows);
  if (delayMs > 0) await delayConcurCalls(http, { delayMs, calls: flows * (calls.page + calls.save) + 500 });
  const before = await sandboxCounters(http);
  const page = [];
  const select = [];
  let next = 0;
  let failures = 0;
  let firstError;
  const think = () => (thinkMs ? sleep(thinkMs / 2 + Math.random() * thinkMs) : undefined);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: users }, async (_, user) => {
      if (thinkMs) await sleep((user / users) * thinkMs); // staggered starts
      while (next < urls.length) {
        const url = urls[next++];
        try {
          const popup = await openPopup(http, url);
          page.push(popup.ms);
          await think();
          select.push((await save(http, popup)).ms);
        } catch (error) {
          failures++;
          firstError ??= error.message;
        }
        await think();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const after = await sandboxCounters(http);
  const apiCalls = after.apiRequests - before.apiRequests;
  const tokenCalls = after.tokenRequests - before.tokenRequests;
  const expected = flows * (calls.page + calls.save);
  const pageConcur = calls.page * delayMs;
  const selectConcur = calls.save * delayMs;
  const result = {
    users, flows, thinkMs, failures, firstError, seconds: round(seconds, 2), flowsPerSecond: round(flows / seconds, 1), delayMs,
    apiCalls, tokenCalls, expectedCalls: expected,
    // Every call was delayed only if delayed calls were still queued at the end.
    allDelayed: delayMs === 0 || after.pendingFaults > 0,
    page: { p50: percentile(page, 50), p99: percentile(page, 99), max: percentile(page, 100) },
    select: { p50: percentile(select, 50), p99: percentile(select, 99), max: percentile(select, 100) },
  };
  result.pageAdded = { p50: result.page.p50 - pageConcur, p99: result.page.p99 - pageConcur };
  result.selectAdded = { p50: result.select.p50 - selectConcur, p99: result.select.p99 - selectConcur };
  log(
    `  ${label}: ${flows} launches in ${seconds.toFixed(1)} s (${result.flowsPerSecond}/s), Concur calls ${apiCalls} api + ${tokenCalls} token (expected ${expected})` +
      `; launch-to-page p50 ${fmtMs(result.page.p50)} p99 ${fmtMs(result.page.p99)}, select-to-done p50 ${fmtMs(result.select.p50)} p99 ${fmtMs(result.select.p99)}` +
      (delayMs ? `; added p99 ${fmtMs(result.pageAdded.p99)} / ${fmtMs(result.selectAdded.p99)}` : '') +
      (failures ? `; ${failures} FAILED (${firstError})` : ''),
  );
  return result;
}

/** Why a phase's subtraction cannot be trusted, if it cannot. */
function problemsOf(r) {
  const problems = [];
  if (r.failures) problems.push(`${r.failures} launches failed (${r.firstError})`);
  if (!r.allDelayed) problems.push('the delayed calls ran out: some calls were not delayed');
  if (r.apiCalls + r.tokenCalls !== r.expectedCalls) {
    problems.push(`${r.apiCalls + r.tokenCalls} Concur calls, expected ${r.expectedCalls}: the subtraction is off by the difference x ${r.delayMs} ms`);
  }
  return problems;
}

const addedPair = (r) => `page ${fmtMs(r.pageAdded.p50)} / ${fmtMs(r.pageAdded.p99)}; done ${fmtMs(r.selectAdded.p50)} / ${fmtMs(r.selectAdded.p99)}`;

export async function run({ short, log }) {
  const flows = short ? 600 : 3000;
  const singleFlows = short ? 40 : 200;
  log('starting the connector (dist/main.js: SQLite, memory sessions and nonces)');
  const app = await startConnector({ config: OVERLAY });
  const http = client(app.port);
  try {
    // Warm-up (JIT, connections, the token cached): not measured.
    await phase(http, { users: USERS, flows: short ? 150 : 500, delayMs: 0, calls: { page: 1, save: 1 }, log, label: 'warm-up, no delay' });
    const calls = await callsPerStep(http);
    log(`  Concur calls per step: launch-to-page ${calls.page}, select-to-done ${calls.save}`);
    const sandbox = await sandboxCallMs(http, calls.itemUrl, 100);
    log(`  one fake Concur call (item read) costs the process about ${fmtMs(sandbox.p50)} (p50, from the bench)`);
    const floor = await roundTripFloor(http, short ? 500 : 2000);
    log(`  one loopback round trip: bare node:http p50 ${fmtMs(floor.bare.p50)} p99 ${fmtMs(floor.bare.p99)}; the connector's GET /health/live p50 ${fmtMs(floor.health.p50)} p99 ${fmtMs(floor.health.p99)}`);
    await resetSandbox(http);
    const single = await phase(http, { users: 1, flows: singleFlows, delayMs: DELAY_MS, calls, log, label: `1 user, Concur +${DELAY_MS} ms` });
    await resetSandbox(http);
    const loaded = await phase(http, { users: USERS, flows, delayMs: DELAY_MS, calls, log, label: `${USERS} users, Concur +${DELAY_MS} ms` });
    await resetSandbox(http);
    let thinking;
    if (!short) {
      thinking = await phase(http, { users: USERS, flows: 400, delayMs: DELAY_MS, thinkMs: 500, calls, log, label: `${USERS} users thinking ~0.5 s, Concur +${DELAY_MS} ms` });
      await resetSandbox(http);
    }

    const problems = problemsOf(loaded);
    const status = (value) => (problems.length ? 'MISS' : value <= TARGET_P99_MS ? 'PASS' : 'MISS');
    const setup = `${USERS} closed-loop users, no think time, ${flows} launches at ${loaded.flowsPerSecond}/s; every Concur call answers after ${DELAY_MS} ms`;
    const note = problems.length ? problems.join('; ') : setup;
    const rows = [
      { metric: 'launch-to-page added p50', value: fmtMs(loaded.pageAdded.p50), target: '', status: 'INFO', note: `measured ${fmtMs(loaded.page.p50)} - ${calls.page} Concur call x ${DELAY_MS} ms` },
      { metric: 'launch-to-page added p99', value: fmtMs(loaded.pageAdded.p99), target: `<= ${TARGET_P99_MS} ms`, status: status(loaded.pageAdded.p99), note },
      { metric: 'select-to-done added p50', value: fmtMs(loaded.selectAdded.p50), target: '', status: 'INFO', note: `measured ${fmtMs(loaded.select.p50)} - ${calls.save} Concur call x ${DELAY_MS} ms` },
      { metric: 'select-to-done added p99', value: fmtMs(loaded.selectAdded.p99), target: `<= ${TARGET_P99_MS} ms`, status: status(loaded.selectAdded.p99), note },
      {
        metric: 'added p50 / p99, 1 user',
        value: addedPair(single),
        target: '',
        status: 'INFO',
        note: `${singleFlows} launches one at a time: the connector's work without queueing${problemsOf(single).length ? `; ${problemsOf(single).join('; ')}` : ''}`,
      },
    ];
    if (thinking) {
      rows.push({
        metric: `added p50 / p99, ${USERS} users thinking`,
        value: addedPair(thinking),
        target: '',
        status: 'INFO',
        note: `each waits 0.25-0.75 s before Save and before the next launch (${thinking.flowsPerSecond} launches/s)${problemsOf(thinking).length ? `; ${problemsOf(thinking).join('; ')}` : ''}`,
      });
    }
    rows.push({
      metric: 'one round trip: bare node:http / GET /health/live',
      value: `${fmtMs(floor.bare.p50)} / ${fmtMs(floor.health.p50)} p50; ${fmtMs(floor.bare.p99)} / ${fmtMs(floor.health.p99)} p99`,
      target: '',
      status: 'INFO',
      note: `this machine's floor, one request at a time: a server answering a constant, and the connector's middleware alone; launch-to-page is 2 such round trips plus the Concur call, select-to-done 1 plus it`,
    });
    rows.push({
      metric: 'sandbox Concur call, in the same process',
      value: fmtMs(sandbox.p50),
      target: '',
      status: 'INFO',
      note: 'p50 of an item read from the bench, no delay; each step above makes one such call, so about this much of each added figure is the sandbox, not the connector',
    });
    return {
      figures: {
        latencyConcurDelayMs: DELAY_MS,
        latencyUsers: USERS,
        latencyLaunches: flows,
        latencyLaunchesPerSecond: loaded.flowsPerSecond,
        launchToPageP50AddedMs: round(loaded.pageAdded.p50),
        launchToPageP99AddedMs: round(loaded.pageAdded.p99),
        selectToDoneP50AddedMs: round(loaded.selectAdded.p50),
        selectToDoneP99AddedMs: round(loaded.selectAdded.p99),
        launchToPageP99Ms: round(loaded.page.p99),
        selectToDoneP99Ms: round(loaded.select.p99),
        singleUserLaunchToPageP50AddedMs: round(single.pageAdded.p50),
        singleUserLaunchToPageP99AddedMs: round(single.pageAdded.p99),
        singleUserSelectToDoneP50AddedMs: round(single.selectAdded.p50),
        singleUserSelectToDoneP99AddedMs: round(single.selectAdded.p99),
        ...(thinking && {
          thinkingLaunchToPageP99AddedMs: round(thinking.pageAdded.p99),
          thinkingSelectToDoneP99AddedMs: round(thinking.selectAdded.p99),
          thinkingLaunchesPerSecond: thinking.flowsPerSecond,
        }),
        sandboxConcurCallP50Ms: round(sandbox.p50),
        roundTripBareP50Ms: round(floor.bare.p50, 3),
        roundTripBareP99Ms: round(floor.bare.p99, 3),
        roundTripHealthP50Ms: round(floor.health.p50, 3),
        roundTripHealthP99Ms: round(floor.health.p99, 3),
      },
      rows,
    };
  } finally {
    http.close();
    await app.stop();
  }
}

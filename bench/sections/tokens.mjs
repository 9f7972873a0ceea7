// Token calls: how often the connector asks Concur's OAuth endpoint for a company token (the
// sandbox counts them: GET /sandbox/api/state -> tokenRequests).
//   - N launches of one tenant, each opening its page (the page reads the item with the token):
//     target 1 token call (the first launch's) for 1,000 launches.
//   - 50 launches whose pages open at once, right after the cached token went bad: Concur revoked
//     it (sandbox {"expireTokens": true}: the next calls get 401, the connector forgets the token
//     and asks again), or it reached its refresh time (the connector refreshes
//     concur.tokenRefreshSkewSeconds = 300 s before expiry; the sandbox issues tokens of
//     tokenTtlSeconds). Target 1 token call, not 50.
//   - With REDIS_URL (reachable): the revocation case over two replicas sharing the token cache.
// The launches carry no client_auth_code: with one, a launch reads and writes with the user's own
// tokens (one authorization_code exchange per launch), which is not what this section measures.
import { randomBytes } from 'node:crypto';
import { reachable } from '../lib/audit-data.mjs';
import { startConnector } from '../lib/connector.mjs';
import { client, launchUrls, openPage, openPopup, resetSandbox, sandboxCounters, setFaults, startLaunch } from '../lib/popup-flow.mjs';

export const title = 'Concur token calls';

const OVERLAY = `rateLimit:
  launch: { limit: 1000000, windowSeconds: 60 }
logging:
  level: warn
`;
const BURST = 50;
/** The connector's concur.tokenRefreshSkewSeconds (config/default.yaml). */
const REFRESH_SKEW_SECONDS = 300;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Launch URLs that read with the company token: the sandbox launcher's URLs without their
 * client_auth_code (unsigned, so the signature holds). With it, each launch exchanges its code for
 * the user's own tokens, one token call per launch that no cache can save (v4.launch-external-url.markdown).
 */
const companyLaunchUrls = async (http, count) =>
  (await launchUrls(http, count)).map((url) => url.replace(/&client_auth_code=[^&]*/, ''));

/** `urls` launched by `concurrency` users, each opening its page; counts pages that did not open. */
async function launchAll(http, urls, concurrency) {
  let next = 0;
  let failures = 0;
  let firstError;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, urls.length) }, async () => {
      while (next < urls.length) {
        const url = urls[next++];
        try {
          await openPopup(http, url);
        } catch (error) {
          failures++;
          firstError ??= error.message;
        }
      }
    }),
  );
  return { failures, firstError };
}

/** Launches `urls` (the 303s) now; `open()` then opens all their pages at once. */
async function pagesAtOnce(http, urls) {
  const started = await Promise.all(urls.map((url) => startLaunch(http, url)));
  return async () => {
    const outcomes = await Promise.allSettled(started.map((launch) => openPage(http, launch)));
    const failures = outcomes.filter((o) => o.status === 'rejected');
    return { failures: failures.length, firstError: failures[0]?.reason?.message };
  };
}

/** Token and item calls the sandbox(es) saw while `work` ran. */
async function counted(https, work) {
  const before = await Promise.all(https.map(sandboxCounters));
  const outcome = await work();
  const after = await Promise.all(https.map(sandboxCounters));
  const sum = (key) => after.reduce((n, a, i) => n + a[key] - before[i][key], 0);
  return { ...outcome, tokenCalls: sum('tokenRequests'), apiCalls: sum('apiRequests') };
}


/** The replicas' nonces, sessions and counters (they would otherwise expire within a day). */
async function removeKeys(url, prefix) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const failed = (r) => (r.failures ? `; ${r.failures} pages did not open (${r.firstError})` : '');
const verdict = (r, target) => (r.failures === 0 && r.tokenCalls <= target ? 'PASS' : 'MISS');

export async function run({ short, log }) {
  const launches = short ? 200 : 1000;
  const rows = [];
  const figures = {};
  log('starting the connector (memory token cache)');
  const app = await startConnector({ config: OVERLAY });
  const http = client(app.port);
  try {
    await resetSandbox(http);

    // 1. Many launches of one tenant, from a cold start: one token for all of them.
    const urls = await companyLaunchUrls(http, launches);
    const many = await counted([http], () => launchAll(http, urls, 10));
    log(`  ${launches} launches (10 at a time), each opening its page: ${many.tokenCalls} token call(s), ${many.apiCalls} item reads${failed(many)}`);
    figures.tokenCallsLaunches = launches;
    figures.tokenCallsForLaunches = many.tokenCalls;
    rows.push({
      metric: `token calls, ${launches.toLocaleString('en-US')} launches of one tenant`,
      value: String(many.tokenCalls),
      target: '1 per 1,000 launches',
      status: verdict(many, 1),
      note: `from a cold start, 10 launches at a time, each opening its page${short ? '; short mode: 200 launches instead of 1,000' : ''}${failed(many)}`,
    });

    // 2. Concur revokes the token: every page gets 401 for it, then all must share one new token.
    const burst = await pagesAtOnce(http, await companyLaunchUrls(http, BURST));
    await setFaults(http, { expireTokens: true });
    const revoked = await counted([http], burst);
    const rejected = revoked.apiCalls - BURST;
    log(`  ${BURST} launches, then Concur revoked the token, then their ${BURST} pages at once: ${revoked.tokenCalls} token call(s), ${rejected} item reads answered 401 and repeated${failed(revoked)}`);
    figures.tokenCallsAfterRevoke = revoked.tokenCalls;
    figures.itemReads401AfterRevoke = rejected;
    rows.push({
      metric: `token calls, ${BURST} pages at once after Concur revoked the token`,
      value: String(revoked.tokenCalls),
      target: '1',
      status: verdict(revoked, 1),
      note: `sandbox {"expireTokens": true}; ${rejected} of the ${BURST} item reads got 401 and were repeated with the new token${failed(revoked)}`,
    });

    // 3. The cached token reaches its refresh time (expiry - 300 s skew) with no 401 involved.
    const dueInSeconds = 2;
    await setFaults(http, { tokenTtlSeconds: REFRESH_SKEW_SECONDS + dueInSeconds, expireTokens: true });
    await launchAll(http, await companyLaunchUrls(http, 1), 1); // takes a token that is due in 2 s
    const later = await pagesAtOnce(http, await companyLaunchUrls(http, BURST));
    await sleep(dueInSeconds * 1000 + 300);
    const due = await counted([http], later);
    log(`  ${BURST} launches, then their ${BURST} pages at once after the cached token reached its refresh time: ${due.tokenCalls} token call(s), ${due.apiCalls - BURST} repeated item reads${failed(due)}`);
    figures.tokenCallsAfterRefreshTime = due.tokenCalls;
    rows.push({
      metric: `token calls, ${BURST} pages at once after the token's refresh time`,
      value: String(due.tokenCalls),
      target: '1',
      status: verdict(due, 1),
      note: `sandbox tokenTtlSeconds ${REFRESH_SKEW_SECONDS + dueInSeconds}: the connector refreshes ${REFRESH_SKEW_SECONDS} s before expiry, so its token was due ${dueInSeconds} s later${failed(due)}`,
    });

    // 4. Tokens that live no longer than the refresh skew: each use is a refresh.
    await setFaults(http, { tokenTtlSeconds: 60, expireTokens: true });
    const shortLived = await counted([http], async () => launchAll(http, await companyLaunchUrls(http, 20), 1));
    log(`  20 launches one at a time with 60 s tokens: ${shortLived.tokenCalls} token call(s)${failed(shortLived)}`);
    figures.tokenCallsShortLivedTokens20Launches = shortLived.tokenCalls;
    rows.push({
      metric: 'token calls, 20 launches, tokens of 60 s',
      value: String(shortLived.tokenCalls),
      target: '',
      status: 'INFO',
      note: `a token that lives <= tokenRefreshSkewSeconds (${REFRESH_SKEW_SECONDS} s) is never reused: one token call per Concur call. Concur's tokens live 1 hour${failed(shortLived)}`,
    });
    await resetSandbox(http);
  } finally {
    http.close();
    await app.stop();
  }

  // 5. Two replicas sharing Redis (token cache and its per-tenant lock) and one Concur: the first
  // replica's sandbox (the second's sandbox.concurOrigin), as real replicas share one Concur and
  // its tokens' geolocation.
  if (!(await reachable(REDIS_URL, 6379))) {
    rows.push({ metric: `token calls, ${BURST} pages at once on 2 replicas (Redis)`, value: 'skipped', target: '1', status: 'INFO', note: `skipped: Redis is not reachable at ${new URL(REDIS_URL).host}` });
    return { figures, rows };
  }
  log('starting two replicas sharing Redis');
  const prefix = `clc-bench-${randomBytes(4).toString('hex')}:`;
  const shared = {
    config: `${OVERLAY}redis:\n  keyPrefix: "${prefix}"\n`,
    env: { REDIS_URL, CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
  };
  const serving = await startConnector(shared);
  const joining = await startConnector({ ...shared, config: `${shared.config}sandbox:\n  concurOrigin: http://127.0.0.1:${serving.port}\n` });
  const replicas = [serving, joining];
  const https = replicas.map((r) => client(r.port));
  try {
    await Promise.all(https.map(resetSandbox));
    // Both take the token once (the second from Redis), then Concur revokes it on both.
    for (const h of https) await launchAll(h, await companyLaunchUrls(h, 1), 1);
    const warm = await Promise.all(https.map(sandboxCounters));
    const bursts = await Promise.all(https.map(async (h) => pagesAtOnce(h, await companyLaunchUrls(h, BURST / 2))));
    await Promise.all(https.map((h) => setFaults(h, { expireTokens: true })));
    const both = await counted(https, async () => {
      const outcomes = await Promise.all(bursts.map((open) => open()));
      return { failures: outcomes.reduce((n, o) => n + o.failures, 0), firstError: outcomes.find((o) => o.firstError)?.firstError };
    });
    const first = warm.reduce((n, w) => n + w.tokenRequests, 0);
    log(`  2 replicas: first launches ${first} token call(s) together; ${BURST / 2} pages on each at once after the revocation: ${both.tokenCalls} token call(s)${failed(both)}`);
    figures.tokenCallsTwoReplicasFirst = first;
    figures.tokenCallsTwoReplicasAfterRevoke = both.tokenCalls;
    rows.push({
      metric: `token calls, ${BURST} pages at once on 2 replicas after revocation`,
      value: String(both.tokenCalls),
      target: '1',
      status: verdict(both, 1),
      note: `REDIS_URL shared token cache, ${BURST / 2} pages on each replica; the first launch on each took ${first} token call(s) together${failed(both)}`,
    });
  } finally {
    https.forEach((h) => h.close());
    await Promise.all(replicas.map((r) => r.stop()));
    await removeKeys(REDIS_URL, prefix);
  }
  return { figures, rows };
}

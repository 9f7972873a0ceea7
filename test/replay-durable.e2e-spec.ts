import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { Kysely } from 'kysely';
import { DB } from '../src/database/database.tokens.js';
import type { Database } from '../src/database/database.types.js';
import { referenceOf, sandboxIds, signedUrl, startApp, v4Params, type Harness } from './harness.js';

/**
 * A used launch URL stays refused when the fast nonce store (memory here) has forgotten it: after
 * a restart on the same data folder, and after replay.ttlSeconds. v1 item URLs on Concur's own
 * API host: the 303 needs no call to Concur, and the URL stays valid across restarts (the
 * sandbox's origin changes with its port).
 */
const ITEM_URL = 'https://us.api.concursolutions.com/api/v3.0/expense/entries/gWqXb9xC6c2kP7r$pYzQ1UDhn';

function v1Launch(h: Harness, nonce: string): string {
  const tenant = h.config.tenants[0];
  return signedUrl(h, 1, { xcompanydomain: tenant.companyDomains[0], xuserid: 'sam.employee@sandbox.example.com', itemurl: ITEM_URL, nonce });
}

async function expectReplayRefused(h: Harness, url: string): Promise<void> {
  const res = await h.http.get(url).expect(401);
  expect(res.text).toContain('Close this window and click the field again in Concur');
  const [event] = await h.audit.eventsOfCorrelation(referenceOf(res.text)!);
  expect(event).toMatchObject({ type: 'launch.rejected', outcome: 'failure', reason: 'nonce already used', tenantId: 'sandbox' });
}

describe('durable launch nonces (e2e)', () => {
  describe('across a restart on the same SQLite data folder', () => {
    let dataDir: string;
    let h: Harness | undefined;
    const boot = () => startApp({ storage: { sqliteFile: 'connector.db' } }, { CONNECTOR_DATA_DIR: dataDir });

    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'clc-e2e-replay-'));
    });
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('refuses a URL used before the restart, accepts a new one, and stores no nonce in clear', async () => {
      const nonce = '2026-03-01T09:15:42.1234567Z';
      h = await boot();
      const url = v1Launch(h, nonce);
      await h.http.get(url).expect(303);
      const rows = await h.app.get<Kysely<Database>>(DB).selectFrom('claimed_nonces').selectAll().execute();
      expect(rows).toEqual([{ nonce_hash: expect.stringMatching(/^[0-9a-f]{64}$/), tenant_id: 'sandbox', claimed_at: expect.any(String) }]);
      expect(JSON.stringify(rows)).not.toContain(nonce.slice(0, 19));
      await h.close();

      h = await boot();
      await expectReplayRefused(h, url);
      await h.http.get(v1Launch(h, 'a-fresh-nonce')).expect(303);
    });
  });

  describe('once the fast store has forgotten the nonce (replay.ttlSeconds passed)', () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startApp({ replay: { ttlSeconds: 60 } });
    });
    afterAll(async () => {
      jest.useRealTimers();
      await h.close();
    });

    it('still refuses the used URL', async () => {
      // Only Date is faked: the memory store's expiry reads Date.now(); timers and I/O run for real.
      jest.useFakeTimers({
        doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'],
        now: Date.now(),
      });
      const url = v1Launch(h, 'n-ttl');
      await h.http.get(url).expect(303);
      jest.setSystemTime(Date.now() + 25 * 3_600_000);
      await expectReplayRefused(h, url);
      await h.http.get(v1Launch(h, 'n-after-ttl')).expect(303);
    });
  });

  describe('a launch refused for its unsigned parameters', () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startApp();
    });
    afterAll(() => h.close());

    it('does not use up the nonce: the same signed URL with the parameter fixed is accepted, once', async () => {
      const ids = await sandboxIds(h);
      const malformed = signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { source: 'HEADERX', nonce: 'n-unsigned' }));
      const fixed = signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { nonce: 'n-unsigned' }));
      // The unsigned parameters are outside the signature: both URLs carry the same one.
      expect(new URL(fixed, h.origin).searchParams.get('signature')).toBe(new URL(malformed, h.origin).searchParams.get('signature'));

      const refused = await h.http.get(malformed).expect(400);
      const [event] = await h.audit.eventsOfCorrelation(referenceOf(refused.text)!);
      expect(event).toMatchObject({ type: 'launch.rejected', reason: 'source "HEADERX" is not HEADER, ENTRY or ALLOCATION' });

      await h.http.get(fixed).expect(303);
      await expectReplayRefused(h, fixed);
      const metrics = (await h.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^clc_launches_total\{version="4",outcome="invalid"\} 1$/m);
    });
  });
});

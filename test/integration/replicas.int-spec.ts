import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ServerAddress } from '../../src/config/index.js';
import { csrfOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from '../harness.js';
import { createTestDatabase, describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

/**
 * Two replicas of the connector sharing one PostgreSQL database and one Redis, with no sticky
 * sessions. Replica A's sandbox plays the one Concur both talk to.
 */
describeWith(['postgres', 'redis'], 'two replicas on one PostgreSQL and one Redis', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: Harness;
  let b: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: REDIS_TEST_URL,
      CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(32).toString('base64'),
    };
    const overrides = {
      redis: { keyPrefix: uniqueRedisPrefix() },
      rateLimit: { launch: { limit: 10_000, windowSeconds: 60 } },
    };
    a = await startApp(overrides, env);
    b = await startApp(overrides, env);
    b.app.get(ServerAddress).set(a.origin);
    ids = await sandboxIds(a);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.drop();
  });

  it('a launch session made on one replica is used and saved on the other', async () => {
    const url = signedUrl(a, 1, v1Params(a, ids.entryIds[0]));
    const redirect = await a.http.get(url).expect(303);
    const location = redirect.headers.location as string;
    const cookie = (redirect.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');

    const page = await request(b.origin).get(location).set('Cookie', cookie).expect(200);
    expect(page.text).toContain('Current value');
    const done = await request(b.origin)
      .post(`${location}/select`)
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf: csrfOf(page.text), code: 'PRJ-1003' })
      .expect(200);
    expect(done.text).toContain('PRJ-1003');

    const state = (await a.http.get('/sandbox/api/state').expect(200)).body as { entries: Array<{ ID: string; Custom1: { Value: string } }> };
    expect(state.entries.find((e) => e.ID === ids.entryIds[0])?.Custom1.Value).toBe('PRJ-1003');
    // Either replica reads the same audit trail of that launch.
    const launchId = location.split('/').pop()!;
    const types = (await b.audit.eventsOfLaunch(launchId)).map((e) => e.type);
    expect(types).toEqual(['launch.accepted', 'update.requested', 'update.succeeded']);
    expect((await a.audit.eventsOfLaunch(launchId)).map((e) => e.type)).toEqual(types);
  });

  it('a double submit sent to both replicas at once writes to Concur once, and both answers show the saved value', async () => {
    const savedValue = (html: string) => /data-testid="saved-value">([^<]+)</.exec(html)?.[1];
    for (let round = 0; round < 5; round++) {
      const entryId = ids.entryIds[round % ids.entryIds.length];
      const redirect = await a.http.get(signedUrl(a, 1, v1Params(a, entryId))).expect(303);
      const location = redirect.headers.location as string;
      const cookie = (redirect.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
      const page = await request(a.origin).get(location).set('Cookie', cookie).expect(200);
      const csrf = csrfOf(page.text);
      // One browser window, two clicks, no sticky sessions: each replica gets one Save.
      const picks = round % 2 ? ['PRJ-1002', 'PRJ-1003'] : ['PRJ-1003', 'PRJ-1002'];
      const answers = await Promise.all(
        [a, b].map((h, i) => request(h.origin).post(`${location}/select`).set('Cookie', cookie).type('form').send({ csrf, code: picks[i] })),
      );

      const launchId = location.split('/').pop()!;
      const events = await a.audit.eventsOfLaunch(launchId);
      expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.succeeded']);
      const winner = events[2].newValue!;
      expect(picks).toContain(winner);
      expect(events[1].newValue).toBe(winner);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      expect(answers.map((r) => savedValue(r.text))).toEqual([winner, winner]);

      const state = (await a.http.get('/sandbox/api/state').expect(200)).body as {
        entries: Array<{ ID: string; Custom1: { Value: string } }>;
        requests: Array<{ method: string; correlationId?: string }>;
      };
      expect(state.entries.find((e) => e.ID === entryId)?.Custom1.Value).toBe(winner);
      // One write reached Concur, under the winner's correlation ID; none under the loser's.
      const writesOf = (correlationId: unknown) => state.requests.filter((r) => r.method !== 'GET' && r.correlationId === correlationId);
      const loser = answers[picks.findIndex((p) => p !== winner)];
      expect(writesOf(events[1].correlationId)).toHaveLength(1);
      expect(loser.headers['x-request-id']).not.toBe(events[1].correlationId);
      expect(writesOf(loser.headers['x-request-id'])).toHaveLength(0);

      // A reload on either replica shows Done.
      const reload = await request(b.origin).get(location).set('Cookie', cookie).expect(200);
      expect(savedValue(reload.text)).toBe(winner);
    }
  });

  it('the same signed launch sent concurrently to both replicas is accepted exactly once', async () => {
    const replaysBefore = await replayRejections();
    for (const version of [1, 4] as const) {
      const url = signedUrl(a, version, version === 1 ? v1Params(a, ids.entryIds[1]) : v4Params(a, ids, 'ENTRY'));
      const attempts = Array.from({ length: 40 }, (_, i) => request((i % 2 ? a : b).origin).get(url));
      const statuses = (await Promise.all(attempts)).map((r) => r.status);
      expect(statuses.filter((s) => s === 303)).toHaveLength(1);
      // Every other attempt is refused (401, as any unusable link) and audited as a replay.
      expect(statuses.filter((s) => s !== 303).every((s) => s === 401)).toBe(true);
    }
    expect((await replayRejections()) - replaysBefore).toBe(78);
  });

  async function replayRejections(): Promise<number> {
    const events = await a.audit.latest(1000);
    return events.filter((e) => e.type === 'launch.rejected' && e.reason === 'nonce already used').length;
  }

  it('both replicas append audit events at once and the chain still verifies', async () => {
    const before = (await a.audit.latest(1))[0]?.seq ?? 0;
    const launches = Array.from({ length: 30 }, (_, i) => {
      const h = i % 2 ? a : b;
      return request(h.origin).get(signedUrl(a, 1, v1Params(a, ids.entryIds[i % ids.entryIds.length])));
    });
    const refused = Array.from({ length: 10 }, (_, i) =>
      request((i % 2 ? a : b).origin).get(signedUrl(a, 1, v1Params(a, ids.entryIds[0]), { password: 'not-the-password-123' })),
    );
    const results = await Promise.all([...launches, ...refused]);
    expect(results.slice(0, 30).every((r) => r.status === 303)).toBe(true);
    expect(results.slice(30).every((r) => r.status === 401)).toBe(true);

    const latest = await b.audit.latest(1000);
    expect(latest[0].seq - before).toBe(40);
    const seqs = latest.map((e) => e.seq).sort((x, y) => x - y);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs[seqs.length - 1] - seqs[0] + 1).toBe(seqs.length);
    expect(await a.audit.verify()).toMatchObject({ intact: true });
    expect(await b.audit.verify()).toMatchObject({ intact: true });
  });
});

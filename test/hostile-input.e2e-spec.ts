import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { referenceOf, startApp, type Harness } from './harness.js';

/**
 * Long paths chosen to be expensive (#17): words the log scrubber looks for, broken %-escapes,
 * runs of slashes, at the largest size Node's HTTP parser lets through. Each gets the usual 4xx
 * page or JSON with a correlation ID and without the path, and every log line stays short.
 * How fast they are answered is measured by `npm run bench` (the hostile section), not here.
 */
describe('hostile long paths', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  let h: Harness;

  beforeAll(async () => {
    h = await startApp({ logging: { level: 'trace' } }, {}, { logDestination: destination });
  });
  afterAll(() => h.close());

  /** Node's default limit for the request line and headers together is 16 KB: a path this long still gets through. */
  const PATH_LENGTH = 16 * 1024 - 200;
  const fill = (prefix: string, unit: string) => prefix + unit.repeat(Math.ceil((PATH_LENGTH - prefix.length) / unit.length)).slice(0, PATH_LENGTH - prefix.length);

  /** One GET with exactly this path (supertest would normalise it), on a connection of its own. */
  function get(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    const { port } = new URL(h.origin);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/html', connection: 'close' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The log lines written for one request. */
  const linesOf = (correlationId: string) => lines.filter((line) => line.includes(correlationId));

  /** The longest run of the path that a text repeats. */
  function longestEcho(text: string, path: string): number {
    let best = 0;
    for (let length = 16; length <= path.length; length *= 2) {
      const found = [0, Math.floor(path.length / 2), path.length - length].some((start) => text.includes(path.slice(start, start + length)));
      if (!found) break;
      best = length;
    }
    return best;
  }

  const popupPaths: Array<[string, string, number]> = [
    ['trigger words', fill('/', 'password/token/secret/'), 404],
    ['trigger words under /launch/s/', fill('/launch/s/', 'sig'), 404],
    ['broken %-escapes', fill('/', 'pass%E0%A4%A'), 400],
    ['broken %-escapes in a session id', fill('/launch/s/', '%E0%A4%A'), 400],
    ['a run of slashes', `${fill('', '/').slice(0, -1)}a`, 404],
  ];

  it.each(popupPaths)('answers a 16 KB path of %s with the error page, its reference and not the path', async (_name, path, status) => {
    expect(path.length).toBe(PATH_LENGTH);
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const correlationId = res.headers['x-request-id'] as string;
    expect(referenceOf(res.body)).toBe(correlationId);
    expect(longestEcho(res.body, path)).toBeLessThan(16);
    if (status === 400) expect(res.body).toContain('The request that opened this window was incomplete or damaged.');
  });

  const apiPaths: Array<[string, string, number, string]> = [
    ['trigger words', fill('/api/', 'client_secret=x&token='), 404, 'This address does not lead anywhere'],
    ['broken %-escapes', fill('/api/audit/events/', '%E0%A4%Atoken'), 400, 'The request path has a malformed %-escape, so it could not be read.'],
    ['broken %-escapes under /health', fill('/health/', '%E0%A4%A'), 400, 'The request path has a malformed %-escape, so it could not be read.'],
  ];

  it.each(apiPaths)('answers a 16 KB API path of %s with JSON and a correlation ID, not the path', async (_name, path, status, message) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toEqual({ statusCode: status, error: expect.any(String), message: expect.stringContaining(message), correlationId: res.headers['x-request-id'] });
    expect(longestEcho(res.body, path)).toBeLessThan(16);
  });

  it('logs each of them in short lines: the path cut to 512 characters, no line over 4 KB', async () => {
    const path = fill('/', 'pass%E0%A4%A');
    const res = await get(path);
    const correlationId = res.headers['x-request-id'] as string;
    const own = linesOf(correlationId).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(own.map((line) => line.context ?? 'request')).toEqual(['HttpError', 'request']);
    const [failure, access] = own as Array<{ msg: string; req?: { path: string } }>;
    expect(failure.msg).toMatch(/^GET \/pass%E0%A4%A.*…\[\+\d+ chars\] -> 400 \[[0-9a-f-]{36}\] malformed %-escape in the path$/);
    expect(access.req!.path).toBe(`${path.slice(0, 512)}…[+${path.length - 512} chars]`);
    for (const line of lines) expect(line.length).toBeLessThan(4096);
    expect(lines.every((line) => longestEcho(line, path) <= 512)).toBe(true);
  });

  it('leaves no line of any of them longer than 4 KB, and serves the health probe after them', async () => {
    expect(lines.length).toBeGreaterThan(popupPaths.length + apiPaths.length);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(4096);
    expect((await get('/health/live')).status).toBe(200);
  });

  it('never sees a longer request line: Node answers it 431 before the application', async () => {
    const before = lines.length;
    const res = await get(fill('/', 'token/').padEnd(16 * 1024 + 100, 'x'));
    expect(res.status).toBe(431);
    expect(lines.length).toBe(before);
  });
});

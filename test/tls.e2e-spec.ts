import { readFileSync } from 'node:fs';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { signedUrl, startApp, v4Params, type Harness } from './harness.js';

const TLS_DIR = join(import.meta.dirname, 'fixtures', 'tls');
const certFile = join(TLS_DIR, 'localhost.cert.pem');
const keyFile = join(TLS_DIR, 'localhost.key.pem');

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET over HTTPS, trusting only the test certificate. */
function httpsRequest(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca: readFileSync(certFile), servername: 'localhost', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('in-process HTTPS (server.tls)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startApp({ server: { tls: { certFile, keyFile } } });
  });
  afterAll(() => h.close());

  it('listens on https and says so', () => {
    expect(h.origin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the sandbox page over TLS with Strict-Transport-Security', async () => {
    const res = await httpsRequest(`${h.origin}/sandbox`);
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(res.body).toContain('<html');
  });

  it('accepts a signed launch over TLS: 303 with a Secure cookie and HSTS', async () => {
    const state = JSON.parse((await httpsRequest(`${h.origin}/sandbox/api/state`)).body) as { userId: string; report: { reportId: string } };
    const ids = { userId: state.userId, reportId: state.report.reportId, entryIds: [], expenseIds: [], allocationIds: [] };
    const res = await httpsRequest(`${h.origin}${signedUrl(h, 4, v4Params(h, ids, 'HEADER'))}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/launch\/s\//);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(String(res.headers['set-cookie'])).toMatch(/;\s*Secure/i);
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const plain = h.origin.replace('https://', 'http://');
    const outcome = await new Promise<string>((resolve) => {
      const req = httpGet(`${plain}/sandbox`, { agent: false }, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    });
    expect(outcome).toMatch(/^error /);
  });
});

describe('plain HTTP (no server.tls)', () => {
  it('sends no Strict-Transport-Security', async () => {
    const h = await startApp();
    try {
      expect(h.origin).toMatch(/^http:\/\//);
      const res = await h.http.get('/sandbox').expect(200);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});

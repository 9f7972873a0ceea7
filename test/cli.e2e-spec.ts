import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { runCli } from '../src/cli/run.js';
import { sandboxIds, startApp, type Harness } from './harness.js';

/** The CLI's printed URL as path and query, for supertest against the running app. */
function pathOf(stdout: string): string {
  const url = new URL(stdout.trim());
  return `${url.pathname}${url.search}`;
}

describe('concur-launch-connector CLI', () => {
  describe('check-config', () => {
    it('says OK on the embedded defaults', async () => {
      const result = await runCli(['check-config'], {});
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^configuration OK/);
    });

    it('is not OK in production mode on the embedded defaults: every published or missing secret is a problem', async () => {
      const result = await runCli(['check-config'], { NODE_ENV: 'production' });
      expect(result.exitCode).toBe(1);
      expect(result.stdout).not.toContain('configuration OK');
      const problems = result.stderr.split('\n').filter((line) => line.startsWith('  - ')).map((line) => line.slice(4).split(':')[0]);
      expect(problems).toEqual(
        expect.arrayContaining([
          'sandbox.enabled',
          'tenants[0].connector.password',
          'tenants[0].oauth.clientSecret',
          'tenants[0].oauth.refreshToken',
          'audit.auditors[0].passwordHash',
          'security.encryptionKey',
          'security.auditChainKey',
        ]),
      );
      expect(result.stderr).toContain("make one with `openssl rand -base64 36 | tr -d '/+=' | cut -c1-44`");
    });

    it('lists every problem of a --file with unknown keys and bad values, exit code 1', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clc-cli-'));
      try {
        const bad = join(dir, 'bad.yaml');
        writeFileSync(bad, 'server:\n  port: 99999\nstorage:\n  engine: oracle\n');
        const result = await runCli(['check-config', '--file', bad], {});
        expect(result.exitCode).toBe(1);
        expect(result.stderr).toContain('  - server.port: must not be greater than 65535');
        expect(result.stderr).toContain('  - storage.engine: should not exist');

        const broken = join(dir, 'broken.yaml');
        writeFileSync(broken, 'server:\n  port: 3000\n   host: x\n');
        const parsed = await runCli(['check-config', '--file', broken], {});
        expect(parsed.exitCode).toBe(1);
        expect(parsed.stderr).toContain(`  - ${broken}: `);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('migrate', () => {
    it('applies the migrations to a new SQLite data folder, then says it is up to date', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'clc-cli-data-'));
      try {
        const first = await runCli(['migrate'], { CONNECTOR_DATA_DIR: dataDir });
        expect(first.exitCode).toBe(0);
        expect(first.stdout).toContain(`SQLite ${join(dataDir, 'connector.db')}: applied`);
        const second = await runCli(['migrate'], { CONNECTOR_DATA_DIR: dataDir });
        expect(second.exitCode).toBe(0);
        expect(second.stdout).toContain('up to date');
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('data at rest', () => {
    it('migrate creates the data folder 0700 and the SQLite files 0600, whatever the umask', async () => {
      const parent = mkdtempSync(join(tmpdir(), 'clc-cli-modes-'));
      const dataDir = join(parent, 'data');
      const umask = process.umask(0);
      try {
        const result = await runCli(['migrate'], { CONNECTOR_DATA_DIR: dataDir });
        expect(result.exitCode).toBe(0);
        expect(statSync(dataDir).mode & 0o777).toBe(0o700);
        const written = readdirSync(dataDir).filter((name) => name.startsWith('connector.db'));
        expect(written).toContain('connector.db');
        for (const name of written) expect([name, statSync(join(dataDir, name)).mode & 0o777]).toEqual([name, 0o600]);
      } finally {
        process.umask(umask);
        rmSync(parent, { recursive: true, force: true });
      }
    });
  });

  describe('sign-launch against the running app', () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startApp();
    });
    afterAll(() => h.close());

    const sign = (...args: string[]) => runCli(['sign-launch', '--tenant', 'sandbox', '--base-url', h.origin, ...args], {});

    it('a v1 URL passes the signature guard (303) and opens the session page', async () => {
      const result = await sign('--version', '1');
      expect(result.exitCode).toBe(0);
      const agent = request.agent(h.origin);
      const redirect = await agent.get(pathOf(result.stdout)).expect(303);
      const page = await agent.get(redirect.headers.location as string).expect(200);
      expect(page.text).toContain('name="csrf"');
    });

    it.each(['HEADER', 'ENTRY', 'ALLOCATION'])('a v4 %s URL passes the signature guard (303) and opens the session page', async (level) => {
      const result = await sign('--version', '4', '--level', level);
      expect(result.exitCode).toBe(0);
      const agent = request.agent(h.origin);
      const redirect = await agent.get(pathOf(result.stdout)).expect(303);
      await agent.get(redirect.headers.location as string).expect(200);
    });

    it('a v4 URL for an explicit item URL and field is accepted', async () => {
      const ids = await sandboxIds(h);
      const itemUrl = `${h.origin}/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/${ids.reportId}/expenses/${ids.expenseIds[1]}`;
      const result = await sign('--version', '4', '--item-url', itemUrl, '--field', 'custom9');
      expect(result.exitCode).toBe(0);
      await h.http.get(pathOf(result.stdout)).expect(303);
    });

    it('each URL works once: the second use is a replay', async () => {
      const path = pathOf((await sign('--version', '4')).stdout);
      await h.http.get(path).expect(303);
      await h.http.get(path).expect(401);
    });

    it('an unknown tenant is a clear error, exit code 1', async () => {
      const result = await runCli(['sign-launch', '--tenant', 'acme', '--version', '4', '--base-url', h.origin], {});
      expect(result).toEqual({ exitCode: 1, stdout: '', stderr: 'sign-launch: unknown tenant "acme"; the configuration has: sandbox\n' });
    });
  });
});

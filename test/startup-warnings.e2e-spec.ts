import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config/index.js';
import { startServer } from '../src/server.js';

interface LogLine {
  level: string;
  msg: string;
  context?: string;
}

/**
 * One destination for the file: nestjs-pino keeps one root logger per process, so the lines of a
 * second app outside requests go where the first app's went (see logging.module.ts).
 */
const logged: LogLine[] = [];
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logged.push(JSON.parse(line) as LogLine);
    done();
  },
});

/** Starts the server as main.ts does (on a free loopback port) and returns the lines it logged. */
async function startupLines(env: Record<string, string>): Promise<LogLine[]> {
  const from = logged.length;
  const dataDir = mkdtempSync(join(tmpdir(), 'clc-start-'));
  const loaded = loadConfig(
    { CONNECTOR_DATA_DIR: dataDir, ...env },
    { server: { port: 0, host: '127.0.0.1' }, storage: { sqliteFile: ':memory:' }, logging: { level: 'warn' }, audit: { headLogIntervalSeconds: 0 } },
  );
  const { app, shutdown } = await startServer(loaded, { logDestination: destination }, { source: new EventEmitter() });
  try {
    return logged.slice(from);
  } finally {
    shutdown.uninstall();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('start-up warnings', () => {
  it('outside production, the demo auditor and the sandbox secrets are warned about loudly at start', async () => {
    const warned = (await startupLines({})).filter((line) => line.level === 'warn' && line.context === 'Configuration').map((line) => line.msg);
    expect(warned).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PUBLISHED CREDENTIALS IN USE: tenants\[0\] \("sandbox"\) uses connector\.password, oauth\.clientSecret, oauth\.refreshToken as published/),
        expect.stringMatching(/^PUBLISHED CREDENTIALS IN USE: audit\.auditors\[0\] \("auditor"\) signs in with the demo password/),
      ]),
    );
    // The warnings name the settings, never the published secret values themselves.
    expect(warned.join('\n')).not.toMatch(/sandbox-connector-password|sandbox-client-secret|sandbox-initial-refresh-token/);
  });

  it('says nothing of published credentials once the tenant has its own secrets and no demo auditor, and logs the other warnings', async () => {
    const noAuditors = join(mkdtempSync(join(tmpdir(), 'clc-start-config-')), 'connector.yaml');
    writeFileSync(noAuditors, 'audit:\n  auditors: []\nserver:\n  trustProxy: true\n');
    const lines = await startupLines({
      CONNECTOR_CONFIG: noAuditors,
      TENANT_SANDBOX_CONNECTOR_PASSWORD: 'Xq7vLm2RtP9kWz4NbH6cJd8Fg3Ys5Ae1',
      TENANT_SANDBOX_OAUTH_CLIENT_SECRET: randomBytes(12).toString('hex'),
      TENANT_SANDBOX_OAUTH_REFRESH_TOKEN: randomBytes(12).toString('hex'),
    });
    // Other warnings of the configuration are still logged.
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', context: 'Configuration', msg: expect.stringMatching(/^server\.trustProxy: true believes/) }));
    expect(lines.filter((line) => line.msg.includes('PUBLISHED CREDENTIALS'))).toEqual([]);
  });
});

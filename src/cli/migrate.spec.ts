import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from './migrate.js';

describe('migrate', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'clc-migrate-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('applies the migrations to the SQLite file of the data folder, then finds nothing to do', async () => {
    const first = await migrate([], { CONNECTOR_DATA_DIR: dataDir });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^SQLite .*connector\.db: applied \d+ migration\(s\):\n {2}- \S+/);
    expect(existsSync(join(dataDir, 'connector.db'))).toBe(true);
    const second = await migrate([], { CONNECTOR_DATA_DIR: dataDir });
    expect(second).toEqual({ exitCode: 0, stdout: `SQLite ${join(dataDir, 'connector.db')}: up to date, no migration to apply\n`, stderr: '' });
  });

  it('stops at an invalid configuration with its problems, exit code 1', async () => {
    const result = await migrate([], { CONNECTOR_DATA_DIR: dataDir, DATABASE_URL: 'mysql://db/clc' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('migrate: the configuration is not valid:');
    expect(result.stderr).toContain('storage.databaseUrl');
    expect(existsSync(join(dataDir, 'connector.db'))).toBe(false);
  });

  it('reports a database it cannot reach, exit code 1, without the password', async () => {
    const result = await migrate([], {
      DATABASE_URL: 'postgresql://clc:unreachable-pw-77@127.0.0.1:1/clc',
      CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(32).toString('base64'),
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^migrate failed: /);
    expect(result.stderr).not.toContain('unreachable-pw-77');
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from './cli.output.js';
import { checkConfig } from './check-config.js';

function file(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'clc-check-')), 'connector.yaml');
  writeFileSync(path, yaml);
  return path;
}

describe('checkConfig', () => {
  it('says OK on the embedded defaults, with a summary and no secret', () => {
    const result = checkConfig([], {});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^configuration OK \(config\/default\.yaml, with the environment\)\n/);
    expect(result.stdout).toContain('tenants: sandbox (sandbox.example.com; v1, v4)');
    expect(result.stdout).toContain('database: SQLite ');
    expect(result.stdout).toContain('sandbox: ON (demo only)');
    expect(result.stdout).not.toMatch(/sandbox-connector-password|sandbox-client-secret|sandbox-initial-refresh-token/);
    expect(result.stderr).toBe('');
  });

  it('prints the warnings of a valid configuration', () => {
    const result = checkConfig([], { TENANT_SANDBOX_CONNECTOR_PASSWORD: 'short-pw' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/warning: tenants\[0\]\.connector: Concur now requires username and password of 10 to 50 characters/);
  });

  it('lays --file over the defaults and lists every problem', () => {
    const path = file('server:\n  port: -1\n  colour: blue\nsession:\n  ttlSeconds: 5\n');
    const result = checkConfig(['--file', path], {});
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`configuration has 3 problem(s) (config/default.yaml + ${path}, with the environment):`);
    expect(result.stderr).toContain('  - server.port: must not be less than 0');
    expect(result.stderr).toContain('  - server.colour: should not exist');
    expect(result.stderr).toContain('  - session.ttlSeconds: must not be less than 60');
  });

  it('reports YAML that does not parse', () => {
    const path = file('server: [port: 1\n');
    const result = checkConfig(['--file', path], {});
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`  - ${path}: `);
  });

  it('a --file that does not exist is an error of its own', () => {
    expect(() => checkConfig(['--file', '/nonexistent/connector.yaml'], {})).toThrow(CommandError);
    expect(() => checkConfig(['--file', '/nonexistent/connector.yaml'], {})).toThrow('--file: /nonexistent/connector.yaml does not exist');
  });

  it('checks the file named by CONNECTOR_CONFIG when there is no --file', () => {
    const result = checkConfig([], { CONNECTOR_CONFIG: file('server:\n  shutdownGraceSeconds: 9999\n') });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('server.shutdownGraceSeconds: must not be greater than 600');
  });

  it('never prints a secret, even where a problem sits next to it', () => {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://clc:db-pass-0042@db.internal:5432/clc',
      REDIS_URL: 'redis://:redis-pass-0042@cache:6379',
      TENANT_SANDBOX_OAUTH_CLIENT_SECRET: 'oauth-secret-0042',
      CONNECTOR_ENCRYPTION_KEY: 'not-base64-key-0042',
    };
    const result = checkConfig([], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('security.encryptionKey: must be base64 of exactly 32 bytes');
    for (const secret of ['db-pass-0042', 'redis-pass-0042', 'oauth-secret-0042', 'not-base64-key-0042']) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it('describes PostgreSQL and Redis without their passwords', () => {
    const env = {
      DATABASE_URL: 'postgresql://clc:db-pass-0042@db.internal:5432/clc',
      REDIS_URL: 'redis://:redis-pass-0042@cache:6379',
      CONNECTOR_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    const result = checkConfig([], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('database: PostgreSQL postgresql://clc@db.internal:5432/clc');
    expect(result.stdout).toContain('nonces, sessions, rate limits: Redis redis://cache:6379');
    expect(result.stdout).not.toContain('pass-0042');
    expect(result.stdout).not.toContain(env.CONNECTOR_ENCRYPTION_KEY);
  });
});

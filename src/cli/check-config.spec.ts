import { randomBytes } from 'node:crypto';
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

  it('says it checked outside production, and warns loudly about the published demo credentials', () => {
    const result = checkConfig([], {});
    expect(result.stdout).toContain(
      '  mode: not production (NODE_ENV=unset): warnings that say "NODE_ENV=production refuses this" would stop a production start; check with NODE_ENV=production\n',
    );
    expect(result.stdout).toMatch(/^warning: PUBLISHED CREDENTIALS IN USE: tenants\[0\] \("sandbox"\)/m);
    expect(result.stdout).toMatch(/^warning: PUBLISHED CREDENTIALS IN USE: audit\.auditors\[0\] \("auditor"\) signs in with the demo password/m);
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
      CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(32).toString('base64'),
    };
    const result = checkConfig([], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('database: PostgreSQL postgresql://clc@db.internal:5432/clc');
    expect(result.stdout).toContain('nonces, sessions, rate limits: Redis redis://cache:6379');
    expect(result.stdout).not.toContain('pass-0042');
    expect(result.stdout).not.toContain(env.CONNECTOR_ENCRYPTION_KEY);
    expect(result.stdout).not.toContain(env.CONNECTOR_AUDIT_CHAIN_KEY);
  });

  describe('in production mode', () => {
    const strong = 'Xq7vLm2RtP9kWz4NbH6cJd8Fg3Ys5Ae1';
    /** A real tenant with strong secrets, which production accepts; each test spoils one thing. */
    const production = (yaml = '', env: Record<string, string> = {}) => ({
      NODE_ENV: 'production',
      CONNECTOR_CONFIG: file(
        'sandbox:\n  enabled: false\n' +
          (yaml.includes('audit:') ? '' : 'audit:\n  auditors: []\n') +
          yaml +
          'tenants:\n  - id: acme\n    name: Acme\n    companyDomains: [acme.example.com]\n    connector: { username: AcmeConnector1 }\n' +
          '    launch: { versions: [4] }\n    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c }\n' +
          `    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ${JSON.stringify(join(process.cwd(), 'config', 'lookup', 'projects.csv'))} }\n`,
      ),
      TENANT_ACME_CONNECTOR_PASSWORD: strong,
      TENANT_ACME_OAUTH_CLIENT_SECRET: 'acme-oauth-secret-0042',
      TENANT_ACME_OAUTH_REFRESH_TOKEN: 'acme-refresh-token-0042',
      CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(32).toString('base64'),
      METRICS_USERNAME: 'prometheus',
      METRICS_PASSWORD: 'scrape-secret-0042',
      ...env,
    });

    it('says OK, in production mode, to a safe configuration', () => {
      const result = checkConfig([], production());
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^configuration OK .*\n {2}mode: production \(NODE_ENV=production\)\n/);
      expect(result.stdout).not.toContain('warning:');
    });

    it('is not OK with a weak connector password or key, and says how to make strong ones', () => {
      const result = checkConfig([], production('', { TENANT_ACME_CONNECTOR_PASSWORD: 'acme-pw-0042', CONNECTOR_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') }));
      expect(result.exitCode).toBe(1);
      expect(result.stdout).not.toContain('configuration OK');
      expect(result.stderr).toContain('configuration has 2 problem(s)');
      expect(result.stderr).toMatch(/- tenants\[0\]\.connector\.password: is 12 characters long, shorter than the 20 required\..*Make one with `openssl rand -base64 36 \| tr -d '\/\+=' \| cut -c1-44`/);
      expect(result.stderr).toContain(
        '- security.encryptionKey: is all zero bytes, which anyone could guess; refused in production. Make a random one with `openssl rand -base64 32` (env CONNECTOR_ENCRYPTION_KEY).',
      );
      expect(result.stderr).not.toContain('acme-pw-0042');
    });

    it('is not OK with trustProxy: true, a trusted-header proxy of 0.0.0.0/0, or the sandbox secrets', () => {
      const yaml = 'server:\n  trustProxy: true\n';
      const header = 'audit:\n  auditors: []\n  trustedHeader: { enabled: true, proxies: ["0.0.0.0/0"] }\n';
      const result = checkConfig([], production(yaml + header, { TENANT_ACME_OAUTH_CLIENT_SECRET: 'sandbox-client-secret' }));
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('- server.trustProxy: true believes X-Forwarded-For from every client');
      expect(result.stderr).toContain('- audit.trustedHeader.proxies[0]: "0.0.0.0/0" is a /0: every IPv4 address');
      expect(result.stderr).toContain('- tenants[0].oauth.clientSecret: this is a published value of config/default.yaml');
    });

    it('is not OK without a chain key, or with the encryption key as chain key', () => {
      const missing = checkConfig([], production('', { CONNECTOR_AUDIT_CHAIN_KEY: '' }));
      expect(missing.stderr).toContain('- security.auditChainKey: required in production (env CONNECTOR_AUDIT_CHAIN_KEY)');
      const key = randomBytes(32).toString('base64');
      const same = checkConfig([], production('', { CONNECTOR_ENCRYPTION_KEY: key, CONNECTOR_AUDIT_CHAIN_KEY: key }));
      expect(same.exitCode).toBe(1);
      expect(same.stderr).toContain('- security.auditChainKey: must differ from security.encryptionKey; make its own with `openssl rand -base64 32`');
      expect(same.stderr).not.toContain(key);
    });
  });
});

import { redact, secretValues, urlSecrets } from './cli.output.js';
import { runCli, USAGE } from './run.js';

describe('runCli', () => {
  it.each([[[]], [['help']], [['--help']], [['-h']]])('%j prints the usage, exit code 0', async (argv) => {
    const result = await runCli(argv, {});
    expect(result).toEqual({ exitCode: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect(result.stdout).toMatch(/migrate[\s\S]*check-config[\s\S]*sign-launch/);
  });

  it('help <command> and <command> --help print that command’s usage', async () => {
    const help = await runCli(['help', 'sign-launch'], {});
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: concur-launch-connector sign-launch --tenant <id> --version 1|4 --base-url <url>');
    expect((await runCli(['check-config', '--help'], {})).stdout).toContain('Usage: concur-launch-connector check-config');
    expect((await runCli(['migrate', '-h'], {})).stdout).toContain('Usage: concur-launch-connector migrate');
  });

  it('an unknown command prints the usage on stderr, exit code 2', async () => {
    const result = await runCli(['serve'], {});
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown command "serve"');
    expect(result.stderr).toContain(USAGE);
    expect((await runCli(['help', 'serve'], {})).exitCode).toBe(2);
    expect((await runCli(['toString'], {})).exitCode).toBe(2);
  });

  it('an unknown option or a stray argument is a usage error, exit code 2', async () => {
    const unknown = await runCli(['check-config', '--flie', 'x.yaml'], {});
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^check-config: Unknown option '--flie'/);
    expect(unknown.stderr).toContain('Usage: concur-launch-connector check-config');
    const stray = await runCli(['migrate', 'now'], {});
    expect(stray.exitCode).toBe(2);
    const missing = await runCli(['sign-launch', '--tenant', 'sandbox'], {});
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^sign-launch: --version is required/);
  });

  it('a command error is printed with the command name, exit code 1', async () => {
    const result = await runCli(['sign-launch', '--tenant', 'nope', '--version', '4', '--base-url', 'https://c.example.com'], {});
    expect(result).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'sign-launch: unknown tenant "nope"; the configuration has: sandbox\n',
    });
  });
});

describe('secret redaction', () => {
  it('finds secrets in the environment by name, with the password of service URLs', () => {
    const secrets = secretValues({
      TENANT_ACME_CONNECTOR_PASSWORD: 'connector-pw',
      TENANT_ACME_CONNECTOR_USERNAME: 'AcmeConnector',
      TENANT_ACME_CONNECTOR_PASSWORD_FILE: '/run/secrets/pw',
      DATABASE_URL: 'postgresql://u:db%40pass@h/db',
      PORT: '3000',
      METRICS_PASSWORD: 'tiny',
    });
    expect(secrets).toEqual(['connector-pw', 'postgresql://u:db%40pass@h/db', 'db@pass']);
  });

  it('replaces each occurrence, longest first', () => {
    expect(redact('a secret-long and secret', ['secret', 'secret-long'])).toBe('a [redacted] and [redacted]');
  });

  it('a service URL is secret when it holds a password, in its user info or its query', () => {
    expect(urlSecrets('redis://cache:6379')).toEqual([]);
    expect(urlSecrets('postgresql://app@db:5432/clc')).toEqual([]);
    expect(urlSecrets('postgresql://app@db/clc?password=q-pass-1')).toEqual(['postgresql://app@db/clc?password=q-pass-1', 'q-pass-1']);
    expect(urlSecrets('not a url')).toEqual(['not a url']);
    expect(urlSecrets(undefined)).toEqual([]);
  });
});

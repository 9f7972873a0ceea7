import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type AppConfig, ConfigError, loadConfig } from '../config/index.js';
import { databaseInfoOf } from '../database/database.info.js';
import { redactedRedisUrl } from '../redis/redis.module.js';
import { type CliEnv, CliOutput, type CliResult, CommandError, redactResult, secretValues, urlSecrets } from './cli.output.js';

export const CHECK_CONFIG_USAGE = `Usage: concur-launch-connector check-config [--file <path>]

Validates the configuration the server would start with (config/default.yaml, the file named by
CONNECTOR_CONFIG, then the environment) and prints "configuration OK" with its warnings, or every
problem. --file <path> is laid over default.yaml instead of CONNECTOR_CONFIG. Exit code 1 on problems.
Run it with NODE_ENV=production to check what a production start refuses.`;

/** `check-config`: the server's own loading and validation, reported without starting anything. */
export function checkConfig(args: string[], env: CliEnv): CliResult {
  const { values } = parseArgs({ args, options: { file: { type: 'string' } }, strict: true, allowPositionals: false });
  const output = new CliOutput();
  let effective = env;
  let source = env.CONNECTOR_CONFIG ? `config/default.yaml + ${resolve(env.CONNECTOR_CONFIG)}` : 'config/default.yaml';
  if (values.file !== undefined) {
    const path = resolve(values.file);
    if (!existsSync(path)) throw new CommandError(`--file: ${path} does not exist`);
    effective = { ...env, CONNECTOR_CONFIG: path };
    source = `config/default.yaml + ${path}`;
  }
  let config: AppConfig;
  let warnings: string[];
  try {
    ({ config, warnings } = loadConfig(effective));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.error(`configuration has ${error.problems.length} problem(s) (${source}, with the environment):`);
    for (const problem of error.problems) output.error(`  - ${problem}`);
    return redactResult(output.done(1), secretValues(effective));
  }
  output.print(`configuration OK (${source}, with the environment)`);
  for (const line of summary(config, effective)) output.print(`  ${line}`);
  for (const warning of warnings) output.print(`warning: ${warning}`);
  return redactResult(output.done(0), secretValues(effective, secretsOf(config)));
}

function summary(config: AppConfig, env: CliEnv): string[] {
  const { server } = config;
  const tls = server.tls.certFile ? 'https' : 'http';
  // Production refuses what only warns elsewhere: say which way this was checked.
  const mode =
    env.NODE_ENV === 'production'
      ? 'production (NODE_ENV=production)'
      : `not production (NODE_ENV=${env.NODE_ENV ?? 'unset'}): warnings that say "NODE_ENV=production refuses this" would stop a production start; check with NODE_ENV=production`;
  return [
    `mode: ${mode}`,
    `listens on ${tls}://${server.host}:${server.port}`,
    `tenants: ${config.tenants.map((t) => `${t.id} (${t.companyDomains.join(', ')}; v${t.launch.versions.join(', v')})`).join('; ')}`,
    `database: ${databaseInfoOf(config.storage).description}`,
    `nonces, sessions, rate limits: ${config.redis.url ? `Redis ${redactedRedisUrl(config.redis.url)}` : 'in memory (one replica only)'}`,
    `sandbox: ${config.sandbox.enabled ? 'ON (demo only)' : 'off'}`,
  ];
}


function secretsOf(config: AppConfig): Array<string | undefined> {
  return [
    config.security.encryptionKey,
    config.security.auditChainKey,
    config.metrics.password,
    ...urlSecrets(config.storage.databaseUrl),
    ...urlSecrets(config.redis.url),
    ...config.tenants.flatMap((t) => [t.connector.password, t.oauth.clientSecret, t.oauth.refreshToken]),
  ];
}

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { migrateDatabase } from '../database/migrate.js';
import { type CliEnv, CliOutput, type CliResult, redactResult, secretValues, urlSecrets } from './cli.output.js';

export const MIGRATE_USAGE = `Usage: concur-launch-connector migrate

Applies every pending database migration to the configured database (SQLite in storage.dataDir,
or PostgreSQL at DATABASE_URL), then exits. For deployments that set storage.migrateOnStart: false
(DATABASE_MIGRATE_ON_START=false) and migrate from a Job instead. Safe to run more than once.`;

/** `migrate`: loads the configuration like the server, then runs the migrations and reports them. */
export async function migrate(args: string[], env: CliEnv): Promise<CliResult> {
  parseArgs({ args, options: {}, strict: true, allowPositionals: false });
  const output = new CliOutput();
  const secrets = secretValues(env);
  let config;
  try {
    ({ config } = loadConfig(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.error('migrate: the configuration is not valid:');
    for (const problem of error.problems) output.error(`  - ${problem}`);
    return redactResult(output.done(1), secrets);
  }
  try {
    const { location, applied } = await migrateDatabase(config);
    if (applied.length === 0) {
      output.print(`${location}: up to date, no migration to apply`);
    } else {
      output.print(`${location}: applied ${applied.length} migration(s):`);
      for (const name of applied) output.print(`  - ${name}`);
    }
    return redactResult(output.done(0), secrets);
  } catch (error) {
    output.error(`migrate failed: ${error instanceof Error ? error.message : String(error)}`);
    return redactResult(output.done(1), [...secrets, ...urlSecrets(config.storage.databaseUrl)]);
  }
}

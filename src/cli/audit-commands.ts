import { parseArgs } from 'node:util';
import { AuditRepository } from '../audit/audit.repository.js';
import { AuditService } from '../audit/audit.service.js';
import { readChainKey } from '../audit/chain-key.js';
import { describeVerification } from '../audit/verification-text.js';
import { type AppConfig, ConfigError, loadConfig } from '../config/index.js';
import { checkConnection, createKysely } from '../database/database.factory.js';
import { pendingMigrations } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { type CliEnv, CliOutput, type CliResult, redactResult, secretValues, UsageError, urlSecrets } from './cli.output.js';

export const VERIFY_AUDIT_USAGE = `Usage: concur-launch-connector verify-audit [--json]

Recomputes the audit log's hash chain in the configured database, from event #1 or from the
newest retention checkpoint, and prints "intact up to #N" with the head hash (compare it with a
head you kept from the log lines "audit chain head"), or the first broken or missing event and why.
Exit code 0 when intact, 1 when not. --json prints the result as one JSON object.

The hashes are HMACs under the audit chain key, which is not in the database: give the key the
connector runs with (CONNECTOR_AUDIT_CHAIN_KEY or CONNECTOR_AUDIT_CHAIN_KEY_FILE), or, for a
connector without a configured key, its data folder (CONNECTOR_DATA_DIR) holding audit-chain.key.`;

export const PURGE_AUDIT_USAGE = `Usage: concur-launch-connector purge-audit --older-than-days N

Removes audit events older than N days (N >= 1). An audit.purged event first records the range and
the hash it ended on, so the rest of the chain still verifies. audit.retention.days does this on
a schedule in the server; this command is for a one-off purge. Needs the audit chain key, as
verify-audit does.`;

/** `verify-audit`: loads the configuration like the server, then verifies the chain. */
export function verifyAudit(args: string[], env: CliEnv): Promise<CliResult> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true, allowPositionals: false });
  return withAuditLog('verify-audit', env, async (service, output) => {
    const result = await service.verify();
    if (values.json) output.print(JSON.stringify(result));
    else output.print(describeVerification(result));
    return result.intact ? 0 : 1;
  });
}

/** `purge-audit --older-than-days N`. */
export function purgeAudit(args: string[], env: CliEnv): Promise<CliResult> {
  const { values } = parseArgs({ args, options: { 'older-than-days': { type: 'string' } }, strict: true, allowPositionals: false });
  const raw = values['older-than-days'];
  if (raw === undefined) throw new UsageError('--older-than-days is required');
  if (!/^[1-9]\d{0,4}$/.test(raw)) throw new UsageError(`--older-than-days must be a whole number of days from 1 to 99999 (got "${raw}")`);
  return withAuditLog('purge-audit', env, async (service, output) => {
    const result = await service.purgeOlderThan(Number(raw), 'cli purge-audit');
    if (result.purged === 0) output.print(`nothing to purge: no event occurred before ${result.cutoff}`);
    else output.print(`purged ${result.purged} event(s) #${result.fromSeq}..#${result.throughSeq} (before ${result.cutoff}); checkpoint event #${result.checkpointSeq}`);
    return 0;
  });
}

/** Opens the configured database (its migrations applied), runs `work` on its audit log and closes it. */
async function withAuditLog(
  name: string,
  env: CliEnv,
  work: (service: AuditService, output: CliOutput) => Promise<number>,
): Promise<CliResult> {
  const output = new CliOutput();
  const secrets = secretValues(env);
  let config: AppConfig;
  try {
    ({ config } = loadConfig(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.error(`${name}: the configuration is not valid:`);
    for (const problem of error.problems) output.error(`  - ${problem}`);
    return redactResult(output.done(1), secrets);
  }
  // The configured key is a secret whatever its variable's name (a _FILE's content is not in the environment).
  if (config.security.auditChainKey) secrets.push(config.security.auditChainKey);
  const { db, info } = createKysely(config.storage);
  try {
    await checkConnection(db, info);
    const pending = await pendingMigrations(db);
    if (pending.length > 0) {
      output.error(`${name}: ${info.description} lacks migrations (${pending.join(', ')}): run \`concur-launch-connector migrate\` first`);
      return redactResult(output.done(1), secrets);
    }
    // Throws, saying how to give it, when there is no key: nothing can be checked or appended without it.
    const chainKey = readChainKey(config);
    const exitCode = await work(new AuditService(new AuditRepository(db), new Metrics(), config, chainKey), output);
    return redactResult(output.done(exitCode), secrets);
  } catch (error) {
    output.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return redactResult(output.done(1), [...secrets, ...urlSecrets(config.storage.databaseUrl)]);
  } finally {
    await db.destroy();
  }
}

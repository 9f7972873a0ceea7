import { PURGE_AUDIT_USAGE, purgeAudit, VERIFY_AUDIT_USAGE, verifyAudit } from './audit-commands.js';
import { CHECK_CONFIG_USAGE, checkConfig } from './check-config.js';
import { type CliEnv, CliOutput, type CliResult, CommandError, redactResult, secretValues, UsageError } from './cli.output.js';
import { HASH_PASSWORD_USAGE, hashPasswordCommand } from './hash-password.js';
import { MIGRATE_USAGE, migrate } from './migrate.js';
import { SIGN_LAUNCH_USAGE, signLaunch } from './sign-launch.js';

export const USAGE = `Usage: concur-launch-connector <command> [options]

Commands:
  migrate                 apply pending database migrations, then exit
  check-config [--file]   validate the configuration and print its problems or warnings
  sign-launch ...         print a signed launch URL for a tenant (smoke-test a deployment)
  hash-password [--stdin] print the hash of an auditor's password for audit.auditors
  verify-audit [--json]   recompute the audit log's hash chain: intact up to #N, or where it breaks
  purge-audit --older-than-days N   remove old audit events behind a checkpoint that keeps the chain verifiable
  help [command]          this text, or a command's options

The configuration is read as the server reads it: config/default.yaml, the file named by
CONNECTOR_CONFIG, then the environment (TENANT_<ID>_CONNECTOR_PASSWORD, DATABASE_URL, ...).`;

interface Command {
  usage: string;
  run(args: string[], env: CliEnv): CliResult | Promise<CliResult>;
}

const COMMANDS: Record<string, Command> = {
  migrate: { usage: MIGRATE_USAGE, run: migrate },
  'check-config': { usage: CHECK_CONFIG_USAGE, run: checkConfig },
  'sign-launch': { usage: SIGN_LAUNCH_USAGE, run: signLaunch },
  'verify-audit': { usage: VERIFY_AUDIT_USAGE, run: verifyAudit },
  'purge-audit': { usage: PURGE_AUDIT_USAGE, run: purgeAudit },
  'hash-password': { usage: HASH_PASSWORD_USAGE, run: (args, env) => hashPasswordCommand(args, env) },
};

/** Runs one CLI invocation (`argv` without node and the script) and returns what to print and the exit code. */
export async function runCli(argv: string[], env: CliEnv): Promise<CliResult> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? args[0] : undefined;
    if (topic === undefined) return new CliOutput().print(USAGE).done(0);
    const command = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
    if (!command) return new CliOutput().error(`unknown command "${topic}"`).error('').error(USAGE).done(2);
    return new CliOutput().print(command.usage).done(0);
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return new CliOutput().error(`unknown command "${name}"`).error('').error(USAGE).done(2);
  if (args.includes('--help') || args.includes('-h')) return new CliOutput().print(command.usage).done(0);
  return redactResult(await runCommand(name, command, args, env), secretValues(env));
}

async function runCommand(name: string, command: Command, args: string[], env: CliEnv): Promise<CliResult> {
  try {
    return await command.run(args, env);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      return new CliOutput().error(`${name}: ${(error as Error).message}`).error('').error(command.usage).done(2);
    }
    if (error instanceof CommandError) return new CliOutput().error(`${name}: ${error.message}`).done(1);
    return new CliOutput().error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`).done(1);
  }
}

/** node:util parseArgs reports unknown options, missing values and stray arguments with these codes. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** The environment a command reads (process.env in the real CLI, a plain object in tests). */
export type CliEnv = Record<string, string | undefined>;

/** What a command did: the process exit code and everything it printed. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Collects a command's output; `done` turns it into a result. */
export class CliOutput {
  private readonly out: string[] = [];
  private readonly err: string[] = [];

  print(line: string): this {
    this.out.push(line);
    return this;
  }

  error(line: string): this {
    this.err.push(line);
    return this;
  }

  done(exitCode: number): CliResult {
    const text = (lines: string[]) => (lines.length ? `${lines.join('\n')}\n` : '');
    return { exitCode, stdout: text(this.out), stderr: text(this.err) };
  }
}

/** Wrong arguments: the command's usage is printed with the message, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A problem the person can act on: the message is printed, exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

const SECRET_ENV = /PASSWORD|SECRET|TOKEN|ENCRYPTION_KEY|AUDIT_CHAIN_KEY|DATABASE_URL|REDIS_URL/i;
const MIN_SECRET_LENGTH = 6;

/** Secret values found in the environment (and given extras), to keep them out of anything printed. */
export function secretValues(env: CliEnv, extra: Array<string | undefined> = []): string[] {
  const fromEnv = Object.entries(env)
    .filter(([name, value]) => SECRET_ENV.test(name) && !name.endsWith('_FILE') && value !== undefined)
    .flatMap(([name, value]) => (name.endsWith('_URL') ? urlSecrets(value) : [value as string]));
  return [...fromEnv, ...extra].filter((value): value is string => value !== undefined && value.length >= MIN_SECRET_LENGTH);
}

/** A service URL's password (decoded, also `?password=`) and the whole URL when it holds one. */
export function urlSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const parsed = new URL(url);
    const passwords = [decodeURIComponent(parsed.password), parsed.searchParams.get('password') ?? ''].filter(Boolean);
    return passwords.length || parsed.search ? [url, ...passwords] : [];
  } catch {
    return [url];
  }
}

/** Replaces every occurrence of a secret value, longest first. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of [...new Set(secrets)].sort((a, b) => b.length - a.length)) out = out.split(secret).join('[redacted]');
  return out;
}

export function redactResult(result: CliResult, secrets: string[]): CliResult {
  if (secrets.length === 0) return result;
  return { ...result, stdout: redact(result.stdout, secrets), stderr: redact(result.stderr, secrets) };
}

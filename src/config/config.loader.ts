import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { parseAddressRange } from '../audit/access/address-range.js';
import { DEMO_AUDITOR, isDemoPasswordHash, parsePasswordHash } from '../audit/access/password-hash.js';
import { AppConfig } from './config.schema.js';
import { KEY_RECIPE, PASSWORD_RECIPE, keyWeakness, passwordWeakness } from './secret-strength.js';
import { type Finding, type MinPrefix, trustProxyFindings, trustedHeaderProxyFindings } from './trusted-proxies.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: AppConfig;
  warnings: string[];
}

type Env = Record<string, string | undefined>;
type Plain = Record<string, unknown>;

const PLACEHOLDER = /change[-_ ]?me|placeholder|from-env|^x+$/i;

/** The folder that holds `default.yaml`: `config/` at the package root. */
export function defaultConfigDir(): string {
  return resolve(import.meta.dirname, '..', '..', 'config');
}

/**
 * Reads `config/default.yaml`, lays the file named by CONNECTOR_CONFIG over it, applies the
 * environment overrides and validates the result. Throws ConfigError listing every bad key.
 */
export function loadConfig(env: Env = process.env, overrides?: Plain): LoadedConfig {
  const problems: string[] = [];
  const baseDir = defaultConfigDir();
  let raw = readYaml(join(baseDir, 'default.yaml'), problems);
  let configDir = baseDir;
  const extra = env.CONNECTOR_CONFIG;
  if (extra) {
    const path = resolve(extra);
    if (!existsSync(path)) {
      problems.push(`CONNECTOR_CONFIG: file ${path} does not exist`);
    } else {
      const layer = readYaml(path, problems);
      raw = deepMerge(raw, layer);
      // Relative lookup paths belong to the file that lists the tenants.
      if ('tenants' in layer) configDir = dirname(path);
    }
  }
  if (overrides) raw = deepMerge(raw, overrides);
  applyEnv(raw, env, problems);
  if (problems.length) throw new ConfigError(problems);
  return validateConfig(raw, configDir, env);
}

interface DomainSigner {
  at: string;
  domain: string;
  tenantId: string;
  /** The HMAC key the launch signatures of this domain are checked with. */
  key: string;
}

function signingKeyOf(connector: { username: string; password: string }): string {
  return `${connector.username.toLowerCase()}\u0000${connector.password}`;
}

/**
 * The signed base string joins its values with no separator, starting with the company domain and
 * the user: with "acme.co" and "acme.com" under one key, a URL signed for user "mjane" of
 * "acme.co" verifies as user "jane" of "acme.com" when the "m" is moved across. Such pairs are
 * refused (case-insensitively, which is stricter than the base string's exact bytes).
 */
function prefixDomainProblems(signers: readonly DomainSigner[]): string[] {
  const problems: string[] = [];
  for (const short of signers) {
    for (const long of signers) {
      const [a, b] = [short.domain.toLowerCase(), long.domain.toLowerCase()];
      if (a.length >= b.length || !b.startsWith(a) || short.key !== long.key) continue;
      const where = long.tenantId === short.tenantId ? 'in the same tenant' : `of tenant "${long.tenantId}", with the same connector credentials`;
      problems.push(
        `${short.at}.companyDomains: "${short.domain}" is the beginning of "${long.domain}" ${where}. Concur's signature ` +
          `joins the company domain and the user id without a separator, so a launch signed for a user of "${short.domain}" ` +
          `could be passed off as one of "${long.domain}". Remove the domain that Concur does not send, or register the ` +
          `other with its own connector credentials.`,
      );
    }
  }
  return problems;
}

/** Validates an already merged plain object (used by the loader, `check-config` and tests). */
export function validateConfig(raw: Plain, configDir: string, env: Env = process.env): LoadedConfig {
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const problems = flatten(validateSync(config, { whitelist: true, forbidNonWhitelisted: true }));
  config.configDir = configDir;
  const warnings: string[] = [];
  // Cross-checks run even when some keys are malformed, so one start reports every problem;
  // a part too malformed to check was already reported by the validator.
  try {
    crossCheck(config, env, problems, warnings);
  } catch {
    /* reported above */
  }
  if (problems.length) throw new ConfigError(problems);
  return { config, warnings };
}

/** The tenant secrets: where they sit in a tenant, and the suffix of their environment variable. */
const PUBLISHABLE: Array<[section: string, key: string, envSuffix: string]> = [
  ['connector', 'password', 'CONNECTOR_PASSWORD'],
  ['oauth', 'clientSecret', 'OAUTH_CLIENT_SECRET'],
  ['oauth', 'refreshToken', 'OAUTH_REFRESH_TOKEN'],
];

/**
 * The tenant secrets config/default.yaml ships (the sandbox tenant's), read from the file itself so
 * that it stays the one place that knows them: anyone can read them, so no real tenant may use them.
 */
export function publishedSecrets(): Set<string> {
  const raw = readYaml(join(defaultConfigDir(), 'default.yaml'), []);
  const published = new Set<string>();
  for (const tenant of Array.isArray(raw.tenants) ? raw.tenants : []) {
    if (!isPlain(tenant)) continue;
    for (const [section, key] of PUBLISHABLE) {
      const value = isPlain(tenant[section]) ? tenant[section][key] : undefined;
      if (typeof value === 'string' && value !== '') published.add(value);
    }
  }
  return published;
}

/** Opens the start-up warnings about credentials anyone can read, so they stand out in the log. */
export const PUBLISHED_CREDENTIALS_WARNING = 'PUBLISHED CREDENTIALS IN USE';

function crossCheck(config: AppConfig, env: Env, problems: string[], warnings: string[]): void {
  const production = env.NODE_ENV === 'production';
  /** A setting production refuses: a problem under NODE_ENV=production, a warning elsewhere. */
  const report = ({ key, what, todo, unsafe }: Finding): void => {
    const then = todo ? ` ${todo}.` : '';
    if (!unsafe) problems.push(`${key}: ${what}${todo ? `. ${todo}` : ''}`);
    else if (production) problems.push(`${key}: ${what}; refused in production.${then}`);
    else warnings.push(`${key}: ${what}; NODE_ENV=production refuses this.${then}`);
  };
  const minPrefix: MinPrefix = { ...config.security.trustedProxyMinPrefix };
  trustProxyFindings(config.server.trustProxy, minPrefix).forEach(report);
  if (config.sandbox.enabled && production) {
    problems.push('sandbox.enabled: the sandbox must be off when NODE_ENV=production');
  }
  if (config.paths.v1Launch === config.paths.v4Launch) {
    problems.push('paths: v1Launch and v4Launch must differ');
  }
  const ids = new Set<string>();
  const domains = new Map<string, string>();
  const signers: DomainSigner[] = [];
  const published = publishedSecrets();
  (Array.isArray(config.tenants) ? config.tenants : []).forEach((tenant, i) => {
    try {
      checkTenant(tenant, i);
    } catch {
      /* a malformed tenant: the validator has said what is wrong with it */
    }
  });
  problems.push(...prefixDomainProblems(signers));
  function checkTenant(tenant: AppConfig['tenants'][number], i: number): void {
    const at = `tenants[${i}]`;
    if (ids.has(tenant.id)) problems.push(`${at}.id: "${tenant.id}" is used by another tenant`);
    ids.add(tenant.id);
    for (const domain of tenant.companyDomains) {
      const key = domain.toLowerCase();
      const other = domains.get(key);
      if (other) problems.push(`${at}.companyDomains: "${domain}" already belongs to tenant "${other}"`);
      domains.set(key, tenant.id);
      signers.push({ at, domain, tenantId: tenant.id, key: signingKeyOf(tenant.connector) });
    }
    if (tenant.launch.versions.includes(1) && !tenant.fields.v1) {
      problems.push(`${at}.fields.v1.field: required when launch.versions includes 1`);
    }
    const v4 = tenant.fields.v4;
    if (tenant.launch.versions.includes(4) && v4.header.length + v4.entry.length + v4.allocation.length === 0) {
      problems.push(`${at}.fields.v4: list at least one writable field id when launch.versions includes 4`);
    }
    if (tenant.oauth.baseUrl === 'sandbox' && !config.sandbox.enabled) {
      problems.push(`${at}.oauth.baseUrl: "sandbox" needs sandbox.enabled: true`);
    }
    if (production && tenant.oauth.baseUrl !== 'sandbox' && !tenant.oauth.baseUrl.startsWith('https://')) {
      problems.push(`${at}.oauth.baseUrl: must be https:// in production`);
    }
    const { username, password } = tenant.connector;
    if (username.length < 10 || username.length > 50 || password.length < 10 || password.length > 50) {
      warnings.push(
        `${at}.connector: Concur now requires username and password of 10 to 50 characters; older registrations may be shorter`,
      );
    }
    if (production) {
      const secrets: Array<[string, string]> = [
        ['connector.password', password],
        ['oauth.clientSecret', tenant.oauth.clientSecret],
        ['oauth.refreshToken', tenant.oauth.refreshToken],
      ];
      for (const [key, value] of secrets) {
        if (PLACEHOLDER.test(value)) problems.push(`${at}.${key}: a placeholder value is refused in production`);
      }
    }
    checkPublished(tenant, at);
    const weakness = PLACEHOLDER.test(password) || published.has(password) ? undefined : passwordWeakness(password);
    if (weakness) {
      report({
        key: `${at}.connector.password`,
        unsafe: true,
        what:
          `${weakness}. It is the key of every launch URL's signature, and every employee sees signed URLs, ` +
          'so it must resist offline guessing: 40 to 50 random characters',
        todo: `Make one with \`${PASSWORD_RECIPE}\`, register it in Concur's application connector and set ${tenantEnvPrefix(tenant.id)}CONNECTOR_PASSWORD`,
      });
    }
    const lookupPath = resolve(config.configDir, tenant.lookup.file);
    if (!existsSync(lookupPath)) problems.push(`${at}.lookup.file: ${lookupPath} does not exist`);
  }
  /** The secrets config/default.yaml ships, wherever they turn up: refused in production, loudly warned about elsewhere. */
  function checkPublished(tenant: AppConfig['tenants'][number], at: string): void {
    const values: Record<string, string> = {
      'connector.password': tenant.connector.password,
      'oauth.clientSecret': tenant.oauth.clientSecret,
      'oauth.refreshToken': tenant.oauth.refreshToken,
    };
    const found = PUBLISHABLE.filter(([section, key]) => published.has(values[`${section}.${key}`]));
    if (!found.length) return;
    const prefix = tenantEnvPrefix(tenant.id);
    if (production) {
      for (const [section, key, envSuffix] of found) {
        problems.push(
          `${at}.${section}.${key}: this is a published value of config/default.yaml (the sandbox tenant's), which anyone can read; ` +
            `refused in production. Set ${prefix}${envSuffix} to your tenant's own value` +
            (key === 'password' ? ` (make one with \`${PASSWORD_RECIPE}\` and register it in Concur's application connector)` : ''),
        );
      }
      return;
    }
    const keys = found.map(([section, key]) => `${section}.${key}`).join(', ');
    const signs = found.some(([, key]) => key === 'password')
      ? `anyone can sign launch URLs for ${tenant.companyDomains.join(', ')} and act as its users in the popup`
      : 'anyone can use them against its OAuth endpoint';
    warnings.push(
      `${PUBLISHED_CREDENTIALS_WARNING}: ${at} ("${tenant.id}") uses ${keys} as published in config/default.yaml, so ${signs}. ` +
        (tenant.oauth.baseUrl === 'sandbox' ? 'Fine for the demo sandbox on your own machine; ' : '') +
        `NODE_ENV=production refuses them. For a real tenant set ` +
        found.map(([, , envSuffix]) => `${prefix}${envSuffix}`).join(', ') +
        ' to its own values.',
    );
  }
  const { certFile, keyFile } = config.server.tls;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push('server.tls: set both certFile and keyFile, or neither');
  }
  for (const [name, file] of [['certFile', certFile], ['keyFile', keyFile]] as const) {
    if (file !== undefined && !existsSync(file)) problems.push(`server.tls.${name}: ${file} does not exist`);
  }
  if ((config.metrics.username === undefined) !== (config.metrics.password === undefined)) {
    problems.push('metrics: set both username and password (METRICS_USERNAME, METRICS_PASSWORD), or neither');
  } else if (production && config.metrics.enabled && config.metrics.username === undefined) {
    warnings.push(
      'metrics: /metrics is open to anyone who reaches the connector, which Concur must reach from the internet; set METRICS_USERNAME and METRICS_PASSWORD, or block /metrics at the ingress',
    );
  }
  try {
    checkAudit(config, production, problems, warnings, minPrefix, report);
  } catch {
    /* a malformed audit section: the validator has said what is wrong with it */
  }
  // A generated key lives in one replica's data folder: the others could not open what it sealed
  // (refresh tokens in the database, the token cache in Redis), nor extend or check its audit chain.
  const encryptionKey = checkKey('security.encryptionKey', 'CONNECTOR_ENCRYPTION_KEY', config.security.encryptionKey, {
    production,
    shared: config.storage.databaseUrl || config.redis.url ? 'DATABASE_URL or REDIS_URL' : undefined,
    problems,
    report,
  });
  // The chain lives in the database only: with SQLite it is this replica's own, whatever REDIS_URL says.
  const chainKey = checkKey('security.auditChainKey', 'CONNECTOR_AUDIT_CHAIN_KEY', config.security.auditChainKey, {
    production,
    shared: config.storage.databaseUrl ? 'DATABASE_URL' : undefined,
    problems,
    report,
  });
  // verify-audit needs the chain key: whoever is given it to check the log must not also be able to open stored tokens.
  if (encryptionKey && chainKey && timingSafeEqual(encryptionKey, chainKey)) {
    problems.push(`security.auditChainKey: must differ from security.encryptionKey; make its own with \`${KEY_RECIPE}\``);
  }
}

/** A 32-byte key setting: its format, where it is required, and (refused in production) a key that is not random. */
function checkKey(
  key: string,
  envName: string,
  value: string | undefined,
  context: { production: boolean; shared: string | undefined; problems: string[]; report: (finding: Finding) => void },
): Buffer | undefined {
  const { production, shared, problems, report } = context;
  if (value === undefined) {
    if (production) problems.push(`${key}: required in production (env ${envName})`);
    else if (shared) problems.push(`${key}: required with ${shared}, the same on every replica (env ${envName})`);
    return undefined;
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 32) {
    problems.push(`${key}: must be base64 of exactly 32 bytes (${KEY_RECIPE})`);
    return undefined;
  }
  const weakness = keyWeakness(bytes);
  if (weakness) report({ key, unsafe: true, what: `${weakness}, which anyone could guess`, todo: `Make a random one with \`${KEY_RECIPE}\` (env ${envName})` });
  return bytes;
}

function checkAudit(
  config: AppConfig,
  production: boolean,
  problems: string[],
  warnings: string[],
  minPrefix: MinPrefix,
  report: (finding: Finding) => void,
): void {
  const names = new Map<string, number>();
  const reported = new Set(problems.map((problem) => problem.split(':')[0]));
  config.audit.auditors.forEach(({ username, passwordHash }, i) => {
    const at = `audit.auditors[${i}]`;
    if (typeof username === 'string') {
      const name = username.toLowerCase();
      if (names.has(name)) problems.push(`${at}.username: "${username}" is also auditors[${names.get(name)}] (user names are compared ignoring case)`);
      else names.set(name, i);
    }
    if (reported.has(`${at}.passwordHash`)) return;
    if (!parsePasswordHash(passwordHash)) {
      problems.push(`${at}.passwordHash: unsupported scrypt parameters; make a new hash with \`concur-launch-connector hash-password\``);
    } else if (isDemoPasswordHash(passwordHash)) {
      // The demo password is published in config/default.yaml: whatever the salt, anyone could sign in.
      const todo = 'set audit.auditors to your own accounts (hashes from `concur-launch-connector hash-password`), or to [] for none';
      if (production) problems.push(`${at}.passwordHash: this is the demo password "${DEMO_AUDITOR.password}", refused in production; ${todo}`);
      else {
        warnings.push(
          `${PUBLISHED_CREDENTIALS_WARNING}: ${at} ("${username}") signs in with the demo password "${DEMO_AUDITOR.password}", published in ` +
            `config/default.yaml and the README, so whoever reaches /audit with it reads the audit log. NODE_ENV=production refuses it; ${todo}.`,
        );
      }
    }
  });
  const trusted = config.audit.trustedHeader;
  if (trusted.enabled && trusted.proxies.length === 0) {
    problems.push('audit.trustedHeader.proxies: list the addresses of the sign-in proxies when trustedHeader.enabled is true; anyone else could send the headers');
  }
  trusted.proxies.forEach((proxy, i) => {
    if (!reported.has(`audit.trustedHeader.proxies`) && !parseAddressRange(proxy)) {
      problems.push(`audit.trustedHeader.proxies[${i}]: "${proxy}" is not an IP address or address/prefix`);
    }
  });
  trustedHeaderProxyFindings(trusted.proxies, minPrefix).forEach(report);
}

function readYaml(path: string, problems: string[]): Plain {
  try {
    const value: unknown = parseYaml(readFileSync(path, 'utf8'));
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${path}: the top level must be a mapping of keys`);
      return {};
    }
    return value as Plain;
  } catch (error) {
    problems.push(`${path}: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
}

/** Objects merge key by key; arrays and scalars of the overlay replace the base. */
export function deepMerge(base: Plain, overlay: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const current = out[key];
    out[key] = isPlain(current) && isPlain(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads VAR, or the file named by VAR_FILE (Kubernetes secrets mounted as files). */
function envValue(env: Env, name: string, problems: string[]): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      problems.push(`${name}_FILE: cannot read ${file}`);
      return undefined;
    }
  }
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function set(raw: Plain, path: string[], value: unknown): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    if (!isPlain(node[key])) node[key] = {};
    node = node[key] as Plain;
  }
  node[path[path.length - 1]] = value;
}

/** Environment variable prefix of a tenant's secrets: TENANT_<ID>_ with the id upper-cased, '-' as '_'. */
export function tenantEnvPrefix(id: string): string {
  return `TENANT_${id.toUpperCase().replace(/-/g, '_')}_`;
}

const TENANT_SECRETS: Array<[string, string[]]> = [
  ['CONNECTOR_USERNAME', ['connector', 'username']],
  ['CONNECTOR_PASSWORD', ['connector', 'password']],
  ['OAUTH_CLIENT_ID', ['oauth', 'clientId']],
  ['OAUTH_CLIENT_SECRET', ['oauth', 'clientSecret']],
  ['OAUTH_REFRESH_TOKEN', ['oauth', 'refreshToken']],
];

const PLAIN_ENV: Array<[string, string[], 'string' | 'boolean']> = [
  ['DATABASE_URL', ['storage', 'databaseUrl'], 'string'],
  ['DATABASE_MIGRATE_ON_START', ['storage', 'migrateOnStart'], 'boolean'],
  ['REDIS_URL', ['redis', 'url'], 'string'],
  ['METRICS_USERNAME', ['metrics', 'username'], 'string'],
  ['METRICS_PASSWORD', ['metrics', 'password'], 'string'],
  ['LOG_LEVEL', ['logging', 'level'], 'string'],
  ['LOG_FORMAT', ['logging', 'format'], 'string'],
  ['TLS_CERT_FILE', ['server', 'tls', 'certFile'], 'string'],
  ['TLS_KEY_FILE', ['server', 'tls', 'keyFile'], 'string'],
];

/** "true"/"false" become booleans; anything else stays a string for the validator to refuse. */
function booleanOf(value: string): boolean | string {
  return value === 'true' ? true : value === 'false' ? false : value;
}

function applyEnv(raw: Plain, env: Env, problems: string[]): void {
  const port = envValue(env, 'PORT', problems);
  if (port !== undefined) set(raw, ['server', 'port'], /^\d+$/.test(port) ? Number(port) : port);
  const key = envValue(env, 'CONNECTOR_ENCRYPTION_KEY', problems);
  if (key !== undefined) set(raw, ['security', 'encryptionKey'], key);
  const chainKey = envValue(env, 'CONNECTOR_AUDIT_CHAIN_KEY', problems);
  if (chainKey !== undefined) set(raw, ['security', 'auditChainKey'], chainKey);
  const dataDir = envValue(env, 'CONNECTOR_DATA_DIR', problems);
  if (dataDir !== undefined) set(raw, ['storage', 'dataDir'], dataDir);
  const sandbox = envValue(env, 'CONNECTOR_SANDBOX', problems);
  if (sandbox !== undefined) set(raw, ['sandbox', 'enabled'], booleanOf(sandbox));
  for (const [name, path, kind] of PLAIN_ENV) {
    const value = envValue(env, name, problems);
    if (value !== undefined) set(raw, path, kind === 'boolean' ? booleanOf(value) : value);
  }
  const tenants = Array.isArray(raw.tenants) ? raw.tenants : [];
  for (const tenant of tenants) {
    if (!isPlain(tenant) || typeof tenant.id !== 'string') continue;
    const prefix = tenantEnvPrefix(tenant.id);
    for (const [suffix, path] of TENANT_SECRETS) {
      const value = envValue(env, prefix + suffix, problems);
      if (value !== undefined) set(tenant, path, value);
    }
  }
}

function flatten(errors: ValidationError[], parent = ''): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const path = parent ? (/^\d+$/.test(error.property) ? `${parent}[${error.property}]` : `${parent}.${error.property}`) : error.property;
    if (error.constraints) {
      for (const message of Object.values(error.constraints)) {
        out.push(`${path}: ${message.replace(/^property \S+ /, '').replace(`${error.property} `, '')}`);
      }
    }
    if (error.children?.length) out.push(...flatten(error.children, path));
  }
  return out;
}

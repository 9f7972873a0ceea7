import { parseArgs } from 'node:util';
import type { LaunchVersion } from '../auth/launch.types.js';
import { v1LaunchParams, v4LaunchParams } from '../auth/launch-params.js';
import { buildSignedQuery, type LaunchParams } from '../auth/signature.js';
import { type AppConfig, ConfigError, loadConfig, type TenantConfig } from '../config/index.js';
import { type ItemLevel, type ItemRef, ItemUrlError } from '../concur/concur.types.js';
import { SANDBOX_PATH_PREFIX } from '../concur/host-allow-list.js';
import { parseItemUrl } from '../concur/item-url.js';
import { SANDBOX_USER, SandboxStore } from '../sandbox/sandbox.store.js';
import { type CliEnv, CliOutput, type CliResult, CommandError, redactResult, secretValues, UsageError } from './cli.output.js';

export const SIGN_LAUNCH_USAGE = `Usage: concur-launch-connector sign-launch --tenant <id> --version 1|4 --base-url <url> [options]

Prints one launch URL as Concur would open it: signed with the tenant's connector credentials
(configuration and environment, as the server reads them) and a fresh nonce. Each URL works once.

  --tenant <id>          a tenant id of the configuration
  --version 1|4          v1: a v3 expense entry; v4: a report header, expense or allocation
  --base-url <url>       the connector's public address, e.g. https://connector.example.com
  --item-url <url>       the Concur item to launch on (a sandbox tenant defaults to a sandbox item at --base-url)
  --user <id>            v1: xuserid, the login id; v4: logged_in_user_id (default: the user in --item-url)
  --owner <id>           v4: report_owner_user_id (default: the user in --item-url)
  --employee-id <id>     v4: report_owner_employee_id
  --level <level>        v4: HEADER, ENTRY or ALLOCATION (default: what --item-url names; the sandbox item: ENTRY)
  --field <id>           v4: custom_field_launched_from, e.g. custom9 (default: the tenant's first field for the level)
  --expense-ids <ids>    v4 allocation: expense_ids, comma-separated
  --company-domain <d>   one of the tenant's company domains (default: the first)
  --language <code>      v4: language_code (default: en)
  --mobile               v4: is_mobile=true
  --client-auth-code <c> v4: client_auth_code, a code Concur's OAuth2 service issued (default: none)

Smoke test of a deployment (expect 303, the redirect to the session page):
  curl -s -o /dev/null -w '%{http_code}\\n' "$(concur-launch-connector sign-launch --tenant acme --version 4 \\
    --base-url https://connector.example.com \\
    --item-url https://us.api.concursolutions.com/expensereports/v4/users/<uuid>/context/TRAVELER/reports/<id>)"`;

export interface SignLaunchOptions {
  tenant: string;
  version: LaunchVersion;
  baseUrl: string;
  itemUrl?: string;
  user?: string;
  owner?: string;
  employeeId?: string;
  level?: ItemLevel;
  field?: string;
  expenseIds?: string;
  companyDomain?: string;
  language?: string;
  mobile?: boolean;
  clientAuthCode?: string;
}

export interface SignedLaunch {
  url: string;
  /** One line on what was signed, without secrets. */
  description: string;
}

const LEVELS: readonly ItemLevel[] = ['HEADER', 'ENTRY', 'ALLOCATION'];
const RULE_KEY = { HEADER: 'header', ENTRY: 'entry', ALLOCATION: 'allocation' } as const;

/** `sign-launch`: prints the URL on stdout (and only it), what it is on stderr. */
export function signLaunch(args: string[], env: CliEnv): CliResult {
  const options = signLaunchOptionsOf(args);
  const output = new CliOutput();
  let config: AppConfig;
  try {
    ({ config } = loadConfig(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.error('sign-launch: the configuration is not valid:');
    for (const problem of error.problems) output.error(`  - ${problem}`);
    return redactResult(output.done(1), secretValues(env));
  }
  const { url, description } = buildLaunchUrl(config, options);
  output.print(url).error(description);
  return output.done(0);
}

export function signLaunchOptionsOf(args: string[]): SignLaunchOptions {
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      tenant: text,
      version: text,
      'base-url': text,
      'item-url': text,
      user: text,
      owner: text,
      'employee-id': text,
      level: text,
      field: text,
      'expense-ids': text,
      'company-domain': text,
      language: text,
      mobile: { type: 'boolean' },
      'client-auth-code': text,
    },
  });
  for (const name of ['tenant', 'version', 'base-url'] as const) {
    if (!values[name]) throw new UsageError(`--${name} is required`);
  }
  if (values.version !== '1' && values.version !== '4') throw new UsageError('--version must be 1 or 4');
  const level = values.level?.toUpperCase();
  if (level !== undefined && !LEVELS.includes(level as ItemLevel)) throw new UsageError('--level must be HEADER, ENTRY or ALLOCATION');
  return {
    tenant: values.tenant!,
    version: Number(values.version) as LaunchVersion,
    baseUrl: values['base-url']!,
    itemUrl: values['item-url'],
    user: values.user,
    owner: values.owner,
    employeeId: values['employee-id'],
    level: level as ItemLevel | undefined,
    field: values.field,
    expenseIds: values['expense-ids'],
    companyDomain: values['company-domain'],
    language: values.language,
    mobile: values.mobile,
    clientAuthCode: values['client-auth-code'],
  };
}

/** The signed launch URL for a tenant of `config`. Throws CommandError with what to change. */
export function buildLaunchUrl(config: AppConfig, o: SignLaunchOptions): SignedLaunch {
  const tenant = config.tenants.find((t) => t.id === o.tenant);
  if (!tenant) {
    throw new CommandError(`unknown tenant "${o.tenant}"; the configuration has: ${config.tenants.map((t) => t.id).join(', ')}`);
  }
  if (!tenant.launch.versions.includes(o.version)) {
    throw new CommandError(`tenant ${tenant.id} does not accept v${o.version} launches (launch.versions: ${tenant.launch.versions.join(', ')})`);
  }
  const companyDomain = o.companyDomain ?? tenant.companyDomains[0];
  if (!tenant.companyDomains.some((d) => d.toLowerCase() === companyDomain.toLowerCase())) {
    throw new CommandError(`--company-domain ${companyDomain} is not one of tenant ${tenant.id}'s: ${tenant.companyDomains.join(', ')}`);
  }
  const base = baseUrlOf(o.baseUrl);
  const sandbox = tenant.oauth.baseUrl === 'sandbox';
  if (o.itemUrl === undefined && !sandbox) {
    throw new CommandError(`--item-url is required for tenant ${tenant.id}: the URL of a Concur expense item to launch on`);
  }

  if (o.version === 1) {
    if (o.field !== undefined) throw new CommandError(`--field is for v4 launches; a v1 launch writes the tenant's fields.v1.field`);
    if (o.level !== undefined && o.level !== 'ENTRY') throw new CommandError('a v1 launch is for an expense entry: --level ENTRY or none');
    const sample = sandbox && o.itemUrl === undefined ? sandboxItem(base, 1, 'ENTRY') : undefined;
    const itemUrl = o.itemUrl ?? sample!.itemUrl;
    itemOf(itemUrl, 'v3');
    const user = o.user ?? (sandbox ? SANDBOX_USER.login : undefined);
    if (!user) throw new CommandError('--user is required for a v1 launch: the Concur login id (xuserid)');
    const params = v1LaunchParams({ companyDomain, userId: user, itemUrl });
    return signed(config, tenant, 1, base, params, `v1 launch for tenant ${tenant.id} (${companyDomain}), entry ${itemUrl}`);
  }

  const sample = sandbox && o.itemUrl === undefined ? sandboxItem(base, 4, o.level ?? 'ENTRY') : undefined;
  const itemUrl = o.itemUrl ?? sample!.itemUrl;
  const item = itemOf(itemUrl, 'v4');
  if (o.level !== undefined && o.level !== item.level) {
    throw new CommandError(`--level ${o.level} does not match --item-url, which names a ${item.level.toLowerCase()}`);
  }
  const allowed = tenant.fields.v4[RULE_KEY[item.level]];
  const field = o.field ?? allowed[0];
  if (field === undefined) throw new CommandError(`tenant ${tenant.id} has no v4 field for ${item.level.toLowerCase()} launches (fields.v4)`);
  if (!allowed.includes(field)) {
    throw new CommandError(
      `field ${field} is not set up for tenant ${tenant.id} at ${item.level.toLowerCase()} level (allowed: ${allowed.join(', ') || 'none'})`,
    );
  }
  const params = v4LaunchParams({
    companyDomain,
    userId: o.user ?? item.userId!,
    reportOwnerUserId: o.owner ?? item.userId!,
    reportOwnerEmployeeId: o.employeeId ?? (sample ? SANDBOX_USER.employeeId : ''),
    itemUrl,
    field,
    level: item.level,
    expenseIds: o.expenseIds ?? sample?.expenseIds,
    mobile: o.mobile ?? false,
    language: o.language ?? 'en',
    clientAuthCode: o.clientAuthCode,
  });
  return signed(
    config,
    tenant,
    4,
    base,
    params,
    `v4 launch for tenant ${tenant.id} (${companyDomain}), ${item.level.toLowerCase()} item, field ${field}`,
  );
}


function signed(
  config: AppConfig,
  tenant: TenantConfig,
  version: LaunchVersion,
  base: string,
  params: LaunchParams,
  description: string,
): SignedLaunch {
  const algorithm = version === 1 ? 'sha1' : tenant.launch.v4Algorithm;
  const query = buildSignedQuery(version, algorithm, params, tenant.connector.username, tenant.connector.password);
  const path = version === 1 ? config.paths.v1Launch : config.paths.v4Launch;
  return { url: `${base}${path}?${query}`, description: `${description}; works once (fresh nonce)` };
}

/** The connector's address without a trailing slash; it may include a path prefix. */
function baseUrlOf(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CommandError(`--base-url ${raw} is not a URL; give the connector's address, e.g. https://connector.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CommandError('--base-url must start with https:// (or http://)');
  if (url.search || url.hash || url.username || url.password) {
    throw new CommandError('--base-url must be just the address: no user, query or fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Checks that the item URL names a Concur item, the way the connector will parse it. Which hosts
 * are allowed is the server's decision (its allow-list), so any origin and path prefix passes here.
 */
function itemOf(raw: string, api: 'v3' | 'v4'): ItemRef {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CommandError(`--item-url ${raw} is not a URL`);
  }
  const marker = api === 'v3' ? '/api/' : '/expensereports/';
  const at = url.pathname.toLowerCase().indexOf(marker);
  const pathPrefix = at > 0 ? url.pathname.slice(0, at) : '';
  try {
    return parseItemUrl(raw, api, [{ origin: url.origin, pathPrefix }]);
  } catch (error) {
    if (!(error instanceof ItemUrlError)) throw error;
    const shape =
      api === 'v3'
        ? '<host>/api/v3.0/expense/entries/<entryId>'
        : '<host>/expensereports/v4/users/<userId>/context/TRAVELER/reports/<reportId>[/expenses/<id> | /allocations/<id>]';
    throw new CommandError(`--item-url: ${error.message} (expected ${shape})`);
  }
}

/**
 * An item of the sandbox's seed data on the connector at `base`. The server allows sandbox items on
 * its own address only, which names the loopback 127.0.0.1, so `localhost` is written that way.
 */
function sandboxItem(base: string, version: LaunchVersion, level: ItemLevel): { itemUrl: string; expenseIds?: string } {
  const state = new SandboxStore().state();
  const url = new URL(base);
  if (url.hostname === 'localhost') url.hostname = '127.0.0.1';
  const api = `${url.origin}${SANDBOX_PATH_PREFIX}`;
  const e = encodeURIComponent;
  if (version === 1) return { itemUrl: `${api}/api/v3.0/expense/entries/${e(state.entries[0].ID)}` };
  const report = `${api}/expensereports/v4/users/${e(state.userId)}/context/TRAVELER/reports/${e(state.report.reportId)}`;
  if (level === 'HEADER') return { itemUrl: report };
  if (level === 'ENTRY') return { itemUrl: `${report}/expenses/${e(state.expenses[0].expenseId)}` };
  const allocation = state.allocations[0];
  return { itemUrl: `${report}/allocations/${e(allocation.allocationId)}`, expenseIds: allocation.expenseId };
}

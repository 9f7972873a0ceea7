// The built connector (dist/), as the benchmarks use it: plain node, no ts-jest.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');

export async function fromDist(path) {
  const file = join(DIST, path);
  if (!existsSync(file)) throw new Error(`${file} is missing: build first (node scripts/build-if-needed.mjs)`);
  return import(pathToFileURL(file).href);
}

export const COLUMNS = [
  'seq', 'id', 'occurred_at', 'event_type', 'outcome', 'tenant_id', 'company_domain', 'acting_user', 'report_owner', 'item_url',
  'launch_id', 'field', 'old_value', 'new_value', 'reason', 'correlation_id', 'client_ip', 'user_agent', 'prev_hash', 'hash', 'hash_alg',
];

/** --name value / --name=value / --flag, into an object; numbers accept 1_000_000 and 1e6. */
export function parseArgs(argv, spec) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    const kind = spec[name];
    if (!kind) throw new Error(`unknown option --${name} (known: ${Object.keys(spec).map((k) => `--${k}`).join(' ')})`);
    if (kind === 'flag') {
      out[name] = true;
      continue;
    }
    if (value === undefined) value = argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (kind === 'number') {
      const n = Number(value.replaceAll('_', ''));
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${value}`);
      out[name] = Math.trunc(n);
    } else out[name] = value;
  }
  return out;
}

export function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}

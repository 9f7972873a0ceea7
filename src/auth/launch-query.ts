import { SIGNED_PARAMS, V4_UNSIGNED_PARAMS, type LaunchVersion } from './launch.types.js';

/** A launch query that cannot be read: a 400 page. `reason` is for the log and audit, never a secret. */
export class LaunchQueryError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'LaunchQueryError';
  }
}

const REQUIRED: Record<LaunchVersion, readonly string[]> = {
  1: ['xcompanydomain', 'xuserid', 'itemurl', 'nonce', 'signature'],
  4: ['company_domain', 'logged_in_user_id', 'report_owner_user_id', 'item_url', 'nonce', 'signature'],
};

const KNOWN: Record<LaunchVersion, ReadonlySet<string>> = {
  1: new Set<string>(SIGNED_PARAMS[1]),
  4: new Set<string>([...SIGNED_PARAMS[4], ...V4_UNSIGNED_PARAMS]),
};

const MAX_LENGTH: Record<string, number> = { itemurl: 2048, item_url: 2048, expense_ids: 4096, nonce: 256 };
const DEFAULT_MAX_LENGTH = 256;

const CONTROL = /[\u0000-\u001f\u007f]/;
// Concur's docs call the nonce a GUID, a timestamp and a signature hash in turn: any text is taken.
const NONCE_CONTROL = /\p{Cc}/u;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads a launch's raw query string (what follows '?' in the request URL). Express's parsed
 * `req.query` would hide duplicates and turn '+' into space, which would break signatures.
 * Returns the known parameters of `version`, URL-decoded; unknown ones are dropped.
 */
export function parseLaunchQuery(rawQuery: string, version: LaunchVersion, maxBytes: number): Record<string, string> {
  if (Buffer.byteLength(rawQuery, 'utf8') > maxBytes) {
    throw new LaunchQueryError(`query string is longer than ${maxBytes} bytes`);
  }
  const known = KNOWN[version];
  const params: Record<string, string> = {};
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = decode(eq < 0 ? piece : piece.slice(0, eq), () => 'a parameter name is not correctly percent-encoded');
    const isKnown = known.has(name);
    const value = decode(eq < 0 ? '' : piece.slice(eq + 1), () =>
      isKnown ? `parameter "${name}" is not correctly percent-encoded` : 'a parameter value is not correctly percent-encoded',
    );
    if (!isKnown) continue;
    if (Object.hasOwn(params, name)) throw new LaunchQueryError(`parameter "${name}" appears twice`);
    if (CONTROL.test(value)) throw new LaunchQueryError(`parameter "${name}" contains control characters`);
    const max = MAX_LENGTH[name] ?? DEFAULT_MAX_LENGTH;
    if (value.length > max) throw new LaunchQueryError(`parameter "${name}" is longer than ${max} characters`);
    params[name] = value;
  }
  for (const name of REQUIRED[version]) {
    if (!params[name]) throw new LaunchQueryError(`missing parameter "${name}"`);
  }
  if (version === 4) params.report_owner_employee_id ??= '';
  if (NONCE_CONTROL.test(params.nonce)) throw new LaunchQueryError('parameter "nonce" contains control characters');
  // A '+' that reached us form-encoded ('+' read as space somewhere on the way) is still a '+'.
  const signature = params.signature.replaceAll(' ', '+');
  if (!BASE64.test(signature) || signature.length % 4 !== 0) {
    throw new LaunchQueryError('parameter "signature" is not valid base64');
  }
  params.signature = signature;
  return params;
}

function decode(raw: string, reason: () => string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new LaunchQueryError(reason());
  }
}

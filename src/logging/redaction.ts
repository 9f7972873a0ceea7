import type { IncomingMessage, ServerResponse } from 'node:http';

export const REDACTED = '[redacted]';

/**
 * Key names whose values never reach a log line, compared lower-case without '-' and '_'
 * (so client_secret, clientSecret and Client-Secret are one name).
 */
const SECRET_KEYS = new Set([
  'password',
  'passwd',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'clientsecret',
  'clientauthcode',
  'signature',
  'sig',
  'cookie',
  'setcookie',
  'authorization',
  'proxyauthorization',
  'csrf',
  'apikey',
  'xapikey',
  'encryptionkey',
]);

/** Any key ending like these is secret too: connectorPassword, cookieSecret, csrfToken, refresh_token_enc. */
const SECRET_ENDINGS = ['password', 'secret', 'token', 'tokenenc', 'signature', 'cookie', 'authorization'];

/** Keys whose string value is a URL: logged without its query. */
const URL_KEYS = new Set(['url', 'originalurl', 'href']);

const MAX_DEPTH = 10;

function normalKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

export function isSecretKey(key: string): boolean {
  const name = normalKey(key);
  return SECRET_KEYS.has(name) || SECRET_ENDINGS.some((ending) => name.endsWith(ending));
}

/** The part of a URL or path before '?': launch URLs carry signatures, auth codes and user ids. */
export function withoutQuery(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? url : url.slice(0, at);
}

/** Secrets that hide inside text: `name=value` pairs of a query or form, and Bearer/Basic credentials. */
const TEXT_PATTERNS: Array<[RegExp, string]> = [
  [/\b(signature|sig|client_auth_code|client_secret|refresh_token|access_token|id_token|password|token)(=|%3D)[^&\s"\\;,]+/gi, `$1$2${REDACTED}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]{6,}=*/gi, `$1 ${REDACTED}`],
];

/**
 * Text with secrets that follow a recognisable pattern replaced. Never adds or removes a '"'
 * or '\', so it is safe on a serialized JSON line too.
 */
export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export interface SafeError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  status?: number;
}

/**
 * An error as logged: type, message, stack and a code or status. Nothing else: an Axios error
 * carries the request's headers (Bearer token) and form body (client secret, refresh token).
 */
export function safeError(error: unknown): SafeError | unknown {
  if (!(error instanceof Error)) return error;
  const { code, status } = error as { code?: unknown; status?: unknown };
  return {
    type: error.name || error.constructor?.name || 'Error',
    message: scrubText(error.message),
    ...(error.stack ? { stack: scrubText(error.stack) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
  };
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a logged value with every secret key's value replaced, at any depth; errors reduced to
 * SafeError. Only plain objects and arrays are walked: requests and responses have serializers.
 */
export function scrub(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return safeError(value);
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((item) => scrub(item, depth + 1, seen));
  }
  if (!isPlainObject(value)) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isSecretKey(key)) out[key] = REDACTED;
    else if (typeof item === 'string' && URL_KEYS.has(normalKey(key))) out[key] = withoutQuery(item);
    else out[key] = scrub(item, depth + 1, seen);
  }
  return out;
}

/** A line that may hold a secret key somewhere (a cheap test before parsing it). */
const SECRET_KEY_HINT = /"[^"]*(pass|secret|token|sig|cookie|authori[sz]ation|csrf|auth_?code|api_?key|encryption)[^"]*"\s*:/i;

/**
 * A finished JSON log line with secret keys replaced at any depth (child-logger bindings
 * included, which pino's formatters do not see), then with secrets inside text replaced.
 */
export function scrubLine(line: string): string {
  let out = line;
  if (SECRET_KEY_HINT.test(out)) {
    try {
      out = JSON.stringify(scrub(JSON.parse(out))) + (out.endsWith('\n') ? '\n' : '');
    } catch {
      // Not JSON (a pretty line): the text patterns below still apply.
    }
  }
  return scrubText(out);
}

/** pino `redact` paths: the usual places of headers and credentials (scrub() covers any depth). */
export const REDACT_PATHS: string[] = (() => {
  const headers = ['authorization', 'cookie', '["set-cookie"]', '["proxy-authorization"]'];
  const keys = ['password', 'secret', 'token', 'access_token', 'refresh_token', 'client_secret', 'client_auth_code', 'signature', 'sig', 'cookie', 'authorization', 'csrf'];
  const at = (path: string) => (path.startsWith('[') ? path : `.${path}`);
  const paths: string[] = [];
  for (const prefix of ['', '*.', '*.*.']) {
    for (const header of headers) paths.push(`${prefix}headers${at(header)}`);
    for (const key of keys) paths.push(`${prefix}${key}`);
  }
  return paths;
})();

/** The request as logged: method and path, never the query string or headers. */
export function requestSerializer(req: IncomingMessage & { originalUrl?: string }): { method?: string; path: string } {
  return { method: req.method, path: withoutQuery(req.originalUrl ?? req.url ?? '') };
}

/** The response as logged: its status only (no Set-Cookie). */
export function responseSerializer(res: ServerResponse): { statusCode: number } {
  return { statusCode: res.statusCode };
}

export const SERIALIZERS = { req: requestSerializer, res: responseSerializer, err: safeError };

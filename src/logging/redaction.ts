import type { IncomingMessage, ServerResponse } from 'node:http';
import { bounded, LOG_LIMITS } from './bounded-text.js';
import { REDACTED, scrubText } from './secret-text.js';

export { REDACTED, scrubText };

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
  'auditchainkey',
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

/** A request's path as logged: no query, at most LOG_LIMITS.path characters. */
export function loggedPath(url: string): string {
  return bounded(withoutQuery(url), LOG_LIMITS.path);
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
    type: bounded(error.name || error.constructor?.name || 'Error', LOG_LIMITS.path),
    message: scrubText(bounded(String(error.message), LOG_LIMITS.text)),
    ...(typeof error.stack === 'string' ? { stack: scrubText(boundedStack(error.stack)) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
  };
}

/** A stack with its first line (the message, often from a request) cut like any text, then the whole cut to LOG_LIMITS.stack. */
function boundedStack(stack: string): string {
  if (stack.length <= LOG_LIMITS.stack) return stack;
  const frames = stack.indexOf('\n    at ');
  const head = frames < 0 ? stack : stack.slice(0, frames);
  return bounded(bounded(head, LOG_LIMITS.text) + (frames < 0 ? '' : stack.slice(frames)), LOG_LIMITS.stack);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a logged value with every secret key's value replaced, at any depth; errors reduced to
 * SafeError; strings cut to LOG_LIMITS.text, URLs to their path. Only plain objects and arrays are
 * walked: requests and responses have serializers.
 */
export function scrub(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return bounded(value, LOG_LIMITS.text);
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
    else if (typeof item === 'string' && URL_KEYS.has(normalKey(key))) out[key] = loggedPath(item);
    else out[key] = scrub(item, depth + 1, seen);
  }
  return out;
}

/**
 * The last pass over a finished line: the text patterns, for secrets inside messages (a URL with
 * its query in an error text) and interpolated values. Keys were redacted as the line's objects
 * were built (scrub() for the logged object and for child-logger bindings), and every string in
 * it was cut to its limit, so this is one linear scan over a bounded line.
 */
export function scrubLine(line: string): string {
  return scrubText(line);
}

/**
 * pino `redact` paths: the usual places of headers and credentials, applied as pino serialises a line
 * (child-logger bindings included). scrub() covers any depth when the object is built.
 */
export const REDACT_PATHS: string[] = (() => {
  const headers = ['authorization', 'cookie', '["set-cookie"]', '["proxy-authorization"]', '["x-api-key"]'];
  const keys = [
    'password',
    'passwd',
    'secret',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'client_secret',
    'client_auth_code',
    'signature',
    'sig',
    'cookie',
    'authorization',
    'csrf',
    'apiKey',
    'encryptionKey',
    'auditChainKey',
  ];
  const at = (path: string) => (path.startsWith('[') ? path : `.${path}`);
  const paths: string[] = [];
  for (const prefix of ['', '*.', '*.*.']) {
    for (const header of headers) paths.push(`${prefix}headers${at(header)}`);
    for (const key of keys) paths.push(`${prefix}${key}`);
  }
  return paths;
})();

/** The request as logged: method and path (cut to LOG_LIMITS.path), never the query string or headers. */
export function requestSerializer(req: IncomingMessage & { originalUrl?: string }): { method?: string; path: string } {
  return { method: req.method, path: loggedPath(req.originalUrl ?? req.url ?? '') };
}

/** The response as logged: its status only (no Set-Cookie). */
export function responseSerializer(res: ServerResponse): { statusCode: number } {
  return { statusCode: res.statusCode };
}

export const SERIALIZERS = { req: requestSerializer, res: responseSerializer, err: safeError };

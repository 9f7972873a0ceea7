import { randomBytes, randomUUID } from 'node:crypto';
import type { ContractName } from '../concur/contract/contract.js';
import type { Principal } from './sandbox.principal.js';

/** What the fake Concur answers to one call. `principal`: who the call was made as, for the request log. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  principal?: Principal | null;
}

/** One item of an ErrorMessage's `validationErrors` (v4.reports.markdown#validation-errors-schema). */
export interface ValidationIssue {
  id: string;
  message: string;
  source: string;
}

export type FailureStatus = 400 | 401 | 403 | 404 | 413 | 415;

/** Why the fake Concur refuses a call, before it is shaped as the API's documented error body. */
export interface Failure {
  ok: false;
  status: FailureStatus;
  message: string;
  validation?: ValidationIssue[];
}

export function failure(status: FailureStatus, message: string, validation?: ValidationIssue[]): Failure {
  return validation?.length ? { ok: false, status, message, validation } : { ok: false, status, message };
}

/** Spring's names of the statuses, as the v4 APIs write them in `httpStatus` ("400 BAD_REQUEST"). */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function httpStatusText(status: number): string {
  return `${status} ${REASONS[status] ?? 'ERROR'}`;
}

/** The error body of Expense Reports v4 (v4.reports.markdown#error-message-schema). */
export interface V4ErrorMessage {
  errorId: string;
  errorMessage: string;
  httpStatus: string;
  path: string;
  timestamp: string;
  validationErrors?: ValidationIssue[];
}

export function v4ErrorMessage(status: number, message: string, path: string, validation?: ValidationIssue[], now = new Date()): V4ErrorMessage {
  return {
    errorId: randomUUID(),
    errorMessage: message,
    httpStatus: httpStatusText(status),
    path,
    timestamp: now.toISOString(),
    ...(validation?.length ? { validationErrors: validation } : {}),
  };
}

/** The error body of the v3 APIs (http-status-codes.markdown "Error elements": Message, Server-Time, Id). */
export interface V3Error {
  Error: { Id: string; Message: string; 'Server-Time': string };
}

export function v3Error(message: string, now = new Date()): V3Error {
  return { Error: { Id: randomBytes(8).toString('hex').toUpperCase(), Message: message, 'Server-Time': now.toISOString() } };
}

/** A v3 message carries no list of problems: they are joined into it. */
export function v3Message(failed: Failure): string {
  return failed.validation?.length ? `${failed.message}: ${failed.validation.map((v) => `${v.id} ${v.message}`).join('; ')}` : failed.message;
}

/** The problems `checkContract` found (`<instance path>: <message>`), as validation errors naming the contract. */
export function contractIssues(contract: ContractName, errors: string[]): ValidationIssue[] {
  return errors.map((error) => {
    const at = error.indexOf(': ');
    return at < 0
      ? { id: '/', message: error, source: contract }
      : { id: error.slice(0, at) || '/', message: error.slice(at + 2), source: contract };
  });
}

/**
 * The /token errors of apidoc.markdown "Response Codes" that the sandbox answers: the code, its
 * `error` and description from the page's table, and the HTTP status (400; 401 for bad client credentials).
 */
export const OAUTH_ERRORS = {
  16: { status: 400, error: 'invalid_request', description: 'user lives elsewhere' },
  60: { status: 400, error: 'invalid_grant', description: 'these are not the grants you are looking for' },
  62: { status: 400, error: 'invalid_request', description: 'client_id was not supplied' },
  63: { status: 400, error: 'invalid_request', description: 'client_secret was not supplied' },
  64: { status: 401, error: 'invalid_client', description: 'Incorrect credentials. Please Retry' },
  65: { status: 400, error: 'invalid_request', description: 'grant_type was not supplied' },
  101: { status: 400, error: 'invalid_request', description: 'code was not supplied' },
  102: { status: 400, error: 'invalid_request', description: 'redirect_uri was not supplied' },
  103: { status: 400, error: 'invalid_request', description: 'code is bad or expired' },
  104: { status: 400, error: 'invalid_grant', description: 'redirect_uri does not match the previous grant' },
  106: { status: 400, error: 'invalid_request', description: 'refresh_token was not supplied' },
  108: { status: 400, error: 'invalid_grant', description: 'bad or expired refresh token' },
} as const;

export type OAuthErrorCode = keyof typeof OAUTH_ERRORS;

/** "4xx class errors have a JSON response with the following fields" (apidoc.markdown "Response Codes"). */
export interface OAuthError {
  code?: number;
  error: string;
  error_description: string;
  geolocation: string;
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

export function oauthErrorReply(code: OAuthErrorCode, geolocation: string): Reply {
  const { status, error, description } = OAUTH_ERRORS[code];
  const body: OAuthError = { code, error, error_description: description, geolocation };
  return { status, headers: { ...NO_STORE }, body };
}

/** A form the page's table has no code for (a member the documented form does not have, a repeated field; 413: too large). */
export function oauthInvalidRequest(description: string, geolocation: string, status: 400 | 413 = 400): Reply {
  const body: OAuthError = { error: 'invalid_request', error_description: description, geolocation };
  return { status, headers: { ...NO_STORE }, body };
}

export function oauthSuccess(body: unknown): Reply {
  return { status: 200, headers: { ...NO_STORE }, body };
}

/** The API whose error shape a reply takes. */
export type ApiFamily = 'v3' | 'v4' | 'token';

/** A refused call as the API answers it: ErrorMessage for v4, Error for v3; 401s say which token problem it was. */
export function failureReply(family: Exclude<ApiFamily, 'token'>, failed: Failure, path: string): Reply {
  const headers: Record<string, string> = failed.status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : {};
  const body = family === 'v4' ? v4ErrorMessage(failed.status, failed.message, path, failed.validation) : v3Error(v3Message(failed));
  return { status: failed.status, headers, body };
}

/** What a fault switch answers instead of the real thing, in the API's own error shape. */
export function faultReply(family: ApiFamily, status: number, path: string, geolocation: string, retryAfterSeconds?: number): Reply {
  const message = `Sandbox fault: answering ${status}`;
  const headers: Record<string, string> = retryAfterSeconds !== undefined ? { 'Retry-After': String(retryAfterSeconds) } : {};
  if (family === 'token') {
    const error = status === 429 || status === 503 ? 'temporarily_unavailable' : 'server_error';
    const body: OAuthError = { error, error_description: message, geolocation };
    return { status, headers: { ...headers, ...NO_STORE }, body };
  }
  return { status, headers, body: family === 'v4' ? v4ErrorMessage(status, message, path) : v3Error(message) };
}

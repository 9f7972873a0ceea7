import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { LaunchVersion } from './launch.types.js';

export type SignatureAlgorithm = 'sha1' | 'sha256';

/** Signed values of a launch, URL-decoded, by parameter name. */
export type LaunchParams = Record<string, string>;

const BASE_PARAMS: Record<LaunchVersion, readonly string[]> = {
  1: ['xcompanydomain', 'xuserid', 'itemurl'],
  4: ['company_domain', 'logged_in_user_id', 'report_owner_user_id', 'report_owner_employee_id', 'item_url'],
};

/**
 * Concur's base string: the signed values, then username, password and nonce, concatenated
 * with no separators (CONCUR-PROTOCOL.md sections 2 and 3). A missing value counts as empty.
 */
export function launchBaseString(version: LaunchVersion, params: LaunchParams, username: string, password: string): string {
  const values = BASE_PARAMS[version].map((name) => params[name] ?? '');
  return values.join('') + username + password + (params.nonce ?? '');
}

/** The HMAC key: the connector username lower-cased, then the password exactly as registered. */
export function launchKey(username: string, password: string): string {
  return username.toLowerCase() + password;
}

export function launchMac(
  version: LaunchVersion,
  algorithm: SignatureAlgorithm,
  params: LaunchParams,
  username: string,
  password: string,
): Buffer {
  return createHmac(algorithm, launchKey(username, password))
    .update(launchBaseString(version, params, username, password), 'utf8')
    .digest();
}

/** Base64 signature of a launch, as Concur puts it (before URL encoding). */
export function signLaunchParams(
  version: LaunchVersion,
  algorithm: SignatureAlgorithm,
  params: LaunchParams,
  username: string,
  password: string,
): string {
  return launchMac(version, algorithm, params, username, password).toString('base64');
}

/** Compares a received MAC with the expected one in constant time (length mismatch is a plain false). */
export function macMatches(expected: Buffer, received: Buffer): boolean {
  if (expected.length !== received.length) return false;
  return timingSafeEqual(expected, received);
}

/**
 * A complete signed launch query string (what Concur would send, %-encoded), with a fresh nonce unless given.
 * Used by the sandbox, the CLI and tests.
 */
export function buildSignedQuery(
  version: LaunchVersion,
  algorithm: SignatureAlgorithm,
  params: LaunchParams,
  username: string,
  password: string,
): string {
  const withNonce = { ...params, nonce: params.nonce ?? randomUUID() };
  const signature = signLaunchParams(version, algorithm, withNonce, username, password);
  return Object.entries({ ...withNonce, signature })
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

import { createHash } from 'node:crypto';
import { PageException } from '../common/page.exception.js';
import { msg } from '../i18n/i18n.js';

/** `<prefix><kind>:<sha256 hex of raw>`: bounded length and characters whatever the caller's key holds. */
export function hashedKey(prefix: string, kind: string, raw: string): string {
  return `${prefix}${kind}:${createHash('sha256').update(raw, 'utf8').digest('hex')}`;
}

/**
 * What a request sees when Redis (or the database, for the nonce record) fails: a 503 page, never
 * a fallback to memory (a replica that forgot the shared nonces would accept a replayed launch).
 * The store's error only goes to the log.
 */
export function sharedStoreUnavailable(operation: string, error: unknown, store = 'Redis'): PageException {
  return new PageException(503, {
    title: msg('The connector is briefly unavailable'),
    message: msg(
      'The connector could not reach its shared store. Wait a moment, then try again; if it keeps happening, give the reference below to your IT support.',
    ),
    detail: `${store} ${operation} failed: ${error instanceof Error ? error.message : String(error)}`,
  });
}

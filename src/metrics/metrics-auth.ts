import { createHash, timingSafeEqual } from 'node:crypto';
import { parseBasicAuth } from '../common/basic-auth-header.js';

export const METRICS_CHALLENGE = 'Basic realm="metrics", charset="UTF-8"';


function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Whether an Authorization header carries the metrics username and password. Both halves are
 * always compared, as equal-length digests, so the time taken tells nothing about either.
 */
export function metricsCredentialsMatch(header: string | undefined, username: string, password: string): boolean {
  const parsed = parseBasicAuth(header);
  const readable = parsed !== undefined;
  const given = parsed ?? { username: '', password: '' };
  const user = timingSafeEqual(digest(given.username), digest(username));
  const pass = timingSafeEqual(digest(given.password), digest(password));
  return readable && user && pass;
}

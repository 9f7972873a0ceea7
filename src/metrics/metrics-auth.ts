import { createHash, timingSafeEqual } from 'node:crypto';

export const METRICS_CHALLENGE = 'Basic realm="metrics", charset="UTF-8"';

const BASIC = /^basic +([A-Za-z0-9+/]+={0,2})$/i;
const MAX_HEADER_LENGTH = 1024;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Whether an Authorization header carries the metrics username and password. Both halves are
 * always compared, as equal-length digests, so the time taken tells nothing about either.
 */
export function metricsCredentialsMatch(header: string | undefined, username: string, password: string): boolean {
  let given = { username: '', password: '' };
  let readable = false;
  if (typeof header === 'string' && header.length <= MAX_HEADER_LENGTH) {
    const encoded = BASIC.exec(header.trim())?.[1];
    if (encoded && encoded.length % 4 === 0) {
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        given = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
        readable = true;
      }
    }
  }
  const user = timingSafeEqual(digest(given.username), digest(username));
  const pass = timingSafeEqual(digest(given.password), digest(password));
  return readable && user && pass;
}

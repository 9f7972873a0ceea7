import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGN_IN_PATH = '/audit/sign-in';
export const DEFAULT_NEXT = '/audit';

const MAX_USERNAME = 128;
const MAX_PASSWORD = 1024;
const MAX_NEXT = 2048;
const MAX_CSRF = 256;

/** Where a sign-in may lead: the audit pages and API of this connector, nothing else. */
const AUDIT_PATH = /^\/(api\/)?audit(?=[/?#]|$)/;
/** What a browser or proxy might read as another host or another path than the one checked. */
const UNSAFE_PATH = /\/\/|\\|%2f|%5c|%2e|(^|\/)\.\.?(\/|$)/i;

/**
 * `next` when it is a local path under /audit or /api/audit, else /audit: a sign-in link must
 * not be usable to send an auditor elsewhere after signing in (an open redirect).
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT || !AUDIT_PATH.test(next)) return DEFAULT_NEXT;
  if (/[\u0000-\u0020\u007f-\u009f]/.test(next)) return DEFAULT_NEXT;
  const path = next.split(/[?#]/)[0];
  return UNSAFE_PATH.test(path) ? DEFAULT_NEXT : next;
}

/** The sign-in page that returns to `next` afterwards. */
export function signInUrl(next: string): string {
  const target = safeNext(next);
  return target === DEFAULT_NEXT ? SIGN_IN_PATH : `${SIGN_IN_PATH}?next=${encodeURIComponent(target)}`;
}

export interface SignInForm {
  username: string;
  password: string;
  next: string;
}

/** The fields of a posted sign-in form, or the message of the 400 page. */
export function parseSignInForm(body: unknown): SignInForm | { problem: string } {
  const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { username, password, next } = form;
  if (typeof username !== 'string' || typeof password !== 'string' || username.trim() === '' || password === '') {
    return { problem: 'Enter your user name and your password.' };
  }
  if (username.length > MAX_USERNAME || password.length > MAX_PASSWORD) {
    return { problem: `The user name may have at most ${MAX_USERNAME} characters and the password at most ${MAX_PASSWORD}.` };
  }
  if (next !== undefined && typeof next !== 'string') return { problem: 'The form was sent with a damaged return address; reload the page.' };
  return { username: username.trim(), password, next: safeNext(next) };
}

/** A token of the login CSRF cookie and the form's hidden field. */
export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only what `newCsrfToken` makes: a cookie of any other shape is replaced, not echoed into the page. */
export function isCsrfToken(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** Equal tokens, compared on their digests so the time taken says nothing about where they differ. */
export function csrfMatches(expected: string | undefined, presented: unknown): boolean {
  if (typeof expected !== 'string' || expected === '' || typeof presented !== 'string' || presented.length > MAX_CSRF) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(presented));
}

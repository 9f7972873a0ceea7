/**
 * Who an access token speaks for (apidoc.markdown "Obtaining a token": a user, an application or
 * a company): the company (the tenant's own refresh token) or one user (a launch's client_auth_code).
 * Written as the request log shows it: `company` or `user:<uuid>`.
 */
export type Principal = 'company' | `user:${string}`;

export const COMPANY: Principal = 'company';

/** Concur writes the same UUID in upper and lower case (v4.reports.markdown: the path's userID and the body's userId). */
export function userPrincipal(userId: string): Principal {
  return `user:${userId.toLowerCase()}`;
}

/** The user's UUID (lower case) of a user principal; undefined for the company. */
export function principalUserId(principal: Principal): string | undefined {
  return principal.startsWith('user:') ? principal.slice('user:'.length) : undefined;
}

export function sameUserId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function isPrincipal(value: unknown): value is Principal {
  return value === COMPANY || (typeof value === 'string' && /^user:[0-9a-z._@-]{1,128}$/.test(value));
}

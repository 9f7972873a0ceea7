import type { LaunchSession } from './launch.types.js';

/** A v1 entry launch session living `ttlMs` from now, for the session store tests. */
export function sessionOf(id: string, ttlMs = 60_000, overrides: Partial<LaunchSession> = {}): LaunchSession {
  const now = Date.now();
  return {
    id,
    cookieHash: 'h',
    csrfToken: 'c',
    createdAt: now,
    expiresAt: now + ttlMs,
    version: 1,
    tenantId: 'sandbox',
    companyDomain: 'sandbox.example.com',
    userId: 'jane',
    reportOwnerUserId: null,
    reportOwnerEmployeeId: null,
    item: { api: 'v3', level: 'ENTRY', url: 'https://us.api.concursolutions.com/api/v3.0/expense/entries/E1', origin: 'https://us.api.concursolutions.com', entryId: 'E1' },
    field: 'Custom1',
    isMobile: false,
    languageCode: 'en',
    expenseIds: [],
    ...overrides,
  };
}

import type { LaunchSession } from '../auth/launch.types.js';

/** A v4 entry launch session for unit tests. */
export function testSession(overrides: Partial<LaunchSession> = {}): LaunchSession {
  return {
    id: 'S'.repeat(22),
    cookieHash: 'h',
    csrfToken: 'csrf',
    createdAt: 0,
    expiresAt: Date.now() + 60_000,
    version: 4,
    tenantId: 'sandbox',
    companyDomain: 'sandbox.example.com',
    userId: 'u',
    reportOwnerUserId: 'u',
    reportOwnerEmployeeId: null,
    item: { api: 'v4', level: 'ENTRY', url: 'https://x/e', origin: 'https://x' },
    field: 'custom9',
    isMobile: false,
    languageCode: 'en',
    expenseIds: [],
    ...overrides,
  };
}

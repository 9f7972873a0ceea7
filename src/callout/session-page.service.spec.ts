import { formatAmount, formatDate } from './session-page.service.js';

describe('session page formatting', () => {
  it('formats amounts as currency for the locale', () => {
    expect(formatAmount(1234.5, 'EUR', 'en')).toBe('€1,234.50');
    expect(formatAmount(1234.5, 'EUR', 'de')).toMatch(/1\.234,50\s€/);
    expect(formatAmount(1234.5, null, 'en')).toBe('1,234.5');
    expect(formatAmount(null, 'EUR', 'en')).toBeNull();
  });

  it('keeps an unknown currency readable instead of failing', () => {
    expect(formatAmount(5, 'NOT-A-CURRENCY', 'en')).toBe('5 NOT-A-CURRENCY');
  });

  it('formats ISO dates for the locale in UTC and leaves anything else as it is', () => {
    expect(formatDate('2026-11-02', 'en')).toBe('Nov 2, 2026');
    expect(formatDate('2026-11-02', 'de')).toBe('02.11.2026');
    expect(formatDate('yesterday', 'en')).toBe('yesterday');
    expect(formatDate(null, 'en')).toBeNull();
  });
});

import { BadRequestException } from '@nestjs/common';
import { parseAuditQuery, queryString } from './audit-query.js';

describe('parseAuditQuery', () => {
  it('maps every parameter to its filter, ignoring empty ones', () => {
    const parsed = parseAuditQuery({
      from: '2026-03-01', to: '2026-03-02T09:30', tenant: 'acme', company: 'acme.example.com', user: 'alice', owner: 'bob', item: 'https://x/reports/1',
      field: 'custom9', type: 'update.failed', outcome: 'failure', launch: 'L1', correlation: 'c1', limit: '20', cursor: 'abc', format: 'ndjson',
    } as Record<string, unknown>);
    expect(parsed.filter).toEqual({
      from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T09:30:00.000Z', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'alice', reportOwner: 'bob',
      item: 'https://x/reports/1', field: 'custom9', type: 'update.failed', outcome: 'failure', launchId: 'L1', correlationId: 'c1',
    });
    expect(parsed).toMatchObject({ limit: 20, cursor: 'abc', format: 'ndjson' });
    expect(parseAuditQuery({ user: '  ', tenant: '' })).toEqual({ filter: {}, params: {}, cursor: undefined, limit: 50, format: undefined });
  });

  it('reads a time with a zone in that zone, and without one as UTC', () => {
    expect(parseAuditQuery({ from: '2026-03-01T10:00:00+02:00' }).filter.from).toBe('2026-03-01T08:00:00.000Z');
    expect(parseAuditQuery({ from: '2026-03-01T10:00:00.5Z' }).filter.from).toBe('2026-03-01T10:00:00.500Z');
  });

  it('reports every problem at once', () => {
    let message = '';
    try {
      parseAuditQuery({ bogus: 'x', user: ['a', 'b'], from: '2026-13-45', type: 'x', limit: '9999' });
    } catch (error) {
      expect(error).toBeInstanceOf(BadRequestException);
      message = (error as BadRequestException).message;
    }
    for (const part of ['unknown parameter "bogus"', 'user is given more than once', 'from "2026-13-45" is not a time', 'type "x" is not an event type', 'limit must be']) {
      expect(message).toContain(part);
    }
  });

  it('builds links from the parameters', () => {
    expect(queryString({ user: 'a b', item: 'https://x/?y=1' }, { cursor: 'c', format: undefined })).toBe('?user=a+b&item=https%3A%2F%2Fx%2F%3Fy%3D1&cursor=c');
    expect(queryString({})).toBe('');
  });
});

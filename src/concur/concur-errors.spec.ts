import { concurCorrelationHeader, concurCorrelationIdOf, concurReason } from './concur-errors.js';

describe("Concur's words from a failed answer", () => {
  it('reads v4 ErrorMessage with its validation errors', () => {
    expect(
      concurReason({ errorMessage: 'Bad request', validationErrors: [{ id: 'expenseSource', message: 'is required', source: 'body' }, 'junk', { message: 'second' }] }),
    ).toBe('Bad request | validation: expenseSource: is required; second');
  });

  it('reads v3 error bodies, nested or not, and OAuth errors', () => {
    expect(concurReason({ Error: { Message: 'No such entry', Id: '1', 'Server-Time': 'now' } })).toBe('No such entry');
    expect(concurReason({ Message: 'flat' })).toBe('flat');
    expect(concurReason({ code: 108, error: 'invalid_grant', error_description: 'bad or expired refresh token' })).toBe('bad or expired refresh token');
    expect(concurReason({ error: 'invalid_client' })).toBe('invalid_client');
  });

  it('keeps one bounded line and nothing of an empty or odd body', () => {
    expect(concurReason({ errorMessage: 'line one\nline two\u0000' })).toBe('line one line two');
    expect(concurReason({ errorMessage: 'x'.repeat(10_000) })!.length).toBe(500);
    for (const body of [undefined, null, 3, [], {}, { errorMessage: '   ' }, { errorMessage: 5 }]) expect(concurReason(body)).toBeUndefined();
  });

  it("takes Concur's concur-correlationid answer header", () => {
    expect(concurCorrelationIdOf({ headers: { 'concur-correlationid': '2803b8f8-a42b-43c2-a739-b8768e4759b8' } })).toBe('2803b8f8-a42b-43c2-a739-b8768e4759b8');
    expect(concurCorrelationIdOf({ headers: {} })).toBeUndefined();
  });
});

describe('concurCorrelationHeader', () => {
  it('sends our UUIDs as they are', () => {
    expect(concurCorrelationHeader('5c1f0e2a-7b3d-4c8e-9f10-2a3b4c5d6e7f')).toBe('5c1f0e2a-7b3d-4c8e-9f10-2a3b4c5d6e7f');
  });

  it("turns a proxy's other id into a stable UUID, as Concur's pages ask", () => {
    const once = concurCorrelationHeader('a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4');
    expect(once).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(concurCorrelationHeader('a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4')).toBe(once);
    expect(concurCorrelationHeader('other')).not.toBe(once);
  });
});

import { describe, expect, it } from '@jest/globals';
import { csrfMatches, isCsrfToken, newCsrfToken, parseSignInForm, safeNext, signInUrl } from './sign-in.form.js';

describe('safeNext', () => {
  it.each([
    '/audit',
    '/audit/',
    '/audit/events?field=custom9&from=2026-01-01',
    '/audit?q=1',
    '/api/audit/events',
    '/api/audit',
    '/audit/events/3f2a%20b',
  ])('keeps the local audit path %s', (next) => {
    expect(safeNext(next)).toBe(next);
  });

  it.each([
    ['another site', 'https://evil.example/audit'],
    ['a scheme-relative URL', '//evil.example/audit'],
    ['a backslash URL', '/\\evil.example'],
    ['a path outside the audit pages', '/launch/s/abc'],
    ['a look-alike prefix', '/auditor-evil'],
    ['a look-alike API prefix', '/api/auditx'],
    ['a dot segment', '/audit/../sandbox'],
    ['an encoded dot segment', '/audit/%2e%2e/sandbox'],
    ['an encoded slash', '/audit%2f%2fevil.example'],
    ['a double slash inside', '/audit//evil.example'],
    ['a newline', '/audit\r\nLocation: https://evil.example'],
    ['a tab', '/audit\t'],
    ['a relative path', 'audit'],
    ['an empty one', ''],
    ['a very long one', `/audit/${'x'.repeat(3000)}`],
    ['an array', ['/audit/a', '/audit/b']],
    ['none', undefined],
  ])('replaces %s with /audit', (_label, next) => {
    expect(safeNext(next)).toBe('/audit');
  });

  it('is not fooled by a query that looks like a path', () => {
    expect(safeNext('/audit?next=//evil.example')).toBe('/audit?next=//evil.example');
    expect(new URL(safeNext('/audit?next=//evil.example'), 'https://connector.example').host).toBe('connector.example');
  });
});

describe('signInUrl', () => {
  it('carries a safe next, encoded, and drops the default', () => {
    expect(signInUrl('/audit/events?x=1&y=2')).toBe('/audit/sign-in?next=%2Faudit%2Fevents%3Fx%3D1%26y%3D2');
    expect(signInUrl('/audit')).toBe('/audit/sign-in');
    expect(signInUrl('https://evil.example')).toBe('/audit/sign-in');
  });
});

describe('parseSignInForm', () => {
  it('takes the fields, trims the user name, and makes next safe', () => {
    expect(parseSignInForm({ username: ' jane ', password: ' pw with spaces ', next: '/audit/x', csrf: 't' })).toEqual({
      username: 'jane',
      password: ' pw with spaces ',
      next: '/audit/x',
    });
    expect(parseSignInForm({ username: 'jane', password: 'pw', next: 'https://evil.example' })).toMatchObject({ next: '/audit' });
  });

  it.each([
    ['no fields', {}],
    ['no body', undefined],
    ['an empty user name', { username: '  ', password: 'pw' }],
    ['an empty password', { username: 'jane', password: '' }],
    ['a repeated field', { username: ['a', 'b'], password: 'pw' }],
    ['a user name that is too long', { username: 'j'.repeat(129), password: 'pw' }],
    ['a password that is too long', { username: 'jane', password: 'p'.repeat(1025) }],
    ['a repeated next', { username: 'jane', password: 'pw', next: ['/audit', '/audit'] }],
  ])('refuses %s with a message', (_label, body) => {
    expect(parseSignInForm(body)).toEqual({ problem: expect.any(String) });
  });
});

describe('CSRF tokens', () => {
  it('are 32 random bytes in base64url and match only themselves', () => {
    const token = newCsrfToken();
    expect(isCsrfToken(token)).toBe(true);
    expect(newCsrfToken()).not.toBe(token);
    expect(csrfMatches(token, token)).toBe(true);
    expect(csrfMatches(token, `${token.slice(0, -1)}A`=== token ? `${token.slice(0, -1)}B` : `${token.slice(0, -1)}A`)).toBe(false);
    expect(csrfMatches(token, undefined)).toBe(false);
    expect(csrfMatches(token, [token])).toBe(false);
    expect(csrfMatches(undefined, token)).toBe(false);
    expect(csrfMatches('', '')).toBe(false);
  });

  it('only a well-formed token counts as one', () => {
    expect(isCsrfToken('short')).toBe(false);
    expect(isCsrfToken(`${'a'.repeat(42)}"`)).toBe(false);
    expect(isCsrfToken(undefined)).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { LaunchQueryError, parseLaunchQuery } from './launch-query.js';
import { buildSignedQuery, signLaunchParams } from './signature.js';

const USER = 'SandboxConnector';
const PASS = 'sandbox-connector-password';
const NONCE = '6f1c2a7e-3b4d-4e5f-9a8b-7c6d5e4f3a2b';

const V1 = {
  xcompanydomain: 'sandbox.example.com',
  xuserid: 'jane.doe@sandbox.example.com',
  itemurl: 'https://www.concursolutions.com/api/v3.0/expense/entries/gWqXb9xC6c2kP7r$pYzQ1UDhn',
  nonce: NONCE,
};

const V4 = {
  company_domain: 'sandbox.example.com',
  logged_in_user_id: '32c2fcc3-b2e8-4907-9672-5b3f49b1c643',
  report_owner_user_id: '32c2fcc3-b2e8-4907-9672-5b3f49b1c643',
  report_owner_employee_id: 'E12345',
  item_url: 'https://us.api.concursolutions.com/expensereports/v4/users/u/context/TRAVELER/reports/R1/expenses/E1',
  custom_field_launched_from: 'custom9',
  source: 'ENTRY',
  is_mobile: 'false',
  client_auth_code: 'code-1',
  language_code: 'en-GB',
  nonce: NONCE,
};

const v1Query = (params: Record<string, string> = V1) => buildSignedQuery(1, 'sha1', params, USER, PASS);
const v4Query = (params: Record<string, string> = V4) => buildSignedQuery(4, 'sha256', params, USER, PASS);

function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LaunchQueryError);
    return (error as LaunchQueryError).reason;
  }
  throw new Error('expected a LaunchQueryError');
}

/** Replaces one parameter's raw (already encoded) value in a query string. */
function withRaw(query: string, name: string, raw: string): string {
  return query
    .split('&')
    .map((piece) => (piece.startsWith(`${name}=`) ? `${name}=${raw}` : piece))
    .join('&');
}

function without(query: string, name: string): string {
  return query
    .split('&')
    .filter((piece) => !piece.startsWith(`${name}=`))
    .join('&');
}

describe(parseLaunchQuery.name, () => {
  describe('a good query', () => {
    it('returns the decoded v1 parameters with the signature', () => {
      const parsed = parseLaunchQuery(v1Query(), 1, 8192);
      expect(parsed).toEqual({ ...V1, signature: signLaunchParams(1, 'sha1', V1, USER, PASS) });
    });

    it('returns the decoded v4 signed and unsigned parameters', () => {
      const parsed = parseLaunchQuery(v4Query(), 4, 8192);
      expect(parsed).toEqual({ ...V4, signature: signLaunchParams(4, 'sha256', V4, USER, PASS) });
    });

    it('decodes non-ASCII values', () => {
      const params = { ...V1, xuserid: 'jürgen.straße@müller-gmbh.de' };
      expect(parseLaunchQuery(v1Query(params), 1, 8192).xuserid).toBe('jürgen.straße@müller-gmbh.de');
    });

    it("keeps a literal '+' in a value (no form decoding)", () => {
      const query = withRaw(v1Query(), 'xuserid', 'jane+doe@sandbox.example.com');
      expect(parseLaunchQuery(query, 1, 8192).xuserid).toBe('jane+doe@sandbox.example.com');
    });

    it("reads a space in the signature as '+'", () => {
      const query = withRaw(v1Query(), 'signature', 'ab+c/d e');
      expect(parseLaunchQuery(query, 1, 8192).signature).toBe('ab+c/d+e');
      expect(parseLaunchQuery(withRaw(v1Query(), 'signature', 'ab%2Bc/d%20e'), 1, 8192).signature).toBe('ab+c/d+e');
    });

    it('ignores unknown parameters, even when repeated', () => {
      const parsed = parseLaunchQuery(`${v1Query()}&extra=1&extra=2&company_domain=x`, 1, 8192);
      expect(parsed).not.toHaveProperty('extra');
      expect(parsed).not.toHaveProperty('company_domain');
    });

    it('does not depend on parameter order', () => {
      const reversed = v4Query().split('&').reverse().join('&');
      expect(parseLaunchQuery(reversed, 4, 8192)).toEqual(parseLaunchQuery(v4Query(), 4, 8192));
    });

    it('treats an absent or empty report_owner_employee_id as empty', () => {
      const { report_owner_employee_id: _, ...rest } = V4;
      expect(parseLaunchQuery(v4Query(rest), 4, 8192).report_owner_employee_id).toBe('');
      expect(parseLaunchQuery(v4Query({ ...V4, report_owner_employee_id: '' }), 4, 8192).report_owner_employee_id).toBe('');
    });

    it.each([
      ['a GUID', NONCE],
      ['a timestamp', '2022-04-01 12:00:00.000'],
      ['a base64 hash', 'q2Xk/9vU+3bT0aHc1LwE7nQy5ZpR8sJf4mD6gA0iKo='],
      ['punctuation', 'a_b.c~d:e/f+g=h{guid}'],
      ['non-ASCII text', 'nonce-ü-€'],
      ['one character', 'x'],
      ['256 characters', 'x'.repeat(256)],
    ])('takes %s as the nonce, decoded, and signs over it', (_label, nonce) => {
      const v1 = { ...V1, nonce };
      expect(parseLaunchQuery(v1Query(v1), 1, 65536)).toEqual({ ...v1, signature: signLaunchParams(1, 'sha1', v1, USER, PASS) });
      const v4 = { ...V4, nonce };
      expect(parseLaunchQuery(v4Query(v4), 4, 65536).nonce).toBe(nonce);
    });

    it("keeps a literal '+' in the nonce, as the base string needs it", () => {
      const query = withRaw(v1Query(), 'nonce', 'ab+cd=');
      expect(parseLaunchQuery(query, 1, 8192).nonce).toBe('ab+cd=');
    });

    it('leaves absent unsigned v4 parameters absent', () => {
      const { client_auth_code: _, ...rest } = V4;
      expect(parseLaunchQuery(v4Query(rest), 4, 8192)).not.toHaveProperty('client_auth_code');
    });
  });

  describe('a bad query', () => {
    it('is refused when longer than maxBytes', () => {
      const query = v1Query();
      expect(reasonOf(() => parseLaunchQuery(query, 1, query.length - 1))).toMatch(/longer than/);
      expect(parseLaunchQuery(query, 1, query.length)).toHaveProperty('nonce');
    });

    it.each([
      ['a truncated escape', '%E'],
      ['a non-hex escape', '%ZZjane'],
      ['an escape that is not UTF-8', '%C3%28'],
      ['a lone continuation byte', '%80'],
    ])('is refused for %s', (_label, raw) => {
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'xuserid', raw), 1, 8192))).toBe(
        'parameter "xuserid" is not correctly percent-encoded',
      );
    });

    it('is refused for a malformed escape in a parameter name', () => {
      expect(reasonOf(() => parseLaunchQuery(`${v1Query()}&%ZZ=1`, 1, 8192))).toBe(
        'a parameter name is not correctly percent-encoded',
      );
    });

    it.each(['%00', '%0A', '%0D', '%1F', '%7F'])('is refused for the control character %s in a value', (raw) => {
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'xuserid', `a${raw}b`), 1, 8192))).toBe(
        'parameter "xuserid" contains control characters',
      );
    });

    it.each(['xcompanydomain', 'xuserid', 'itemurl', 'nonce', 'signature'])('is refused when v1 %s appears twice', (name) => {
      const query = v1Query();
      const piece = query.split('&').find((p) => p.startsWith(`${name}=`))!;
      expect(reasonOf(() => parseLaunchQuery(`${query}&${piece}`, 1, 8192))).toBe(`parameter "${name}" appears twice`);
    });

    it.each(['report_owner_employee_id', 'source', 'client_auth_code'])('is refused when v4 %s appears twice', (name) => {
      expect(reasonOf(() => parseLaunchQuery(`${v4Query()}&${name}=x`, 4, 8192))).toBe(`parameter "${name}" appears twice`);
    });

    it('is refused when a name appears twice, once percent-encoded', () => {
      expect(reasonOf(() => parseLaunchQuery(`${v1Query()}&%6Eonce=${NONCE}`, 1, 8192))).toBe('parameter "nonce" appears twice');
    });

    it.each(['xcompanydomain', 'xuserid', 'itemurl', 'nonce', 'signature'])('is refused when v1 %s is missing or empty', (name) => {
      expect(reasonOf(() => parseLaunchQuery(without(v1Query(), name), 1, 8192))).toBe(`missing parameter "${name}"`);
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), name, ''), 1, 8192))).toBe(`missing parameter "${name}"`);
    });

    it.each(['company_domain', 'logged_in_user_id', 'report_owner_user_id', 'item_url', 'nonce', 'signature'])(
      'is refused when v4 %s is missing or empty',
      (name) => {
        expect(reasonOf(() => parseLaunchQuery(without(v4Query(), name), 4, 8192))).toBe(`missing parameter "${name}"`);
        expect(reasonOf(() => parseLaunchQuery(withRaw(v4Query(), name, ''), 4, 8192))).toBe(`missing parameter "${name}"`);
      },
    );

    it('reads a v1 query as v4 as missing parameters', () => {
      expect(reasonOf(() => parseLaunchQuery(v1Query(), 4, 8192))).toMatch(/^missing parameter/);
    });

    it.each([
      ['itemurl', 2048],
      ['xuserid', 256],
      ['xcompanydomain', 256],
    ])('is refused when v1 %s is longer than %i characters', (name, cap) => {
      expect(parseLaunchQuery(withRaw(v1Query(), name, 'a'.repeat(cap)), 1, 65536)).toHaveProperty(name);
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), name, 'a'.repeat(cap + 1)), 1, 65536))).toBe(
        `parameter "${name}" is longer than ${cap} characters`,
      );
    });

    it.each([
      ['item_url', 2048],
      ['expense_ids', 4096],
      ['client_auth_code', 256],
      ['language_code', 256],
    ])('is refused when v4 %s is longer than %i characters', (name, cap) => {
      const base = without(v4Query(), name);
      expect(parseLaunchQuery(`${base}&${name}=${'a'.repeat(cap)}`, 4, 65536)).toHaveProperty(name);
      expect(reasonOf(() => parseLaunchQuery(`${base}&${name}=${'a'.repeat(cap + 1)}`, 4, 65536))).toBe(
        `parameter "${name}" is longer than ${cap} characters`,
      );
    });

    it('counts decoded characters against the cap', () => {
      expect(parseLaunchQuery(withRaw(v1Query(), 'xuserid', '%C3%BC'.repeat(256)), 1, 65536).xuserid).toHaveLength(256);
    });

    it('is refused for a nonce longer than 256 characters, after decoding', () => {
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'nonce', 'n'.repeat(257)), 1, 65536))).toBe(
        'parameter "nonce" is longer than 256 characters',
      );
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'nonce', '%3A'.repeat(257)), 1, 65536))).toBe(
        'parameter "nonce" is longer than 256 characters',
      );
    });

    it.each(['%00', '%09', '%0A', '%1B', '%7F', '%C2%80', '%C2%9F'])('is refused for the control character %s in the nonce', (raw) => {
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'nonce', `2022${raw}04`), 1, 8192))).toBe(
        'parameter "nonce" contains control characters',
      );
    });

    it.each(['abc', 'ab=c', 'a-bc', 'ab_c', 'abcd===', 'ab$=', '====', 'abcde'])('is refused for the signature %s', (sig) => {
      expect(reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'signature', encodeURIComponent(sig)), 1, 8192))).toBe(
        'parameter "signature" is not valid base64',
      );
    });

    it('never echoes a value in the reason', () => {
      const reason = reasonOf(() => parseLaunchQuery(withRaw(v1Query(), 'signature', 'SECRET%21'), 1, 8192));
      expect(reason).not.toContain('SECRET');
    });
  });
});

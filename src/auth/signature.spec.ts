import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { LaunchVersion } from './launch.types.js';
import { launchKey, launchMac, macMatches, signLaunchParams, type SignatureAlgorithm } from './signature.js';

interface Vector {
  name: string;
  version: LaunchVersion;
  algorithm: SignatureAlgorithm;
  username: string;
  password: string;
  params: Record<string, string>;
  signature: string;
}

const vectors = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json'), 'utf8')) as {
    vectors: Vector[];
  }
).vectors;

const SIGNED_VALUES: Record<LaunchVersion, string[]> = {
  1: ['xcompanydomain', 'xuserid', 'itemurl', 'nonce'],
  4: ['company_domain', 'logged_in_user_id', 'report_owner_user_id', 'report_owner_employee_id', 'item_url', 'nonce'],
};

describe('signature', () => {
  it('has the vectors it must prove', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
    expect(new Set(vectors.map((v) => v.version))).toEqual(new Set([1, 4]));
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('vector %s', (_name, v) => {
    it('reproduces the signature', () => {
      expect(signLaunchParams(v.version, v.algorithm, v.params, v.username, v.password)).toBe(v.signature);
    });

    it('verifies the received MAC with macMatches', () => {
      const expected = launchMac(v.version, v.algorithm, v.params, v.username, v.password);
      expect(macMatches(expected, Buffer.from(v.signature, 'base64'))).toBe(true);
    });

    it.each(SIGNED_VALUES[v.version])('fails when the signed value %s changes', (name) => {
      const changed = { ...v.params, [name]: `${v.params[name]}x` };
      const mac = launchMac(v.version, v.algorithm, changed, v.username, v.password);
      expect(macMatches(mac, Buffer.from(v.signature, 'base64'))).toBe(false);
    });

    it('fails with a wrong password', () => {
      expect(signLaunchParams(v.version, v.algorithm, v.params, v.username, `${v.password}!`)).not.toBe(v.signature);
    });

    it('fails when only the case of the password changes', () => {
      const flipped = v.password === v.password.toUpperCase() ? v.password.toLowerCase() : v.password.toUpperCase();
      expect(flipped).not.toBe(v.password);
      expect(signLaunchParams(v.version, v.algorithm, v.params, v.username, flipped)).not.toBe(v.signature);
    });

    it('fails with the other algorithm', () => {
      const other: SignatureAlgorithm = v.algorithm === 'sha1' ? 'sha256' : 'sha1';
      expect(signLaunchParams(v.version, other, v.params, v.username, v.password)).not.toBe(v.signature);
    });
  });

  it('does not depend on unsigned v4 parameters', () => {
    const v = vectors.find((x) => x.version === 4)!;
    const extra = { ...v.params, source: 'HEADER', custom_field_launched_from: 'custom40', client_auth_code: 'other' };
    expect(signLaunchParams(4, v.algorithm, extra, v.username, v.password)).toBe(v.signature);
  });

  describe('username case', () => {
    it("lower-cases the username in the key, so 'JohnDoe' and 'johndoe' give the same key", () => {
      expect(launchKey('JohnDoe', 'password')).toBe(launchKey('johndoe', 'password'));
      expect(launchKey('JohnDoe', 'password')).toBe('johndoepassword');
    });

    it('keeps the password case in the key', () => {
      expect(launchKey('JohnDoe', 'Password')).not.toBe(launchKey('JohnDoe', 'password'));
    });

    it('uses the username as registered in the base string, so its case still matters there', () => {
      const v = vectors.find((x) => x.username === 'JohnDoe')!;
      expect(signLaunchParams(v.version, v.algorithm, v.params, 'JohnDoe', v.password)).toBe(v.signature);
      expect(signLaunchParams(v.version, v.algorithm, v.params, 'johndoe', v.password)).not.toBe(v.signature);
    });
  });

  describe(macMatches.name, () => {
    it('is false for a MAC of another length', () => {
      const mac = Buffer.alloc(20, 1);
      expect(macMatches(mac, mac.subarray(0, 19))).toBe(false);
      expect(macMatches(mac, Buffer.concat([mac, Buffer.alloc(1)]))).toBe(false);
    });
  });
});

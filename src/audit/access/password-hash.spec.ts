import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { AuditorAccount } from '../../config/index.js';
import {
  DEMO_AUDITOR,
  dummyHash,
  hashPassword,
  isDemoPasswordHash,
  parsePasswordHash,
  verifyPassword,
  verifyPasswordSync,
} from './password-hash.js';

const SCHEMA_FORMAT = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/;

describe('hashPassword', () => {
  it('makes scrypt$16384$8$1$salt$key with a 16-byte salt and a 32-byte key, in base64url', async () => {
    const hash = await hashPassword('correct horse battery');
    const [scheme, N, r, p, salt, key] = hash.split('$');
    expect([scheme, N, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    expect(hash).toMatch(SCHEMA_FORMAT);
    // The configuration schema's own pattern accepts it.
    const account = Object.assign(new AuditorAccount(), { username: 'jane', passwordHash: hash });
    expect(account.passwordHash).toBe(hash);
  });

  it('salts: the same password gives another hash each time, and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same password 1'), hashPassword('same password 1')]);
    expect(a).not.toBe(b);
    await expect(verifyPassword('same password 1', a)).resolves.toBe(true);
    await expect(verifyPassword('same password 1', b)).resolves.toBe(true);
  });
});

describe('verifyPassword', () => {
  it('accepts the password and refuses any other, also one differing in case or by a character', async () => {
    const hash = await hashPassword('Tr0ub4dor&3-long');
    await expect(verifyPassword('Tr0ub4dor&3-long', hash)).resolves.toBe(true);
    await expect(verifyPassword('tr0ub4dor&3-long', hash)).resolves.toBe(false);
    await expect(verifyPassword('Tr0ub4dor&3-lon', hash)).resolves.toBe(false);
    await expect(verifyPassword('', hash)).resolves.toBe(false);
  });

  it('treats the composed and decomposed forms of a character as one password', async () => {
    const hash = await hashPassword('caf\u00e9-au-lait-12');
    await expect(verifyPassword('cafe\u0301-au-lait-12', hash)).resolves.toBe(true);
  });

  it('is false, not an error, for a malformed hash', async () => {
    await expect(verifyPassword('x', 'plain-text-password')).resolves.toBe(false);
    await expect(verifyPassword('x', 'scrypt$16384$8$1$short$short')).resolves.toBe(false);
  });

  it('the sync form agrees with the async one', async () => {
    const hash = await hashPassword('sync and async 1');
    expect(verifyPasswordSync('sync and async 1', hash)).toBe(true);
    expect(verifyPasswordSync('sync and async 2', hash)).toBe(false);
  });

  it('a dummy hash with the same parameters refuses everything yet costs a real derivation', async () => {
    const dummy = dummyHash();
    expect(dummy).toMatchObject({ N: 16384, r: 8, p: 1 });
    await expect(verifyPassword('', dummy)).resolves.toBe(false);
    const real = parsePasswordHash(await hashPassword('timing password 1'))!;
    const time = async (hash: typeof dummy) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 3; i++) await verifyPassword('timing password 1', hash);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const [known, unknown] = [await time(real), await time(dummy)];
    // Same work, so within a wide margin of each other; a skipped derivation would be 100x faster.
    expect(unknown).toBeGreaterThan(known / 4);
  });
});

describe('parsePasswordHash', () => {
  const salt = Buffer.alloc(16, 1).toString('base64url');
  const key = Buffer.alloc(32, 2).toString('base64url');
  it.each([
    ['N not a power of two', `scrypt$16000$8$1$${salt}$${key}`],
    ['N too small', `scrypt$512$8$1$${salt}$${key}`],
    ['N too large', `scrypt$2097152$8$1$${salt}$${key}`],
    ['r zero', `scrypt$16384$0$1$${salt}$${key}`],
    ['p too large', `scrypt$16384$8$17$${salt}$${key}`],
    ['too much memory', `scrypt$1048576$8$1$${salt}$${key}`],
    ['another scheme', `bcrypt$16384$8$1$${salt}$${key}`],
  ])('refuses %s', (_label, hash) => {
    expect(parsePasswordHash(hash)).toBeUndefined();
  });

  it('reads the parameters, salt and key', () => {
    expect(parsePasswordHash(`scrypt$32768$8$2$${salt}$${key}`)).toEqual({
      N: 32768,
      r: 8,
      p: 2,
      salt: Buffer.alloc(16, 1),
      key: Buffer.alloc(32, 2),
    });
  });
});

describe('the demo auditor', () => {
  const defaults = parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'config', 'default.yaml'), 'utf8'));
  const demo = defaults.audit.auditors.find((a: { username: string }) => a.username === DEMO_AUDITOR.username);

  it('default.yaml has the account, and its hash is of the documented password', async () => {
    expect(demo).toBeDefined();
    await expect(verifyPassword(DEMO_AUDITOR.password, demo.passwordHash)).resolves.toBe(true);
    expect(isDemoPasswordHash(demo.passwordHash)).toBe(true);
  });

  it('is recognised whatever the salt, and another password is not', async () => {
    expect(isDemoPasswordHash(await hashPassword(DEMO_AUDITOR.password))).toBe(true);
    expect(isDemoPasswordHash(await hashPassword('not-the-demo-password'))).toBe(false);
  });
});

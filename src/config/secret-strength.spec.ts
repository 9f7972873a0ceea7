import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { KEY_RECIPE, PASSWORD_RECIPE, keyWeakness, passwordWeakness } from './secret-strength.js';

describe(passwordWeakness.name, () => {
  it('passes long random passwords, hex, and passphrases with separators', () => {
    for (let i = 0; i < 200; i++) {
      expect(passwordWeakness(randomBytes(33).toString('base64').replace(/[/+=]/g, '').slice(0, 44))).toBeUndefined();
      expect(passwordWeakness(randomBytes(20).toString('hex'))).toBeUndefined();
    }
    expect(passwordWeakness('correct-horse-battery-staple')).toBeUndefined();
  });

  it("passes what the messages' recipe makes", () => {
    let made: string;
    try {
      made = execFileSync('sh', ['-c', PASSWORD_RECIPE], { encoding: 'utf8' }).trim();
    } catch {
      console.warn('SKIPPED: openssl is not installed here');
      return;
    }
    expect(made).toMatch(/^[A-Za-z0-9]{40,44}$/);
    expect(passwordWeakness(made)).toBeUndefined();
  });

  it('names what is weak, never the password itself', () => {
    expect(passwordWeakness('sandbox-pw-12345')).toBe('is 16 characters long, shorter than the 20 required');
    expect(passwordWeakness('ababababababababababab')).toBe('has only 2 different characters (at least 10 are required)');
    expect(passwordWeakness('ABCDEFGHIJKLMNOPQRSTUVWXYZ')).toBe('is made of upper-case letters only');
    expect(passwordWeakness('!@#$%^&*()_+-=[]{};:,.<>')).toBe('is made of punctuation only');
    expect(passwordWeakness('Xy9#Kq2!Lm7$Xy9#Kq2!Lm7$')).toBe('is one shorter sequence repeated');
    // Characters, not UTF-16 units: 19 emoji are 38 units but 19 characters.
    expect(passwordWeakness('😀'.repeat(19))).toMatch(/^is 19 characters long/);
  });
});

describe(keyWeakness.name, () => {
  it('passes random keys', () => {
    for (let i = 0; i < 1000; i++) expect(keyWeakness(randomBytes(32))).toBeUndefined();
    expect(KEY_RECIPE).toBe('openssl rand -base64 32');
  });

  it('refuses all-zero, repeated and patterned keys', () => {
    expect(keyWeakness(Buffer.alloc(32))).toBe('is all zero bytes');
    expect(keyWeakness(Buffer.alloc(32, 0xa5))).toBe('is one byte repeated');
    expect(keyWeakness(Buffer.from('abcdefghabcdefghabcdefghabcdefgh'))).toBe(
      'has only 8 different byte values (32 random bytes have about 30), so it is a pattern, not random',
    );
  });
});

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { AppConfig } from '../config/index.js';
import { KEY_FILE_NAME, SecretBox } from './secret-box.js';

function configWith(dataDir: string, encryptionKey?: string): AppConfig {
  const config = new AppConfig();
  config.storage.dataDir = dataDir;
  config.security.encryptionKey = encryptionKey;
  return config;
}

describe(SecretBox.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'secret-box-'));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens what it sealed, and seals the same text differently each time', () => {
    const box = new SecretBox(configWith(dir, randomBytes(32).toString('base64')));
    const a = box.seal('refresh-token-1');
    const b = box.seal('refresh-token-1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('refresh-token-1');
    expect(Buffer.from(a, 'base64').length).toBe(12 + 16 + 'refresh-token-1'.length);
    expect(box.open(a)).toBe('refresh-token-1');
    expect(box.open(b)).toBe('refresh-token-1');
  });

  it('refuses a tampered value, a truncated value and another key', () => {
    const key = randomBytes(32).toString('base64');
    const box = new SecretBox(configWith(dir, key));
    const sealed = Buffer.from(box.seal('secret'), 'base64');
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    expect(() => box.open(flipped.toString('base64'))).toThrow(/cannot be opened/);
    const badTag = Buffer.from(sealed);
    badTag[14] ^= 1;
    expect(() => box.open(badTag.toString('base64'))).toThrow(/cannot be opened/);
    expect(() => box.open(sealed.subarray(0, 20).toString('base64'))).toThrow();
    const other = new SecretBox(configWith(dir, randomBytes(32).toString('base64')));
    expect(() => other.open(sealed.toString('base64'))).toThrow(/cannot be opened/);
  });

  it('refuses a configured key that is not 32 bytes', () => {
    const box = new SecretBox(configWith(dir, randomBytes(16).toString('base64')));
    expect(() => box.seal('x')).toThrow(/32 bytes/);
  });

  it('generates a key file with mode 0600 when none is configured, and reuses it', () => {
    const dataDir = join(dir, 'nested', 'data');
    const first = new SecretBox(configWith(dataDir));
    const sealed = first.seal('kept across restarts');
    const path = join(dataDir, KEY_FILE_NAME);
    const stored = readFileSync(path, 'utf8');
    expect(Buffer.from(stored, 'base64').length).toBe(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Logger.prototype.warn).toHaveBeenCalledWith(expect.stringContaining('CONNECTOR_ENCRYPTION_KEY'));
    expect(JSON.stringify((Logger.prototype.warn as jest.Mock).mock.calls)).not.toContain(stored);

    const second = new SecretBox(configWith(dataDir));
    expect(second.open(sealed)).toBe('kept across restarts');
    expect(readFileSync(path, 'utf8')).toBe(stored);
  });

  it('creates the data folder 0700 and the key file 0600 whatever the umask, and warns about an older key file others can read', () => {
    const dataDir = join(dir, 'data');
    const umask = process.umask(0);
    try {
      new SecretBox(configWith(dataDir)).seal('x');
    } finally {
      process.umask(umask);
    }
    const path = join(dataDir, KEY_FILE_NAME);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    chmodSync(path, 0o644);
    new SecretBox(configWith(dataDir)).seal('x');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(Logger.prototype.warn).toHaveBeenCalledWith(
      `${path} (mode 0644) can be read or changed by every user of the machine, and it holds the key that opens the stored refresh tokens. Files the connector creates are 0600; this one is older: \`chmod 600 ${path}\``,
    );
  });

  it('does not write a key file when a key is configured', () => {
    const box = new SecretBox(configWith(dir, randomBytes(32).toString('base64')));
    box.seal('x');
    expect(() => statSync(join(dir, KEY_FILE_NAME))).toThrow();
  });

  it('derives a distinct key per purpose, the same for the same encryption key, none equal to it', () => {
    const key = randomBytes(32);
    const box = new SecretBox(configWith(dir, key.toString('base64')));
    const nonces = box.deriveKey('claimed-nonces');
    expect(nonces).toHaveLength(32);
    expect(nonces.equals(key)).toBe(false);
    expect(nonces.equals(box.deriveKey('other'))).toBe(false);
    expect(new SecretBox(configWith(dir, key.toString('base64'))).deriveKey('claimed-nonces').equals(nonces)).toBe(true);
    expect(new SecretBox(configWith(dir, randomBytes(32).toString('base64'))).deriveKey('claimed-nonces').equals(nonces)).toBe(false);
  });
});

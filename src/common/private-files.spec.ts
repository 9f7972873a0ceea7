import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile, createPrivateFile, ensurePrivateDir, fileExposure, folderExposure } from './private-files.js';

const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe('private files', () => {
  let dir: string;
  let umask: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clc-private-'));
    chmodSync(dir, 0o755);
    umask = process.umask(0);
  });

  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates missing folders 0700 whatever the umask, and leaves existing ones alone', () => {
    expect(ensurePrivateDir(join(dir, 'a', 'b'))).toBe(true);
    expect([modeOf(join(dir, 'a')), modeOf(join(dir, 'a', 'b'))]).toEqual([0o700, 0o700]);
    expect(modeOf(dir)).toBe(0o755);
    chmodSync(join(dir, 'a', 'b'), 0o750);
    expect(ensurePrivateDir(join(dir, 'a', 'b'))).toBe(false);
    expect(modeOf(join(dir, 'a', 'b'))).toBe(0o750);
  });

  it('creates a file 0600 whatever the umask, once', () => {
    const file = join(dir, 'f');
    expect(createPrivateFile(file)).toBe(true);
    expect(modeOf(file)).toBe(0o600);
    chmodSync(file, 0o640);
    expect(createPrivateFile(file)).toBe(false);
    expect(modeOf(file)).toBe(0o640);
  });

  it('writes a random key file once, 0600 in a 0700 folder whatever the umask, leaving no staging file', () => {
    const path = join(dir, 'keys', 'some.key');
    expect(createKeyFile(path, 32)).toBe(true);
    const key = readFileSync(path, 'utf8');
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect([modeOf(join(dir, 'keys')), modeOf(path)]).toEqual([0o700, 0o600]);
    // A second process starting at the same moment finds the complete key and keeps it.
    expect(createKeyFile(path, 32)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(key);
    expect(readdirSync(join(dir, 'keys'))).toEqual(['some.key']);
  });

  it('warns about folders others can write without the sticky bit, and files others can read or write', () => {
    const folder = join(dir, 'shared');
    mkdirSync(folder);
    for (const [mode, warned] of [[0o777, true], [0o1777, false], [0o755, false], [0o2770, false], [0o702, true]] as const) {
      chmodSync(folder, mode);
      expect([mode.toString(8), folderExposure(folder) !== undefined]).toEqual([mode.toString(8), warned]);
    }
    const file = join(dir, 'db');
    expect(fileExposure(file, 'x')).toBeUndefined(); // not there (yet): nothing to say
    writeFileSync(file, '');
    for (const [mode, warned] of [[0o644, true], [0o602, true], [0o640, false], [0o600, false]] as const) {
      chmodSync(file, mode);
      expect([mode.toString(8), fileExposure(file, 'x') !== undefined]).toEqual([mode.toString(8), warned]);
    }
  });
});

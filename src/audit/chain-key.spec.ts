import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/index.js';
import { CHAIN_KEY_FILE_NAME, loadChainKey, MissingChainKeyError, readChainKey } from './chain-key.js';

describe('audit chain key', () => {
  let dataDir: string;
  let config: AppConfig;
  let warned: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'clc-chain-key-')), 'data');
    config = new AppConfig();
    config.storage.dataDir = dataDir;
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('uses security.auditChainKey when configured, and writes nothing', () => {
    const key = randomBytes(32);
    config.security.auditChainKey = key.toString('base64');
    expect(loadChainKey(config).equals(key)).toBe(true);
    expect(readChainKey(config).equals(key)).toBe(true);
    expect(warned).not.toHaveBeenCalled();
  });

  it('refuses a configured key that is not 32 bytes', () => {
    config.security.auditChainKey = randomBytes(16).toString('base64');
    expect(() => loadChainKey(config)).toThrow('security.auditChainKey: the audit chain key must be base64 of exactly 32 bytes');
  });

  it('otherwise generates one in the data folder (0600), warns without the key, and keeps it', () => {
    const key = loadChainKey(config);
    const path = join(dataDir, CHAIN_KEY_FILE_NAME);
    expect(key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(path, 'utf8'), 'base64').equals(key)).toBe(true);
    expect(warned).toHaveBeenCalledWith(`No audit chain key configured: generated one in ${path}. Set CONNECTOR_AUDIT_CHAIN_KEY in production.`);
    expect(loadChainKey(config).equals(key)).toBe(true);
    expect(readChainKey(config).equals(key)).toBe(true);
    for (const [message] of warned.mock.calls) expect(String(message)).not.toContain(key.toString('base64'));
    // Only the key file is left: the staging file it was linked from is gone.
    expect(readdirSync(dataDir)).toEqual([CHAIN_KEY_FILE_NAME]);
  });

  it('gives every later caller, in this process or another, the key first written', () => {
    const keys = Array.from({ length: 5 }, () => loadChainKey(config).toString('base64'));
    expect(new Set(keys).size).toBe(1);
  });

  it('a reader never creates a key: it says how to give one', () => {
    expect(() => readChainKey(config)).toThrow(MissingChainKeyError);
    expect(() => readChainKey(config)).toThrow(/set CONNECTOR_AUDIT_CHAIN_KEY \(or CONNECTOR_AUDIT_CHAIN_KEY_FILE/);
    expect(() => statSync(join(dataDir, CHAIN_KEY_FILE_NAME))).toThrow();
  });
});

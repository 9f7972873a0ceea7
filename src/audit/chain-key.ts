import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { createKeyFile } from '../common/private-files.js';
import type { AppConfig } from '../config/index.js';

const KEY_BYTES = 32;
/** Where the connector keeps a generated chain key when none is configured (outside production). */
export const CHAIN_KEY_FILE_NAME = 'audit-chain.key';
/** Injection token of the chain key, for whoever builds an AuditService with a key it loaded itself (the CLI). */
export const AUDIT_CHAIN_KEY = Symbol('AUDIT_CHAIN_KEY');

/** No chain key is configured and none was generated in the data folder. */
export class MissingChainKeyError extends Error {
  constructor(readonly keyFile: string) {
    super(
      `no audit chain key: set CONNECTOR_AUDIT_CHAIN_KEY (or CONNECTOR_AUDIT_CHAIN_KEY_FILE, or security.auditChainKey) ` +
        `to the key the connector runs with; without it the chain's HMACs cannot be checked. ` +
        `A connector without a configured key keeps a generated one in its data folder (${keyFile}): ` +
        `point CONNECTOR_DATA_DIR at that folder.`,
    );
    this.name = 'MissingChainKeyError';
  }
}

/**
 * The chain key as the server uses it: `security.auditChainKey`, or else (the configuration
 * requires the key in production and with a shared database) a key generated once in the data
 * folder, as SecretBox does for the encryption key. Never logged, never written to the database.
 */
export function loadChainKey(config: AppConfig, logger = new Logger('AuditChainKey')): Buffer {
  const configured = configuredChainKey(config);
  if (configured) return configured;
  const path = chainKeyFile(config);
  if (createKeyFile(path, KEY_BYTES)) {
    logger.warn(`No audit chain key configured: generated one in ${path}. Set CONNECTOR_AUDIT_CHAIN_KEY in production.`);
  } else {
    logger.warn(`No audit chain key configured: using ${path}. Set CONNECTOR_AUDIT_CHAIN_KEY in production.`);
  }
  return checkedKey(readFileSync(path, 'utf8').trim(), path);
}

/**
 * The chain key as a command that only reads the log uses it: the configured key, or the one a
 * connector generated in the data folder; never a new one (a new key would verify nothing).
 * Throws MissingChainKeyError when there is neither.
 */
export function readChainKey(config: AppConfig): Buffer {
  const configured = configuredChainKey(config);
  if (configured) return configured;
  const path = chainKeyFile(config);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingChainKeyError(path);
    throw error;
  }
  return checkedKey(text.trim(), path);
}

function configuredChainKey(config: AppConfig): Buffer | undefined {
  const configured = config.security.auditChainKey;
  return configured === undefined ? undefined : checkedKey(configured, 'security.auditChainKey');
}

function chainKeyFile(config: AppConfig): string {
  return join(resolve(config.storage.dataDir), CHAIN_KEY_FILE_NAME);
}

function checkedKey(base64: string, source: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${source}: the audit chain key must be base64 of exactly 32 bytes (openssl rand -base64 32)`);
  return key;
}

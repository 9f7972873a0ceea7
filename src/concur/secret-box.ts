import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { createKeyFile, fileExposure } from '../common/private-files.js';
import { AppConfig } from '../config/index.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_FILE_NAME = 'encryption.key';

/** AES-256-GCM for secrets at rest (rotated refresh tokens): base64(iv || tag || ciphertext). */
@Injectable()
export class SecretBox {
  private readonly logger = new Logger(SecretBox.name);
  private key?: Buffer;

  constructor(private readonly config: AppConfig) {}

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.getKey(), iv);
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
  }

  open(sealed: string): string {
    const data = Buffer.from(sealed, 'base64');
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value is too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.getKey(), data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('sealed value cannot be opened (wrong key or tampered)');
    }
  }

  /**
   * A 32-byte key for another purpose (`purpose` names it), derived with HKDF-SHA256 from the
   * encryption key: one deployment secret serves several uses, and no derived key reveals the
   * encryption key or another purpose's key.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.getKey(), Buffer.alloc(0), `concur-launch-connector ${purpose}`, KEY_BYTES));
  }

  private getKey(): Buffer {
    this.key ??= this.loadKey();
    return this.key;
  }

  private loadKey(): Buffer {
    const configured = this.config.security.encryptionKey;
    if (configured !== undefined) return checkedKey(Buffer.from(configured, 'base64'), 'security.encryptionKey');
    const dir = resolve(this.config.storage.dataDir);
    const path = join(dir, KEY_FILE_NAME);
    // The folder's warning, if any, comes from the database that shares it (database.factory.ts).
    if (createKeyFile(path, KEY_BYTES)) {
      this.logger.warn(`No encryption key configured: generated one in ${path}. Set CONNECTOR_ENCRYPTION_KEY in production.`);
    } else {
      this.logger.warn(`No encryption key configured: using ${path}. Set CONNECTOR_ENCRYPTION_KEY in production.`);
      const exposed = fileExposure(path, 'the key that opens the stored refresh tokens');
      if (exposed) this.logger.warn(exposed);
    }
    return checkedKey(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'), path);
  }
}

function checkedKey(key: Buffer, source: string): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`${source}: the encryption key must be base64 of exactly 32 bytes`);
  return key;
}

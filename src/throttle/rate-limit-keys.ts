import { createHmac, randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/index.js';

/**
 * The keyed hash of rate-limit subjects (Redis key names, unknown usernames), so a key cannot
 * be reversed to a client IP or username by hashing every candidate. The key is derived from
 * security.encryptionKey, the same on every replica (config requires it with REDIS_URL);
 * without it a random key per process, which only the in-memory counts use.
 */
export class RateLimitKeys {
  private constructor(private readonly secret: Buffer) {}

  static fromConfig(config: AppConfig): RateLimitKeys {
    const configured = config.security?.encryptionKey;
    if (configured === undefined) return RateLimitKeys.random();
    return new RateLimitKeys(createHmac('sha256', Buffer.from(configured, 'base64')).update('rate-limit-keys').digest());
  }

  static random(): RateLimitKeys {
    return new RateLimitKeys(randomBytes(32));
  }

  /** Hex HMAC-SHA256 of the parts, newline-separated. */
  digest(...parts: string[]): string {
    return createHmac('sha256', this.secret).update(parts.join('\n'), 'utf8').digest('hex');
  }
}

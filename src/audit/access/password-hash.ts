import { randomBytes, scrypt, type ScryptOptions, scryptSync, timingSafeEqual } from 'node:crypto';

/** What `hashPassword` uses: about 50 ms and 16 MiB a check on a current server. */
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Bounds on configured parameters, so a mistyped hash cannot make every sign-in take minutes or gigabytes. */
const MAX_N = 2 ** 20;
const MIN_N = 2 ** 10;
const MAX_MEMORY = 256 * 1024 * 1024;

/** The account of the embedded demo configuration; refused under NODE_ENV=production. */
export const DEMO_AUDITOR = { username: 'auditor', password: 'auditor-demo' } as const;

export interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

const FORMAT = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{32,128})$/;

/** The parts of `scrypt$N$r$p$salt$hash`, or undefined when malformed or outside the supported parameters. */
export function parsePasswordHash(text: string): ScryptHash | undefined {
  const match = typeof text === 'string' ? FORMAT.exec(text) : null;
  if (!match) return undefined;
  const [N, r, p] = match.slice(1, 4).map(Number);
  const salt = Buffer.from(match[4], 'base64url');
  const key = Buffer.from(match[5], 'base64url');
  const powerOfTwo = (N & (N - 1)) === 0;
  if (!powerOfTwo || N < MIN_N || N > MAX_N || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  if (memoryOf(N, r) > MAX_MEMORY || salt.length < 12 || key.length < 16 || key.length > 64) return undefined;
  return { N, r, p, salt, key };
}

function memoryOf(N: number, r: number): number {
  return 128 * N * r;
}

function optionsOf(hash: Pick<ScryptHash, 'N' | 'r' | 'p'>): ScryptOptions {
  // Node refuses more than 32 MiB by default; leave room above scrypt's own 128*N*r.
  return { N: hash.N, r: hash.r, p: hash.p, maxmem: memoryOf(hash.N, hash.r) + 1024 * 1024 };
}

function format(hash: ScryptHash): string {
  return `scrypt$${hash.N}$${hash.r}$${hash.p}$${hash.salt.toString('base64url')}$${hash.key.toString('base64url')}`;
}

/** The same password typed on two systems may differ only in Unicode composition. */
function passwordBytes(password: string): Buffer {
  return Buffer.from(password.normalize('NFC'), 'utf8');
}

function derive(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passwordBytes(password), salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** A new `scrypt$N$r$p$salt$hash` for the configuration, with a random salt. */
export async function hashPassword(password: string, params: Pick<ScryptHash, 'N' | 'r' | 'p'> = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, optionsOf(params));
  return format({ ...params, salt, key });
}

/** Whether the password matches the hash; the key comparison takes the same time wherever it differs. */
export async function verifyPassword(password: string, hash: string | ScryptHash): Promise<boolean> {
  const parsed = typeof hash === 'string' ? parsePasswordHash(hash) : hash;
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.key.length, optionsOf(parsed));
  return timingSafeEqual(key, parsed.key);
}

/** Blocking; for the configuration check at start, never while serving. */
export function verifyPasswordSync(password: string, hash: string): boolean {
  const parsed = parsePasswordHash(hash);
  if (!parsed) return false;
  return timingSafeEqual(scryptSync(passwordBytes(password), parsed.salt, parsed.key.length, optionsOf(parsed)), parsed.key);
}

/**
 * A hash of a random password with the given parameters: checking an unknown user name against
 * it costs what checking a known one costs, so the answer time does not tell which names exist.
 */
export function dummyHash(params: Pick<ScryptHash, 'N' | 'r' | 'p'> = SCRYPT_DEFAULTS): ScryptHash {
  return { ...params, salt: randomBytes(SALT_BYTES), key: randomBytes(KEY_BYTES) };
}

/** True when the hash is of the demo password, whatever its salt. */
export function isDemoPasswordHash(hash: string): boolean {
  return verifyPasswordSync(DEMO_AUDITOR.password, hash);
}

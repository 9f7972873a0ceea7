/** How the messages tell the operator to make a strong connector password (44 characters of A-Z, a-z, 0-9). */
export const PASSWORD_RECIPE = "openssl rand -base64 36 | tr -d '/+=' | cut -c1-44";
/** How the messages tell the operator to make a key (32 random bytes, base64). */
export const KEY_RECIPE = 'openssl rand -base64 32';

export const MIN_CONNECTOR_PASSWORD_LENGTH = 20;
/**
 * 20 random characters of the recipe's 62 have about 17 different ones (fewer than 10: one time in
 * 10^7); 40 hex digits fewer than 10 one time in 10^6. 20 hex digits (80 bits) fail one time in 20.
 */
const MIN_DISTINCT_CHARACTERS = 10;
/** 32 random bytes have about 30 different values; fewer than 16 happens one time in 10^16. */
const MIN_DISTINCT_KEY_BYTES = 16;

const CHARACTER_CLASSES: Array<[RegExp, string]> = [
  [/^\p{Ll}+$/u, 'lower-case letters'],
  [/^\p{Lu}+$/u, 'upper-case letters'],
  [/^\p{Nd}+$/u, 'digits'],
  [/^[^\p{L}\p{Nd}]+$/u, 'punctuation'],
];

/**
 * Why a connector password is too weak, or undefined. It is the HMAC key of every launch URL, and
 * every employee sees URLs signed with it, so whoever has one can guess offline at leisure: it must
 * be long and random. Randomness cannot be measured from one sample, so these catch the shapes a
 * person types instead: too short; fewer than 10 different characters ("aaaa…", "abab…",
 * "Password1Password1…"); one kind of character only (a word, a date, a number: all lower-case or
 * all digits); one shorter sequence repeated. The reasons never quote the password.
 */
export function passwordWeakness(password: string): string | undefined {
  const characters = [...password];
  if (characters.length < MIN_CONNECTOR_PASSWORD_LENGTH) {
    return `is ${characters.length} characters long, shorter than the ${MIN_CONNECTOR_PASSWORD_LENGTH} required`;
  }
  const distinct = new Set(characters).size;
  if (distinct < MIN_DISTINCT_CHARACTERS) return `has only ${distinct} different characters (at least ${MIN_DISTINCT_CHARACTERS} are required)`;
  const only = CHARACTER_CLASSES.find(([pattern]) => pattern.test(password));
  if (only) return `is made of ${only[1]} only`;
  if (repeatsUnit(characters)) return 'is one shorter sequence repeated';
  return undefined;
}

/** Is the text a shorter sequence written two or more times ("abc123abc123")? */
function repeatsUnit(characters: string[]): boolean {
  const n = characters.length;
  for (let unit = 1; unit <= n / 2; unit++) {
    if (n % unit !== 0) continue;
    let repeated = true;
    for (let i = unit; i < n && repeated; i++) repeated = characters[i] === characters[i - unit];
    if (repeated) return true;
  }
  return false;
}

/** Why a 32-byte key is not random, or undefined: all zero, one byte repeated, or too few different bytes (a typed pattern). */
export function keyWeakness(key: Buffer): string | undefined {
  if (key.every((b) => b === 0)) return 'is all zero bytes';
  if (key.every((b) => b === key[0])) return 'is one byte repeated';
  const distinct = new Set(key).size;
  if (distinct < MIN_DISTINCT_KEY_BYTES) return `has only ${distinct} different byte values (32 random bytes have about 30), so it is a pattern, not random`;
  return undefined;
}

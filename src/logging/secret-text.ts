/**
 * Secrets inside free text (a message, an error text, a finished log line): the values of
 * `name=value` pairs of a query or form, and `Bearer`/`Basic` credentials.
 *
 * A scan written out instead of `text.replace(/\b(signature|sig|…)(=|%3D)[^&\s"\\;,]+/gi, …)`:
 * that pattern matches in linear time too, but V8 builds the replaced string with a cost that grows
 * faster than the text when there are thousands of matches (16 KB of `sig=a&` took 0.8 ms, 64 KB
 * 4-18x more, as the collector copies the growing result). Log lines carry text that anonymous
 * clients chose, so the cost must stay proportional to the length whatever they put in it. The
 * scan does what the two patterns did, in the same order and with the same results (a test in
 * redaction.spec.ts compares them on generated text): each position is looked at a bounded number
 * of times, and nothing is allocated but the output.
 */

/** What a secret is replaced with, in text and as a value (redaction.ts re-exports it). */
export const REDACTED = '[redacted]';

/** Query and form names whose value is secret, lower case; a longer name before a name it starts with. */
const SECRET_PARAMETERS = ['signature', 'sig', 'client_auth_code', 'client_secret', 'refresh_token', 'access_token', 'id_token', 'password', 'token'];

/** Authorization schemes whose credential follows the name, lower case. */
const CREDENTIAL_SCHEMES = ['bearer', 'basic'];

/** A credential shorter than this is a word, not a secret ("Basic auth", "Bearer token"). */
const MIN_CREDENTIAL_LENGTH = 6;

/**
 * A cheap test before the scans: a line without any of the names is returned as it is. Literal
 * alternatives after `\b`, nothing repeated: linear in the text.
 */
const ANY_NAME = /\b(?:sig|client_auth_code|client_secret|refresh_token|access_token|id_token|password|token|bearer|basic)/i;

const byFirstChar = (names: string[]) => {
  const map = new Map<number, string[]>();
  for (const name of names) map.set(name.charCodeAt(0), [...(map.get(name.charCodeAt(0)) ?? []), name]);
  return map;
};
const PARAMETERS_BY_FIRST_CHAR = byFirstChar(SECRET_PARAMETERS);
const SCHEMES_BY_FIRST_CHAR = byFirstChar(CREDENTIAL_SCHEMES);

/** ASCII only, as a non-Unicode `/i` pattern folds case. */
function lower(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/** `\w`: a word boundary lies between a word character and anything else. */
function isWordChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
}

/** `\s` of JavaScript patterns: white space and line terminators. */
function isSpace(code: number): boolean {
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** Where a query or form value ends: `&`, white space, `"`, `\`, `;` or `,`. */
function endsValue(code: number): boolean {
  return code === 0x26 || code === 0x22 || code === 0x5c || code === 0x3b || code === 0x2c || isSpace(code);
}

/** The characters of a Bearer token or Basic credential (before its `=` padding). */
function isCredentialChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x7e || // ~
    code === 0x2b || // +
    code === 0x2f || // /
    code === 0x2d // -
  );
}

function hasNameAt(text: string, at: number, name: string): boolean {
  if (at + name.length > text.length) return false;
  for (let k = 0; k < name.length; k++) if (lower(text.charCodeAt(at + k)) !== name.charCodeAt(k)) return false;
  return true;
}

/** A secret found after a name: the text is kept up to `keep`, then `insert`, then resumes at `end`. */
interface Found {
  keep: number;
  insert: string;
  end: number;
}

/** After a parameter name: `=` or `%3D`, then a value of at least one character. */
function parameterValue(text: string, at: number): Found | undefined {
  let start: number;
  if (text.charCodeAt(at) === 0x3d) start = at + 1;
  else if (text.charCodeAt(at) === 0x25 && text.charCodeAt(at + 1) === 0x33 && lower(text.charCodeAt(at + 2)) === 0x64) start = at + 3;
  else return undefined;
  let end = start;
  while (end < text.length && !endsValue(text.charCodeAt(end))) end++;
  return end === start ? undefined : { keep: start, insert: REDACTED, end };
}

/** After a scheme name: white space, then at least six credential characters and any `=` padding. */
function schemeCredential(text: string, at: number): Found | undefined {
  let start = at;
  while (start < text.length && isSpace(text.charCodeAt(start))) start++;
  if (start === at) return undefined;
  let end = start;
  while (end < text.length && isCredentialChar(text.charCodeAt(end))) end++;
  if (end - start < MIN_CREDENTIAL_LENGTH) return undefined;
  while (end < text.length && text.charCodeAt(end) === 0x3d) end++;
  return { keep: at, insert: ` ${REDACTED}`, end };
}

/**
 * One pass over `text`: at each word start where one of `names` begins (case-insensitive, the
 * first in list order that is followed by a secret), the secret is replaced and the pass resumes
 * after it. Each character is looked at by the name comparison (at most the longest name's length
 * of times) and at most once by a value or credential.
 */
function replaceAfterNames(text: string, names: Map<number, string[]>, secretAfter: (text: string, at: number) => Found | undefined): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const candidates = names.get(lower(text.charCodeAt(i)));
    if (candidates === undefined || (i > 0 && isWordChar(text.charCodeAt(i - 1)))) continue;
    for (const name of candidates) {
      if (!hasNameAt(text, i, name)) continue;
      const found = secretAfter(text, i + name.length);
      if (!found) continue;
      out += text.slice(copied, found.keep) + found.insert;
      copied = found.end;
      i = found.end - 1;
      break;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Text with secrets that follow a recognisable pattern replaced: the values of query and form
 * parameters named like a secret (`signature=…`, `client_secret%3D…`), then Bearer and Basic
 * credentials. Never adds or removes a '"' or '\', so it is safe on a serialized JSON line too.
 */
export function scrubText(text: string): string {
  if (!ANY_NAME.test(text)) return text;
  return replaceAfterNames(replaceAfterNames(text, PARAMETERS_BY_FIRST_CHAR, parameterValue), SCHEMES_BY_FIRST_CHAR, schemeCredential);
}

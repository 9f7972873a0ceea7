/**
 * Untrusted text (what anyone can put in the audit log through a rejected launch or a failed
 * sign-in) made safe to show: the one place that decides which characters are shown escaped.
 * The stored text never changes (the hash chain covers it as received); only its display does.
 *
 * Shown escaped: controls (C0 including tab, CR and LF, DEL, C1), format characters (bidi
 * embeddings, overrides, isolates and marks, U+061C, zero-width space and joiners, word joiner,
 * BOM, soft hyphen, U+180E, tag characters), line and paragraph separators, every other
 * Default_Ignorable_Code_Point (variation selectors, Hangul fillers, U+034F...) and lone
 * surrogates. Each of them can hide text, fake a line, or reorder what an auditor reads
 * (a U+202E turns `gpj.exe` around), and none belongs in a user name, a domain or a reason.
 */
const UNSAFE_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Cs}]/u;
const UNSAFE_CHARS = new RegExp(UNSAFE_CHAR.source, 'gu');
/** The text form also doubles backslashes, so an escape can be told from a literal `\u202E`. */
const UNSAFE_OR_BACKSLASH = new RegExp(`\\\\|${UNSAFE_CHAR.source}`, 'gu');

const NAMES: Record<number, string> = {
  0x09: 'tab', 0x0a: 'line feed', 0x0d: 'carriage return', 0xad: 'soft hyphen', 0x061c: 'Arabic letter mark',
  0x180e: 'Mongolian vowel separator', 0x200b: 'zero-width space', 0x200c: 'zero-width non-joiner', 0x200d: 'zero-width joiner',
  0x200e: 'left-to-right mark', 0x200f: 'right-to-left mark', 0x2028: 'line separator', 0x2029: 'paragraph separator',
  0x202a: 'left-to-right embedding', 0x202b: 'right-to-left embedding', 0x202c: 'pop directional formatting',
  0x202d: 'left-to-right override', 0x202e: 'right-to-left override', 0x2060: 'word joiner', 0x2066: 'left-to-right isolate',
  0x2067: 'right-to-left isolate', 0x2068: 'first strong isolate', 0x2069: 'pop directional isolate', 0xfeff: 'zero-width no-break space (BOM)',
};

/** A run of text shown as it is, or one unsafe character shown as its escape (`mark`) with a description. */
export type TextPart = { text: string; mark?: undefined; title?: undefined } | { text?: undefined; mark: string; title: string };

/** `\u202E` for a character of the BMP, `\u{E0041}` beyond it. */
export function escapeOf(char: string): string {
  const code = char.codePointAt(0)!;
  const hex = code.toString(16).toUpperCase();
  return code > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

function describe(char: string): string {
  const code = char.codePointAt(0)!;
  const name = NAMES[code] ?? (/\p{Cc}/u.test(char) ? 'control character' : 'invisible or formatting character');
  return `${name}, U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

export function hasUnsafeChars(text: string): boolean {
  return UNSAFE_CHAR.test(text);
}

/**
 * The parts of a text for a page: runs shown as they are (the template still HTML-escapes
 * them) and each unsafe character as a mark the page styles apart, so it cannot be mistaken
 * for text the sender typed.
 */
export function untrustedTextParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(UNSAFE_CHARS)) {
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ mark: escapeOf(match[0]), title: describe(match[0]) });
    last = match.index + match[0].length;
  }
  if (last < text.length || parts.length === 0) parts.push({ text: text.slice(last) });
  return parts;
}

/**
 * Plain-text form (CSV cells, log lines): each unsafe character as `\uXXXX` (`\u{XXXXX}` beyond
 * the BMP) and each backslash doubled, so the stored text can be read back exactly.
 */
export function escapeUntrustedText(text: string): string {
  return text.replace(UNSAFE_OR_BACKSLASH, (char) => (char === '\\' ? '\\\\' : escapeOf(char)));
}

/**
 * JSON whose strings carry every unsafe character as a `\uXXXX` escape (a surrogate pair beyond
 * the BMP). JSON.stringify escapes C0 controls and lone surrogates but writes bidi and
 * zero-width characters as they are; a JSON parser reads the escapes back as the same string.
 */
export function stringifyUntrusted(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_CHARS, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

import { escapeUntrustedText, hasUnsafeChars, stringifyUntrusted, untrustedTextParts } from './untrusted-text.js';

const BIDI = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'];
const INVISIBLE = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u180E', '\u00AD', '\u034F', '\u3164', '\uFE0F', '\u2028', '\u2029', '\u{E0041}'];
const CONTROLS = ['\u0000', '\u0001', '\t', '\n', '\r', '\u001B', '\u007F', '\u0080', '\u0085', '\u009F'];

describe('untrusted text', () => {
  it.each([...BIDI, ...INVISIBLE, ...CONTROLS].map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase()}`, c]))(
    'escapes %s in the text form',
    (_name, char) => {
      const code = char.codePointAt(0)!;
      const escape = code > 0xffff ? `\\u{${code.toString(16).toUpperCase()}}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
      expect(hasUnsafeChars(`a${char}b`)).toBe(true);
      expect(escapeUntrustedText(`a${char}b`)).toBe(`a${escape}b`);
    },
  );

  it.each(['alice@example.com', 'Zoë Ünal', 'José-María', 'ひらがな', 'שלום', 'مرحبا', 'a b', '€ 12,50', '👍'])('leaves %j as it is', (text) => {
    expect(hasUnsafeChars(text)).toBe(false);
    expect(escapeUntrustedText(text)).toBe(text);
    expect(untrustedTextParts(text)).toEqual([{ text }]);
  });

  it('escapes a lone surrogate instead of passing it on', () => {
    expect(escapeUntrustedText('a\uD800b')).toBe('a\\uD800b');
  });

  it('doubles backslashes in the text form, so a typed "\\u202E" reads differently from an escaped U+202E', () => {
    expect(escapeUntrustedText('\\u202E')).toBe('\\\\u202E');
    expect(escapeUntrustedText('\u202E')).toBe('\\u202E');
  });

  it('splits text into runs and marks for a page, each mark with a description', () => {
    expect(untrustedTextParts('moc.\u202Eevil\u200B')).toEqual([
      { text: 'moc.' },
      { mark: '\\u202E', title: 'right-to-left override, U+202E' },
      { text: 'evil' },
      { mark: '\\u200B', title: 'zero-width space, U+200B' },
    ]);
    expect(untrustedTextParts('\u0007')).toEqual([{ mark: '\\u0007', title: 'control character, U+0007' }]);
    expect(untrustedTextParts('')).toEqual([{ text: '' }]);
  });

  it('writes JSON with every unsafe character as a \\u escape, which parses back to the same text', () => {
    const stored = { a: 'x\u202Ey\u200B\u{E0041}\u0085\u0000\n"\\', b: ['\u2066'], n: 1, z: null };
    const json = stringifyUntrusted(stored);
    expect(json).toBe('{"a":"x\\u202ey\\u200b\\udb40\\udc41\\u0085\\u0000\\n\\"\\\\","b":["\\u2066"],"n":1,"z":null}');
    expect(JSON.parse(json)).toEqual(stored);
  });

  it('escapes a long hostile text whole', () => {
    const hostile = '\u202E\u200Ba\\'.repeat(20_000);
    expect(escapeUntrustedText(hostile)).toHaveLength(20_000 * (6 + 6 + 1 + 2));
    expect(untrustedTextParts(hostile)).toHaveLength(20_000 * 3);
  });
});

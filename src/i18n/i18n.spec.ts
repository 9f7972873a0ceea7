import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { acceptedTags, DEFAULT_LOCALE, Translations, translations } from './i18n.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The popup's views; the auditor pages stay English. */
const POPUP_VIEWS = ['views/layouts/main.hbs', 'views/launch/session.hbs', 'views/launch/done.hbs', 'views/errors/error.hbs'];
const SUPPORTED = ['en', 'de', 'fr', 'es', 'ja'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !/\.(spec|fixture)\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** Every message the code and the popup views use: msg('...') in src/, {{t "..."}} in the views. */
function usedKeys(): Set<string> {
  const keys = new Set<string>();
  const call = /\bmsg\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*,?\s*\)/gs;
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    if (file.endsWith(join('i18n', 'i18n.ts'))) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(call)) keys.add((m[1] ?? m[2]).replace(/\\(['"])/g, '$1'));
  }
  for (const view of POPUP_VIEWS) {
    for (const m of readFileSync(join(ROOT, view), 'utf8').matchAll(/\{\{t\s+"([^"]*)"/g)) keys.add(m[1]);
  }
  return keys;
}

const placeholders = (text: string) => [...text.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => m[1]).sort();

/** The plural categories a language uses for counts 0 to 1000: each needs its form. */
function categoriesFor(lang: string): string[] {
  const rules = new Intl.PluralRules(lang);
  return [...new Set(Array.from({ length: 1001 }, (_, n) => rules.select(n)))].sort();
}

describe('the message catalogs (locales/)', () => {
  const all = translations().entries();
  const en = all.get('en')!;

  it('has a catalog for every supported language', () => {
    expect([...all.keys()].sort()).toEqual([...SUPPORTED].sort());
  });

  it('en.json holds exactly the messages the code and the popup views use', () => {
    const used = usedKeys();
    expect(used.size).toBeGreaterThan(50);
    expect([...used].filter((k) => !(k in en))).toEqual([]);
    expect(Object.keys(en).filter((k) => !used.has(k))).toEqual([]);
  });

  for (const lang of SUPPORTED) {
    it(`${lang}.json translates every message, keeping its placeholders and giving every plural form`, () => {
      const catalog = all.get(lang)!;
      expect(Object.keys(catalog).sort()).toEqual(Object.keys(en).sort());
      const problems: string[] = [];
      for (const [key, entry] of Object.entries(catalog)) {
        const forms = typeof entry === 'string' ? { other: entry } : entry;
        if (typeof en[key] !== 'string') {
          const missing = categoriesFor(lang).filter((c) => !(c in forms));
          if (missing.length) problems.push(`${key}: no ${missing.join(', ')} form`);
        }
        for (const [form, text] of Object.entries(forms)) {
          if (typeof text !== 'string' || text.trim() === '') problems.push(`${key} (${form}): empty`);
          else if (placeholders(text).join() !== placeholders(key).join()) problems.push(`${key} (${form}): placeholders ${placeholders(text).join()}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('translations differ from the English (a copied en.json is not a translation)', () => {
    for (const lang of SUPPORTED.filter((l) => l !== 'en')) {
      const catalog = all.get(lang)!;
      const same = Object.keys(en).filter((k) => JSON.stringify(catalog[k]) === JSON.stringify(en[k]));
      // Some words may be the same in two languages ("Date" in French is "Date"); most are not.
      expect({ lang, same: same.length < 5 ? 'a few at most' : same }).toEqual({ lang, same: 'a few at most' });
    }
  });
});

describe(Translations.name, () => {
  const t = new Translations({
    en: { Hello: 'Hello', '{count} values': { one: '{count} value', other: '{count} values' }, 'Wait {wait}': 'Wait {wait}', 'Only English': 'Only English' },
    de: { Hello: 'Hallo', '{count} values': { one: '{count} Wert', other: '{count} Werte' }, 'Wait {wait}': 'Warten Sie {wait}' },
    ja: { Hello: 'こんにちは', '{count} values': { other: '{count} 件' }, 'Wait {wait}': '{wait}お待ちください' },
  });

  it('picks the language of a launch code, falling back from a region to its language', () => {
    expect(t.localeOf('de')).toEqual({ lang: 'de', format: 'de' });
    expect(t.localeOf('de-CH')).toEqual({ lang: 'de', format: 'de-CH' });
    expect(t.localeOf('de_AT')).toEqual({ lang: 'de', format: 'de-AT' });
    expect(t.localeOf('en-GB')).toEqual({ lang: 'en', format: 'en-GB' });
    expect(t.localeOf('JA-jp')).toEqual({ lang: 'ja', format: 'ja-JP' });
  });

  it('shows an unknown or malformed language in English', () => {
    expect(t.resolve('xx', undefined)).toEqual({ lang: 'en', format: 'xx' });
    expect(t.resolve('it-IT', 'de')).toEqual({ lang: 'en', format: 'it-IT' });
    expect(t.resolve('not a tag', undefined)).toEqual(DEFAULT_LOCALE);
    expect(t.resolve('x'.repeat(40), undefined)).toEqual(DEFAULT_LOCALE);
  });

  it('follows Accept-Language when the launch names no language (v1)', () => {
    expect(t.resolve('', 'de-DE,de;q=0.9,en;q=0.8')).toEqual({ lang: 'de', format: 'de-DE' });
    expect(t.resolve(undefined, 'fr-FR, ja;q=0.5, de;q=0.7')).toEqual({ lang: 'de', format: 'de' });
    expect(t.resolve(undefined, 'it, *;q=0.1')).toEqual(DEFAULT_LOCALE);
    expect(t.resolve(undefined, undefined)).toEqual(DEFAULT_LOCALE);
    expect(t.resolve(undefined, 'de;q=0, ja')).toEqual({ lang: 'ja', format: 'ja' });
  });

  it('reads Accept-Language by weight, ignoring junk', () => {
    expect(acceptedTags('en;q=0.2, de , fr;q=0.9')).toEqual(['de', 'fr', 'en']);
    expect(acceptedTags('de;q=abc, ;;, fr;q=2, es;q=0.5')).toEqual(['es']);
    expect(acceptedTags(`${'a,'.repeat(100)}de`)).not.toContain('de');
  });

  it('translates, fills placeholders and formats numbers and durations for the locale', () => {
    expect(t.translate({ lang: 'de', format: 'de-CH' }, 'Hello')).toBe('Hallo');
    expect(t.translate({ lang: 'de', format: 'de' }, '{count} values', { count: 1 })).toBe('1 Wert');
    expect(t.translate({ lang: 'de', format: 'de' }, '{count} values', { count: 12345 })).toBe('12.345 Werte');
    expect(t.translate({ lang: 'en', format: 'en' }, '{count} values', { count: 1 })).toBe('1 value');
    expect(t.translate({ lang: 'en', format: 'en' }, '{count} values', { count: 0 })).toBe('0 values');
    expect(t.translate({ lang: 'ja', format: 'ja' }, '{count} values', { count: 1 })).toBe('1 件');
    expect(t.translate({ lang: 'de', format: 'de' }, 'Wait {wait}', { wait: { seconds: 1 } })).toBe('Warten Sie 1 Sekunde');
    expect(t.translate({ lang: 'en', format: 'en' }, 'Wait {wait}', { wait: { seconds: 30 } })).toBe('Wait 30 seconds');
  });

  it('shows a message the catalog lacks in English, and an unknown key as itself', () => {
    expect(t.translate({ lang: 'de', format: 'de' }, 'Only English')).toBe('Only English');
    expect(t.translate({ lang: 'de', format: 'de' }, 'Not a key {x}')).toBe('Not a key {x}');
  });

  it('leaves placeholders without a value as they are and never evaluates values', () => {
    expect(t.translate(DEFAULT_LOCALE, 'Wait {wait}')).toBe('Wait {wait}');
    expect(t.translate(DEFAULT_LOCALE, 'Wait {wait}', { wait: '{count} <b>' })).toBe('Wait {count} <b>');
  });
});

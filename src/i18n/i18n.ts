import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The popup's languages. Catalogs are gettext-style JSON files in `locales/`, keyed by the
 * English text (`locales/en.json` is the template; `locales/README.md` tells a translator how).
 * A key missing from a catalog shows in English; a language without a catalog is English.
 */

/** A value put into a message: text as is, a number formatted for the locale, or a duration. */
export type MessageParam = string | number | { seconds: number };
export type MessageParams = Record<string, MessageParam>;

/** Plural forms by Intl.PluralRules category; `other` is required. */
type Entry = string | ({ other: string } & Partial<Record<Intl.LDMLPluralRule, string>>);
type Catalog = Record<string, Entry>;

/** What a page is shown in: `lang` is the catalog's language, `format` the locale for numbers and dates. */
export interface PageLocale {
  lang: string;
  format: string;
}

export const DEFAULT_LOCALE: PageLocale = Object.freeze({ lang: 'en', format: 'en' });

export const LOCALES_DIR = resolve(import.meta.dirname, '..', '..', 'locales');

/**
 * Marks an English text as a message key, so the catalog check (i18n.spec.ts) finds it; the
 * text is translated where it is shown (the `t` view helper, the error filter).
 */
export function msg(key: string): string {
  return key;
}

export class Translations {
  private readonly catalogs: ReadonlyMap<string, Catalog>;

  constructor(catalogs: Record<string, Catalog>) {
    this.catalogs = new Map(Object.entries(catalogs));
  }

  /** Every `<lang>.json` in the directory. */
  static load(dir = LOCALES_DIR): Translations {
    const catalogs: Record<string, Catalog> = {};
    for (const file of readdirSync(dir)) {
      const match = /^([a-z]{2,3})\.json$/.exec(file);
      if (match) catalogs[match[1]] = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Catalog;
    }
    if (!catalogs.en) throw new Error(`no en.json in ${dir}`);
    return new Translations(catalogs);
  }

  languages(): string[] {
    return [...this.catalogs.keys()];
  }

  /**
   * The page locale for a language tag (v4's language_code, `de`, `en-GB`, `pt_BR`): its
   * language when there is a catalog for it, else English; its own tag for formatting when
   * Intl knows it (`en-GB` keeps British dates on an English page).
   */
  localeOf(tag: string | null | undefined): PageLocale | undefined {
    const canonical = canonicalTag(tag);
    if (!canonical) return undefined;
    const language = canonical.split('-')[0].toLowerCase();
    if (!this.catalogs.has(language)) return undefined;
    return { lang: language, format: canonical };
  }

  /** The best locale for an Accept-Language header: the highest-weighted language there is a catalog for. */
  fromAcceptLanguage(header: string | null | undefined): PageLocale {
    for (const tag of acceptedTags(header)) {
      const locale = this.localeOf(tag);
      if (locale) return locale;
    }
    return DEFAULT_LOCALE;
  }

  /** The page locale for a launch's language code, or the browser's choice when there is none. */
  resolve(languageCode: string | null | undefined, acceptLanguage: string | null | undefined): PageLocale {
    if (languageCode) {
      const chosen = this.localeOf(languageCode);
      if (chosen) return chosen;
      // A language we have no catalog for: English words, its own numbers and dates if Intl knows it.
      const canonical = canonicalTag(languageCode);
      return canonical ? { lang: 'en', format: canonical } : DEFAULT_LOCALE;
    }
    return this.fromAcceptLanguage(acceptLanguage);
  }

  /** The message in the locale's language with its {placeholders} filled; English when the catalog lacks it. */
  translate(locale: PageLocale, key: string, params: MessageParams = {}): string {
    const own = this.catalogs.get(locale.lang)?.[key];
    const [entry, lang] = own !== undefined ? [own, locale.lang] : [this.catalogs.get('en')?.[key] ?? key, 'en'];
    const text = typeof entry === 'string' ? entry : pluralForm(entry, lang, params.count);
    return text.replace(/\{([a-zA-Z]+)\}/g, (whole, name: string) =>
      Object.hasOwn(params, name) ? formatParam(params[name], locale.format) : whole,
    );
  }

  /** Every catalog, for the completeness check. */
  entries(): ReadonlyMap<string, Catalog> {
    return this.catalogs;
  }
}

let shared: Translations | undefined;

/** The catalogs in `locales/`, read once. */
export function translations(): Translations {
  shared ??= Translations.load();
  return shared;
}

/** Intl objects are slow to build and immutable: one per locale and kind, for the process's life (a few locales). */
type IntlObject = Intl.NumberFormat | Intl.PluralRules | Intl.DateTimeFormat;
const formatters = new Map<string, IntlObject>();

/** The Intl object for `key` (kind, locale and options), built once by `make`. */
export function cached<T extends IntlObject>(key: string, make: () => T): T {
  let found = formatters.get(key) as T | undefined;
  if (!found) {
    found = make();
    // Bounded: locales come from catalogs and canonical tags, but a flood of odd tags must not grow it.
    if (formatters.size < 500) formatters.set(key, found);
  }
  return found;
}

function pluralForm(entry: Exclude<Entry, string>, lang: string, count: MessageParam | undefined): string {
  if (typeof count !== 'number') return entry.other;
  return entry[cached(`plural:${lang}`, () => new Intl.PluralRules(lang)).select(count)] ?? entry.other;
}

function formatParam(value: MessageParam, format: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return cached(`number:${format}`, () => new Intl.NumberFormat(format)).format(value);
  return cached(`seconds:${format}`, () => new Intl.NumberFormat(format, { style: 'unit', unit: 'second', unitDisplay: 'long' })).format(value.seconds);
}

function canonicalTag(tag: string | null | undefined): string | undefined {
  if (!tag || tag.length > 35) return undefined;
  try {
    return Intl.getCanonicalLocales(tag.replaceAll('_', '-'))[0];
  } catch {
    return undefined;
  }
}

/** Accept-Language's tags, highest weight first (equal weights keep their order); `*` and q=0 left out. */
export function acceptedTags(header: string | null | undefined): string[] {
  if (!header) return [];
  const tags: Array<{ tag: string; q: number; at: number }> = [];
  for (const [at, part] of header.slice(0, 1024).split(',').slice(0, 32).entries()) {
    const [rawTag, ...rest] = part.trim().split(';');
    const tag = rawTag.trim();
    if (!tag || tag === '*') continue;
    const qParam = rest.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0 || q > 1) continue;
    tags.push({ tag, q, at });
  }
  return tags.sort((a, b) => b.q - a.q || a.at - b.at).map((t) => t.tag);
}

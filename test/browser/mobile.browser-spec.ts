/// <reference lib="dom" />
// The page.evaluate() callbacks run in the page and use the DOM's types.
import { AxeBuilder } from '@axe-core/playwright';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { sandboxIds } from '../harness.js';
import { browserSuite, describeInBrowser } from './browser.js';

/**
 * The popup on a phone (a v4 launch with is_mobile=true, at an iPhone-sized viewport) and at
 * Concur's popup size on a desktop: nothing cut off sideways, every target big enough for a finger.
 * With SCREENSHOTS=1 the tests also refresh the README's pictures in docs/images/.
 */

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const POPUP = { viewport: { width: 720, height: 760 } };
/** WCAG 2.5.5 (AAA) and Apple's and Google's guidance for touch: 44 CSS pixels. */
const MIN_TARGET = 44;
const IMAGES = join(import.meta.dirname, '..', '..', 'docs', 'images');
/** The German catalog: the test finds the page's words by what a German user reads. */
const DE: Record<string, string | Record<string, string>> = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'locales', 'de.json'), 'utf8'));
const de = (key: string) => DE[key] as string;

async function screenshot(page: Page, file: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: join(IMAGES, file), fullPage: false });
}

interface Layout {
  innerWidth: number;
  scrollWidth: number;
  /** Visible elements whose box goes past the left or right edge of the viewport. */
  outside: string[];
  /** Every link, button, text input and radio row, with its size in CSS pixels. */
  targets: Array<{ what: string; width: number; height: number }>;
}

/** Measures the page as laid out now. A radio's target is the row of its label. */
function measure(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const describe = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}${
        el.textContent?.trim() ? ` "${el.textContent.trim().slice(0, 30)}"` : ''
      }`;
    const visible = (el: Element) => {
      const style = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      return style.visibility !== 'hidden' && style.display !== 'none' && rect.width > 0 && rect.height > 0;
    };
    const width = window.innerWidth;
    const outside = [...document.body.querySelectorAll('*')]
      .filter(visible)
      .filter((el) => {
        const rect = el.getBoundingClientRect();
        return rect.left < -0.5 || rect.right > width + 0.5;
      })
      .map((el) => `${describe(el)} [${Math.round(el.getBoundingClientRect().left)}..${Math.round(el.getBoundingClientRect().right)}]`);
    const interactive = [...document.body.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea')].filter(visible);
    const targets = interactive.map((el) => {
      const box = (el instanceof HTMLInputElement && (el.type === 'radio' || el.type === 'checkbox') ? (el.closest('label') ?? el) : el).getBoundingClientRect();
      return { what: describe(el instanceof HTMLInputElement && el.type === 'radio' ? el.closest('label') ?? el : el), width: box.width, height: box.height };
    });
    return { innerWidth: width, scrollWidth: document.scrollingElement!.scrollWidth, outside, targets };
  });
}

function expectFits(layout: Layout): void {
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
  expect(layout.outside).toEqual([]);
}

function expectFingerSized(layout: Layout): void {
  expect(layout.targets.length).toBeGreaterThan(0);
  const small = layout.targets.filter((t) => t.width < MIN_TARGET || t.height < MIN_TARGET).map((t) => `${t.what}: ${t.width.toFixed(1)}x${t.height.toFixed(1)}`);
  expect(small).toEqual([]);
}

describeInBrowser('the popup on a phone and at popup size', () => {
  const s = browserSuite();
  let context: BrowserContext;

  async function openExpense(mobile: boolean, lang = 'en'): Promise<Page> {
    const ids = await sandboxIds(s.h);
    const page = await context.newPage();
    await page.goto(`${s.h.origin}/sandbox/launch?version=4&level=ENTRY&id=${encodeURIComponent(ids.expenseIds[0])}&lang=${lang}${mobile ? '&mobile=true' : ''}`);
    await page.waitForURL(/\/launch\/s\/[^/?]+$/);
    return page;
  }

  it('a phone launch (is_mobile=true) at 390x844: the session page fits the width and every target is at least 44x44', async () => {
    context = await s.newContext(PHONE);
    const page = await openExpense(true);
    await expect(page.locator('body.mobile').count()).resolves.toBe(1);

    const first = await measure(page);
    expectFits(first);
    expectFingerSized(first);
    await screenshot(page, 'popup-phone.png');

    // A search with a long code typed in, a page with Previous and Next, and one that finds nothing.
    const self = page.url();
    for (const query of ['?q=PRJ&page=2', `?q=${'W'.repeat(100)}`]) {
      await page.goto(`${self}${query}`);
      const layout = await measure(page);
      expectFits(layout);
      expectFingerSized(layout);
    }
  });

  it('a phone launch at 390x844: the done page fits the width', async () => {
    context = await s.newContext(PHONE);
    const page = await openExpense(true);
    // close-window.js would close the done page after 600 ms; an empty one keeps it to measure.
    await page.route('**/assets/close-window.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
    await page.locator('label.result', { has: page.locator('input:not(:checked)') }).first().tap();
    await page.getByRole('button', { name: 'Save to Concur' }).tap();
    await page.getByTestId('saved-value').waitFor();
    const layout = await measure(page);
    expectFits(layout);
    // The done page has nothing to tap: it closes itself.
    expect(layout.targets).toEqual([]);
  });

  it('a narrow window without the mobile flag (390 px) gets the same phone layout', async () => {
    context = await s.newContext(PHONE);
    const page = await openExpense(false);
    await expect(page.locator('body.mobile').count()).resolves.toBe(0);
    const layout = await measure(page);
    expectFits(layout);
    expectFingerSized(layout);
  });

  it('at Concur popup size (720x760) the session page fits the window', async () => {
    context = await s.newContext(POPUP);
    const page = await openExpense(false);
    const layout = await measure(page);
    expectFits(layout);
    expectFingerSized(layout);
    await screenshot(page, 'popup-desktop.png');
  });

  it('in German on a phone, with the keyboard alone: searches, picks, saves; every page German, fitting, and clean for axe', async () => {
    context = await s.newContext({ ...PHONE, locale: 'de-DE' });
    const page = await openExpense(true, 'de');
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('de');
    await expect(page.getByRole('heading', { name: de('Choose a value') }).count()).resolves.toBe(1);
    // Amounts as a German reads them: a decimal comma and the euro sign after the number.
    await expect(page.getByTestId('item-amount').textContent()).resolves.toMatch(/^[\d.]+,\d{2}\s€$/);
    await screenshot(page, 'popup-phone-de.png');

    // The keyboard: the search field has the focus; type, Enter, Tab into the list, arrow, Space, Tab to Save, Enter.
    await page.keyboard.type('PRJ');
    await page.keyboard.press('Enter');
    await page.waitForURL(/[?&]q=PRJ$/);
    const layout = await measure(page);
    expectFits(layout);
    expectFingerSized(layout);
    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);

    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    const chosen = await page.locator('input[name="code"]:checked').getAttribute('value');
    expect(chosen).toMatch(/^PRJ-/);
    const save = page.getByRole('button', { name: de('Save to Concur') });
    for (let i = 0; i < 6 && !(await save.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press('Tab');
    await expect(save.evaluate((b) => b === document.activeElement)).resolves.toBe(true);
    await page.route('**/assets/close-window.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
    await page.keyboard.press('Enter');
    await page.getByTestId('saved-value').waitFor();
    await expect(page.getByRole('heading', { name: de('Saved') }).count()).resolves.toBe(1);
    await expect(page.getByTestId('saved-value').textContent()).resolves.toBe(chosen);
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('de');
    await expect(page.locator('body.mobile').count()).resolves.toBe(1);
    expectFits(await measure(page));
    const axeDone = await new AxeBuilder({ page }).analyze();
    expect(axeDone.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  });

  it("a v1 launch follows the browser's language (Japanese here)", async () => {
    context = await s.newContext({ ...PHONE, locale: 'ja-JP' });
    const ids = await sandboxIds(s.h);
    const page = await context.newPage();
    await page.goto(`${s.h.origin}/sandbox/launch?version=1&level=ENTRY&id=${encodeURIComponent(ids.entryIds[0])}`);
    await page.waitForURL(/\/launch\/s\/[^/?]+$/);
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('ja');
    const ja: Record<string, string> = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'locales', 'ja.json'), 'utf8'));
    await expect(page.getByRole('button', { name: ja['Save to Concur'] }).count()).resolves.toBe(1);
    expectFits(await measure(page));
  });
});

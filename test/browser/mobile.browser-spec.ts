/// <reference lib="dom" />
// The page.evaluate() callbacks run in the page and use the DOM's types.
import { mkdirSync } from 'node:fs';
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

  async function openExpense(mobile: boolean): Promise<Page> {
    const ids = await sandboxIds(s.h);
    const page = await context.newPage();
    await page.goto(`${s.h.origin}/sandbox/launch?version=4&level=ENTRY&id=${encodeURIComponent(ids.expenseIds[0])}${mobile ? '&mobile=true' : ''}`);
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
});

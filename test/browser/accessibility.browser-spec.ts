/// <reference lib="dom" />
// The page.evaluate() callbacks run in the page and use the DOM's types.
import { AxeBuilder } from '@axe-core/playwright';
import type { BrowserContext, Page } from 'playwright-core';
import { SessionStore } from '../../src/auth/session.store.js';
import { type Harness, sandboxIds, signedUrl, v4Params } from '../harness.js';
import { browserSuite, describeInBrowser } from './browser.js';

/**
 * The popup, its error pages and the auditor's pages for people who use a keyboard or assistive
 * technology: the pick flow with the keyboard alone, and axe finding nothing serious on any page.
 */

/** Violations of these impacts fail; `moderate` and `minor` ones are left to review. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);

/** What axe found that fails, one line each: page, rule, impact, and the elements (CSS targets). */
async function seriousViolations(page: Page, name: string): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => FAILING_IMPACTS.has(v.impact ?? ''))
    .map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The sandbox's v4 expense launch, opened straight in a tab: the session page, no popup. */
async function expenseLaunchUrl(h: Harness): Promise<string> {
  const ids = await sandboxIds(h);
  return `${h.origin}/sandbox/launch?version=4&level=ENTRY&id=${encodeURIComponent(ids.expenseIds[0])}`;
}

async function openSession(h: Harness, context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(await expenseLaunchUrl(h));
  await page.waitForURL(/\/launch\/s\/[^/?]+$/);
  return page;
}

/** The done page closes itself after 600 ms; an empty close-window.js keeps it for the checks. */
async function keepOpen(page: Page): Promise<void> {
  await page.route('**/assets/close-window.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
}

describeInBrowser('accessibility of the pages', () => {
  const s = browserSuite();
  let context: BrowserContext;

  beforeEach(async () => {
    context = await s.newContext({ viewport: { width: 1200, height: 900 } });
  });

  describe('the pick flow with the keyboard alone', () => {
    /** What has the focus: a short description, whether it shows :focus-visible, and the outline it draws. */
    function focused(page: Page) {
      return page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return { what: 'body', visible: false, outline: 'none' };
        const style = getComputedStyle(el);
        const name = el.getAttribute('name');
        const what =
          el.tagName === 'INPUT'
            ? `input[${(el as HTMLInputElement).type}]${name ? `[${name}]` : ''}${(el as HTMLInputElement).type === 'radio' ? `=${(el as HTMLInputElement).value}` : ''}`
            : `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
        return {
          what,
          visible: el.matches(':focus-visible'),
          outline: style.outlineStyle === 'none' ? 'none' : `${style.outlineWidth} ${style.outlineStyle} ${style.outlineColor}`,
        };
      });
    }

    it('searches, moves to a result with the arrow keys, saves with Enter; the popup closes and Concur shows the value', async () => {
      const form = await context.newPage();
      await form.goto(`${s.h.origin}/sandbox`);
      const launch = form.locator('a[data-popup][data-testid^="launch-4-ENTRY-"]').first();
      const valueTestId = (await launch.getAttribute('data-testid'))!.replace(/^launch-\d-/, 'value-');
      const before = (await form.getByTestId(valueTestId).textContent())!.trim();

      // Concur's side by keyboard too: focus the Launch URL button and press Enter.
      await launch.focus();
      const [popup] = await Promise.all([form.waitForEvent('popup'), form.keyboard.press('Enter')]);
      await popup.waitForURL(/\/launch\/s\/[^/?]+$/);
      await popup.waitForLoadState('load');

      // The search field has the focus from the start.
      await expect(focused(popup)).resolves.toMatchObject({ what: 'input[search][q]' });
      await popup.keyboard.type('PRJ');
      await popup.keyboard.press('Enter');
      await popup.waitForURL(/[?&]q=PRJ$/);
      await popup.waitForLoadState('load');
      await expect(focused(popup)).resolves.toMatchObject({ what: 'input[search][q]' });

      // Forward: the Search button, then the list of values (one tab stop), then the pager, then Save.
      const order: string[] = [];
      const outlines: Array<{ what: string; visible: boolean; outline: string }> = [];
      for (let i = 0; i < 10; i++) {
        await popup.keyboard.press('Tab');
        const now = await focused(popup);
        order.push(now.what.startsWith('input[radio]') ? 'radio' : now.what);
        outlines.push(now);
        if (now.what === 'button:Save to Concur') break;
      }
      const pager = (await popup.locator('.pager a[rel="next"]').count()) > 0 ? ['a:Next'] : [];
      expect(order).toEqual(['button:Search', 'radio', ...pager, 'button:Save to Concur']);
      for (const stop of outlines) {
        expect(stop).toMatchObject({ visible: true });
        expect(stop.outline).not.toBe('none');
      }

      // Back to the list with Shift+Tab, and down the list with the arrow keys: each arrow selects.
      while (!(await focused(popup)).what.startsWith('input[radio]')) await popup.keyboard.press('Shift+Tab');
      const codes = await popup.locator('input[name="code"]').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
      expect(codes.length).toBeGreaterThan(2);
      let chosen = (await focused(popup)).what.split('=')[1];
      while (chosen === before || chosen === codes[0]) {
        await popup.keyboard.press('ArrowDown');
        chosen = (await focused(popup)).what.split('=')[1];
      }
      await popup.keyboard.press('Space');
      await expect(popup.locator('input[name="code"]:checked').getAttribute('value')).resolves.toBe(chosen);
      // The chosen row shows it has the focus and the choice.
      const row = await popup.locator('input[name="code"]:checked').evaluate((input) => {
        const label = input.closest('label')!;
        return { background: getComputedStyle(label).backgroundColor, inputFocusVisible: input.matches(':focus-visible') };
      });
      expect(row.inputFocusVisible).toBe(true);
      expect(row.background).not.toBe('rgba(0, 0, 0, 0)');

      while ((await focused(popup)).what !== 'button:Save to Concur') await popup.keyboard.press('Tab');
      const closed = popup.waitForEvent('close', { timeout: 10_000 });
      const reloaded = form.waitForEvent('load');
      await popup.keyboard.press('Enter');
      await closed;
      await reloaded;
      await expect(form.getByTestId(valueTestId).textContent()).resolves.toContain(chosen);
    });
  });

  describe('axe finds nothing serious or critical', () => {
    it('reports what it finds with the rule, the impact and the elements, so a failure says what to fix', async () => {
      const page = await context.newPage();
      await page.setContent('<!doctype html><html lang="en"><head><title>t</title></head><body><main><h1>t</h1><input id="nameless" type="text"></main></body></html>');
      await expect(seriousViolations(page, 'a broken page')).resolves.toEqual([expect.stringMatching(/^a broken page: label \(critical\) .* — #nameless$/)]);
    });

    it('on the session page: with results, with a search that finds nothing, on page 2, and on the done page', async () => {
      const page = await openSession(s.h, context);
      const found: string[] = [];
      found.push(...(await seriousViolations(page, 'session page')));

      const self = page.url();
      await page.goto(`${self}?q=${encodeURIComponent('no such value zz')}`);
      await expect(page.locator('.empty', { hasText: 'Nothing matches' }).count()).resolves.toBe(1);
      found.push(...(await seriousViolations(page, 'session page, nothing found')));

      await page.goto(`${self}?q=&page=2`);
      await expect(page.locator('.pager', { hasText: 'Page 2 of' }).count()).resolves.toBe(1);
      found.push(...(await seriousViolations(page, 'session page 2')));

      await keepOpen(page);
      await page.locator('input[name="code"]:not(:checked)').first().check();
      await page.getByRole('button', { name: 'Save to Concur' }).click();
      await page.getByTestId('saved-value').waitFor();
      found.push(...(await seriousViolations(page, 'done page')));

      expect(found).toEqual([]);
    });

    it('on the error pages: rejected launch 401, expired 410, wrong cookie 403, unknown 404, Concur down 502', async () => {
      const found: string[] = [];
      const check = async (page: Page, name: string, url: string | null, status: number) => {
        const response = url === null ? null : await page.goto(url);
        if (response) expect({ name, status: response.status() }).toEqual({ name, status });
        await expect(page.locator('.reference code').count()).resolves.toBe(1);
        found.push(...(await seriousViolations(page, `${name} (${status})`)));
      };

      const ids = await sandboxIds(s.h);
      const tab = await context.newPage();
      await check(tab, 'rejected launch', `${s.h.origin}${signedUrl(s.h, 4, v4Params(s.h, ids, 'ENTRY'), { password: 'not-the-password' })}`, 401);
      await check(tab, 'unknown page', `${s.h.origin}/no-such-page`, 404);
      await check(tab, 'malformed window address', `${s.h.origin}/launch/s/not-a-session`, 404);

      const popup = await openSession(s.h, context);
      const sessionUrl = popup.url();
      const stranger = await s.newContext();
      await check(await stranger.newPage(), 'window of another browser', sessionUrl, 403);
      await stranger.close();

      // Concur answers 503 to every attempt of the Save: the Retry page (502).
      await popup.locator('input[name="code"]:not(:checked)').first().check();
      const faults = await fetch(`${s.h.origin}/sandbox/api/faults`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ status: 503, count: s.h.config.concur.maxRetries + 1 }),
      });
      expect(faults.status).toBe(200);
      const [saved] = await Promise.all([popup.waitForResponse((r) => r.url().endsWith('/select')), popup.getByRole('button', { name: 'Save to Concur' }).click()]);
      expect(saved.status()).toBe(502);
      await popup.getByRole('button', { name: 'Retry' }).waitFor();
      await check(popup, 'Concur not answering', null, 502);

      const store = s.h.app.get(SessionStore);
      const id = sessionUrl.split('/').pop()!;
      const session = (await store.get(id))!;
      await store.set({ ...session, expiresAt: Date.now() - 1000 });
      await check(popup, 'expired window', sessionUrl, 410);

      expect(found).toEqual([]);
    });

    it('on the auditor pages: sign-in (also with its error), search, event and verify', async () => {
      // Some events to show: one launch and its page view.
      await openSession(s.h, context);
      const page = await context.newPage();
      const found: string[] = [];

      await page.goto(`${s.h.origin}/audit/sign-in`);
      found.push(...(await seriousViolations(page, 'sign-in')));
      await page.getByLabel('User name').fill('auditor');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('sign-in-error').waitFor();
      found.push(...(await seriousViolations(page, 'sign-in with its error')));

      await page.getByLabel('Password').fill('auditor-demo');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/audit$/);
      await page.getByTestId('events').waitFor();
      found.push(...(await seriousViolations(page, 'audit search')));

      const eventHref = (await page.locator('[data-testid="events"] tbody a').first().getAttribute('href'))!;
      await page.goto(`${s.h.origin}${eventHref}`);
      await page.getByTestId('hash-matches').waitFor();
      found.push(...(await seriousViolations(page, 'audit event')));

      await page.goto(`${s.h.origin}/audit?field=no-such-field`);
      found.push(...(await seriousViolations(page, 'audit search, nothing found')));

      await page.goto(`${s.h.origin}/audit/verify`);
      await page.getByTestId('verify-summary').waitFor();
      found.push(...(await seriousViolations(page, 'audit verify')));

      expect(found).toEqual([]);
    });
  });
});

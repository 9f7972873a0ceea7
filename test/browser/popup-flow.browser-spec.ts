import type { BrowserContext, Page } from 'playwright-core';
import { SessionStore } from '../../src/auth/session.store.js';
import { browserSuite, describeInBrowser } from './browser.js';

/** The popup as Concur drives it: a Launch URL field opens a window that lands on the session page, and closes itself after Save. */

describeInBrowser('the popup in Chromium', () => {
  const s = browserSuite();
  let context: BrowserContext;
  let form: Page;

  beforeEach(async () => {
    context = await s.newContext({ viewport: { width: 1200, height: 900 } });
    form = await context.newPage();
    await form.goto(`${s.h.origin}/sandbox`);
  });

  /** The Launch URL buttons of the sandbox form, as [launch test id, value test id] by version and level. */
  async function fields(): Promise<Array<{ launch: string; value: string }>> {
    const ids = await form.$$eval('a[data-popup]', (links) => links.map((a) => a.getAttribute('data-testid') ?? ''));
    return ids.map((launch) => ({ launch, value: launch.replace(/^launch-\d-/, 'value-') }));
  }

  async function openPopup(launchTestId: string): Promise<Page> {
    const [popup] = await Promise.all([form.waitForEvent('popup'), form.getByTestId(launchTestId).click()]);
    await popup.waitForURL(/\/launch\/s\/[^/?]+$/);
    return popup;
  }

  /** Searches, picks the first result, saves; returns the code picked once the popup has closed itself. */
  async function pickAndSave(popup: Page, search: string): Promise<string> {
    await popup.getByLabel('Search by code or name').fill(search);
    await popup.getByRole('button', { name: 'Search' }).click();
    await popup.waitForURL(/[?&]q=/);
    // Not the current value: the form must show a change.
    const first = popup.locator('input[name="code"]:not(:checked)').first();
    const code = (await first.getAttribute('value'))!;
    await first.check();
    const closed = popup.waitForEvent('close', { timeout: 10_000 });
    await popup.getByRole('button', { name: 'Save to Concur' }).click();
    await closed;
    return code;
  }

  it.each([
    ['v1, a v3 entry', /^launch-1-ENTRY-/],
    ['v4, the report header', /^launch-4-HEADER-/],
    ['v4, an expense', /^launch-4-ENTRY-/],
    ['v4, an allocation', /^launch-4-ALLOCATION-/],
  ])('%s: search, pick, Save; the popup closes and the form shows the new value', async (_level, pattern) => {
    const field = (await fields()).find((f) => pattern.test(f.launch));
    expect(field).toBeDefined();
    const before = await form.getByTestId(field!.value).textContent();
    const popup = await openPopup(field!.launch);
    await expect(popup.title()).resolves.toContain('Concur connector');
    const reloaded = form.waitForEvent('load');
    const code = await pickAndSave(popup, 'PRJ');
    expect(before).not.toContain(code);
    await reloaded;
    await expect(form.getByTestId(field!.value).textContent()).resolves.toContain(code);
  });

  it('keeps working when the popup is refreshed: the signed URL is not replayed', async () => {
    const field = (await fields())[0];
    const popup = await openPopup(field.launch);
    const url = popup.url();
    await popup.reload();
    expect(popup.url()).toBe(url);
    await expect(popup.getByLabel('Search by code or name').isVisible()).resolves.toBe(true);
    const reloaded = form.waitForEvent('load');
    const code = await pickAndSave(popup, 'PRJ');
    await reloaded;
    await expect(form.getByTestId(field.value).textContent()).resolves.toContain(code);
  });

  it('shows the friendly "already used" page when the same signed URL is opened again in a new tab', async () => {
    const field = (await fields())[0];
    const signed = context.waitForEvent('request', (request) => /\/concur\/form\/v1\.0\/get\?|\/launchexternalurl\/v4\/form\?/.test(request.url()));
    const popup = await openPopup(field.launch);
    const signedUrl = (await signed).url();
    expect(popup.url()).not.toBe(signedUrl);
    const tab = await context.newPage();
    const response = await tab.goto(signedUrl);
    expect(response?.status()).toBe(401);
    await expect(tab.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('This link cannot be used');
    await expect(tab.locator('.message').textContent()).resolves.toContain('already used');
    await expect(tab.locator('.reference code').textContent()).resolves.toMatch(/\S+/);
  });

  it('shows the expired page once the session has expired', async () => {
    const field = (await fields())[0];
    const popup = await openPopup(field.launch);
    const id = popup.url().split('/').pop()!;
    const store = s.h.app.get(SessionStore);
    const session = (await store.get(id))!;
    await store.set({ ...session, expiresAt: Date.now() - 1000 });
    const response = await popup.reload();
    expect(response?.status()).toBe(410);
    await expect(popup.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('This window has expired');
  });

  it('shows Retry when Concur answers 503, and Retry succeeds once Concur is back', async () => {
    const field = (await fields()).find((f) => f.launch.startsWith('launch-4-ENTRY-'))!;
    const popup = await openPopup(field.launch);
    await popup.getByLabel('Search by code or name').fill('PRJ');
    await popup.getByRole('button', { name: 'Search' }).click();
    await popup.waitForURL(/[?&]q=/);
    const choice = popup.locator('input[name="code"]:not(:checked)').first();
    const code = (await choice.getAttribute('value'))!;
    await choice.check();
    // Every attempt of this Save fails (the connector retries twice), then Concur is back.
    const faults = await fetch(`${s.h.origin}/sandbox/api/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: 503, count: s.h.config.concur.maxRetries + 1 }),
    });
    expect(faults.status).toBe(200);
    await popup.getByRole('button', { name: 'Save to Concur' }).click();
    await expect(popup.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Concur is not answering');
    const closed = popup.waitForEvent('close', { timeout: 10_000 });
    const reloaded = form.waitForEvent('load');
    await popup.getByRole('button', { name: 'Retry' }).click();
    await closed;
    await reloaded;
    await expect(form.getByTestId(field.value).textContent()).resolves.toContain(code);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { sandboxIds, signedUrl, v4Params } from '../harness.js';
import { browserSuite, describeInBrowser } from './browser.js';

/**
 * Concur's form opens the popup with window.open from its own origin and reloads when
 * `popup.closed` turns true. Here a page on another origin plays Concur: the popup must stay
 * linked to it (no COOP same-origin on the popup's pages) until it closes itself after Save.
 */
const OPENER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Expense form (another origin)</title></head>
<body>
<button id="launch">Launch URL</button>
<script>
  document.getElementById('launch').addEventListener('click', function () {
    var url = new URLSearchParams(location.search).get('launch');
    window.popup = window.open(url, 'concur_launch', 'popup,width=720,height=760');
  });
</script>
</body></html>`;

describeInBrowser('the popup opened from another origin', () => {
  const s = browserSuite();
  let concur: Server;
  let concurOrigin: string;

  beforeAll(async () => {
    concur = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(OPENER_PAGE);
    });
    await new Promise<void>((resolve) => concur.listen(0, '127.0.0.1', resolve));
    concurOrigin = `http://127.0.0.1:${(concur.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => concur.close((error) => (error ? reject(error) : resolve())));
  });

  /** What Concur's page sees of the window it opened. */
  const popupClosed = (form: Page) => form.evaluate(() => (window as unknown as { popup: Window }).popup.closed);

  it('stays open for its opener while the user searches and picks, then closes itself after Save', async () => {
    const ids = await sandboxIds(s.h);
    const launch = `${s.h.origin}${signedUrl(s.h, 4, v4Params(s.h, ids, 'ENTRY'))}`;
    expect(new URL(launch).origin).not.toBe(concurOrigin);
    const context = await s.newContext({ viewport: { width: 1200, height: 900 } });
    const form = await context.newPage();
    await form.goto(`${concurOrigin}/form?launch=${encodeURIComponent(launch)}`);

    const [popup] = await Promise.all([form.waitForEvent('popup'), form.getByRole('button', { name: 'Launch URL' }).click()]);
    await popup.waitForURL(/\/launch\/s\/[^/?]+$/);
    await expect(popup.getByLabel('Search by code or name').isVisible()).resolves.toBe(true);
    await expect(popupClosed(form)).resolves.toBe(false);

    await popup.getByLabel('Search by code or name').fill('PRJ');
    await popup.getByRole('button', { name: 'Search' }).click();
    await popup.waitForURL(/[?&]q=/);
    const choice = popup.locator('input[name="code"]:not(:checked)').first();
    const code = (await choice.getAttribute('value'))!;
    await choice.check();
    await expect(popupClosed(form)).resolves.toBe(false);

    const closed = popup.waitForEvent('close', { timeout: 10_000 });
    await popup.getByRole('button', { name: 'Save to Concur' }).click();
    await expect(popup.getByTestId('saved-value').textContent()).resolves.toBe(code);
    // The done page waits 600 ms before it closes the window: still linked meanwhile.
    await expect(popupClosed(form)).resolves.toBe(false);
    await closed;
    await form.waitForFunction(() => (window as unknown as { popup: Window }).popup.closed, undefined, { timeout: 5_000 });
    await expect(popupClosed(form)).resolves.toBe(true);
  });
});

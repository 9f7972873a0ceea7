import { browserSuite, describeInBrowser } from './browser.js';

/** The session page's search: as you type with JavaScript, and the whole pick flow without it. */

describeInBrowser('the search of the popup', () => {
  const s = browserSuite();

  /** A v4 expense launch of the sandbox, opened straight in a tab (no popup needed). */
  async function firstExpenseLaunch(): Promise<string> {
    const state = (await (await fetch(`${s.h.origin}/sandbox/api/state`)).json()) as { expenses: Array<{ expenseId: string }> };
    return `${s.h.origin}/sandbox/launch?version=4&level=ENTRY&id=${encodeURIComponent(state.expenses[0].expenseId)}`;
  }

  it('searches as you type, keeping the focus and the address in step, without a page load', async () => {
    const context = await s.newContext();
    const page = await context.newPage();
    await page.goto(await firstExpenseLaunch());
    await page.waitForURL(/\/launch\/s\/[^/?]+$/);
    const total = Number((await page.locator('.count').textContent())!.match(/\d+/)![0]);
    let loads = 0;
    page.on('load', () => loads++);
    await page.getByLabel('Search by code or name').pressSequentially('PRJ-100', { delay: 20 });
    await page.locator('.count', { hasText: 'matching' }).waitFor();
    const codes = await page.locator('input[name="code"]').evaluateAll((inputs) => inputs.map((i) => i.getAttribute('value') ?? ''));
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.every((code) => code.startsWith('PRJ-100'))).toBe(true);
    expect(Number((await page.locator('.count').textContent())!.match(/\d+/)![0])).toBeLessThan(total);
    expect(loads).toBe(0);
    await expect(page.locator('#q:focus').count()).resolves.toBe(1);
    expect(new URL(page.url()).searchParams.get('q')).toBe('PRJ-100');
  });

  it('works without JavaScript: a plain form search, pick and Save', async () => {
    const context = await s.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(await firstExpenseLaunch());
    await page.waitForURL(/\/launch\/s\/[^/?]+$/);
    await page.getByLabel('Search by code or name').fill('PRJ-1002');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=PRJ-1002/);
    const choice = page.locator('input[name="code"][value="PRJ-1002"]');
    await choice.check();
    await page.getByRole('button', { name: 'Save to Concur' }).click();
    await expect(page.getByTestId('saved-value').textContent()).resolves.toBe('PRJ-1002');
    const state = (await (await fetch(`${s.h.origin}/sandbox/api/state`)).json()) as { expenses: unknown[] };
    expect(JSON.stringify(state.expenses[0])).toContain('PRJ-1002');
  });
});

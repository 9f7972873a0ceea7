// The README's pictures of the auditor's workbench: starts the built connector on the embedded default with the
// sandbox, makes a few real launches and saves through the sandbox Concur, signs in as the demo auditor in Chromium
// and saves docs/images/audit-search.png and audit-event.png.
// Usage: npm run build && node scripts/audit-screenshots.mjs   (needs Debian's chromium: apt-get install chromium)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitReady(base, child) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`the connector exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the connector did not become ready');
}

const dataDir = mkdtempSync(join(tmpdir(), 'clc-shots-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, ['dist/main.js'], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port), CONNECTOR_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'development' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  await waitReady(base, child);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();

  // Launches as Concur would make them: the sandbox's Launch URL links, then a pick and Save.
  await page.goto(`${base}/sandbox`);
  const launches = await page.$$eval('a[href^="/sandbox/launch"]', (links) => links.map((a) => a.getAttribute('href')));
  for (const [i, href] of launches.slice(0, 4).entries()) {
    await page.goto(`${base}${href}`);
    await page.locator('input[name="code"]').nth(i + 2).check();
    await page.getByRole('button', { name: 'Save to Concur' }).click();
    await page.waitForLoadState();
  }
  // One rejected launch: a signed URL used twice.
  const signed = (await fetch(`${base}${launches[0]}`, { redirect: 'manual' })).headers.get('location');
  await fetch(`${base}${signed}`, { redirect: 'manual' });
  await fetch(`${base}${signed}`, { redirect: 'manual' });

  await page.goto(`${base}/audit/sign-in`);
  await page.getByLabel('User name').fill('auditor');
  await page.getByLabel('Password').fill('auditor-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/audit`);
  await page.goto(`${base}/audit?tenant=sandbox`);
  await page.screenshot({ path: join(ROOT, 'docs/images/audit-search.png'), fullPage: false });

  await page.goto(`${base}/audit?type=update.succeeded&limit=1`);
  await page.locator('table.events a').first().click();
  await page.waitForLoadState();
  await page.screenshot({ path: join(ROOT, 'docs/images/audit-event.png'), fullPage: true });
  console.log('saved docs/images/audit-search.png and docs/images/audit-event.png');
} finally {
  await browser.close();
  child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

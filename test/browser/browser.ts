import { jest } from '@jest/globals';
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium } from 'playwright-core';
import { type Harness, startApp } from '../harness.js';

/**
 * Chromium for the browser tests: Debian's package (`apt-get install chromium`; `.ci/run` installs it
 * when missing), or CHROMIUM_PATH. Without it the suites skip, saying why; under CI=true they fail.
 */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
export const CHROMIUM = CANDIDATES.find((path) => existsSync(path));

const REQUIRED = process.env.CI === 'true';

/** `describe` when Chromium is here; otherwise a skipped suite and a line on stderr (an error under CI=true). */
export function describeInBrowser(name: string, body: () => void): void {
  // Jest reads testTimeout only globally, not from a project entry: a browser test gets 30 s here.
  jest.setTimeout(30_000);
  if (CHROMIUM) return describe(name, body);
  if (REQUIRED) throw new Error(`CI=true but no Chromium at ${CANDIDATES.join(' or ')}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  process.stderr.write(`\nSKIPPED: no Chromium at ${CANDIDATES.join(' or ')}; the browser tests "${name}" did not run (apt-get install chromium, or set CHROMIUM_PATH)\n`);
  describe.skip(name, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface BrowserSuite {
  /** One Chromium for the whole file. */
  readonly browser: Browser;
  /** The app of the current test, started fresh (embedded default, sandbox on). */
  readonly h: Harness;
  /** A browser context closed after the test. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
}

/**
 * The hooks every browser suite needs, registered in the calling describe block: Chromium launched
 * once for the file, and for each test a fresh app and the contexts it opened, closed afterwards.
 */
export function browserSuite(appOverrides: Record<string, unknown> = {}): BrowserSuite {
  let browser: Browser | undefined;
  let h: Harness | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    h = await startApp(appOverrides);
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await h?.close();
  });

  return {
    get browser() {
      return browser!;
    },
    get h() {
      return h!;
    },
    async newContext(options?: BrowserContextOptions) {
      const context = await browser!.newContext(options);
      contexts.push(context);
      return context;
    },
  };
}

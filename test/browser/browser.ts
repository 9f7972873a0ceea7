import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Chromium for the browser tests: Debian's package (`apt-get install chromium`; `.ci/run` installs it
 * when missing), or CHROMIUM_PATH. Without it the suites skip, saying why; under CI=true they fail.
 */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
export const CHROMIUM = CANDIDATES.find((path) => existsSync(path));

const REQUIRED = process.env.CI === 'true';

/** `describe` when Chromium is here; otherwise a skipped suite and a line on stderr (an error under CI=true). */
export function describeInBrowser(name: string, body: () => void): void {
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

// A real headless Chromium for tests: Debian's `chromium` (installed by scripts/ensure.sh, as
// redis-server is, with a CJK font), driven by playwright-core pointed at that binary. Nothing downloads a browser.
//
//   const browser = await launchChromium();
//   const page = await browser.newPage({ viewport: PHONE });
//   …
//   await shot(page, 'console-list-390');   // test-artifacts/screenshots/console-list-390.png
//   await browser.close();

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where screenshots go (ignored by git). */
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'screenshots');

/** A 390 px phone (iPhone 12/13/14 width) and a 1280 px desktop. */
export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;

let executable: string | undefined;

/** The chromium binary; installs the Debian package through scripts/ensure.sh when it may. */
export function chromiumPath(): string {
  if (executable) return executable;
  execFileSync('bash', [join(ROOT, 'scripts', 'ensure.sh'), 'chromium', 'cjk-fonts'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (existsSync(candidate)) return (executable = candidate);
  }
  const found = execFileSync('bash', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  if (!found) throw new Error('chromium not found after scripts/ensure.sh chromium');
  return (executable = found);
}

/** Headless Chromium, sandbox off (tests run as root in CI), no network beyond what pages ask for. */
export async function launchChromium(): Promise<Browser> {
  const { LD_PRELOAD: _faked, ...env } = process.env;
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    env: env as Record<string, string>,
    timeout: 60_000,
  });
}

/** Save a full-page screenshot as a test artifact; returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** True when the page scrolls sideways (something is wider than the viewport). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  // A string: the test tsconfig has no DOM types; this runs in the page.
  return page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth + 1');
}

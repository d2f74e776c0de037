// The browser the console and email tests drive: Debian's chromium through playwright-core.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { existsSync } from 'node:fs';
import { launchChromium, PHONE, scrollsSideways, shot } from '../support/browser.js';

describe('headless chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('renders Chinese text at 390 px and tells a page that scrolls sideways from one that does not', async () => {
    const page = await browser.newPage({ viewport: PHONE });
    await page.setContent('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><body style="margin:0"><h1 id="t">渠道预警</h1></body>');
    expect(await page.textContent('#t')).toBe('渠道预警');
    expect(await page.evaluate<number>('window.innerWidth')).toBe(390);
    expect(await scrollsSideways(page)).toBe(false);
    expect(existsSync(await shot(page, 'setup-browser-390'))).toBe(true);
    await page.setContent('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><body><table style="width:980px"><tr><td>宽表格</td></tr></table></body>');
    expect(await scrollsSideways(page)).toBe(true);
    await page.close();
  });
});

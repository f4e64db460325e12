import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { scratchDir } from './scratch.ts';

// Debian's Chromium, driven by playwright-core (which downloads nothing). `.ci/run` installs Chromium and sets
// SAGA_REQUIRE_CHROMIUM, so CI never skips the browser tests.

function chromiumPath(): string | undefined {
  for (const candidate of ['/usr/bin/chromium', ...(process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, 'chromium'))]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there: look further
    }
  }
  return undefined;
}

/** Chromium's executable, or undefined where none is installed (its tests are then skipped, unless required). */
export const executablePath = chromiumPath();
export const chromiumRequired = process.env['SAGA_REQUIRE_CHROMIUM'] === '1';

/** A headless Chromium with a fresh profile; the caller closes it. */
export async function launchChromium(viewport?: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(await scratchDir(), {
    executablePath: executablePath as string,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    ...(viewport ? { viewport } : {}),
  });
}

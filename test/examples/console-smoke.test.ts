import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { functionStatesOf, rollbackStepsOf, TerminalState, type Saga } from '../../asl/saga.ts';
import { consolePages } from '../../local/console.ts';
import { exampleInputOf } from '../../local/input.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { executablePath, launchChromium } from '../helpers/browser.ts';
import { everySaga } from '../helpers/sagas.ts';

// jest: heavy (each saga’s console driven in Chromium): test/sequencer.js starts it first on a fresh clone.
// The console of `saga local` for every saga of the project, in a real browser: the form is pre-filled with the
// saga's own example under a fresh key, its fault toggles are the saga's states, and what it starts runs.

(executablePath ? describe.each(everySaga.map(({ file, saga }) => [file, saga] as const)) : describe.skip.each([['none', undefined]]))(
  'the console of %s',
  (_, saga) => {
    let local: LocalSaga;
    let server: StepFunctionsServer;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      local = await LocalSaga.start({ saga: saga as Saga });
      server = await StepFunctionsServer.start(local, { retryDelayMs: 0, pages: consolePages(local) });
      context = await launchChromium({ width: 1366, height: 768 });
      page = context.pages()[0] ?? (await context.newPage());
      await page.route(/.*/, (route) => (route.request().url().startsWith('http://127.0.0.1:') ? route.continue() : route.abort()));
    }, 60_000);
    afterAll(async () => {
      await context?.close();
      await server?.close();
      await local?.close();
    });

    const statusIs = (status: string) => page.locator(`dl.summary[data-status="${status}"]`).waitFor({ timeout: 30_000 });

    it("offers the saga's example under a fresh key, and a fault toggle for each of its states", async () => {
      const { noun, keyField } = saga as Saga;
      const example = (await exampleInputOf(saga as Saga)) as Record<string, unknown>;
      await page.goto(`${server.endpoint}/console/`);
      const prefilled = JSON.parse(await page.getByLabel(`${noun} (the execution input, JSON)`).inputValue()) as Record<string, unknown>;
      const { [keyField]: key, ...rest } = prefilled;
      const { [keyField]: exampleKey, ...exampleRest } = example;
      expect(rest).toEqual(exampleRest);
      expect(key).not.toBe(exampleKey);
      for (const state of functionStatesOf(saga as Saga))
        await expect(page.getByLabel(state, { exact: true }).isVisible()).resolves.toBe(true);
      await page.getByRole('button', { name: `New ${keyField}` }).waitFor();
    });

    it('starts the example and watches it succeed, then a failing last action roll back', async () => {
      // The steps whose failure rolls back: up to the pivot, if the saga has one.
      const steps = rollbackStepsOf(saga as Saga);
      await page.goto(`${server.endpoint}/console/`);
      await page.getByLabel('Execution name').fill('smoke-happy');
      await page.getByLabel('Execution name').press('Enter');
      await statusIs('SUCCEEDED');
      await expect(page.locator('table.item').first().textContent()).resolves.toContain('BOOKED');

      await page.goto(`${server.endpoint}/console/`);
      await page.getByLabel('Execution name').fill('smoke-rollback');
      await page.getByLabel(steps.at(-1)?.action as string, { exact: true }).check();
      await page.getByLabel('Execution name').press('Enter');
      await statusIs('FAILED');
      await expect(page.locator('dl.summary').textContent()).resolves.toContain(TerminalState.RolledBack);
    });
  },
);

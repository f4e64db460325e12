import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import {
  compensatableStepsOf,
  isGroup,
  retriableStepsOf,
  retryStateOf,
  roleOf,
  stepsOf,
  TerminalState,
  type CompensatableStep,
  type ParallelGroup,
  type SagaStep,
} from '../../asl/saga.ts';
import orderSaga from '../../examples/order.ts';
import { exampleInputOf } from '../../local/input.ts';
import { consolePages } from '../../local/console.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { Need, type NeedsAPerson } from '../../status/needs.ts';
import {
  bookingsOf,
  compensatedWhen,
  expectSamePath,
  firstStep,
  rollbackPathOf,
  tripParallelSaga,
  tripSagaOfTwoStagesOrMore,
  type CompensatableBooking,
} from '../helpers/sagas.ts';
import { chromiumRequired, executablePath, launchChromium } from '../helpers/browser.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';
import type { Trip } from '../../saga.ts';

// jest: heavy (the console served and driven in Chromium): test/sequencer.js starts it first on a fresh clone.
// The console of `saga local` in a real browser (test/helpers/browser.ts).

/**
 * The README's screenshot, rewritten on request only (as snapshots are with -u): its clock times change on every
 * run, and a test run should not leave the tree changed.
 */
const README_SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url));
const updateScreenshot = process.env['SAGA_UPDATE_SCREENSHOT'] === '1';
const LAPTOP = { width: 1366, height: 768 };

if (!executablePath)
  console.warn('test/local/console.test.ts: no Chromium found (apt-get install chromium): the browser tests are skipped');

/**
 * The saga the console serves: the trip, of two stages at least, so that a rollback from the second action shows a step
 * that had booked (its output, its cancelled item), whatever the length of the trip's own step list.
 */
const servedSaga = tripSagaOfTwoStagesOrMore;
const tripSteps = bookingsOf(servedSaga);
const [, secondStep] = tripSteps as [CompensatableBooking, CompensatableBooking];

let local: LocalSaga;
let server: StepFunctionsServer;

beforeAll(async () => {
  local = await LocalSaga.start({ saga: servedSaga });
  // Short retry pauses: a stuck compensation stays RUNNING a few seconds, long enough to be seen and stopped.
  server = await StepFunctionsServer.start(local, { retryDelayMs: 300, pages: consolePages(local) });
});
afterAll(async () => {
  await server.close();
  await local.close();
});

const get = (path: string) => fetch(`${server.endpoint}${path}`, { redirect: 'manual' });

/** Runs an input (a trip, or any saga's) to its end through the server, named by its key, then reads its view as the console does. */
async function viewOfRun(on: StepFunctionsServer, saga: LocalSaga, input: Trip | Readonly<Record<string, unknown>>) {
  const { executionArn } = (await on.call('StartExecution', {
    stateMachineArn: saga.stateMachineArn,
    name: String((input as Readonly<Record<string, unknown>>)[saga.saga.keyField]),
    input: JSON.stringify(input),
  })) as { executionArn: string };
  return viewOfEnd(on, executionArn);
}

/** Waits for an execution's run to end, then reads its view as the console does. */
async function viewOfEnd(on: StepFunctionsServer, executionArn: string) {
  while (((await on.call('DescribeExecution', { executionArn })) as { status: string }).status === 'RUNNING') {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Its diagram is laid out off the request path: asked again until it is there, as the page does.
  for (;;) {
    const view = (await (await fetch(`${on.endpoint}/console/api/execution?arn=${encodeURIComponent(executionArn)}`)).json()) as {
      path: string[];
      marks: Record<string, string[]>;
      items: { step: string; item: { status: string } | null }[];
      diagram: string | null;
      outcome: string;
      need: NeedsAPerson | null;
    };
    if (view.diagram !== null) return { ...view, diagram: view.diagram };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The order saga served, its last retriable step failing until redriven: an execution of it stops past the pivot. */
async function servedStuckForward() {
  const ordering = await LocalSaga.start({ saga: orderSaga });
  const stuckStep = retriableStepsOf(orderSaga).at(-1) as SagaStep;
  const orderServer = await StepFunctionsServer.start(ordering, {
    retryDelayMs: 0,
    pages: consolePages(ordering),
    faults: { [stuckStep.action]: { times: 'until-redrive' } },
  });
  const close = async () => {
    await orderServer.close();
    await ordering.close();
  };
  return { ordering, orderServer, stuckStep, close };
}

describe('console routes', () => {
  it('serves the page, its script and style, and sends / to the console', async () => {
    expect((await get('/')).headers.get('location')).toBe('/console/');
    const page = await get('/console/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="console.js">');
    expect((await get('/console/console.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await get('/console/console.css')).headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('describes the saga from the step list', async () => {
    const saga = (await (await get('/console/api/saga')).json()) as { steps: { action: string }[]; stateMachineArn: string };
    expect(saga.steps.map((step) => step.action)).toEqual(tripSteps.map((step) => step.action));
    expect(saga.stateMachineArn).toBe(local.stateMachineArn);
  });

  it("reads an execution's path, marks and items from its history and the tables", async () => {
    const second = secondStep.action;
    const trip = tripWithId('console-view', { fail: [second] });
    const view = await viewOfRun(server, local, trip);
    expectSamePath(view.path, rollbackPathOf(secondStep, servedSaga), servedSaga);
    expect(view.marks).toEqual({ [second]: ['failed'] });
    expect(view.items.map(({ step, item }) => [step, item?.status ?? null])).toEqual(
      tripSteps.map((step) => [step.name, compensatedWhen(secondStep, step, servedSaga) ? 'CANCELLED' : null]),
    );
    expect(view.diagram).toContain('class="node taken failed"');
  });

  it('lists executions with their saga outcome, and those that need a person as `saga status` finds them', async () => {
    const rolledBack = tripWithId('console-outcome-rolled-back', { fail: [firstStep.action] });
    await viewOfRun(server, local, rolledBack);
    const listed = (await (await get('/console/api/executions')).json()) as {
      executions: { name: string; outcome: string }[];
      needs: unknown[];
    };
    expect(listed.executions.find((execution) => execution.name === rolledBack.trip_id)?.outcome).toBe('rolled back');
    expect(listed.needs).toEqual([]);
    const refused = await get('/console/api/executions?status=SOMETIMES');
    expect(refused.status).toBe(400);
  });

  it('draws an execution of a step list with a group: the group as one box, both branches on the path', async () => {
    const grouped = await LocalSaga.start({ saga: tripParallelSaga });
    const groupServer = await StepFunctionsServer.start(grouped, { retryDelayMs: 0, pages: consolePages(grouped) });
    try {
      const group = tripParallelSaga.steps.find(isGroup) as ParallelGroup;
      const [failing, stuck] = group.parallel as [CompensatableStep, CompensatableStep];
      const trip = tripWithId('console-group', { fail: [failing.action, stuck.compensation] });
      const view = await viewOfRun(groupServer, grouped, trip);
      for (const step of group.parallel) expect(view.path).toEqual(expect.arrayContaining([step.action, step.compensation]));
      // Each mark on its own state, though the branches' events interleave.
      expect(view.marks[failing.action]).toEqual(['failed']);
      expect(view.marks[failing.compensation]).toBeUndefined();
      expect(view.marks[retryStateOf(stuck)]).toEqual(['retried', 'failed', 'stuck']);
      expect(view.diagram).toContain('class="cluster');
    } finally {
      await groupServer.close();
      await grouped.close();
    }
  });

  it('marks an execution stuck past the pivot as stuck forward, with its redrive and no rollback, and redrives it to success', async () => {
    const { ordering, orderServer, stuckStep, close } = await servedStuckForward();
    try {
      const described = (await (await fetch(`${orderServer.endpoint}/console/api/saga`)).json()) as {
        steps: { action: string; role: string; compensation: string | null }[];
      };
      expect(described.steps).toEqual(
        stepsOf<string>(orderSaga).map((step) =>
          expect.objectContaining({ action: step.action, role: roleOf(step), compensation: step.compensation ?? null }),
        ),
      );
      const example = (await exampleInputOf(orderSaga)) as Record<string, unknown>;
      const order = { ...example, [orderSaga.keyField]: 'console-forward' };
      const view = await viewOfRun(orderServer, ordering, order);
      const retry = retryStateOf(stuckStep);
      expect(view.path.at(-1)).toBe(retry);
      expect(view.marks[retry]).toEqual(expect.arrayContaining(['failed', 'stuck']));
      expect(view.outcome).toBe(Need.StuckForward);
      expect(view.need).toMatchObject({ need: Need.StuckForward, forwardStep: stuckStep.action, stoppedAt: retry, redrivable: true });
      expect(view.need?.command).toBe(
        `aws stepfunctions redrive-execution --endpoint-url ${orderServer.endpoint} --execution-arn ${view.need?.executionArn}`,
      );
      expect(view.need?.rollbackCommand).toBeUndefined();
      // Nothing is undone: every step before the stuck one holds its effect.
      const before = stepsOf<string>(orderSaga).slice(0, stepsOf<string>(orderSaga).indexOf(stuckStep));
      expect(view.items.filter(({ item }) => item?.status === 'BOOKED').map(({ step }) => step)).toEqual(before.map((step) => step.name));
      // The list says the same, and the needs name it.
      const listed = (await (await fetch(`${orderServer.endpoint}/console/api/executions`)).json()) as {
        executions: { name: string; outcome: string }[];
        needs: NeedsAPerson[];
      };
      expect(listed.executions.find((execution) => execution.name === 'console-forward')?.outcome).toBe(Need.StuckForward);
      expect(listed.needs.map((need) => [need.name, need.need, need.forwardStep])).toEqual([
        ['console-forward', Need.StuckForward, stuckStep.action],
      ]);
      // Redriven, it goes on forward from the stuck step: succeeded, every step's effect there, no compensation run.
      const executionArn = view.need?.executionArn as string;
      await orderServer.call('RedriveExecution', { executionArn });
      const redriven = await viewOfEnd(orderServer, executionArn);
      expect(redriven.outcome).toBe('succeeded');
      expect(redriven.need).toBeNull();
      expect(redriven.items.map(({ step, item }) => [step, item?.status])).toEqual(
        stepsOf<string>(orderSaga).map((step) => [step.name, 'BOOKED']),
      );
      const compensations = new Set(compensatableStepsOf(orderSaga).map((step) => step.compensation));
      expect(redriven.path.filter((state) => compensations.has(state))).toEqual([]);
    } finally {
      await close();
    }
  });

  it('answers bad requests with clear errors, and goes on serving', async () => {
    const cases: [string, number, RegExp][] = [
      ['/console/nowhere', 404, /no console page at \/console\/nowhere/],
      ['/console/../package.json', 404, /no console page/],
      ['/console/api/execution', 400, /expected \?arn=/],
      ['/console/api/execution?arn=nonsense', 400, /Invalid Arn/],
      [`/console/api/execution?arn=${encodeURIComponent(local.executionArnOf('never-started'))}`, 404, /Execution Does Not Exist/],
    ];
    for (const [path, status, message] of cases) {
      const response = await get(path);
      expect([path, response.status]).toEqual([path, status]);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
    }
    expect((await get('/console/api/saga')).status).toBe(200);
  });
});

(executablePath ? describe : describe.skip)('the console in Chromium', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await launchChromium(LAPTOP);
    page = context.pages()[0] ?? (await context.newPage());
    // Everything comes from saga local, on 127.0.0.1: any other request would be a CDN or a leak.
    await page.route(/.*/, (route) => (route.request().url().startsWith('http://127.0.0.1:') ? route.continue() : route.abort()));
  });
  afterAll(async () => {
    await context?.close();
  });

  /** Starts an execution from the form, with the given fault toggles, and waits for its page. */
  async function startFromForm(name: string, faults: readonly string[], endpoint = server.endpoint): Promise<void> {
    await page.goto(`${endpoint}/console/`);
    await page.getByLabel('Execution name').fill(name);
    // From the keyboard: each toggle is reached and switched as a screen-reader user would.
    for (const state of faults) {
      await page.getByLabel(state, { exact: true }).focus();
      await page.keyboard.press('Space');
    }
    await page.getByLabel('Execution name').press('Enter');
    await page.getByRole('heading', { name: `Execution ${name}` }).waitFor();
  }

  const statusIs = (status: string) => page.locator(`dl.summary[data-status="${status}"]`).waitFor({ timeout: 30_000 });

  /** The states drawn on the path taken, or with a mark (a group is a box): the first line of text is its state's name. */
  const nodesWith = async (cssClass: string) => {
    // Laid out off the request path, the diagram may follow the execution's end.
    await page.locator('.diagram svg').waitFor({ timeout: 30_000 });
    return page
      .locator(`.diagram g.node.${cssClass}, .diagram g.cluster.${cssClass}`)
      .evaluateAll((nodes) => nodes.map((node) => node.querySelector('text')?.textContent ?? ''));
  };

  it('starts a trip and watches it succeed', async () => {
    await startFromForm('console-happy', []);
    await statusIs('SUCCEEDED');
    const taken = await nodesWith('taken');
    for (const { action } of tripSteps) expect(taken).toContain(action);
    expect(taken).toContain('Succeeded');
    await expect(page.locator('table.item').first().textContent()).resolves.toContain('BOOKED');
    // The list shows it, and filters by status.
    await page.getByRole('link', { name: /All executions/ }).click();
    await page.getByLabel('Show status').selectOption('SUCCEEDED');
    await page.locator('#executions').getByRole('link', { name: 'console-happy' }).waitFor();
    await expect(page.locator('#executions tr', { hasText: 'console-happy' }).locator('td.outcome').textContent()).resolves.toBe(
      'succeeded',
    );
    await page.getByLabel('Show status').selectOption('ABORTED');
    await page.locator('#executions').getByText('No ABORTED executions.').waitFor();
  });

  it("fails at the step list's second action and draws the rollback path", async () => {
    const second = secondStep.action;
    await startFromForm('console-rollback', [second]);
    await statusIs('FAILED');
    expect(new Set(await nodesWith('taken'))).toEqual(new Set(rollbackPathOf(secondStep, servedSaga)));
    expect(await nodesWith('failed')).toEqual([second]);
    await expect(page.locator('dl.summary').textContent()).resolves.toContain('SagaRolledBack');
    await expect(page.locator('dl.summary').textContent()).resolves.toContain('Outcomerolled back');
    // The injected fault's Cause, read: its message, not a JSON string.
    await page.locator('#history').getByText(`InjectedFault: ${second} failed on purpose`).first().waitFor();
    // A finished rollback offers no redrive: it would only end at its Fail state again.
    await expect(page.getByRole('button', { name: 'Redrive execution' }).isHidden()).resolves.toBe(true);
    await expect(page.locator('#redrive-note').textContent()).resolves.toContain(
      `Nothing to redrive: it ended at ${TerminalState.RolledBack}`,
    );

    // The whole path is on the screen, without scrolling: every state taken lies within the window.
    expect(await page.evaluate('window.scrollY')).toBe(0);
    const outside = await page.locator('.diagram g.node.taken').evaluateAll(
      (nodes, screen) =>
        nodes.flatMap((node) => {
          const box = node.getBoundingClientRect();
          const inside = box.top >= 0 && box.left >= 0 && box.bottom <= screen.height && box.right <= screen.width;
          return inside ? [] : [node.querySelector('text')?.textContent ?? ''];
        }),
      LAPTOP,
    );
    expect(outside).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);

    // Clicking a state shows what AWS's console shows of it: the first action's input and output...
    const first = firstStep.action;
    await page.locator('.diagram g.node', { hasText: first }).first().click();
    await page.getByRole('heading', { name: `State ${first}` }).waitFor();
    const input = JSON.parse((await page.locator('#state-detail .state-input').textContent()) ?? '{}');
    expect(input).toMatchObject({ [servedSaga.keyField]: expect.any(String), fail: [second] });
    await expect(page.locator('#state-detail .state-output').textContent()).resolves.toContain(`"${first}"`);
    // ...and the failed one's error, its Cause read, from a row of the states' table too.
    await page.locator('#states').getByRole('button', { name: second, exact: true }).click();
    await page.getByRole('heading', { name: `State ${second}` }).waitFor();
    await expect(page.locator('#state-detail .state-error').first().textContent()).resolves.toContain(
      `InjectedFault: ${second} failed on purpose`,
    );
    // A cancelled item's TTL attribute reads as a date.
    await expect(page.locator('table.item').first().textContent()).resolves.toMatch(/expires_at.*\(epoch \d+\)/);
    // The definition the execution runs.
    await page.getByText('The state machine definition (Amazon States Language) this execution runs').click();
    await expect(page.locator('#definition').textContent()).resolves.toContain(`"StartAt": "${first}"`);
    await page.getByText('The state machine definition (Amazon States Language) this execution runs').click();

    await page.locator('.diagram g.node', { hasText: second }).first().click();
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: updateScreenshot ? README_SCREENSHOT : join(await scratchDir(), 'console.png') });
  });

  it('stops a running execution', async () => {
    // The first step's compensation keeps failing: retried, alerted, retried again, while the execution runs.
    await startFromForm('console-stop', [firstStep.action, firstStep.compensation]);
    await statusIs('RUNNING');
    // Stop asks first: cancelled, it goes on running.
    await page.getByRole('button', { name: 'Stop execution' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await expect(page.locator('dl.summary').getAttribute('data-status')).resolves.toBe('RUNNING');
    await page.getByRole('button', { name: 'Stop execution' }).click();
    await expect(page.getByRole('dialog').textContent()).resolves.toContain('Stop console-stop?');
    await page.getByRole('dialog').getByRole('button', { name: 'Stop it' }).click();
    await statusIs('ABORTED');
    await expect(page.getByRole('button', { name: 'Stop execution' }).isHidden()).resolves.toBe(true);
    await page.getByRole('status').getByText('Stopped: console-stop').waitFor();
    // Its action failed and nothing was booked: it needs no one. The notice stays on its page.
    await page.getByRole('link', { name: /All executions/ }).click();
    const row = page.locator('#executions tr', { hasText: 'console-stop' });
    await row.waitFor();
    await expect(row.locator('td.outcome').textContent()).resolves.toBe('aborted, nothing left');
    await expect(page.getByText('Stopped: console-stop').count()).resolves.toBe(0);
  });

  it('marks a stuck compensation and its alert, and redrives it once the fault is gone', async () => {
    // As `saga local --fail <the first compensation>=until-redrive`: a fault that a fix before the redrive removes.
    const fixable = await StepFunctionsServer.start(local, {
      retryDelayMs: 300,
      pages: consolePages(local),
      faults: { [firstStep.compensation]: { times: 'until-redrive' } },
    });
    try {
      await startFromForm('console-stuck', [firstStep.action], fixable.endpoint);
      await statusIs('FAILED');
      const retry = retryStateOf(firstStep);
      expect(await nodesWith('stuck')).toEqual([retry]);
      expect(await nodesWith('retried')).toEqual(expect.arrayContaining([firstStep.compensation, retry]));
      await page.locator('.alert').first().waitFor();
      // The alert's error is read: its message, not escaped JSON with a stack trace.
      const alert = (await page.locator('.alert').first().textContent()) ?? '';
      expect(alert).toContain(`InjectedFault: ${firstStep.compensation} failed on purpose`);
      expect(alert).not.toContain('\\"errorMessage');
      expect(alert).not.toContain('trace');
      await expect(page.locator('dl.summary').textContent()).resolves.toContain(`Outcome${Need.Stuck}`);
      // The list puts it first, as needing a person, with the command that finishes it.
      await page.getByRole('link', { name: /All executions/ }).click();
      const needing = page.locator('#needs li', { hasText: 'console-stuck' });
      await expect(needing.textContent()).resolves.toContain(`redrive-execution --endpoint-url ${fixable.endpoint}`);
      await needing.getByRole('link', { name: 'console-stuck' }).click();
      await page.getByRole('button', { name: 'Redrive execution' }).click();
      await page.locator('dl.summary').getByText(TerminalState.RolledBack).waitFor({ timeout: 30_000 });
      await expect(page.locator('dl.summary').textContent()).resolves.toMatch(/Redrives1/);
      expect(await nodesWith('stuck')).toEqual([]);
      await expect(page.locator('table.item').first().textContent()).resolves.toContain('CANCELLED');
      await page.getByRole('status').getByText('Redriven: console-stuck').waitFor();
      await expect(page.getByRole('button', { name: 'Redrive execution' }).isHidden()).resolves.toBe(true);
    } finally {
      await fixable.close();
    }
  });

  it('marks a step stuck past the pivot as stuck forward, offers its redrive, and redrives it forward to success', async () => {
    const { orderServer, stuckStep, close } = await servedStuckForward();
    try {
      // The pivot and the retriable steps have no compensation to offer as a fault.
      await page.goto(`${orderServer.endpoint}/console/`);
      await page.getByRole('button', { name: `New ${orderSaga.keyField}` }).waitFor();
      for (const step of stepsOf<string>(orderSaga)) {
        await expect(page.getByLabel(step.action, { exact: true }).count()).resolves.toBe(1);
        if (step.compensation === undefined) continue;
        await expect(page.getByLabel(step.compensation, { exact: true }).count()).resolves.toBe(1);
      }
      await expect(page.locator('input[type="checkbox"][value="undefined"], input[type="checkbox"][value="null"]').count()).resolves.toBe(
        0,
      );
      await startFromForm('console-forward', [], orderServer.endpoint);
      await statusIs('FAILED');
      const retry = retryStateOf(stuckStep);
      expect(await nodesWith('stuck')).toEqual([retry]);
      const summary = page.locator('dl.summary');
      await expect(summary.textContent()).resolves.toContain(`Outcome${Need.StuckForward} at ${stuckStep.action}`);
      await expect(page.locator('#redrive-note').textContent()).resolves.toContain(`A redrive reruns ${retry} and goes on forward`);
      // The list puts it among those that need a person, stuck forward, with its redrive.
      await page.getByRole('link', { name: /All executions/ }).click();
      const needing = page.locator('#needs li', { hasText: 'console-forward' });
      await expect(needing.textContent()).resolves.toContain(`${Need.StuckForward} at ${stuckStep.action}`);
      await expect(needing.textContent()).resolves.toContain(`redrive-execution --endpoint-url ${orderServer.endpoint}`);
      await needing.getByRole('link', { name: 'console-forward' }).click();
      await page.getByRole('button', { name: 'Redrive execution' }).click();
      await statusIs('SUCCEEDED');
      expect(await nodesWith('stuck')).toEqual([]);
      // Every step's effect is there: nothing was undone, the stuck step finished.
      await expect(page.locator('table.item').count()).resolves.toBe(stepsOf<string>(orderSaga).length);
      for (const item of await page.locator('table.item').all()) await expect(item.textContent()).resolves.toContain('BOOKED');
    } finally {
      await close();
    }
  });
});

it('runs the browser tests where CI requires them', () => {
  if (chromiumRequired) expect(executablePath).toBeDefined();
});

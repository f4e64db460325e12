import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  compensatableStepsOf,
  functionStatesOfStep,
  invalidErrorOf,
  payloadKeyOf,
  rejectedStateOf,
  retriableStepsOf,
  stepsOf,
  type Saga,
} from '../../asl/saga.ts';
import { buildFunctions } from '../../functions/build.ts';
import { exampleInputOf } from '../../local/input.ts';
import { LocalSaga, stillBooked, type Execution } from '../../local/runtime.ts';
import { saga as sagaCommand } from '../helpers/cli.ts';
import { faultSchedulesOf } from '../helpers/fault-arbitrary.ts';
import { expectConsistent, expectRedrivenForward } from '../helpers/invariant.ts';
import { failureMatrix } from '../helpers/matrix.ts';
import { everySaga } from '../helpers/sagas.ts';
import { scratchDir } from '../helpers/scratch.ts';

// jest: heavy (every saga’s failure matrix, fast-check schedules, bundles and saga verify): test/sequencer.js starts it first on a fresh clone.
// Every saga of the project (saga.ts and each one in examples/), whatever its domain and its kinds of step: its failure
// matrix and invariant in the local mode, its example as the default input, its own names for bad input, its bundles,
// and `saga verify --local`. Names, keys and states come from each saga.

type Input = Record<string, unknown>;

describe.each(everySaga.map(({ file, saga }) => [file, saga] as const))('%s', (file, saga: Saga) => {
  let local: LocalSaga;
  let example: Input;
  let unique = 0;
  /** The saga's example under a key of its own, so that scenarios sharing the tables do not meet. */
  const inputKeyed = (label: string): Input => ({
    ...example,
    [saga.keyField]: `${label.replaceAll(/[^A-Za-z0-9-]/g, '')}-${(unique += 1)}`,
  });
  const keyOf = (input: Input): string => String(input[saga.keyField]);

  beforeAll(async () => {
    local = await LocalSaga.start({ saga });
    example = (await exampleInputOf(saga)) as Input;
  });
  afterAll(() => local.close());

  /** Runs and checks the invariant; redrives, then checks again, an execution whose rollback (or forward steps) did not finish. */
  async function runChecked(input: Input, faults: Parameters<LocalSaga['execute']>[1] = {}): Promise<Execution> {
    const execution = await local.execute(input, { name: `run-${(unique += 1)}`, retryDelayMs: 0, ...faults });
    await expectConsistent(local, execution, input);
    if (execution.outcome === 'compensation not finished') {
      const redriven = await local.redrive(execution, { retryDelayMs: 0 });
      expect(redriven.outcome).toBe('rolled back');
      expect(stillBooked(await local.bookingsOf(keyOf(input)), execution.executionArn)).toEqual([]);
    }
    if (execution.outcome === 'step not finished') await expectRedrivenForward(local, execution, input);
    return execution;
  }

  it.each(failureMatrix(saga).map((scenario) => [scenario.name, scenario] as const))('failure matrix: %s', async (name, scenario) => {
    const input = inputKeyed(name);
    const execution = await runChecked(input, { faults: { ...scenario.faults }, deliverTwice: [...scenario.deliverTwice] });
    expect(execution.outcome).toBe(scenario.expected);
    if (scenario.lateDelivery) {
      // Whatever the kind of the step, its late action is refused and brings nothing back.
      await expect(
        local.invoke(scenario.lateDelivery, { [payloadKeyOf(saga)]: input, execution: execution.executionArn }),
      ).rejects.toThrow();
      expect(stillBooked(await local.bookingsOf(keyOf(input)), execution.executionArn)).toEqual([]);
    }
  });

  it('keeps the invariant over fast-check schedules of its own states, with rival executions of one key and redrives', async () => {
    const states = stepsOf(saga).flatMap(functionStatesOfStep);
    const faults = faultSchedulesOf(saga);
    const schedule = fc.record({
      faults,
      deliverTwice: fc.subarray(states),
      // Another execution of the same key, under another name: none, one at the same time, or one after.
      rival: fc.option(fc.record({ faults, concurrent: fc.boolean() }), { nil: undefined }),
    });
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(schedule, async ({ faults: chosen, deliverTwice, rival }) => {
        const input = inputKeyed('schedule');
        const first = runChecked(input, { faults: chosen, deliverTwice });
        const second =
          rival &&
          (rival.concurrent ? runChecked(input, { faults: rival.faults }) : first.then(() => runChecked(input, { faults: rival.faults })));
        const executions = await Promise.all([first, ...(second ? [second] : [])]);
        // Each was checked once it ended; the other may have ended later: check again.
        for (const execution of executions) {
          if (execution.outcome !== 'compensation not finished') await expectConsistent(local, execution, input);
          outcomes.add(execution.outcome);
        }
        expect(executions.filter((execution) => execution.outcome === 'succeeded').length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 150 },
    );
    // The schedules reach every ending, so the property is not vacuous.
    expect([...outcomes].sort()).toEqual(
      [
        ...(compensatableStepsOf(saga).length > 0 ? ['compensation not finished'] : []),
        'rolled back',
        ...(retriableStepsOf(saga).length > 0 ? ['step not finished'] : []),
        'succeeded',
      ].sort(),
    );
  }, 600_000);

  it("runs its example by default: saga run exits 0, every step's effect left", async () => {
    const { code, stdout } = await sagaCommand('run', '--saga', file, '--retry-delay', '0');
    expect(code).toBe(0);
    expect(stdout).toContain(`Tables for ${saga.keyField} ${keyOf(example)}:`);
  }, 120_000);

  it('refuses an input without its key in its own terms, writing nothing', async () => {
    const { [saga.keyField]: _, ...keyless } = inputKeyed('keyless');
    const execution = await local.execute(keyless, { name: `keyless-${(unique += 1)}` });
    expect(execution).toMatchObject({ outcome: 'bad input', error: invalidErrorOf(saga) });
    expect(execution.path.at(-1)).toBe(rejectedStateOf(saga));
    // The function's error, in the history: the problem named in the saga's terms.
    const failure = JSON.stringify(execution.history.filter((event) => event.type === 'LambdaFunctionFailed'));
    expect(failure).toContain(`invalid ${saga.noun.toLowerCase()}`);
    expect(failure).toContain(`must have required property '${saga.keyField}'`);
    // With its key but a field the schema does not know: refused alike, and nothing written under the key.
    const unknownField = { ...inputKeyed('unknown-field'), not_a_field: true };
    expect((await local.execute(unknownField, { name: `unknown-${(unique += 1)}` })).outcome).toBe('bad input');
    expect(Object.values(await local.bookingsOf(keyOf(unknownField)))).toEqual(
      Object.values(await local.bookingsOf(keyOf(unknownField))).map(() => undefined),
    );
  });

  it('bundles every function of its steps, custom or booking, with its validators compiled ahead of time', async () => {
    const built = await buildFunctions(saga, { outDir: await scratchDir() });
    expect(built.map((bundle) => bundle.state).sort()).toEqual(stepsOf(saga).flatMap(functionStatesOfStep).sort());
  }, 120_000);

  it('keeps its promise under saga verify --local', async () => {
    const { code, stdout } = await sagaCommand('verify', '--local', '--saga', file, '--retry-delay', '0');
    expect(stdout).toContain("hold the saga's promise");
    expect(code).toBe(0);
  }, 300_000);
});

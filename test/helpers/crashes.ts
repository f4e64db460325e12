import { expect } from '@jest/globals';
import fc from 'fast-check';
import { retryStateOf } from '../../asl/saga.ts';
import type { Trip } from '../../saga.ts';
import { LocalSaga, type Alert, type Execution } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { expectConsistent } from './invariant.ts';
import { firstStep, lastStep, steps } from './sagas.ts';

// The plan of the SIGKILL tests (test/local/journal*.test.ts): `saga local --data` and `saga run --data` killed at
// random moments, seeded and reproducible, then restarted on the same folder; and what they check once all has ended.

/** Change it to explore other schedules; a failure names the seed it ran with. */
export const SEED = 11;
export const KILLS = 12;
/** Short retry pauses, and faults that retry or get stuck, so that kills strike executions mid-flight. */
export const RETRY_DELAY = '40';
/** The pause of the one kill that surely strikes in flight: longer than any test, so the kill comes first. */
export const HELD_RETRY_DELAY = '600000';
const middle = steps[Math.floor(steps.length / 2)] ?? firstStep;
export const FAULTS: readonly (readonly string[])[] = [
  [],
  [lastStep.action],
  [lastStep.action, `${middle.compensation}=3`],
  [lastStep.action, `${firstStep.compensation}=until-redrive`],
];

export const plan = (seed: number) =>
  fc.sample(
    fc.record({
      killAfterMs: fc.integer({ min: 0, max: 1500 }),
      faults: fc.constantFrom(...FAULTS),
      gapMs: fc.integer({ min: 0, max: 150 }),
    }),
    { seed, numRuns: KILLS },
  );

export const failFlags = (faults: readonly string[]) => faults.flatMap((fault) => ['--fail', fault]);

/** A crash may repeat the alert whose publication it interrupted: the README says so. The invariant is about the last. */
const withoutRepeats = (alerts: readonly Alert[]): Alert[] =>
  alerts.filter((alert, index) => alerts[index + 1]?.message['stuckCompensation'] !== alert.message['stuckCompensation']);

/** After everything has ended: each kept execution is consistent, none is left running, every booking's owner is kept. */
export async function expectAllConsistent(dataDir: string, tripIds: readonly string[]): Promise<Execution[]> {
  const local = await LocalSaga.start({ saga: tripSaga, dataDir });
  try {
    expect(local.continueInterrupted()).toEqual([]);
    const kept = local.savedExecutions();
    for (const execution of kept) {
      await expectConsistent(local, { ...execution, alerts: withoutRepeats(execution.alerts) }, execution.input as Trip);
      if (execution.outcome === 'compensation not finished') expect(execution.path.at(-1)).toBe(retryStateOf(firstStep));
    }
    const arns = new Set(kept.map((execution) => execution.executionArn));
    for (const tripId of tripIds) {
      for (const item of Object.values(await local.bookingsOf(tripId))) if (item) expect(arns).toContain(item['execution']);
    }
    return kept;
  } finally {
    await local.close();
  }
}

/** The faults of the kill that surely strikes in flight: the rollback pauses before the compensation's retry. */
export const HELD = [lastStep.action, `${firstStep.compensation}=1`];
/** The line `saga run` prints when the held compensation has failed once: it then pauses before its retry. */
export const HELD_RETRYING = new RegExp(`✗ ${firstStep.compensation} `);

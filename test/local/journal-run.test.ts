import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSaga } from '../helpers/cli.ts';
import { expectAllConsistent, failFlags, HELD, HELD_RETRY_DELAY, HELD_RETRYING, plan, RETRY_DELAY, SEED } from '../helpers/crashes.ts';
import { firstStep } from '../helpers/sagas.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';

// jest: heavy (saga run killed 13 times, run again on the same folder): test/sequencer.js starts it first on a fresh clone.
// The journal against crashes: `saga run --data` killed (SIGKILL) at random moments, seeded and reproducible, then run
// again on the same folder. An execution started is never lost, and every execution ends consistent.

describe('killed at random moments (SIGKILL), run again on the same folder', () => {
  it(`saga run --data: an execution started is never lost, and a later run finishes it (seed ${SEED})`, async () => {
    const dataDir = await scratchDir();
    const tripIds: string[] = [];
    const started: string[] = [];
    let continued = 0;
    // One kill that surely strikes an execution in flight, seen paused before a compensation's retry; the random
    // ones below strike wherever they fall.
    {
      const tripId = 'run-crash-held';
      tripIds.push(tripId);
      const input = join(dataDir, `${tripId}.json`);
      await writeFile(input, JSON.stringify(tripWithId(tripId)));
      const run = startSaga('run', '--data', dataDir, '--input', input, '--retry-delay', HELD_RETRY_DELAY, ...failFlags(HELD));
      await run.waitFor(HELD_RETRYING);
      run.child.kill('SIGKILL');
      await run.exited;
      started.push(tripId);
    }
    for (const [round, { killAfterMs, faults }] of plan(SEED + 1).entries()) {
      const tripId = `run-crash-${round}`;
      tripIds.push(tripId);
      const input = join(dataDir, `${tripId}.json`);
      await writeFile(input, JSON.stringify(tripWithId(tripId)));
      const run = startSaga('run', '--data', dataDir, '--input', input, '--retry-delay', RETRY_DELAY, ...failFlags(faults));
      // Killed at a random moment after start-up: before its first state, in the middle, or after its end.
      await run.waitFor(/retry pause/);
      await sleep(killAfterMs);
      run.child.kill('SIGKILL');
      await run.exited;
      // An execution that printed its first state had been accepted.
      if (run.output().includes(`→ ${firstStep.action}`)) started.push(tripId);
      continued += run.output().match(/↻ .*: continued from/g)?.length ?? 0;
    }
    const last = join(dataDir, 'last.json');
    await writeFile(last, JSON.stringify(tripWithId('run-crash-last')));
    const finishing = startSaga('run', '--data', dataDir, '--input', last, '--retry-delay', RETRY_DELAY);
    expect(await finishing.exited).toBe(0);
    continued += finishing.output().match(/↻ .*: continued from/g)?.length ?? 0;
    const kept = await expectAllConsistent(dataDir, [...tripIds, 'run-crash-last']);
    for (const name of started) expect(kept.map((execution) => execution.name)).toContain(name);
    expect(started.length).toBeGreaterThan(0);
    expect(continued).toBeGreaterThan(0);
  }, 180_000);
});

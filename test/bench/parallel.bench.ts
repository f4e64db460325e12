// The happy path's wall time of the trip, its steps in sequence and all in one group, each function delayed by the
// same fixed time, as a slow booking service would make it. A script, not a test: run with `npm run bench`.
import { parallel, stepsOf, type Saga } from '../../asl/saga.ts';
import type { FaultSpec } from '../../local/faults.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { tripWithId } from '../helpers/trips.ts';

const DELAY_MS = 50;
const RUNS = 21;

const sequential: Saga = tripSaga;
const grouped: Saga = { ...tripSaga, name: `${tripSaga.name}AtOnce`, steps: [parallel('Trip', stepsOf(tripSaga))] };

let uniqueId = 0;
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const locals = await Promise.all([sequential, grouped].map((saga) => LocalSaga.start({ saga })));
const delayed: Record<string, FaultSpec> = Object.fromEntries(stepsOf(tripSaga).map((step) => [step.action, { delayMs: DELAY_MS }]));
const times: number[][] = locals.map(() => []);
// One warm-up run each, then the runs take turns, so that a change in the machine's load strikes both alike.
for (let run = 0; run <= RUNS; run += 1) {
  for (const [index, local] of locals.entries()) {
    const started = performance.now();
    const execution = await local.execute(tripWithId(`bench-parallel-${(uniqueId += 1)}`), { faults: delayed, retryDelayMs: 0 });
    if (execution.outcome !== 'succeeded') throw new Error(`${local.saga.name} ended ${execution.outcome}`);
    if (run > 0) times[index]?.push(performance.now() - started);
  }
}
await Promise.all(locals.map((local) => local.close()));

const [inSequence, atOnce] = times.map(median) as [number, number];
console.log(`\nThe trip's happy path, each function delayed by ${DELAY_MS} ms (median of ${RUNS} runs, taking turns):\n`);
console.log('| step list | wall time median ms | in calls of one function |');
console.log('| --- | ---: | ---: |');
console.log(`| ${stepsOf(tripSaga).length} steps in sequence | ${inSequence.toFixed(1)} | ${(inSequence / DELAY_MS).toFixed(2)} |`);
console.log(`| the ${stepsOf(tripSaga).length} steps in one group | ${atOnce.toFixed(1)} | ${(atOnce / DELAY_MS).toFixed(2)} |`);
console.log(
  `\nThe group takes ${((atOnce / inSequence) * 100).toFixed(0)}% of the sequence's time (ratio ${(inSequence / atOnce).toFixed(2)}).`,
);
console.log(`Node ${process.version}, ${process.arch}.`);

// Executions per second of the local mode, beside the same interpreter over no-op handlers, and the wall time
// of the whole failure matrix. A script, not a test: run with `npm run bench`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { taskStatesOf } from '../../asl/model.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { failureMatrix } from '../helpers/matrix.ts';
import { tripSagaOfSize } from '../helpers/saga-shapes.ts';
import { tripWithId } from '../helpers/trips.ts';

const CONCURRENCY = 16;
const DURATION_MS = 1000;
const REPEATS = 5;

let uniqueId = 0;

/**
 * Executions per second of each of `executes`: the median of REPEATS rounds of `lanes` callers running back to back
 * for DURATION_MS. Their rounds take turns, so that a change in the machine's load strikes each alike.
 */
async function throughputs(lanes: number, ...executes: (() => Promise<unknown>)[]): Promise<number[]> {
  const rounds: number[][] = executes.map(() => []);
  for (let round = 0; round < REPEATS; round += 1) {
    for (const [index, execute] of executes.entries()) rounds[index]?.push(await oneRound(lanes, execute));
  }
  return rounds.map((each) => each.sort((a, b) => a - b)[Math.floor(REPEATS / 2)] as number);
}

async function oneRound(lanes: number, execute: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() - started < DURATION_MS) {
        await execute();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const perSecond = (value: number): string => value.toFixed(0);

console.log(
  `Executions per second, happy path (median of ${REPEATS} rounds of ${DURATION_MS / 1000} s, each lane running executions back to back):\n`,
);
console.log(
  '| steps | local mode, sequential | local mode, 16 concurrent | with --data, sequential | with --data, 16 concurrent | no-op handlers, sequential | no-op handlers, 16 concurrent |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const size of [3, 10, 30]) {
  const local = await LocalSaga.start({ saga: tripSagaOfSize(size) });
  const run = () => local.execute(tripWithId(`bench-${size}-${(uniqueId += 1)}`), { retryDelayMs: 0 });
  // The same with a data folder: LevelDB tables and the journal of each execution, written as it runs.
  const dataDir = await mkdtemp(join(tmpdir(), 'saga-bench-'));
  const durable = await LocalSaga.start({ saga: tripSagaOfSize(size), dataDir });
  const runDurably = () => durable.execute(tripWithId(`bench-${size}-${(uniqueId += 1)}`), { retryDelayMs: 0 });
  const noOps = Object.fromEntries(taskStatesOf(local.definition).map((name) => [name, async () => ({})]));
  const bare = new StateMachine(JSON.parse(JSON.stringify(local.definition)));
  const ceiling = () =>
    bare.run(tripWithId('ceiling') as never, {
      overrides: { taskResourceLocalHandlers: noOps },
      // The definition passes $$.Execution.Id and RedriveCount to every function, as AWS's context object holds them.
      context: { Execution: { Id: 'ceiling', RedriveCount: 0 } } as never,
    }).result;
  const [sequential, durableSequential] = await throughputs(1, run, runDurably);
  const [concurrent, durableConcurrent] = await throughputs(CONCURRENCY, run, runDurably);
  const row = [
    sequential,
    concurrent,
    durableSequential,
    durableConcurrent,
    ...(await throughputs(1, ceiling)),
    ...(await throughputs(CONCURRENCY, ceiling)),
  ];
  console.log(`| ${size} | ${row.map((value) => perSecond(value as number)).join(' | ')} |`);
  await local.close();
  await durable.close();
  await rm(dataDir, { recursive: true, force: true });
}

const matrixSaga = tripSagaOfSize(3);
const scenarios = failureMatrix(matrixSaga);
const started = performance.now();
const local = await LocalSaga.start({ saga: matrixSaga });
for (const scenario of scenarios) {
  const trip = tripWithId(`matrix-${(uniqueId += 1)}`);
  const execution = await local.execute(trip, { faults: scenario.faults, deliverTwice: scenario.deliverTwice, retryDelayMs: 0 });
  if (execution.outcome === 'compensation not finished') await local.redrive(execution, { retryDelayMs: 0 });
  if (scenario.lateDelivery) await local.invoke(scenario.lateDelivery, { trip }).catch(() => undefined);
}
await local.close();
console.log(
  `\nThe failure matrix of 3 steps (${scenarios.length} executions, redrives and late deliveries included, retry pauses 0): ` +
    `${(performance.now() - started).toFixed(0)} ms wall time, start-up included.`,
);
console.log(`Node ${process.version}, ${process.arch}.`);

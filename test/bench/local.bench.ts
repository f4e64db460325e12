// Executions per second of the local mode, beside the same interpreter over no-op handlers, and the wall time
// of the whole failure matrix. A script, not a test: run with `npm run bench`.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { taskStatesOf } from '../../asl/model.ts';
import { stepsOf } from '../../asl/saga.ts';
import { book } from '../../functions/bookings.ts';
import type { StepConfig } from '../../functions/config.ts';
import { functionConfigsOf, LocalSaga } from '../../local/runtime.ts';
import { failureMatrix } from '../helpers/matrix.ts';
import { tripSagaOfSize } from '../helpers/saga-shapes.ts';
import { tripWithId } from '../helpers/trips.ts';

const CONCURRENCY = 16;
const DURATION_MS = 1000;
const REPEATS = 5;
/** What the engine must reach of the raw client's executions per second (issue 25). */
const TARGET_RATIO = 0.9;

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
  return rounds.map(median);
}

async function oneRound(lanes: number, execute: () => Promise<unknown>, durationMs = DURATION_MS): Promise<number> {
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() - started < durationMs) {
        await execute();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** Pairs of short windows, one of each, taking turns, for the ratio of two ways of running executions. */
const PAIRS = 41;
const PAIR_WINDOW_MS = 250;

/**
 * `first`'s executions per second over `second`'s: the median of PAIRS ratios, each of two windows run back to back, so
 * that a pause of the process (a major GC) or of the machine strikes one pair's ratio rather than a whole side; and
 * each side's median executions per second.
 */
async function pairedRatio(
  lanes: number,
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
): Promise<{ ratio: number; first: number; second: number }> {
  const ratios: number[] = [];
  const firsts: number[] = [];
  const seconds: number[] = [];
  for (let pair = 0; pair < PAIRS; pair += 1) {
    const [a, b] = [await oneRound(lanes, first, PAIR_WINDOW_MS), await oneRound(lanes, second, PAIR_WINDOW_MS)];
    ratios.push(a / b);
    firsts.push(a);
    seconds.push(b);
  }
  return { ratio: median(ratios), first: median(firsts), second: median(seconds) };
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

{
  // The engine beside a raw client that sends the same DynamoDB requests to the same dynalite, one execution's after
  // another's: each step's booking as its function makes it (functions/bookings.ts), in the step list's order.
  const saga = tripSagaOfSize(3);
  const local = await LocalSaga.start({ saga });
  const { client } = local.dynamo;
  const configs = functionConfigsOf({ saga });
  const engine = () => local.execute(tripWithId(`engine-${(uniqueId += 1)}`), { retryDelayMs: 0 });
  const raw = async () => {
    const trip = tripWithId(`raw-${(uniqueId += 1)}`);
    const execution = `${local.stateMachineArn.replace(':stateMachine:', ':execution:')}:${randomUUID()}`;
    for (const step of stepsOf(saga))
      await book(client, configs[step.action] as StepConfig, trip, { now: new Date(), requestId: randomUUID(), execution });
  };
  // What each sends, counted on the client they share: the same requests, or the ratio compares nothing.
  const sent: string[] = [];
  client.middlewareStack.add((next, context) => (args) => (sent.push(String(context.commandName)), next(args)), {
    step: 'initialize',
    name: 'countRequests',
  });
  const requestsOf = async (execute: () => Promise<unknown>) => {
    sent.length = 0;
    await execute();
    return sent.join(', ');
  };
  const [engineRequests, rawRequests] = [await requestsOf(engine), await requestsOf(raw)];
  if (engineRequests !== rawRequests) throw new Error(`not the same requests: engine ${engineRequests}; raw ${rawRequests}`);
  client.middlewareStack.remove('countRequests');
  const sequential = await pairedRatio(1, engine, raw);
  const concurrent = await pairedRatio(CONCURRENCY, engine, raw);
  await local.close();
  const ratioRow = (lanes: string, { ratio, first, second }: Awaited<ReturnType<typeof pairedRatio>>) =>
    `| ${lanes} | ${perSecond(first)} | ${perSecond(second)} | ${ratio.toFixed(2)} | ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'} |`;
  console.log(
    `\nThe local engine beside a raw client sending the same requests (${rawRequests}) to the same dynalite, 3 steps, happy path:\n`,
  );
  console.log(
    `| lanes | engine executions/s | raw client executions/s | ratio (median of ${PAIRS} pairs of ${PAIR_WINDOW_MS} ms windows) | target ≥ ${TARGET_RATIO} |`,
  );
  console.log('| --- | ---: | ---: | ---: | --- |');
  console.log(ratioRow('sequential', sequential));
  console.log(ratioRow(`${CONCURRENCY} concurrent`, concurrent));
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

// Bundle size, cold import and warm invoke latency of the functions. A script, not a test: timings on shared
// machines are for reading, not for asserting. Run with `npm run bench`.
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildFunctions, type BuiltFunction } from '../../functions/build.ts';
import { configToEnvironment, stepConfigsOf, type StepConfig } from '../../functions/config.ts';
import { bundleEnvironment, createBookingTables, LOCAL_REGION, startDynamoDb } from '../../local/dynamodb.ts';
import { compensatableStepsOf, type CompensatableStep } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { tripWithId } from '../helpers/trips.ts';

// The bench runs the trip's first step, whatever it is.
const firstStep = compensatableStepsOf(tripSaga)[0] as CompensatableStep;
const COLD_RUNS = 15;
const WARM_RUNS = 200;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `${ROOT}dist/bench`;
const SDK_MODULES = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb'];
const configs = stepConfigsOf(tripSaga, { faultInjection: false });

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const percentile95 = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.95)] as number;
const ms = (value: number): string => value.toFixed(2);
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

/**
 * Imports a bundle in a fresh Node process, as a cold start does, and returns the milliseconds spent:
 * `preloaded` first imports the SDK modules (timed apart), leaving the bundle's own cost.
 */
async function coldImport(bundle: BuiltFunction, preloaded: readonly string[]): Promise<{ sdk: number; bundle: number }> {
  const script = `
    const started = performance.now();
    for (const module of ${JSON.stringify(preloaded)}) await import(module);
    const loaded = performance.now();
    await import(${JSON.stringify(pathToFileURL(bundle.file).href)});
    console.log(JSON.stringify({ sdk: loaded - started, bundle: performance.now() - loaded }));`;
  const env = { ...process.env, ...configToEnvironment(configs[bundle.state] as StepConfig), AWS_REGION: LOCAL_REGION };
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env });
  return JSON.parse(stdout) as { sdk: number; bundle: number };
}

/** What creating the function's DynamoDB client at init costs, once the SDK is loaded (part of the bundle's own time). */
async function clientConstruction(): Promise<number> {
  const script = `
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
    const started = performance.now();
    DynamoDBDocumentClient.from(new DynamoDBClient({}));
    console.log(performance.now() - started);`;
  const env = { ...process.env, AWS_REGION: LOCAL_REGION };
  const runs = [];
  for (let run = 0; run < COLD_RUNS; run += 1) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env });
    runs.push(Number(stdout));
  }
  return median(runs);
}

async function coldImports(bundle: BuiltFunction, preloaded: readonly string[]) {
  const runs = [];
  for (let run = 0; run < COLD_RUNS; run += 1) runs.push(await coldImport(bundle, preloaded));
  return {
    sdk: median(runs.map((run) => run.sdk)),
    bundle: median(runs.map((run) => run.bundle)),
    total: median(runs.map((run) => run.sdk + run.bundle)),
  };
}

await rm(OUT, { recursive: true, force: true });
await mkdir(OUT, { recursive: true });
const runtimeSdk = await buildFunctions(tripSaga, { outDir: `${OUT}/runtime-sdk`, sdk: 'runtime' });
const bundledSdk = await buildFunctions(tripSaga, { outDir: `${OUT}/bundled-sdk`, sdk: 'bundled' });

console.log(`Bundles and cold imports (median of ${COLD_RUNS} fresh node processes):\n`);
const header = [
  'function',
  'bundle KB (SDK from runtime)',
  'cold import, bundle alone ms',
  'cold import incl. SDK ms',
  'bundle KB (SDK bundled)',
  'cold import, SDK bundled ms',
];
console.log(`| ${header.join(' | ')} |\n| ${header.map(() => '---:').join(' | ')} |`);
for (const state of [firstStep.action, firstStep.compensation]) {
  const withoutSdk = runtimeSdk.find((bundle) => bundle.state === state) as BuiltFunction;
  const withSdk = bundledSdk.find((bundle) => bundle.state === state) as BuiltFunction;
  const alone = await coldImports(withoutSdk, SDK_MODULES);
  const fromCold = await coldImports(withoutSdk, []);
  const bundled = await coldImports(withSdk, []);
  console.log(
    `| ${[state, kb(withoutSdk.bytes), ms(alone.bundle), ms(fromCold.total), kb(withSdk.bytes), ms(bundled.total)].join(' | ')} |`,
  );
}

console.log(`\nOf the bundle's own time, creating its DynamoDB client at init takes ${ms(await clientConstruction())} ms.`);

const dynamo = await startDynamoDb();
await createBookingTables(dynamo.client, tripSaga);
Object.assign(process.env, bundleEnvironment(dynamo.endpoint));
type Handler = (event: unknown, context: unknown) => Promise<unknown>;
async function warmHandler(state: string): Promise<Handler> {
  Object.assign(process.env, configToEnvironment(configs[state] as StepConfig));
  const bundle = runtimeSdk.find((candidate) => candidate.state === state) as BuiltFunction;
  return ((await import(pathToFileURL(bundle.file).href)) as { handler: Handler }).handler;
}
const book = await warmHandler(firstStep.action);
const cancel = await warmHandler(firstStep.compensation);
const timings = { book: [] as number[], rebook: [] as number[], cancel: [] as number[] };
for (let run = 0; run < WARM_RUNS; run += 1) {
  const event = {
    trip: tripWithId(`bench-${run}`),
    execution: `arn:aws:states:us-east-1:000000000000:execution:${tripSaga.name}:bench-${run}`,
  };
  for (const [name, handler] of [
    ['book', book],
    ['rebook', book],
    ['cancel', cancel],
  ] as const) {
    const started = performance.now();
    await handler(event, lambdaContext(name));
    timings[name].push(performance.now() - started);
  }
}
await dynamo.close();

console.log(`\nWarm invocations against dynalite on 127.0.0.1 (${WARM_RUNS} trips):\n`);
console.log('| invocation | median ms | p95 ms |\n| --- | ---: | ---: |');
console.log(`| ${firstStep.action}, new booking | ${ms(median(timings.book))} | ${ms(percentile95(timings.book))} |`);
console.log(
  `| ${firstStep.action}, repeated delivery (conditional write refused, then read) | ${ms(median(timings.rebook))} | ${ms(percentile95(timings.rebook))} |`,
);
console.log(`| ${firstStep.compensation} | ${ms(median(timings.cancel))} | ${ms(percentile95(timings.cancel))} |`);
console.log(`\nNode ${process.version}, ${process.arch}.`);

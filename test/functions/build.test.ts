import { invalidErrorOf } from '../../asl/saga.ts';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StepError } from '../../asl/errors.ts';
import { functionStatesOf } from '../../asl/saga.ts';
import { buildFunctions, type BuiltFunction } from '../../functions/build.ts';
import { ConfigVariable, configToEnvironment, stepConfigsOf, type StepConfig } from '../../functions/config.ts';
import { bundleEnvironment, createBookingTables, startDynamoDb, type EmbeddedDynamoDb } from '../../local/dynamodb.ts';
import { tripSaga } from '../../saga.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { lastStep } from '../helpers/sagas.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';

// The bundles as Lambda would run them: built by esbuild, configured by environment, against dynalite.

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

let dynamo: EmbeddedDynamoDb;
let built: BuiltFunction[];
const configs = stepConfigsOf(tripSaga, { faultInjection: false });

const savedEnvironment = { ...process.env };

beforeAll(async () => {
  dynamo = await startDynamoDb();
  // The SDK reads these lazily, on each request, as the Lambda runtime keeps them set.
  Object.assign(process.env, bundleEnvironment(dynamo.endpoint));
  await createBookingTables(dynamo.client, tripSaga);
  // Outside the project: a bundle must need nothing from node_modules, as on Lambda.
  built = await buildFunctions(tripSaga, { outDir: await scratchDir() });
}, 60_000);
afterAll(async () => {
  process.env = savedEnvironment;
  await dynamo.close();
});

/** Imports a bundle the way the Lambda runtime does: its configuration is in the environment at cold start. */
async function coldStart(state: string): Promise<Handler> {
  const bundle = built.find((candidate) => candidate.state === state) as BuiltFunction;
  const saved = { ...process.env };
  Object.assign(process.env, configToEnvironment(configs[state] as StepConfig));
  try {
    return ((await import(pathToFileURL(bundle.file).href)) as { handler: Handler }).handler;
  } finally {
    process.env = saved;
  }
}

describe('the esbuild bundles', () => {
  it('builds one ESM bundle with a source map per function of the step list', async () => {
    expect(built.map((bundle) => bundle.state)).toEqual(functionStatesOf(tripSaga));
    for (const bundle of built) {
      expect(bundle.file).toMatch(/index\.mjs$/);
      expect(JSON.parse(await readFile(`${bundle.file}.map`, 'utf8'))).toHaveProperty('mappings');
    }
  });

  it('bundles the AWS SDK by default, and leaves it to the Lambda runtime on request', async () => {
    expect(await readFile((built[0] as BuiltFunction).file, 'utf8')).not.toMatch(/from"@aws-sdk\//);
    const [runtime] = await buildFunctions(tripSaga, { outDir: await scratchDir(), sdk: 'runtime' });
    expect(await readFile((runtime as BuiltFunction).file, 'utf8')).toMatch(/from"@aws-sdk\/client-dynamodb"/);
  });

  it('books, refuses a conflict and rejects an invalid trip with the names the state machine matches', async () => {
    const { action, compensation, records } = lastStep;
    const book = await coldStart(action);
    const cancel = await coldStart(compensation);
    const trip = tripWithId('bundled');
    const execution = `arn:aws:states:us-east-1:123456789012:execution:${tripSaga.name}:bundled`;
    // The booking holds the fields its step records, as the trip gave them.
    const recorded = Object.fromEntries(records.map((field) => [field, trip[field as keyof typeof trip]]));
    expect(await book({ trip, execution }, lambdaContext(action))).toMatchObject({ trip_id: 'bundled', status: 'BOOKED', ...recorded });
    await expect(book({ trip, execution: `${execution}-rival` }, lambdaContext(action))).rejects.toMatchObject({
      name: StepError.BookingConflict,
    });
    await expect(book({ trip: { trip_id: 'x' }, execution }, lambdaContext(action))).rejects.toMatchObject({
      name: invalidErrorOf(tripSaga),
    });
    expect(await cancel({ trip, execution }, lambdaContext(compensation))).toMatchObject({ outcome: 'cancelled' });
    await expect(book({ trip, execution }, lambdaContext(action))).rejects.toMatchObject({ name: StepError.BookingCancelled });
  });

  it('refuses to start with a clear error when its configuration is missing', async () => {
    const bundle = built.find((candidate) => candidate.state === lastStep.action) as BuiltFunction;
    await expect(import(`${pathToFileURL(bundle.file).href}?unconfigured`)).rejects.toThrow(
      /bad function configuration: SAGA_STATE is not set; SAGA_STEP is not set; SAGA_NOUN is not set; SAGA_KEY_FIELD is not set/,
    );
  });

  it("refuses to start a booking's function without its table, saying so", async () => {
    const bundle = built.find((candidate) => candidate.state === lastStep.action) as BuiltFunction;
    const { [ConfigVariable.table]: _, ...withoutTable } = configToEnvironment(configs[lastStep.action] as StepConfig);
    const saved = { ...process.env };
    Object.assign(process.env, withoutTable);
    delete process.env[ConfigVariable.table];
    try {
      await expect(import(`${pathToFileURL(bundle.file).href}?tableless`)).rejects.toThrow(`${ConfigVariable.table} is not set`);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

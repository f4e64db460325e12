import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { compensatableStepsOf } from '../../asl/saga.ts';
import { book, cancel } from '../../functions/bookings.ts';
import { stepConfigsOf } from '../../functions/config.ts';
import { createBookingTables, startDynamoDb, type EmbeddedDynamoDb } from '../../local/dynamodb.ts';
import { tripSaga } from '../../saga.ts';
import { tripWithId } from '../helpers/trips.ts';

// dynalite's parsed expressions, memoized by a patch (patches/dynalite+4.0.0.patch): on every expression the
// project sends, with the values of other requests, a memoized parse must equal dynalite's own.

interface Validations {
  /** Parses a request's expressions into `_condition` and `_updates`; a string names what is wrong. */
  validateExpressions(request: Record<string, unknown>): string | undefined;
  readonly expressionMemo: Map<string, unknown>;
}
const validations = createRequire(import.meta.url)('dynalite/validations') as Validations;

let dynamo: EmbeddedDynamoDb;
/** The requests the functions sent, as dynalite received them. */
const sent: Record<string, unknown>[] = [];

beforeAll(async () => {
  dynamo = await startDynamoDb();
  await createBookingTables(dynamo.client, tripSaga);
  dynamo.client.middlewareStack.add(
    (next) => async (args) => {
      const body = (args.request as { body?: string }).body;
      const request = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      if ('UpdateExpression' in request || 'ConditionExpression' in request) sent.push(request);
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  // Every booking and cancellation the functions know, for each step: a booking, its repetition, a rival's booking
  // and cancellation, the cancellation and its repetition, and a late booking after it.
  const configs = stepConfigsOf(tripSaga, { faultInjection: false });
  for (const step of compensatableStepsOf(tripSaga)) {
    const trip = tripWithId(`memo-${step.name}`);
    const as = (execution: string) => ({ now: new Date(), requestId: 'memo', execution });
    const bookingOf = (execution: string) => book(dynamo.client, configs[step.action] as never, trip, as(execution));
    const cancellationOf = (execution: string) => cancel(dynamo.client, configs[step.compensation] as never, trip, as(execution));
    for (const attempt of [
      () => bookingOf('first'),
      () => bookingOf('first'),
      () => bookingOf('rival'),
      () => cancellationOf('rival'),
      () => cancellationOf('first'),
      () => cancellationOf('first'),
      () => bookingOf('first'),
    ])
      await attempt().catch(() => undefined);
  }
});

afterAll(() => dynamo.close());

/** What dynalite makes of a request's expressions: its answer, its parsed condition and updates. */
function parsed(request: Record<string, unknown>) {
  const copy = structuredClone(request);
  const problem = validations.validateExpressions(copy);
  return { problem, condition: copy['_condition'], updates: copy['_updates'] };
}

it('parses every expression the functions send as dynalite does, from the memo too, with each request’s own values', () => {
  // Several shapes, each sent more than once with other values: the memo is used, and must refill them.
  const shapes = new Set(sent.map((request) => `${request['UpdateExpression']}|${request['ConditionExpression']}`));
  expect(shapes.size).toBeGreaterThan(1);
  expect(sent.length).toBeGreaterThan(shapes.size);
  const unmemoized = sent.map((request) => {
    validations.expressionMemo.clear();
    return parsed(request);
  });
  validations.expressionMemo.clear();
  const memoized = sent.map(parsed);
  expect(validations.expressionMemo.size).toBeGreaterThan(0);
  expect(memoized).toEqual(unmemoized);
  for (const result of unmemoized) expect(result.problem).toBeUndefined();
});

it('answers as dynalite does when a name or value is missing or unused, or a value has another type', () => {
  const [request] = sent as [Record<string, unknown>];
  const values = request['ExpressionAttributeValues'] as Record<string, unknown>;
  const [name, value] = Object.entries(values)[0] as [string, Record<string, unknown>];
  const names = request['ExpressionAttributeNames'] as Record<string, string>;
  const variants = [
    request,
    { ...request, ExpressionAttributeValues: { ...values, ':unused': { S: 'x' } } },
    { ...request, ExpressionAttributeNames: { ...names, '#unused': 'x' } },
    { ...request, ExpressionAttributeValues: Object.fromEntries(Object.entries(values).slice(1)) },
    { ...request, ExpressionAttributeValues: { ...values, [name]: 'S' in value ? { N: '1' } : { S: '1' } } },
  ];
  const unmemoized = variants.map((variant) => {
    validations.expressionMemo.clear();
    return parsed(variant);
  });
  // The memo warmed by the plain request first, then each variant.
  validations.expressionMemo.clear();
  expect(variants.map(parsed)).toEqual(unmemoized);
  expect(unmemoized.filter((result) => result.problem !== undefined).length).toBeGreaterThanOrEqual(3);
});

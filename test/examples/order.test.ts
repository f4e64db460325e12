import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  isCustomStep,
  payloadKeyOf,
  pivotOf,
  retriableStepsOf,
  retryStateOf,
  stepsOf,
  type CustomStep,
  type SagaStep,
} from '../../asl/saga.ts';
import { exampleInputOf } from '../../local/input.ts';
import { LocalSaga, stillBooked } from '../../local/runtime.ts';
import orderSaga from '../../examples/order.ts';
import { PAYMENT_DECLINED } from '../../examples/order-payment.ts';
import { priceOf, sagaPaths, type SagaPath } from '../../asl/cost.ts';
import { saga as sagaCommand } from '../helpers/cli.ts';

import { booked } from '../helpers/invariant.ts';

// The order's custom step, its pivot, as its author tests it: a business error of its own rolls the order back; once
// it has succeeded nothing is undone, and the shipment after it only goes forward.

const payment = stepsOf(orderSaga).find(isCustomStep) as CustomStep;
let local: LocalSaga;
let example: Record<string, unknown>;
beforeAll(async () => {
  local = await LocalSaga.start({ saga: orderSaga });
  example = (await exampleInputOf(orderSaga)) as Record<string, unknown>;
});
afterAll(() => local.close());

const orderKeyed = (key: string, changes: Record<string, unknown> = {}) => ({ ...example, [orderSaga.keyField]: key, ...changes });

it(`declines an amount over the limit with ${PAYMENT_DECLINED}, not retried: the order rolls back, nothing left`, async () => {
  const limit = Number(payment.needs?.environment?.['PAYMENT_LIMIT_CENTS']);
  const order = orderKeyed('declined', { amount_cents: limit + 1 });
  const execution = await local.execute(order, { retryDelayMs: 0 });
  expect(execution.outcome).toBe('rolled back');
  expect(execution.calls[payment.action]).toBe(1);
  expect(JSON.stringify(execution.history)).toContain(PAYMENT_DECLINED);
  expect(booked(await local.bookingsOf('declined'))).toEqual([]);
});

it('commits at the pivot: a shipment that keeps failing is retried, alerted and redriven forward, the charge never undone', async () => {
  const pivot = pivotOf(orderSaga) as SagaStep;
  const [shipment] = retriableStepsOf(orderSaga) as [SagaStep];
  const order = orderKeyed('past-the-pivot');
  const stuck = await local.execute(order, {
    name: 'past-the-pivot',
    faults: { [shipment.action]: { times: 'until-redrive' } },
    retryDelayMs: 0,
  });
  expect(stuck.outcome).toBe('step not finished');
  expect(stuck.path.at(-1)).toBe(retryStateOf(shipment));
  // Every step before the stuck one keeps its effect: the charge is not refunded, the stock not released.
  const before = stepsOf<string>(orderSaga).slice(0, stepsOf<string>(orderSaga).indexOf(shipment));
  expect(before).toContain(pivot);
  expect(stillBooked(await local.bookingsOf('past-the-pivot'), stuck.executionArn)).toEqual(before.map((step) => step.name));
  expect(stuck.alerts.map((alert) => alert.message['stuckStep'])).toEqual([shipment.action]);
  const redriven = await local.redrive(stuck, { retryDelayMs: 0 });
  expect(redriven.outcome).toBe('succeeded');
  expect(redriven.path.slice(stuck.path.length)).toEqual([retryStateOf(shipment)]);
  expect(stillBooked(await local.bookingsOf('past-the-pivot'), stuck.executionArn)).toEqual(stepsOf(orderSaga).map((step) => step.name));
});

it('charges once per execution: a repeated delivery returns the first charge, under the same idempotency key', async () => {
  const order = orderKeyed('repeated');
  const execution = await local.execute(order, { deliverTwice: [payment.action], retryDelayMs: 0 });
  expect(execution.outcome).toBe('succeeded');
  const again = (await local.invoke(payment.action, { [payloadKeyOf(orderSaga)]: order, execution: execution.executionArn })) as {
    charge: string;
  };
  const first = (execution.output as { results: Record<string, { charge: string }> }).results[payment.action];
  expect(again.charge).toBe(first?.charge);
});

it('saga cost prices the forward-stuck path and its redrive in the transitions the local engine records', async () => {
  const shipment = retriableStepsOf(orderSaga).at(-1) as SagaStep;
  const stuck = await local.execute(orderKeyed('priced'), {
    name: 'priced',
    faults: { [shipment.action]: { times: 'until-redrive' } },
    retryDelayMs: 0,
  });
  const redriven = await local.redrive(stuck, { retryDelayMs: 0 });
  expect(redriven.outcome).toBe('succeeded');
  // A billed transition per state entered and per retry: every call of a Task beyond its entries.
  const transitions = (path: readonly string[], calls: Readonly<Record<string, number>>, earlier: Readonly<Record<string, number>> = {}) =>
    path.length +
    Object.entries(calls).reduce(
      (retries, [state, count]) => retries + count - (earlier[state] ?? 0) - path.filter((entered) => entered === state).length,
      0,
    );
  const [stuckPath, redrivePath] = sagaPaths(orderSaga, local.definition).filter((path) => path.standardOnly);
  expect(stuckPath?.states).toEqual(stuck.path);
  expect(priceOf(stuckPath as SagaPath, 100).transitions).toBe(transitions(stuck.path, stuck.calls));
  const redrivenPath = redriven.path.slice(stuck.path.length);
  expect(redrivePath?.states).toEqual(redrivenPath);
  expect(priceOf(redrivePath as SagaPath, 100).transitions).toBe(transitions(redrivenPath, redriven.calls, stuck.calls));
  // And saga cost prints them.
  const { code, stdout } = await sagaCommand('cost', '--saga', 'examples/order.ts');
  expect(code).toBe(0);
  for (const path of [stuckPath, redrivePath] as SagaPath[]) {
    const row = stdout.split('\n').find((line) => line.startsWith(`| ${path.scenario} `));
    expect(row?.split('|').map((cell) => cell.trim())[2]).toBe(String(priceOf(path, 100).transitions));
  }
});

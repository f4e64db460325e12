import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { isCustomStep, payloadKeyOf, stepsOf, type CustomStep } from '../../asl/saga.ts';
import { exampleInputOf } from '../../local/input.ts';
import { LocalSaga, stillBooked } from '../../local/runtime.ts';
import orderSaga from '../../examples/order.ts';
import { CHARGE_REFUNDED, PAYMENT_DECLINED } from '../../examples/order-payment.ts';
import { booked } from '../helpers/invariant.ts';

// The order's custom step, as its author tests it: a business error of its own rolls the order back, and a charge
// that arrives after its refund is refused, by the pattern of README's "A late action must not resurrect its effect".

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

it(`refuses a charge that lands after its refund (${CHARGE_REFUNDED}), and charges the same order again in a new execution`, async () => {
  const order = orderKeyed('late-charge');
  const last = stepsOf(orderSaga).at(-1)?.action as string;
  const failed = await local.execute(order, { name: 'late-charge-1', faults: { [last]: { times: 'always' } }, retryDelayMs: 0 });
  expect(failed.outcome).toBe('rolled back');
  await expect(local.invoke(payment.action, { [payloadKeyOf(orderSaga)]: order, execution: failed.executionArn })).rejects.toMatchObject({
    name: CHARGE_REFUNDED,
  });
  expect(stillBooked(await local.bookingsOf('late-charge'), failed.executionArn)).toEqual([]);
  const again = await local.execute(order, { name: 'late-charge-2', retryDelayMs: 0 });
  expect(again.outcome).toBe('succeeded');
  expect(stillBooked(await local.bookingsOf('late-charge'), again.executionArn)).toEqual(stepsOf(orderSaga).map((step) => step.name));
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

// The order saga's custom step, and its pivot: ChargePayment, against a payment ledger of its own (the PaymentLedger
// table the step declares), one item per order. A real step would call a payment provider with the idempotency key;
// this one simulates the card issuer with a limit (PAYMENT_LIMIT_CENTS).
//
// As the pivot it has no compensation (README, "Past the point of no return"): its success commits the order, and its
// failure must leave no effect. The decision is in the condition of one conditional write, so that a charge either
// lands whole or not at all, and a repeated call of the same execution returns its first charge.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BusinessError, defineStepCode, TransientError, type StepContext } from '../functions/custom-step.ts';
import type { Order } from './order.ts';

export const LedgerStatus = { Charged: 'CHARGED' } as const;

/** The card issuer said no: the order rolls back, its reservation released. Not retried. */
export const PAYMENT_DECLINED = 'PaymentDeclined';
/** The order is charged by another execution. Not retried. */
export const PAYMENT_CONFLICT = 'PaymentConflict';

const ledgerKey = (context: Pick<StepContext<Order>, 'input'>) => ({ order_id: context.input.order_id });

async function ledgerItem(context: StepContext<Order>): Promise<Record<string, unknown>> {
  const { Item } = await context.client.send(new GetCommand({ TableName: context.table, Key: ledgerKey(context), ConsistentRead: true }));
  // Gone between the write and the read: a new attempt will decide.
  if (!Item) throw new TransientError(`the ledger item of ${context.input.order_id} changed while charging`);
  return Item;
}

export default defineStepCode<Order>({
  async action(context) {
    const { input, execution, idempotencyKey, environment, now } = context;
    const limit = Number(environment['PAYMENT_LIMIT_CENTS']);
    // Fails closed: without its limit the step charges nothing (an error that rolls the order back, not a charge let through).
    if (!Number.isInteger(limit)) throw new Error('PAYMENT_LIMIT_CENTS is not a whole number of cents');
    if (input.amount_cents > limit) {
      throw new BusinessError(PAYMENT_DECLINED, `the card issuer declined ${input.amount_cents} ${input.currency} (limit ${limit})`);
    }
    try {
      const { Attributes } = await context.client.send(
        new UpdateCommand({
          TableName: context.table,
          Key: ledgerKey(context),
          UpdateExpression:
            'SET #status = :charged, #owner = :me, #key = :key, amount_cents = :amount, currency = :currency, charged_at = :now',
          // Never charged: a charge is never undone, so an order is charged once, by one execution.
          ConditionExpression: 'attribute_not_exists(#status)',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'execution', '#key': 'idempotency_key' },
          ExpressionAttributeValues: {
            ':charged': LedgerStatus.Charged,
            ':me': execution,
            ':key': idempotencyKey,
            ':amount': input.amount_cents,
            ':currency': input.currency,
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { charge: idempotencyKey, status: String(Attributes?.['status']) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await ledgerItem(context);
    if (existing['execution'] !== execution) throw new BusinessError(PAYMENT_CONFLICT, 'the order is charged by another execution');
    // The same execution charging again (a retry, a redrive, a repeated delivery): its first charge stands.
    return { charge: String(existing['idempotency_key']), status: String(existing['status']) };
  },

  async probe({ key, table, client }) {
    const { Item } = await client.send(new GetCommand({ TableName: table, Key: { order_id: key }, ConsistentRead: true }));
    if (!Item) return undefined;
    return {
      status: 'BOOKED',
      execution: String(Item['execution']),
      amount_cents: Item['amount_cents'],
      currency: Item['currency'],
    };
  },
});

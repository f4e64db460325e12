// The order saga's custom step: ChargePayment and its compensation RefundPayment, against a payment ledger of its
// own (the PaymentLedger table the step declares), one item per order. A real step would call a payment provider
// with the idempotency key; this one simulates the card issuer with a limit (PAYMENT_LIMIT_CENTS).
//
// The pattern that keeps a late charge from coming back (README, "A late action must not resurrect its effect"):
// every decision is in the condition of one conditional write. The refund records its execution in `refunded_by`,
// whether or not a charge was there yet; a charge refuses to land for an execution named there.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BusinessError, defineStepCode, TransientError, type StepContext } from '../functions/custom-step.ts';
import type { Order } from './order.ts';

export const LedgerStatus = { Charged: 'CHARGED', Refunded: 'REFUNDED' } as const;

/** The card issuer said no: the order rolls back, its reservation released. Not retried. */
export const PAYMENT_DECLINED = 'PaymentDeclined';
/** The order is charged by another execution. Not retried. */
export const PAYMENT_CONFLICT = 'PaymentConflict';
/** This execution's charge was refunded before this (late) call arrived: it must not charge again. */
export const CHARGE_REFUNDED = 'ChargeRefunded';

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
    // Fails closed: without its limit the step charges nothing (an error that alerts, not a charge let through).
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
          // Free (never charged, or refunded) and not refunded for this very execution.
          ConditionExpression: '(attribute_not_exists(#status) OR #status = :refunded) AND NOT contains(#refundedBy, :me)',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'execution', '#key': 'idempotency_key', '#refundedBy': 'refunded_by' },
          ExpressionAttributeValues: {
            ':charged': LedgerStatus.Charged,
            ':refunded': LedgerStatus.Refunded,
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
    const refundedBy = existing['refunded_by'];
    if (refundedBy instanceof Set && refundedBy.has(execution)) {
      throw new BusinessError(CHARGE_REFUNDED, 'this execution was refunded before this charge arrived');
    }
    if (existing['execution'] !== execution) throw new BusinessError(PAYMENT_CONFLICT, 'the order is charged by another execution');
    // The same execution charging again (a retry, a redrive, a repeated delivery): its first charge stands.
    return { charge: String(existing['idempotency_key']), status: String(existing['status']) };
  },

  async compensation(context) {
    const { execution, now } = context;
    const names = { '#status': 'status', '#owner': 'execution', '#refundedBy': 'refunded_by' };
    try {
      // Its own charge, no charge yet, or a refunded one: refunded, and the execution recorded against late charges.
      const { Attributes } = await context.client.send(
        new UpdateCommand({
          TableName: context.table,
          Key: ledgerKey(context),
          UpdateExpression: 'SET #status = :refunded, #owner = if_not_exists(#owner, :me), refunded_at = :now ADD #refundedBy :meSet',
          ConditionExpression: 'attribute_not_exists(#status) OR #status = :refunded OR #owner = :me',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':refunded': LedgerStatus.Refunded,
            ':me': execution,
            ':meSet': new Set([execution]),
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { outcome: Attributes?.['status'] === LedgerStatus.Charged ? 'refunded' : 'nothing to refund' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Another execution's charge: not this one's to refund; its own late charge is still refused.
    await context.client.send(
      new UpdateCommand({
        TableName: context.table,
        Key: ledgerKey(context),
        UpdateExpression: 'ADD #refundedBy :meSet',
        ExpressionAttributeNames: { '#refundedBy': 'refunded_by' },
        ExpressionAttributeValues: { ':meSet': new Set([execution]) },
      }),
    );
    return { outcome: 'left another charge' };
  },

  async probe({ key, table, client }) {
    const { Item } = await client.send(new GetCommand({ TableName: table, Key: { order_id: key }, ConsistentRead: true }));
    if (!Item) return undefined;
    return {
      status: Item['status'] === LedgerStatus.Charged ? 'BOOKED' : 'CANCELLED',
      execution: String(Item['execution']),
      amount_cents: Item['amount_cents'],
      currency: Item['currency'],
    };
  },
});

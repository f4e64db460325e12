import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { StepConfig } from './config.ts';
import { BookingCancelledError, BookingConflictError, TransientError } from './errors.ts';

// One item per key in each step's table, keyed by the input's key field, so that of two executions of one key only one
// can hold the booking. The item names the execution that owns it (`execution`) and keeps the set of executions
// whose compensation ran here (`cancelled_by`): the cancellation markers. Every decision is in the condition of
// one conditional UpdateItem (an update, not a put, so that the markers of earlier executions survive a booking);
// no write rests on an earlier read.

export const BookingStatus = { Booked: 'BOOKED', Cancelled: 'CANCELLED' } as const;

/** The DynamoDB attribute that TTL watches: a cancelled item expires, a booking does not. */
export const EXPIRES_AT = 'expires_at';
/** The execution that owns the item's booking (or, on an item never booked, its first cancellation). */
export const OWNER = 'execution';
/** The executions whose compensation ran on this item: each one's later (late) bookings are refused. */
export const CANCELLED_BY = 'cancelled_by';

export type BookingItem = Record<string, string>;

export interface BookingMeta {
  readonly now: Date;
  /** The Lambda request that wrote the booking, to trace it in the logs. */
  readonly requestId: string;
  /** The execution on whose behalf the function runs (`$$.Execution.Id`): it owns what it books and cancels. */
  readonly execution: string;
}

export interface CancelResult {
  readonly [key: string]: string;
  readonly status: typeof BookingStatus.Cancelled;
  /** What the cancellation found: its booking, nothing, its earlier cancellation, or another execution's booking. */
  readonly outcome: 'cancelled' | 'nothing to cancel' | 'already cancelled' | 'left another booking';
}

function recordedFields(config: StepConfig, input: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries([config.keyField, ...config.records].map((field) => [field, input[field] as string]));
}

/** `SET #a0 = :a0, …` over the given attributes, with their names and values. */
function assignments(attributes: Record<string, string | number>) {
  const names: Record<string, string> = {};
  const values: Record<string, string | number> = {};
  const expression = Object.entries(attributes).map(([attribute, value], index) => {
    names[`#a${index}`] = attribute;
    values[`:a${index}`] = value;
    return `#a${index} = :a${index}`;
  });
  return { expression: expression.join(', '), names, values };
}

/** What the booking returns to the state machine: the item, without the markers' bookkeeping. */
const bookingOf = (item: Record<string, unknown>): BookingItem =>
  Object.fromEntries(Object.entries(item).filter(([attribute]) => attribute !== CANCELLED_BY && attribute !== EXPIRES_AT)) as BookingItem;

const cancelledBy = (item: Record<string, unknown> | undefined, execution: string): boolean =>
  item?.[CANCELLED_BY] instanceof Set && item[CANCELLED_BY].has(execution);

/**
 * Books the input's key in the step's table for the calling execution. The same execution booking again gets its booking
 * back; an execution whose compensation already ran here is refused with BookingCancelled (a late write must not
 * resurrect it); a booking held by another execution is refused with BookingConflict. A key whose earlier
 * execution rolled back can be booked again.
 */
export async function book(
  client: DynamoDBDocumentClient,
  config: StepConfig,
  input: Record<string, unknown>,
  meta: BookingMeta,
): Promise<BookingItem> {
  const fields = recordedFields(config, input);
  const { [config.keyField]: key, ...details } = fields;
  const booking = {
    ...details,
    status: BookingStatus.Booked,
    step: config.step,
    [OWNER]: meta.execution,
    booked_at: meta.now.toISOString(),
    request_id: meta.requestId,
  };
  const set = assignments(booking);
  try {
    const { Attributes } = await client.send(
      new UpdateCommand({
        TableName: config.table,
        Key: { [config.keyField]: key },
        UpdateExpression: `SET ${set.expression} REMOVE #expires, #cancelledAt`,
        // Free (never booked, or cancelled) and not cancelled by this very execution.
        ConditionExpression: '(attribute_not_exists(#status) OR #status = :cancelled) AND NOT contains(#cancelledBy, :me)',
        ExpressionAttributeNames: {
          ...set.names,
          '#status': 'status',
          '#cancelledBy': CANCELLED_BY,
          '#expires': EXPIRES_AT,
          '#cancelledAt': 'cancelled_at',
        },
        ExpressionAttributeValues: { ...set.values, ':cancelled': BookingStatus.Cancelled, ':me': meta.execution },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return bookingOf(Attributes ?? { ...fields, ...booking });
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await existingItem(client, config, key as string, error);
    if (cancelledBy(existing, meta.execution)) {
      throw new BookingCancelledError(`${config.step}: this execution's booking was cancelled before this write arrived`);
    }
    if (existing[OWNER] !== meta.execution) {
      // Names the holder, not the input: error causes end up in histories and alerts.
      throw new BookingConflictError(`${config.step} is booked by another execution: ${String(existing[OWNER])}`);
    }
    return bookingOf(existing);
  }
}

/**
 * The item that made the condition fail: DynamoDB returns it with the error (ReturnValuesOnConditionCheckFailure);
 * where an emulator does not, a strongly consistent read of the key, only to say why the write was refused.
 */
async function existingItem(
  client: DynamoDBDocumentClient,
  config: StepConfig,
  key: string,
  error: ConditionalCheckFailedException,
): Promise<Record<string, unknown>> {
  if (error.Item) return unmarshall(error.Item);
  const { Item } = await client.send(new GetCommand({ TableName: config.table, Key: { [config.keyField]: key }, ConsistentRead: true }));
  // Gone between the write and the read (a marker expiring): a new attempt will decide.
  if (!Item) throw new TransientError(`${config.step} item for ${key} changed while booking`);
  return Item;
}

/** Rounds of the two conditional writes of `cancel` before the item is deemed too busy (a TransientError: retried). */
const CANCEL_ROUNDS = 5;

/**
 * Cancels the calling execution's booking, leaving its marker: the execution joins the item's `cancelled_by`, so
 * that its late bookings are refused until the item expires. Idempotent. Another execution's booking is left as
 * it is (it was not this execution's to undo), yet the marker is still recorded on it: a late write of this
 * execution must not land once that booking is cancelled in turn.
 */
export async function cancel(
  client: DynamoDBDocumentClient,
  config: StepConfig,
  input: Record<string, unknown>,
  meta: BookingMeta,
): Promise<CancelResult> {
  const key = recordedFields(config, input)[config.keyField] as string;
  const result = { [config.keyField]: key, status: BookingStatus.Cancelled };
  const common = {
    TableName: config.table,
    Key: { [config.keyField]: key },
    ReturnValues: 'ALL_OLD' as const,
  };
  for (let round = 0; round < CANCEL_ROUNDS; round += 1) {
    try {
      // Its own booking, no booking, or a cancelled one: mark the item cancelled, owned as it was.
      const { Attributes } = await client.send(
        new UpdateCommand({
          ...common,
          UpdateExpression:
            'SET #status = :cancelled, #step = :step, #owner = if_not_exists(#owner, :me), #cancelledAt = :now, #request = :request, ' +
            '#expires = :expires ADD #cancelledBy :meSet',
          ConditionExpression: 'attribute_not_exists(#status) OR #status = :cancelled OR #owner = :me',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#step': 'step',
            '#owner': OWNER,
            '#cancelledAt': 'cancelled_at',
            '#request': 'request_id',
            '#expires': EXPIRES_AT,
            '#cancelledBy': CANCELLED_BY,
          },
          ExpressionAttributeValues: {
            ':cancelled': BookingStatus.Cancelled,
            ':step': config.step,
            ':me': meta.execution,
            ':meSet': new Set([meta.execution]),
            ':now': meta.now.toISOString(),
            ':request': meta.requestId,
            ':expires': Math.floor(meta.now.getTime() / 1000) + config.cancelMarkerTtlSeconds,
          },
        }),
      );
      const outcome =
        Attributes?.['status'] === BookingStatus.Booked
          ? 'cancelled'
          : cancelledBy(Attributes, meta.execution)
            ? 'already cancelled'
            : 'nothing to cancel';
      return { ...result, outcome };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    try {
      // Another execution's booking: record only the marker, while that booking still stands.
      const { Attributes } = await client.send(
        new UpdateCommand({
          ...common,
          UpdateExpression: 'ADD #cancelledBy :meSet',
          ConditionExpression: '#status = :booked AND #owner <> :me',
          ExpressionAttributeNames: { '#status': 'status', '#owner': OWNER, '#cancelledBy': CANCELLED_BY },
          ExpressionAttributeValues: { ':booked': BookingStatus.Booked, ':me': meta.execution, ':meSet': new Set([meta.execution]) },
        }),
      );
      return { ...result, outcome: 'left another booking', heldBy: String(Attributes?.[OWNER]) };
    } catch (error) {
      // The item changed between the two writes: decide again.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  throw new TransientError(`${config.step} item for ${key} kept changing while cancelling`);
}

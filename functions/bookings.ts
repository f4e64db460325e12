import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { StepConfig } from './config.ts';
import { BookingCancelledError, BookingConflictError, TransientError } from './errors.ts';
import type { Trip } from './trip.ts';

// One item per trip in each step's table, keyed by the trip id. Every write is a single conditional
// PutItem: the decision to write never rests on an earlier read.

export const BookingStatus = { Booked: 'BOOKED', Cancelled: 'CANCELLED' } as const;

/** The DynamoDB attribute that TTL watches: cancellation markers expire, bookings do not. */
export const EXPIRES_AT = 'expires_at';

export type BookingItem = Record<string, string | number>;

export interface BookingMeta {
  readonly now: Date;
  /** The Lambda request that wrote the booking, to trace it in the logs. */
  readonly requestId: string;
}

export interface CancelResult {
  readonly [key: string]: string;
  readonly status: typeof BookingStatus.Cancelled;
  /** What the cancellation found: the trip's booking, nothing, an earlier cancellation, or someone else's booking. */
  readonly outcome: 'cancelled' | 'nothing to cancel' | 'already cancelled' | 'left another booking';
}

function recordedFields(config: StepConfig, trip: Trip): Record<string, string> {
  const source = trip as unknown as Record<string, string>;
  return Object.fromEntries([config.keyField, ...config.records].map((field) => [field, source[field] as string]));
}

const sameDetails = (config: StepConfig, item: Record<string, unknown>, fields: Record<string, string>): boolean =>
  config.records.every((field) => item[field] === fields[field]);

/**
 * Books the trip in the step's table. Repeating the same booking returns the stored booking again;
 * a cancelled one is refused with BookingCancelled, another trip's details with BookingConflict.
 */
export async function book(client: DynamoDBDocumentClient, config: StepConfig, trip: Trip, meta: BookingMeta): Promise<BookingItem> {
  const fields = recordedFields(config, trip);
  const item: BookingItem = {
    ...fields,
    status: BookingStatus.Booked,
    step: config.step,
    booked_at: meta.now.toISOString(),
    request_id: meta.requestId,
  };
  try {
    await client.send(
      new PutCommand({
        TableName: config.table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': config.keyField },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return item;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await existingItem(client, config, fields, error);
    if (existing['status'] === BookingStatus.Cancelled) {
      throw new BookingCancelledError(`${config.step} booking for ${fields[config.keyField]} was cancelled before this write arrived`);
    }
    if (!sameDetails(config, existing, fields)) {
      throw new BookingConflictError(`${config.step} is already booked for ${fields[config.keyField]} with other details`);
    }
    return existing as BookingItem;
  }
}

/**
 * The item that made the condition fail: DynamoDB returns it with the error (ReturnValuesOnConditionCheckFailure);
 * where an emulator does not, a strongly consistent read of the key, only to say why the write was refused.
 */
async function existingItem(
  client: DynamoDBDocumentClient,
  config: StepConfig,
  fields: Record<string, string>,
  error: ConditionalCheckFailedException,
): Promise<Record<string, unknown>> {
  if (error.Item) return unmarshall(error.Item);
  const { Item } = await client.send(
    new GetCommand({ TableName: config.table, Key: { [config.keyField]: fields[config.keyField] }, ConsistentRead: true }),
  );
  // Gone between the write and the read (a marker expiring): a new attempt will decide.
  if (!Item) throw new TransientError(`${config.step} item for ${fields[config.keyField]} changed while booking`);
  return Item;
}

/**
 * Cancels the trip's booking by replacing it with a marker that refuses late bookings until it expires.
 * Idempotent; it never touches a booking with other details (it was not this trip's to undo).
 */
export async function cancel(client: DynamoDBDocumentClient, config: StepConfig, trip: Trip, meta: BookingMeta): Promise<CancelResult> {
  const fields = recordedFields(config, trip);
  const names: Record<string, string> = { '#key': config.keyField, '#status': 'status' };
  const values: Record<string, string> = { ':booked': BookingStatus.Booked, ':cancelled': BookingStatus.Cancelled };
  const sameBooking = config.records.map((field, index) => {
    names[`#f${index}`] = field;
    values[`:f${index}`] = fields[field] as string;
    return `#f${index} = :f${index}`;
  });
  const result = { [config.keyField]: fields[config.keyField] as string, status: BookingStatus.Cancelled };
  try {
    const { Attributes } = await client.send(
      new PutCommand({
        TableName: config.table,
        Item: {
          ...fields,
          status: BookingStatus.Cancelled,
          step: config.step,
          cancelled_at: meta.now.toISOString(),
          request_id: meta.requestId,
          [EXPIRES_AT]: Math.floor(meta.now.getTime() / 1000) + config.cancelMarkerTtlSeconds,
        },
        ConditionExpression: [
          'attribute_not_exists(#key)',
          '#status = :cancelled',
          `(${['#status = :booked', ...sameBooking].join(' AND ')})`,
        ].join(' OR '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_OLD',
      }),
    );
    const previous = Attributes?.['status'];
    const outcome =
      previous === BookingStatus.Booked ? 'cancelled' : previous === BookingStatus.Cancelled ? 'already cancelled' : 'nothing to cancel';
    return { ...result, outcome };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { ...result, outcome: 'left another booking' };
  }
}

import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** A step's table: on-demand, keyed by the trip id alone (one item per trip); TTL on `expires_at` (bookings.ts) removes old cancellation markers. */
export function bookingTableInput(tableName: string, keyField: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: keyField, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: keyField, KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

// A saga of another domain, written as any user writes one (README: "Write your own saga"): an order reserves its
// stock, charges the customer, then ships. The charge is the pivot (README: "Past the point of no return"): once the
// customer has paid, the order is never rolled back, and shipping is retried until it is done. Run it:
//   npx saga run --saga examples/order.ts
//   npx saga run --saga examples/order.ts --fail ChargePayment        # rolls back: nothing left reserved
//   npx saga run --saga examples/order.ts --fail ShipOrder=2          # shipping retried: succeeds, nothing undone
//   npx saga run --saga examples/order.ts --fail ShipOrder=until-redrive --data D   # alerts; then saga resume
//   npx saga local --saga examples/order.ts                           # for the AWS CLI, and the console
//   npx saga verify --local --saga examples/order.ts
import { defineSaga, type InputOf } from '../asl/saga.ts';

const orderSaga = defineSaga({
  name: 'OrderFulfilment',
  // Names what the saga derives from its input: OrderInvalid, OrderRejected, and the payload key `order`.
  noun: 'Order',
  keyField: 'order_id',
  input: {
    // What a Step Functions execution name allows, so that the order id names its execution.
    order_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$' },
    customer: { type: 'string', minLength: 1, maxLength: 200, placeName: true },
    sku: { type: 'string', pattern: '^[A-Z0-9-]{1,40}$' },
    quantity: { type: 'integer', minimum: 1, maximum: 1000 },
    amount_cents: { type: 'integer', minimum: 1, maximum: 100_000_000 },
    currency: { type: 'string', enum: ['EUR', 'GBP', 'USD'] },
    ship_to: { type: 'string', minLength: 1, maxLength: 400, placeName: true },
    ordered_at: { type: 'string', maxLength: 40, instant: true },
    deliver_by: { type: 'string', maxLength: 40, instant: true, after: 'ordered_at' },
  },
  example: new URL('./order.json', import.meta.url),
  steps: [
    // A booking step: one reservation per order in its own table, released by its compensation.
    {
      name: 'Inventory',
      action: 'ReserveInventory',
      compensation: 'ReleaseInventory',
      table: 'InventoryReservations',
      records: ['sku', 'quantity'],
    },
    // A custom step, and the pivot: the charge is this saga's own code (order-payment.ts), against a ledger of its
    // own. Once it succeeds the order is committed; when it fails, the reservation is released.
    {
      kind: 'custom',
      role: 'pivot',
      name: 'Payment',
      action: 'ChargePayment',
      code: new URL('./order-payment.ts', import.meta.url),
      needs: {
        table: 'PaymentLedger',
        // Above this, the (simulated) card issuer declines: PaymentDeclined, and the order rolls back.
        environment: { PAYMENT_LIMIT_CENTS: '1000000' },
      },
    },
    // A booking step past the pivot: the shipment request is never withdrawn, only retried (every error, with its
    // forward retry), then alerted and redriven forward.
    {
      role: 'retriable',
      name: 'Shipment',
      action: 'ShipOrder',
      table: 'ShipmentRequests',
      records: ['ship_to', 'deliver_by'],
    },
  ],
});

/** One order, as examples/order.json: typed from the schema above. */
export type Order = InputOf<typeof orderSaga>;

export default orderSaga;

import type { JSONSchemaType } from 'ajv';

/** The input of one saga execution: the trip, as in `examples/trip.json`. */
export interface Trip {
  trip_id: string;
  depart: string;
  depart_at: string;
  arrive: string;
  arrive_at: string;
  hotel: string;
  check_in: string;
  check_out: string;
  rental: string;
  rental_from: string;
  rental_to: string;
  /**
   * Demo only: state names (e.g. `BookFlight`) that fail on purpose. Ignored unless the function's
   * configuration enables fault injection.
   */
  fail?: string[] | null;
}

/** The fields that describe the trip, which a step may record. */
export type TripField = Exclude<keyof Trip, 'fail'>;

/** Every field that describes a trip (all required), in the order of the example. */
export const tripFields = [
  'trip_id',
  'depart',
  'depart_at',
  'arrive',
  'arrive_at',
  'hotel',
  'check_in',
  'check_out',
  'rental',
  'rental_from',
  'rental_to',
] as const satisfies readonly TripField[];

const place = { type: 'string', minLength: 1, maxLength: 200 } as const;
const instant = { type: 'string', format: 'date-time', maxLength: 40 } as const;
/** An instant strictly after the one in the named sibling field (ajv `$data`, compared as date-times). */
const after = (field: TripField) => ({ ...instant, formatExclusiveMinimum: { $data: `1/${field}` } });

/**
 * The one schema of a trip. `trip_id` is limited to what a Step Functions execution name allows,
 * so that the trip id can name its execution (and starting the same trip twice is refused).
 */
export const tripSchema: JSONSchemaType<Trip> = {
  $id: 'trip',
  type: 'object',
  additionalProperties: false,
  required: [...tripFields],
  properties: {
    trip_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$' },
    depart: place,
    depart_at: instant,
    arrive: place,
    arrive_at: after('depart_at'),
    hotel: place,
    check_in: instant,
    check_out: after('check_in'),
    rental: place,
    rental_from: instant,
    rental_to: after('rental_from'),
    fail: {
      type: 'array',
      nullable: true,
      maxItems: 20,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' },
    },
  },
};

/**
 * What Step Functions passes each function (see asl/render.ts): the execution's input, untouched, and the id of
 * the execution that owns whatever the function books or cancels.
 */
export interface StepEvent {
  trip: Trip;
  execution: string;
}

export const stepEventSchema: JSONSchemaType<StepEvent> = {
  $id: 'step-event',
  type: 'object',
  additionalProperties: false,
  required: ['trip', 'execution'],
  properties: {
    trip: tripSchema,
    // An execution ARN (`$$.Execution.Id`): at most 2,048 characters, as AWS allows an ARN.
    execution: { type: 'string', pattern: '^arn:[^\\s]+$', maxLength: 2048 },
  },
};

import type { JSONSchemaType } from 'ajv';
import { FAULT_PATTERN } from './faults.ts';

// The trip is declared once, here: its fields and their rules are the schema below; the type, the field list
// and the compiled validator (`npm run generate`) follow from it. `instant`, `after` and `placeName` are this
// project's own keywords (functions/generate-validator.ts), checked by functions/trip-rules.ts.

const place = { type: 'string', minLength: 1, maxLength: 200, placeName: true } as const;
const instant = { type: 'string', maxLength: 40, instant: true } as const;
/** An instant strictly after the one in the named sibling field. */
const after = <Field extends string>(field: Field) => ({ ...instant, after: field }) as const;

/** Each field that describes a trip (all required), in the order of the example, with its rules. */
const tripFieldSchemas = {
  // What a Step Functions execution name allows, so that the trip id names its execution.
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
} as const;

/** The fields that describe the trip, which a step may record. */
export type TripField = keyof typeof tripFieldSchemas;

/** Every field that describes a trip (all required), in the order of the example. */
export const tripFields = Object.keys(tripFieldSchemas) as TripField[];

/** The input of one saga execution: the trip, as in `examples/trip.json`. */
export type Trip = { [Field in TripField]: string } & {
  /**
   * Demos and `saga verify` only: the states that fail on purpose, each at most once, as `STATE` or `STATE=always`
   * (every attempt), `STATE=N` (the first N attempts of each entry of the state, by `$$.State.RetryCount`:
   * TransientError, retried) or `STATE=until-redrive` (until `$$.Execution.RedriveCount` is above 0), e.g.
   * `["BookRental", "CancelHotel=2"]` (functions/faults.ts). Ignored unless the function's configuration enables
   * fault injection.
   */
  fail?: string[] | null;
};

/** The one schema of a trip. */
export const tripSchema: JSONSchemaType<Trip> = {
  $id: 'trip',
  type: 'object',
  additionalProperties: false,
  required: tripFields,
  properties: {
    ...tripFieldSchemas,
    fail: {
      type: 'array',
      nullable: true,
      maxItems: 20,
      faultStates: true,
      items: { type: 'string', pattern: FAULT_PATTERN },
    },
  },
};

/**
 * What Step Functions passes each function (see asl/render.ts): the execution's input, untouched; the id of the
 * execution that owns whatever the function books or cancels; and where the attempt stands, which a fault that
 * heals is keyed on. The counts are absent from a direct invocation (a late delivery), which counts as a first
 * attempt, never redriven.
 */
export interface StepEvent {
  trip: Trip;
  execution: string;
  /** `$$.State.RetryCount`: 0 on the state's first attempt. */
  retryCount?: number;
  /** `$$.Execution.RedriveCount`: 0 until the execution is redriven (absent on EXPRESS, which cannot be). */
  redriveCount?: number;
}

const count = { type: 'integer', minimum: 0, maximum: 1_000_000, nullable: true } as const;

export const stepEventSchema: JSONSchemaType<StepEvent> = {
  $id: 'step-event',
  type: 'object',
  additionalProperties: false,
  required: ['trip', 'execution'],
  properties: {
    trip: tripSchema,
    // An execution ARN (`$$.Execution.Id`): at most 2,048 characters, as AWS allows an ARN.
    execution: { type: 'string', pattern: '^arn:[^\\s]+$', maxLength: 2048 },
    retryCount: count,
    redriveCount: count,
  },
};

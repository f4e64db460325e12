import type { JSONSchemaType } from 'ajv';

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
   * Demo only: state names (e.g. `BookFlight`) that fail on purpose. Ignored unless the function's
   * configuration enables fault injection.
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

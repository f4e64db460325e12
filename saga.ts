// THE STEP LIST. Everything else is derived from it: the state machine, the tables, the functions and
// their permissions, the diagram, the cost figures and the tests. Add a step here and regenerate.
// The trip is this project's first saga, declared as any saga is (README: "Write your own saga"): its input (the
// key field, each field's JSON Schema, an example) and its steps.
import { defineSaga, type BookingStep, type InputOf } from './asl/saga.ts';

const place = { type: 'string', minLength: 1, maxLength: 200, placeName: true } as const;
const instant = { type: 'string', maxLength: 40, instant: true } as const;
/** An instant strictly after the one in the named sibling field. */
const after = <Field extends string>(field: Field) => ({ ...instant, after: field }) as const;

/** Each field that describes a trip (all required), in the order of the example, with its rules. */
const tripInput = {
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
export type TripField = keyof typeof tripInput;

export const hotel: BookingStep<TripField> = {
  name: 'Hotel',
  action: 'BookHotel',
  compensation: 'CancelHotel',
  table: 'HotelBookings',
  records: ['hotel', 'check_in', 'check_out'],
};

export const flight: BookingStep<TripField> = {
  name: 'Flight',
  action: 'BookFlight',
  compensation: 'CancelFlight',
  table: 'FlightBookings',
  records: ['depart', 'depart_at', 'arrive', 'arrive_at'],
};

export const rental: BookingStep<TripField> = {
  name: 'Rental',
  action: 'BookRental',
  compensation: 'CancelRental',
  table: 'RentalBookings',
  records: ['rental', 'rental_from', 'rental_to'],
};

/** The trip's input and name, shared with the example that books two of its steps at once (examples/trip-parallel.ts). */
export const tripInputDeclaration = {
  noun: 'Trip',
  keyField: 'trip_id',
  input: tripInput,
  example: new URL('./examples/trip.json', import.meta.url),
} as const;

export const tripSaga = defineSaga({
  name: 'TripBooking',
  ...tripInputDeclaration,
  steps: [hotel, flight, rental],
});

/** The input of one execution: the trip, as in `examples/trip.json`. */
export type Trip = InputOf<typeof tripSaga>;

/** The default export is what `--saga FILE` reads: `npx saga asl --saga saga.ts` is `npx saga asl`. */
export default tripSaga;

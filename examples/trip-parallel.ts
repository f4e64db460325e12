// The trip with a group: the hotel first (without a room nothing else is worth booking), then the flight and the
// rental car, which do not depend on one another, at once (one Parallel state):
//   npx saga asl --saga examples/trip-parallel.ts
// The same steps, tables and functions as saga.ts; only the order of the actions changes.
import { defineSaga, parallel } from '../asl/saga.ts';
import { tripFields, type TripField } from '../functions/trip.ts';
import { flight, hotel, rental } from '../saga.ts';

export default defineSaga<TripField>({
  name: 'TripBookingParallel',
  keyField: 'trip_id',
  fields: tripFields,
  steps: [hotel, parallel('Travel', [flight, rental])],
});

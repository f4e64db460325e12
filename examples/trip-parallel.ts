// The trip with its hotel and flight booked at once (a group: one Parallel state), then the rental:
//   npx saga asl --saga examples/trip-parallel.ts
// The same steps, tables and functions as saga.ts; only the order of the actions changes.
import { defineSaga, parallel } from '../asl/saga.ts';
import { tripFields, type TripField } from '../functions/trip.ts';
import { flight, hotel, rental } from '../saga.ts';

export default defineSaga<TripField>({
  name: 'TripBookingParallel',
  keyField: 'trip_id',
  fields: tripFields,
  steps: [parallel('Travel', [hotel, flight]), rental],
});

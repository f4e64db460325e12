// The trip with a group: the hotel first (without a room nothing else is worth booking), then the flight and the
// rental car, which do not depend on one another, at once (one Parallel state):
//   npx saga asl --saga examples/trip-parallel.ts
// The same input, steps, tables and functions as saga.ts; only the order of the actions changes.
import { defineSaga, parallel } from '../asl/saga.ts';
import { flight, hotel, rental, tripInputDeclaration } from '../saga.ts';

export default defineSaga({
  name: 'TripBookingParallel',
  ...tripInputDeclaration,
  steps: [hotel, parallel('Travel', [flight, rental])],
});

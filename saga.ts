// THE STEP LIST. Everything else is derived from it: the state machine, the tables, the functions and
// their permissions, the diagram, the cost figures and the tests. Add a step here and regenerate.
import { defineSaga, type SagaStep } from './asl/saga.ts';
import { tripFields, type TripField } from './functions/trip.ts';

export const hotel: SagaStep<TripField> = {
  name: 'Hotel',
  action: 'BookHotel',
  compensation: 'CancelHotel',
  table: 'HotelBookings',
  records: ['hotel', 'check_in', 'check_out'],
};

export const flight: SagaStep<TripField> = {
  name: 'Flight',
  action: 'BookFlight',
  compensation: 'CancelFlight',
  table: 'FlightBookings',
  records: ['depart', 'depart_at', 'arrive', 'arrive_at'],
};

export const rental: SagaStep<TripField> = {
  name: 'Rental',
  action: 'BookRental',
  compensation: 'CancelRental',
  table: 'RentalBookings',
  records: ['rental', 'rental_from', 'rental_to'],
};

export const tripSaga = defineSaga<TripField>({
  name: 'TripBooking',
  keyField: 'trip_id',
  fields: tripFields,
  steps: [hotel, flight, rental],
});

/** The default export is what `--saga FILE` reads: `npx saga asl --saga saga.ts` is `npx saga asl`. */
export default tripSaga;

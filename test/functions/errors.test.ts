import { expect, it } from '@jest/globals';
import { StepError } from '../../asl/errors.ts';
import { BookingCancelledError, BookingConflictError, TransientError, TripInvalidError } from '../../functions/errors.ts';

it('each error class is named exactly as the state machine matches it', () => {
  expect(new TripInvalidError('x').name).toBe(StepError.TripInvalid);
  expect(new BookingConflictError('x').name).toBe(StepError.BookingConflict);
  expect(new BookingCancelledError('x').name).toBe(StepError.BookingCancelled);
  expect(new TransientError('x').name).toBe(StepError.Transient);
});

import { expect, it } from '@jest/globals';
import { StepError } from '../../asl/errors.ts';
import { invalidErrorOf } from '../../asl/saga.ts';
import { BookingCancelledError, BookingConflictError, InputInvalidError, TransientError } from '../../functions/errors.ts';
import { tripSaga } from '../../saga.ts';

it('each error class is named exactly as the state machine matches it', () => {
  expect(new InputInvalidError(invalidErrorOf(tripSaga), 'x').name).toBe(invalidErrorOf(tripSaga));
  expect(new BookingConflictError('x').name).toBe(StepError.BookingConflict);
  expect(new BookingCancelledError('x').name).toBe(StepError.BookingCancelled);
  expect(new TransientError('x').name).toBe(StepError.Transient);
});

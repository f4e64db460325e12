import type { Context } from 'aws-lambda';
import { bookingHandler, type HandlerDependencies } from '../../functions/handlers.ts';
import type { StepEvent } from '../../functions/middleware.ts';

// A step's own action module, as a user writes one (`actionModule` in the step list): the plain booking,
// with a note added to its result, so that a test can tell that this module served the state.

export const NOTE = 'booked by the step’s own module';

export function createHandler(dependencies: HandlerDependencies) {
  const book = bookingHandler(dependencies);
  return async (event: StepEvent, context: Context) => ({ ...((await book(event, context)) as object), note: NOTE });
}

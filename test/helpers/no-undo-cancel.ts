import type { HandlerDependencies } from '../../functions/handlers.ts';

// A broken compensation, as a step's own module (`compensationModule`): it answers that it cancelled and writes
// nothing, so that a rollback leaves the step booked. `saga verify` must catch it.

export function createHandler(_dependencies: HandlerDependencies) {
  return async () => ({ status: 'CANCELLED', outcome: 'cancelled' });
}

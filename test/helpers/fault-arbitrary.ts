import fc from 'fast-check';
import { compensationRetryOf, forwardRetryOf, functionStatesOfStep, retriableStepsOf, stepsOf, type Saga } from '../../asl/saga.ts';
import type { FaultSpec } from '../../local/faults.ts';

/** A fault or none for one function state: always failing, or failing its first N calls. */
const faultOf = (saga: Saga): fc.Arbitrary<FaultSpec | undefined> =>
  fc.option(
    fc.oneof(
      fc.constant<FaultSpec>({ times: 'always' }),
      // Up to one more than the longest retry allows: a compensation's, or a retriable step's own.
      fc
        .integer({
          min: 1,
          max:
            Math.max(compensationRetryOf(saga).maxAttempts, ...retriableStepsOf(saga).map((step) => forwardRetryOf(step).maxAttempts)) + 1,
        })
        .map((times): FaultSpec => ({ times })),
    ),
    { nil: undefined },
  );

/** Fast-check schedules of faults over every function state of the saga, each state faulted or not. */
export function faultSchedulesOf(saga: Saga): fc.Arbitrary<Record<string, FaultSpec>> {
  const states = stepsOf(saga).flatMap(functionStatesOfStep);
  return fc
    .tuple(...states.map(() => faultOf(saga)))
    .map((specs) => Object.fromEntries(states.flatMap((state, index) => (specs[index] ? [[state, specs[index]]] : []))));
}

import { describeSchemaErrors } from '../asl/schema-errors.ts';
import validateStepEvent from './step-event-validator.generated.js';

/** Stands for the execution in the event: only the trip is in question here. */
const ANY_EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:saga:validated';

/** What is wrong with a trip, one line per problem, by the same compiled schema the functions use; empty if valid. */
export function tripProblems(trip: unknown): string[] {
  if (validateStepEvent({ trip, execution: ANY_EXECUTION })) return [];
  const errors = (validateStepEvent.errors ?? []).map((error) => ({ ...error, instancePath: error.instancePath.replace(/^\/trip/, '') }));
  return describeSchemaErrors(errors, 'the trip');
}

import { describeSchemaErrors } from '../asl/schema-errors.ts';
import validateStepEvent from './step-event-validator.generated.js';

/** What is wrong with a trip, one line per problem, by the same compiled schema the functions use; empty if valid. */
export function tripProblems(trip: unknown): string[] {
  if (validateStepEvent({ trip })) return [];
  const errors = (validateStepEvent.errors ?? []).map((error) => ({ ...error, instancePath: error.instancePath.replace(/^\/trip/, '') }));
  return describeSchemaErrors(errors, 'the trip');
}

import { StepError } from '../asl/errors.ts';

// Each class sets `name` to the exact string the state machine's ErrorEquals matches (asl/errors.ts);
// Lambda reports `name` as the error type, whatever the bundler does to class names.

/** The input failed the saga's JSON Schema: nothing was written. Named by the saga, e.g. `OrderInvalid` (invalidErrorOf). */
export class InputInvalidError extends Error {
  override readonly name: string;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The key is already booked in this table with other details. */
export class BookingConflictError extends Error {
  override readonly name = StepError.BookingConflict;
}

/** The booking was cancelled before this write arrived: it must not come back. */
export class BookingCancelledError extends Error {
  override readonly name = StepError.BookingCancelled;
}

/** DynamoDB throttled or failed in a way that a later attempt may not: Step Functions retries it. */
export class TransientError extends Error {
  override readonly name = StepError.Transient;
}

/** A demo failure asked for by the input's `fail` list, with fault injection enabled. */
export class InjectedFaultError extends Error {
  override readonly name = StepError.InjectedFault;
}

/** The function's environment is missing or malformed: a deployment mistake, not an input's. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

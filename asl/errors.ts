// Error names are a contract between the Lambda handlers (an error class sets `name` to one of these)
// and the state machine (`ErrorEquals` matches them). Both sides import them from here.

/** Errors raised by the saga's own functions. */
export const StepError = {
  /** Another booking already holds this key with different details. Not retried. (An input that fails the saga's
   * schema is refused with the saga's own error, `<Noun>Invalid`: see invalidErrorOf.) */
  BookingConflict: 'BookingConflict',
  /** The booking was cancelled before this (late) write arrived. Not retried. */
  BookingCancelled: 'BookingCancelled',
  /** Throttling or a retryable DynamoDB fault: retried before compensating. */
  Transient: 'TransientError',
  /** A demo failure asked for on purpose (fault injection). Actions do not retry it; compensations do. */
  InjectedFault: 'InjectedFault',
} as const;

/** How a saga execution that did not succeed ended: the `Error` of its final Fail state. */
export const SagaOutcome = {
  /** A step failed and every compensation owed completed: nothing is left booked. */
  RolledBack: 'SagaRolledBack',
  /** An EXPRESS execution's compensation was stuck: the rollback machine finishes the rollback. */
  RollbackHandedOff: 'SagaRollbackHandedOff',
  /** The rollback machine was asked to resume from a state that is not one of the saga's compensations. */
  UnknownCompensation: 'UnknownCompensation',
} as const;

/**
 * How the Step Functions integration names StartExecution's refusal of a name already used: by an execution that has
 * closed (whatever the input), or by a running one given another input.
 */
export const EXECUTION_ALREADY_EXISTS = 'StepFunctions.ExecutionAlreadyExistsException';

/** Errors with which the Lambda service (not the function) reports an invocation that may succeed if repeated. */
export const LambdaTransientErrors = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
] as const;

/** The catch-all error name of ASL; it must stand alone in the last catcher or retrier. */
export const ALL_ERRORS = 'States.ALL';

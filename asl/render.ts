import { ALL_ERRORS, LambdaTransientErrors, SagaOutcome, StepError } from './errors.ts';
import type { Catcher, FailState, JsonPath, PayloadTemplate, Retrier, StateMachineDefinition, TaskState } from './model.ts';
import {
  actionRetryOf,
  alertStateOf,
  compensationRetryOf,
  DEFAULT_ALERT_RETRY,
  DEFAULT_TASK_TIMEOUT_SECONDS,
  functionStatesOf,
  TerminalState,
  type RetryPolicy,
  type Saga,
  type SagaResources,
  type SagaStep,
} from './saga.ts';
import { assertValidDefinition, assertValidSaga, resourceProblems, SagaResourcesError } from './validate.ts';

/** Service integration that publishes to SNS and waits only for the publish itself. */
export const SNS_PUBLISH = 'arn:aws:states:::sns:publish';

/** Where each Task writes its result, and each catcher its error: never over the trip input at `$`. */
export const resultPathOf = (state: string): JsonPath => `$.results.${state}`;
export const errorPathOf = (state: string): JsonPath => `$.errors.${state}`;
const ALERT_RESULT_PATH: JsonPath = '$.alert';

/**
 * Every function receives the execution's original input, whatever earlier states added to `$`, so a handler
 * sees exactly the trip it validates; and the execution's id, which owns what it books and cancels. The id, not
 * the name: an EXPRESS saga's runs may share a name, never an id.
 */
const functionPayload = (): PayloadTemplate => ({ 'trip.$': '$$.Execution.Input', 'execution.$': '$$.Execution.Id' });

function retrier(errors: readonly string[], policy: RetryPolicy): Retrier {
  return {
    ErrorEquals: errors,
    IntervalSeconds: policy.intervalSeconds,
    MaxAttempts: policy.maxAttempts,
    BackoffRate: policy.backoffRate,
    MaxDelaySeconds: policy.maxDelaySeconds,
    JitterStrategy: 'FULL',
  };
}

// Present for every action and compensation: renderSaga checks the resources before building states.
const functionArn = (resources: SagaResources, state: string): string => resources.functions[state] as string;

function actionState(saga: Saga, index: number, resources: SagaResources): TaskState {
  const step = saga.steps[index] as SagaStep;
  const next = saga.steps[index + 1];
  // Only the first action can reject the input before anything was booked; later steps compensate. The error
  // is not written into the input: an input that is not a JSON object has nowhere to take it (the execution's
  // history keeps it).
  const rejectsInput: Catcher[] =
    index === 0 ? [{ ErrorEquals: [StepError.TripInvalid], Next: TerminalState.TripRejected, ResultPath: null }] : [];
  return {
    Type: 'Task',
    Comment: `Book the ${step.name}; on failure, undo it and every earlier booking`,
    Resource: functionArn(resources, step.action),
    Parameters: functionPayload(),
    ResultPath: resultPathOf(step.action),
    TimeoutSeconds: step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [retrier([...LambdaTransientErrors, StepError.Transient], actionRetryOf(step))],
    // The failing step's own compensation runs too: its write may have landed before it failed.
    Catch: [...rejectsInput, { ErrorEquals: [ALL_ERRORS], Next: step.compensation, ResultPath: errorPathOf(step.action) }],
    ...(next === undefined ? { End: true } : { Next: next.action }),
  };
}

function compensationState(saga: Saga, index: number, resources: SagaResources): TaskState {
  const step = saga.steps[index] as SagaStep;
  const previous = saga.steps[index - 1];
  return {
    Type: 'Task',
    Comment: `Cancel the ${step.name} booking if there is one (idempotent)`,
    Resource: functionArn(resources, step.compensation),
    Parameters: functionPayload(),
    ResultPath: resultPathOf(step.compensation),
    TimeoutSeconds: step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [retrier([ALL_ERRORS], compensationRetryOf(saga))],
    Catch: [{ ErrorEquals: [ALL_ERRORS], Next: alertStateOf(step), ResultPath: errorPathOf(step.compensation) }],
    Next: previous === undefined ? TerminalState.RolledBack : previous.compensation,
  };
}

/**
 * Tells people which compensation is stuck and how many are still owed: the stuck one and those of every
 * earlier step, in reverse step order. The names of the earlier ones are left to the step list, so that the
 * definition grows linearly with the steps (a list per alert would make it quadratic, and 300 steps exceed 1 MB).
 */
function alertState(saga: Saga, index: number, resources: SagaResources): TaskState {
  const step = saga.steps[index] as SagaStep;
  const earlier = index === 0 ? 'no earlier step' : index === 1 ? 'the 1 earlier step' : `the ${index} earlier steps`;
  return {
    Type: 'Task',
    Comment: `${step.compensation} gave up: alert people`,
    Resource: SNS_PUBLISH,
    Parameters: {
      TopicArn: resources.alertTopic,
      Subject: `Saga ${saga.name}: a compensation did not finish`,
      Message: {
        saga: saga.name,
        [`${saga.keyField}.$`]: `$.${saga.keyField}`,
        failedCompensation: step.compensation,
        compensationsOwed: index + 1,
        toFinish: `Once the fault is fixed, run ${step.compensation}, then the compensations of ${earlier} in reverse step order (all idempotent), with the input of the execution named by the ${saga.keyField}.`,
        // No trip details: the topic is not KMS-encrypted (see infra). The execution named by the trip id has them.
        'errors.$': '$.errors',
      },
    },
    ResultPath: ALERT_RESULT_PATH,
    Retry: [retrier([ALL_ERRORS], DEFAULT_ALERT_RETRY)],
    Next: TerminalState.CompensationIncomplete,
  };
}

// Built afresh on every render: consumers (asl-validator among them) add keys to the objects they are given.
const terminalStates = (): Readonly<Record<(typeof TerminalState)[keyof typeof TerminalState], FailState>> => ({
  [TerminalState.RolledBack]: {
    Type: 'Fail',
    Error: SagaOutcome.RolledBack,
    Cause: 'A step failed and every compensation owed completed: nothing is left booked.',
  },
  [TerminalState.CompensationIncomplete]: {
    Type: 'Fail',
    Error: SagaOutcome.CompensationIncomplete,
    Cause:
      'A compensation kept failing after its retries; bookings may be left. The alert says which compensations ' +
      'are still owed; run them once the fault is fixed (they are idempotent).',
  },
  [TerminalState.TripRejected]: {
    Type: 'Fail',
    Error: SagaOutcome.TripInvalid,
    Cause: 'The input failed validation before anything was booked.',
  },
});

/** Renders the saga's state machine. Pure: the same step list and ARNs always give the same definition. */
export function renderSaga(saga: Saga, resources: SagaResources): StateMachineDefinition {
  assertValidSaga(saga);
  const problems = resourceProblems(saga, resources);
  if (problems.length > 0) throw new SagaResourcesError(problems);
  const first = saga.steps[0] as SagaStep;
  const definition: StateMachineDefinition = {
    Comment: `Saga ${saga.name}: every action in order; after a failure, the compensations owed in reverse`,
    StartAt: first.action,
    ...(saga.timeoutSeconds === undefined ? {} : { TimeoutSeconds: saga.timeoutSeconds }),
    States: {
      ...Object.fromEntries(
        saga.steps.flatMap((step, index) => [
          [step.action, actionState(saga, index, resources)],
          [step.compensation, compensationState(saga, index, resources)],
          [alertStateOf(step), alertState(saga, index, resources)],
        ]),
      ),
      ...terminalStates(),
    },
  };
  assertValidDefinition(definition);
  return definition;
}

/** ARNs of the shape AWS gives, in a given or placeholder account: to look at, validate or run a definition without AWS. */
export function placeholderResources(saga: Saga, region = 'us-east-1', account = '123456789012'): SagaResources {
  return {
    functions: Object.fromEntries(functionStatesOf(saga).map((state) => [state, `arn:aws:lambda:${region}:${account}:function:${state}`])),
    alertTopic: `arn:aws:sns:${region}:${account}:${saga.name}-alerts`,
  };
}

import { ALL_ERRORS, LambdaTransientErrors, SagaOutcome, StepError } from './errors.ts';
import {
  assertNever,
  type Catcher,
  type FailState,
  type JsonPath,
  type PayloadTemplate,
  type Retrier,
  type State,
  type StateMachineDefinition,
  type TaskState,
} from './model.ts';
import {
  actionRetryOf,
  alertStateOf,
  compensationRetryOf,
  DEFAULT_ALERT_RETRY,
  DEFAULT_TASK_TIMEOUT_SECONDS,
  functionStatesOf,
  handOffStateOf,
  retryStateOf,
  RollbackState,
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
const HAND_OFF_RESULT_PATH: JsonPath = '$.handOff';
const RESUME_FROM_PATH: JsonPath = '$.resumeFrom';

/**
 * Every function of the saga receives the execution's original input, whatever earlier states added to `$`, so a
 * handler sees exactly the trip it validates; and the execution's id, which owns what it books and cancels. The id,
 * not the name: an EXPRESS saga's runs may share a name, never an id.
 */
const SAGA_PAYLOAD: PayloadTemplate = { 'trip.$': '$$.Execution.Input', 'execution.$': '$$.Execution.Id' };

/** The rollback machine's compensations undo the bookings of the saga execution named in its input, not its own. */
const ROLLBACK_PAYLOAD: PayloadTemplate = { 'trip.$': '$.trip', 'execution.$': '$.execution' };

/** The alert's one command that finishes the rollback: a redrive of this execution, which failed at a Task. */
const REDRIVE: PayloadTemplate = {
  'resume.$': "States.Format('aws stepfunctions redrive-execution --execution-arn {}', $$.Execution.Id)",
};

/** Service integration that starts an execution and waits only for it to start (request-response). */
export const START_EXECUTION = 'arn:aws:states:::states:startExecution';

/**
 * The hand-off's execution name: one per saga execution (a hash of its id, 64 characters within AWS's 80), so that
 * a repeated hand-off (EXPRESS runs at least once) starts nothing new: StartExecution with a name already used and
 * the same input answers with the existing execution, with another input it fails.
 */
const HAND_OFF_NAME = "States.Hash($$.Execution.Id, 'SHA-256')";

/** How one state machine runs a rollback: what its compensations get, what the alert says, what follows it. */
interface RollbackPlan {
  readonly payload: PayloadTemplate;
  /** Keys of the alert's message that say how the rollback gets finished. */
  readonly resume: PayloadTemplate;
  /** The state after a stuck compensation's alert, by step index: its name and the state. */
  readonly afterAlert: (index: number) => readonly [string, TaskState];
}

/** How the saga's definition is rendered for a stack's state machine type. */
export type SagaRenderOptions =
  | { readonly type: 'STANDARD' }
  /** EXPRESS cannot be redriven: a stuck rollback is handed to the rollback machine (renderRollback) at this ARN. */
  | { readonly type: 'EXPRESS'; readonly rollbackStateMachine: string };

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
    Parameters: SAGA_PAYLOAD,
    ResultPath: resultPathOf(step.action),
    TimeoutSeconds: step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [retrier([...LambdaTransientErrors, StepError.Transient], actionRetryOf(step))],
    // The failing step's own compensation runs too: its write may have landed before it failed.
    Catch: [...rejectsInput, { ErrorEquals: [ALL_ERRORS], Next: step.compensation, ResultPath: errorPathOf(step.action) }],
    ...(next === undefined ? { End: true } : { Next: next.action }),
  };
}

/** The compensation's Task, going on to the previous step's compensation, or to the end of the rollback. */
function compensationTask(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan): TaskState {
  const step = saga.steps[index] as SagaStep;
  const previous = saga.steps[index - 1];
  return {
    Type: 'Task',
    Comment: `Cancel the ${step.name} booking if there is one (idempotent)`,
    Resource: functionArn(resources, step.compensation),
    Parameters: plan.payload,
    ResultPath: resultPathOf(step.compensation),
    TimeoutSeconds: step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [retrier([ALL_ERRORS], compensationRetryOf(saga))],
    Next: previous === undefined ? TerminalState.RolledBack : previous.compensation,
  };
}

function compensationState(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan): TaskState {
  const step = saga.steps[index] as SagaStep;
  return {
    ...compensationTask(saga, index, resources, plan),
    Catch: [{ ErrorEquals: [ALL_ERRORS], Next: alertStateOf(step), ResultPath: errorPathOf(step.compensation) }],
  };
}

/**
 * The same compensation after the alert, with fresh retries and no catcher: if it still fails, the execution
 * fails here, at a Task state, which `redrive-execution` reruns before every earlier compensation. (A Fail state
 * would be a dead end: redriving it only fails again.)
 */
function retryState(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan): TaskState {
  const step = saga.steps[index] as SagaStep;
  return {
    ...compensationTask(saga, index, resources, plan),
    Comment: `${step.compensation} again after the alert; if it still fails the execution stops here, to be redriven once fixed`,
  };
}

/** Alerts name at most this many owed compensations: a list per alert makes the definition grow with N². */
const OWED_LISTED = 10;

/** The compensations still owed when the step's compensation is stuck: its own, then every earlier one's. */
function owedCompensations(saga: Saga, index: number): string {
  const owed = saga.steps
    .slice(0, index + 1)
    .reverse()
    .map((step) => step.compensation);
  const listed = owed.slice(0, OWED_LISTED).join(', ');
  return owed.length > OWED_LISTED ? `${listed}, and ${owed.length - OWED_LISTED} more in reverse step order` : listed;
}

/**
 * Tells people which compensation is stuck, what is still owed and the one command that finishes the rollback.
 * Built only from what every execution has (its id and name, the state, the error its catcher just wrote): a path
 * into the input that the input lacks would fail with States.Runtime, which no catcher catches. No trip details:
 * the topic is not KMS-encrypted (see infra); the execution has them. Publishing that fails still goes on to the
 * retry: the execution then fails at a Task, which the failed-execution alarm reports.
 */
function alertState(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan, next: string): TaskState {
  const step = saga.steps[index] as SagaStep;
  return {
    Type: 'Task',
    Comment: `${step.compensation} gave up: alert people, then try it once more`,
    Resource: SNS_PUBLISH,
    Parameters: {
      TopicArn: resources.alertTopic,
      Subject: `Saga ${saga.name}: a compensation did not finish`,
      Message: {
        saga: saga.name,
        'execution.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
        stuckCompensation: step.compensation,
        compensationsOwed: owedCompensations(saga, index),
        // The catcher's {Error, Cause}: AWS caps a cause at 32,768 characters, far below SNS's 256 KB.
        'error.$': errorPathOf(step.compensation),
        ...plan.resume,
      },
    },
    ResultPath: ALERT_RESULT_PATH,
    Retry: [retrier([ALL_ERRORS], DEFAULT_ALERT_RETRY)],
    Catch: [{ ErrorEquals: [ALL_ERRORS], Next: next, ResultPath: errorPathOf(alertStateOf(step)) }],
    Next: next,
  };
}

/**
 * An EXPRESS execution cannot be redriven: its stuck rollback goes on in the rollback machine, from the stuck
 * compensation, on this execution's bookings. Without a catcher: a hand-off that keeps failing fails the execution
 * here, which the stack's alarm reports.
 */
function handOffState(saga: Saga, index: number, rollbackStateMachine: string): TaskState {
  const step = saga.steps[index] as SagaStep;
  return {
    Type: 'Task',
    Comment: `Hand the rollback from ${step.compensation} to the rollback machine, which can be redriven`,
    Resource: START_EXECUTION,
    Parameters: {
      StateMachineArn: rollbackStateMachine,
      'Name.$': HAND_OFF_NAME,
      Input: { ...SAGA_PAYLOAD, resumeFrom: step.compensation },
    },
    ResultPath: HAND_OFF_RESULT_PATH,
    Retry: [retrier([ALL_ERRORS], DEFAULT_ALERT_RETRY)],
    Next: RollbackState.HandedOff,
  };
}

/** A step's compensation, its alert, and what follows the alert: the states of its part of a rollback. */
function compensationStates(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan): [string, State][] {
  const step = saga.steps[index] as SagaStep;
  const [stuckName, stuckState] = plan.afterAlert(index);
  return [
    [step.compensation, compensationState(saga, index, resources, plan)],
    [alertStateOf(step), alertState(saga, index, resources, plan, stuckName)],
    [stuckName, stuckState],
  ];
}

// Built afresh on every render: consumers (asl-validator among them) add keys to the objects they are given.
const terminalStates = (): Readonly<Record<(typeof TerminalState)[keyof typeof TerminalState], FailState>> => ({
  [TerminalState.RolledBack]: {
    Type: 'Fail',
    Error: SagaOutcome.RolledBack,
    Cause: 'A step failed and every compensation owed completed: nothing is left booked.',
  },
  [TerminalState.TripRejected]: {
    Type: 'Fail',
    Error: SagaOutcome.TripInvalid,
    Cause: 'The input failed validation before anything was booked.',
  },
});

function assertRenderable(saga: Saga, resources: SagaResources): void {
  assertValidSaga(saga);
  const problems = resourceProblems(saga, resources);
  if (problems.length > 0) throw new SagaResourcesError(problems);
}

/** A stuck compensation, once alerted, runs again with no catcher: the execution stops there, to be redriven. */
const redrivablePlan = (saga: Saga, resources: SagaResources, payload: PayloadTemplate): RollbackPlan => {
  const plan: RollbackPlan = {
    payload,
    resume: REDRIVE,
    afterAlert: (index) => [retryStateOf(saga.steps[index] as SagaStep), retryState(saga, index, resources, plan)],
  };
  return plan;
};

function sagaPlan(saga: Saga, resources: SagaResources, options: SagaRenderOptions): RollbackPlan {
  switch (options.type) {
    case 'STANDARD':
      return redrivablePlan(saga, resources, SAGA_PAYLOAD);
    case 'EXPRESS':
      return {
        payload: SAGA_PAYLOAD,
        resume: { resume: 'none: the rollback machine finishes it, in an execution named by the SHA-256 of this execution id' },
        afterAlert: (index) => [handOffStateOf(saga.steps[index] as SagaStep), handOffState(saga, index, options.rollbackStateMachine)],
      };
    default:
      return assertNever(options);
  }
}

/**
 * Renders the saga's state machine. Pure: the same step list and ARNs always give the same definition. An EXPRESS
 * saga differs only after a stuck compensation's alert: it hands the rollback over instead of stopping for a redrive.
 */
export function renderSaga(
  saga: Saga,
  resources: SagaResources,
  options: SagaRenderOptions = { type: 'STANDARD' },
): StateMachineDefinition {
  assertRenderable(saga, resources);
  const plan = sagaPlan(saga, resources, options);
  const first = saga.steps[0] as SagaStep;
  const definition: StateMachineDefinition = {
    Comment: `Saga ${saga.name}: every action in order; after a failure, the compensations owed in reverse`,
    StartAt: first.action,
    ...(saga.timeoutSeconds === undefined ? {} : { TimeoutSeconds: saga.timeoutSeconds }),
    States: {
      ...Object.fromEntries(
        saga.steps.flatMap((step, index) => [
          [step.action, actionState(saga, index, resources)],
          ...compensationStates(saga, index, resources, plan),
        ]),
      ),
      ...terminalStates(),
      ...(options.type === 'EXPRESS'
        ? {
            [RollbackState.HandedOff]: {
              Type: 'Fail',
              Error: SagaOutcome.RollbackHandedOff,
              Cause: 'A compensation was stuck and people were alerted: the rollback machine finishes the rollback.',
            },
          }
        : {}),
    },
  };
  assertValidDefinition(definition);
  return definition;
}

/**
 * Renders the rollback machine: a STANDARD state machine that finishes a saga execution's rollback from a named
 * compensation, for an execution that redrive cannot serve (EXPRESS, or more than 14 days after it ended). Input:
 * `{"trip": …, "execution": "<the saga execution's ARN, which owns the bookings>", "resumeFrom": "<compensation>"}`.
 * Its compensations, alerts and retries are the saga's own, so a stuck one is redriven in this machine.
 */
export function renderRollback(saga: Saga, resources: SagaResources): StateMachineDefinition {
  assertRenderable(saga, resources);
  const plan = redrivablePlan(saga, resources, ROLLBACK_PAYLOAD);
  const compensations = saga.steps.map((step) => step.compensation);
  const definition: StateMachineDefinition = {
    Comment: `Saga ${saga.name}'s rollback, finished from the compensation named in $.resumeFrom, on the bookings of $.execution`,
    StartAt: RollbackState.ResumeFrom,
    States: {
      [RollbackState.ResumeFrom]: {
        Type: 'Choice',
        Choices: compensations.map((compensation) => ({ Variable: RESUME_FROM_PATH, StringEquals: compensation, Next: compensation })),
        Default: RollbackState.UnknownCompensation,
      },
      ...Object.fromEntries(saga.steps.flatMap((_, index) => compensationStates(saga, index, resources, plan))),
      [TerminalState.RolledBack]: { Type: 'Succeed', Comment: 'Every compensation owed completed: nothing is left booked.' },
      [RollbackState.UnknownCompensation]: {
        Type: 'Fail',
        Error: SagaOutcome.UnknownCompensation,
        Cause: `resumeFrom must name one of ${compensations.join(', ')}`,
      },
    },
  };
  assertValidDefinition(definition);
  return definition;
}

/** ARNs of the shape AWS gives, in a given or placeholder account: to look at, validate or run a definition without AWS. */
/** The rollback machine's name where it is not given by a deployment: the saga's, suffixed. */
export const rollbackMachineNameOf = (saga: Saga): string => `${saga.name}-rollback`;

/** The rollback machine's ARN in the same placeholder account: what an EXPRESS saga hands a stuck rollback to. */
export const placeholderRollbackArn = (saga: Saga, region = 'us-east-1', account = '123456789012'): string =>
  `arn:aws:states:${region}:${account}:stateMachine:${rollbackMachineNameOf(saga)}`;

export function placeholderResources(saga: Saga, region = 'us-east-1', account = '123456789012'): SagaResources {
  return {
    functions: Object.fromEntries(functionStatesOf(saga).map((state) => [state, `arn:aws:lambda:${region}:${account}:function:${state}`])),
    alertTopic: `arn:aws:sns:${region}:${account}:${saga.name}-alerts`,
  };
}

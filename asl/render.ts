import { ALL_ERRORS, EXECUTION_ALREADY_EXISTS, LambdaTransientErrors, SagaOutcome, StepError } from './errors.ts';
import {
  assertNever,
  type Catcher,
  type FailState,
  type JsonPath,
  type ParallelState,
  type PayloadTemplate,
  RETRIER_DEFAULTS,
  type Retrier,
  type State,
  type StateMachineDefinition,
  type TaskState,
  type Transition,
} from './model.ts';
import {
  actionEntryOf,
  actionRetryOf,
  alertStateOf,
  compensationEntryOf,
  compensationRetryOf,
  CONTEXT_KEY,
  DEFAULT_ALERT_RETRY,
  DEFAULT_TASK_TIMEOUT_SECONDS,
  forwardRetryOf,
  functionStatesOf,
  groupCompensationOf,
  handedOffStateOf,
  handOffStateOf,
  invalidErrorOf,
  isCompensatable,
  isCompensatedStage,
  isGroup,
  payloadKeyOf,
  rejectedStateOf,
  pivotOf,
  retriableStepsOf,
  retryStateOf,
  roleOf,
  RollbackState,
  StepRole,
  stepsOfStage,
  stuckTaskOf,
  TerminalState,
  type ParallelGroup,
  type CompensatableStep,
  type RetryPolicy,
  type Saga,
  type SagaResources,
  type SagaStep,
  type Stage,
} from './saga.ts';
import { assertValidDefinition, assertValidSaga, resourceProblems, SagaDefinitionError, SagaResourcesError } from './validate.ts';

/** Service integration that publishes to SNS and waits only for the publish itself. */
export const SNS_PUBLISH = 'arn:aws:states:::sns:publish';

/** Where each Task writes its result, and each catcher its error: never over the saga's input at `$`. */
export const resultPathOf = (state: string): JsonPath => `$.results.${state}`;
export const errorPathOf = (state: string): JsonPath => `$.errors.${state}`;
const RESULTS_PATH: JsonPath = '$.results';
const ALERT_RESULT_PATH: JsonPath = '$.alert';
const HAND_OFF_RESULT_PATH: JsonPath = '$.handOff';

/**
 * Every function of the saga receives the execution's original input (under the saga's payload key), whatever earlier
 * states added to `$`, so a handler sees exactly the input it validates; and the execution's id, which owns what it
 * books and cancels. The id, not the name: an EXPRESS saga's runs may share a name, never an id.
 */
const ownedInput = (saga: Saga): PayloadTemplate => ({
  [`${payloadKeyOf(saga)}.$`]: '$$.Execution.Input',
  'execution.$': '$$.Execution.Id',
});

/** The rollback machine's compensations undo the bookings of the saga execution named in its input, not its own. */
const rollbackInput = (saga: Saga): PayloadTemplate => ({
  [`${payloadKeyOf(saga)}.$`]: `$.${payloadKeyOf(saga)}`,
  'execution.$': '$.execution',
});
const RESUME_FROM_PATH: JsonPath = '$.resumeFrom';
/** Every path of its input that the rollback machine reads: each must be there. */
const rollbackInputPaths = (saga: Saga): JsonPath[] => [...(Object.values(rollbackInput(saga)) as JsonPath[]), RESUME_FROM_PATH];

/**
 * Where the attempt stands, from the context object (which AWS fills with both): a fault injected to heal after N
 * attempts, or after a redrive, is keyed on these, not on anything an engine keeps, so that it heals alike on AWS
 * and locally.
 */
const ATTEMPT: PayloadTemplate = { 'retryCount.$': '$$.State.RetryCount', 'redriveCount.$': '$$.Execution.RedriveCount' };

/** The alert's one command that finishes the rollback: a redrive of this execution, which failed at a Task. */
const REDRIVE: PayloadTemplate = {
  'resume.$': "States.Format('aws stepfunctions redrive-execution --execution-arn {}', $$.Execution.Id)",
};

/** Service integration that starts an execution and waits only for it to start (request-response). */
export const START_EXECUTION = 'arn:aws:states:::states:startExecution';

/**
 * The hand-off's execution name: one per saga execution (a hash of its id, 64 characters within AWS's 80), so that
 * a repeated hand-off (EXPRESS runs at least once) starts nothing new: StartExecution with a name in use answers
 * with the running execution of that name and the same input; once that execution has closed, it refuses the name
 * whatever the input (ExecutionAlreadyExists), which then means the rollback was handed off already.
 */
const HAND_OFF_NAME = "States.Hash($$.Execution.Id, 'SHA-256')";

/**
 * What the saga's functions get, alone or in a group's branch: the context object whole, which holds the owned input
 * (`$$.Execution.Input`, the execution's input inside a branch too on AWS, and locally, where the interpreter is
 * patched to agree: see patches/), the owner (`$$.Execution.Id`) and where the attempt stands (`$$.State.RetryCount`,
 * `$$.Execution.RedriveCount`, absent on EXPRESS). One path where those four took 159 bytes in every Task, the
 * definition's largest repeated part; the functions' first middleware reads the four from it (functions/middleware.ts).
 */
const SAGA_PAYLOAD: PayloadTemplate = { [`${CONTEXT_KEY}.$`]: '$$' };
/** The rollback machine's input carries the saga's input and the owner. */
const rollbackPayload = (saga: Saga): PayloadTemplate => ({ ...rollbackInput(saga), ...ATTEMPT });

/** How one state machine runs a rollback: what its compensations get, what the alert says, what follows it. */
interface RollbackPlan {
  /** What its functions get. */
  readonly payload: PayloadTemplate;
  /** What its alerts say. */
  readonly alert: AlertText;
  /** The states after a stuck compensation's alert, given its Task: the first is the alert's `Next`. */
  readonly afterAlert: (step: CompensatableStep, task: TaskState, group: ParallelGroup | undefined) => [string, State][];
}

/** What an alert about a stuck Task says: a compensation's, or past the pivot a retriable step's action's. */
interface AlertText {
  /** Its SNS Subject, after `Saga <name>: `. */
  readonly subject: string;
  /** The message's key that names the stuck Task, and the one that lists what is still owed. */
  readonly stuckKey: string;
  readonly owedKey: string;
  /** What is still owed, by the stuck step and the index of its stage. */
  readonly owed: (index: number, step: SagaStep) => string;
  /** Keys of the message that say how the execution gets finished. */
  readonly resume: PayloadTemplate;
}

/** How the saga's definition is rendered for a stack's state machine type. */
export type SagaRenderOptions =
  | { readonly type: 'STANDARD' }
  /** EXPRESS cannot be redriven: a stuck rollback is handed to the rollback machine (renderRollback) at this ARN. */
  | { readonly type: 'EXPRESS'; readonly rollbackStateMachine: string };

function retrier(errors: readonly string[], policy: RetryPolicy): Retrier {
  return {
    ErrorEquals: errors,
    ...(policy.intervalSeconds === RETRIER_DEFAULTS.IntervalSeconds ? {} : { IntervalSeconds: policy.intervalSeconds }),
    ...(policy.maxAttempts === RETRIER_DEFAULTS.MaxAttempts ? {} : { MaxAttempts: policy.maxAttempts }),
    ...(policy.backoffRate === RETRIER_DEFAULTS.BackoffRate ? {} : { BackoffRate: policy.backoffRate }),
    MaxDelaySeconds: policy.maxDelaySeconds,
    JitterStrategy: 'FULL',
  };
}

/** On to the named state, or, when there is none, the end of the graph: the execution's, or a branch's. */
const then = (state: string | undefined): Transition => (state === undefined ? { End: true } : { Next: state });

// Present for every action and compensation: renderSaga checks the resources before building states.
const functionArn = (resources: SagaResources, state: string): string => resources.functions[state] as string;

/**
 * Only the first stage can reject the input before anything was booked; later steps compensate. The error is not
 * written into the input: an input that is not a JSON object has nowhere to take it (the execution's history keeps it).
 */
const rejectsInput = (saga: Saga, index: number): Catcher[] =>
  index === 0 ? [{ ErrorEquals: [invalidErrorOf(saga)], Next: rejectedStateOf(saga), ResultPath: null }] : [];

/**
 * A step's action Task, without its catchers: alone it has them, in a group its Parallel state does. A retriable
 * step's retries every error with its own policy (nothing can roll back past the pivot); any other, transient ones.
 */
function actionTask(step: SagaStep, resources: SagaResources, payload: PayloadTemplate, next: Transition): TaskState {
  return {
    Type: 'Task',
    Resource: functionArn(resources, step.action),
    Parameters: payload,
    ResultPath: resultPathOf(step.action),
    TimeoutSeconds: step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [
      roleOf(step) === StepRole.Retriable
        ? retrier([ALL_ERRORS], forwardRetryOf(step))
        : retrier([...LambdaTransientErrors, StepError.Transient], actionRetryOf(step)),
    ],
    ...next,
  };
}

/**
 * Where a failed action rolls back from: its own compensation (its write may have landed before it failed); for the
 * pivot, which has none (its failure leaves no effect), the previous stage's, or the end of an empty rollback.
 */
const rollbackEntryOf = (saga: Saga, step: SagaStep, index: number): string => {
  if (isCompensatable(step)) return step.compensation;
  const previous = saga.steps[index - 1];
  return previous === undefined ? TerminalState.RolledBack : compensationEntryOf(previous);
};

/** A single step's action and, past the pivot, its alert and its retry: the states of its part of the way forward. */
function actionStates(
  saga: Saga,
  step: SagaStep,
  index: number,
  resources: SagaResources,
  payload: PayloadTemplate,
  next: Transition,
): [string, State][] {
  const task = actionTask(step, resources, payload, next);
  if (roleOf(step) === StepRole.Retriable)
    return alertedStates(saga, index, step, task, resources, forwardAlert(saga), [redrivableRetry(step, task)]);
  return [
    [
      step.action,
      {
        ...task,
        Catch: [
          ...rejectsInput(saga, index),
          { ErrorEquals: [ALL_ERRORS], Next: rollbackEntryOf(saga, step, index), ResultPath: errorPathOf(step.action) },
        ],
      },
    ],
  ];
}

/**
 * A group's actions at once. A Parallel state's result is the array of its branches' outputs: the selector puts each
 * action's result back at `$.results.<action>`, beside those of the earlier actions (passed through the branches),
 * so that the results read as after single steps. When one branch fails, Step Functions stops the others, whose
 * writes may still land: the catcher goes to every compensation of the group.
 */
function actionGroupState(saga: Saga, index: number, resources: SagaResources, payload: PayloadTemplate, next: Transition): ParallelState {
  const group = saga.steps[index] as ParallelGroup;
  const earlier = saga.steps.slice(0, index).flatMap(stepsOfStage);
  const compensated = isCompensatedStage(group);
  return {
    Type: 'Parallel',
    Comment: compensated
      ? `Book the ${group.parallel.map((step) => step.name).join(', ')} at once; if any fails, undo every booking of the group and every earlier one`
      : // Without a catcher: a branch stuck past its alert fails this state, which a redrive reruns (its failed branches).
        `Book the ${group.parallel.map((step) => step.name).join(', ')} at once, past the point of no return: each retried, alerted and redriven on its own`,
    Branches: group.parallel.map((step) => ({
      StartAt: step.action,
      States: compensated
        ? { [step.action]: actionTask(step, resources, payload, { End: true }) }
        : Object.fromEntries(actionStates(saga, step, index, resources, payload, { End: true })),
    })),
    ResultSelector: Object.fromEntries([
      ...earlier.map((step) => [`${step.action}.$`, `$[0].results.${step.action}`]),
      ...group.parallel.map((step, branch) => [`${step.action}.$`, `$[${branch}].results.${step.action}`]),
    ]),
    ResultPath: RESULTS_PATH,
    ...(compensated
      ? {
          Catch: [
            ...rejectsInput(saga, index),
            { ErrorEquals: [ALL_ERRORS], Next: groupCompensationOf(group), ResultPath: errorPathOf(group.name) },
          ],
        }
      : {}),
    ...next,
  };
}

/** The compensation's Task, going on to what follows it in the rollback. */
function compensationTask(
  saga: Saga,
  step: CompensatableStep,
  resources: SagaResources,
  payload: PayloadTemplate,
  next: Transition,
): TaskState {
  return {
    Type: 'Task',
    Resource: functionArn(resources, step.compensation),
    Parameters: payload,
    ResultPath: resultPathOf(step.compensation),
    TimeoutSeconds: step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [retrier([ALL_ERRORS], compensationRetryOf(saga))],
    ...next,
  };
}

/**
 * Alerts name at most this many owed Tasks, and count the others (in the order they are owed, as the definition
 * shows): a list per alert makes the definition grow with N², and each name listed is in every alert.
 */
export const OWED_LISTED = 5;

/**
 * What an alert says is still owed when a step's Task is stuck (the stage at `index` holds the step): its own, the
 * rest of its group's (run at once, they may not have finished), then, going back, every earlier stage's in reverse
 * (a rollback's compensations), or, going forward, every later stage's (past the pivot, the retriable actions). The
 * steps before each stage are counted once, and an alert lists only its first few: linear in the steps, where building
 * the whole owed list for every alert was quadratic.
 */
function owedTasksOf(saga: Saga, direction: 'back' | 'forward'): (index: number, step: SagaStep) => string {
  const stepsBefore: number[] = [];
  const total = saga.steps.reduce((count, stage, index) => {
    stepsBefore[index] = count;
    return count + stepsOfStage(stage).length;
  }, 0);
  const towards = direction === 'back' ? -1 : 1;
  return (index, step) => {
    const stage = stepsOfStage(saga.steps[index] as Stage);
    const listed = [step, ...stage.filter((other) => other !== step)];
    for (let other = index + towards; other >= 0 && other < saga.steps.length && listed.length < OWED_LISTED; other += towards)
      listed.push(...stepsOfStage(saga.steps[other] as Stage));
    const before = stepsBefore[index] as number;
    const owed = direction === 'back' ? before + stage.length : total - before;
    const names = listed.slice(0, OWED_LISTED).map(stuckTaskOf).join(', ');
    // The names listed show the order the rest follow in; the count alone keeps every alert short.
    return owed > OWED_LISTED ? `${names}, and ${owed - OWED_LISTED} more` : names;
  };
}

/** A stuck compensation's alert: what finishes the rollback is the plan's to say (a redrive, or the hand-off's). */
const compensationAlert = (saga: Saga, resume: PayloadTemplate): AlertText => ({
  subject: 'a compensation did not finish',
  stuckKey: 'stuckCompensation',
  owedKey: 'compensationsOwed',
  owed: owedTasksOf(saga, 'back'),
  resume,
});

/** A retriable step stuck past the pivot: its alert names the step and what is still to do, and the redrive. */
const forwardAlert = (saga: Saga): AlertText => ({
  subject: 'a forward step did not finish',
  stuckKey: 'stuckStep',
  owedKey: 'stepsOwed',
  owed: owedTasksOf(saga, 'forward'),
  resume: REDRIVE,
});

/**
 * Tells people which Task is stuck, what is still owed and the one command that finishes the execution.
 * Built only from what every execution has (its id and name, the state, the error its catcher just wrote): a path
 * into the input that the input lacks would fail with States.Runtime, which no catcher catches. No input details:
 * the topic is not KMS-encrypted (see infra); the execution has them. Publishing that fails still goes on to the
 * retry: the execution then fails at a Task, which the failed-execution alarm reports.
 */
function alertState(saga: Saga, index: number, step: SagaStep, resources: SagaResources, alert: AlertText, next: string): TaskState {
  const stuck = stuckTaskOf(step);
  return {
    Type: 'Task',
    Resource: SNS_PUBLISH,
    Parameters: {
      TopicArn: resources.alertTopic,
      // The saga's name, which SNS delivers with every message (an email's subject, a subscriber's envelope).
      Subject: `Saga ${saga.name}: ${alert.subject}`,
      Message: {
        'execution.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
        [alert.stuckKey]: stuck,
        [alert.owedKey]: alert.owed(index, step),
        // The catcher's {Error, Cause}: AWS caps a cause at 32,768 characters, far below SNS's 256 KB.
        'error.$': errorPathOf(stuck),
        ...alert.resume,
      },
    },
    ResultPath: ALERT_RESULT_PATH,
    Retry: [retrier([ALL_ERRORS], DEFAULT_ALERT_RETRY)],
    Catch: [{ ErrorEquals: [ALL_ERRORS], Next: next, ResultPath: errorPathOf(alertStateOf(step)) }],
    Next: next,
  };
}

/**
 * An EXPRESS execution cannot be redriven: its stuck rollback goes on in the rollback machine, on this execution's
 * bookings, from the stuck compensation; inside a group, from the group's compensations, so that two branches stuck
 * at once hand off the same input under the same name (StartExecution then answers both with one execution).
 * A name already used is this execution's own hand-off, repeated after the rollback machine closed it: handed off,
 * at once (retrying cannot free the name). Any other failure, once retried, fails the execution here, which the
 * stack's alarm reports.
 */
function handOffState(rollbackStateMachine: string, payload: PayloadTemplate, resumeFrom: string, next: string): TaskState {
  return {
    Type: 'Task',
    Comment: `Hand the rollback from ${resumeFrom} to the rollback machine, which can be redriven`,
    Resource: START_EXECUTION,
    Parameters: {
      StateMachineArn: rollbackStateMachine,
      'Name.$': HAND_OFF_NAME,
      Input: { ...payload, resumeFrom },
    },
    ResultPath: HAND_OFF_RESULT_PATH,
    Retry: [retrier([EXECUTION_ALREADY_EXISTS], { ...DEFAULT_ALERT_RETRY, maxAttempts: 0 }), retrier([ALL_ERRORS], DEFAULT_ALERT_RETRY)],
    Catch: [{ ErrorEquals: [EXECUTION_ALREADY_EXISTS], Next: next, ResultPath: HAND_OFF_RESULT_PATH }],
    Next: next,
  };
}

const handedOff = (): FailState => ({
  Type: 'Fail',
  Error: SagaOutcome.RollbackHandedOff,
  Cause: 'A compensation was stuck and people were alerted: the rollback machine finishes the rollback.',
});

/**
 * A Task that may give up (a compensation, or a retriable step's action), its alert, and what follows the alert:
 * once its retries are spent it alerts people, then goes on to `afterAlert` (whose first state is the alert's Next).
 */
function alertedStates(
  saga: Saga,
  index: number,
  step: SagaStep,
  task: TaskState,
  resources: SagaResources,
  alert: AlertText,
  afterAlert: [string, State][],
): [string, State][] {
  const stuck = stuckTaskOf(step);
  const [stuckName] = afterAlert[0] as [string, State];
  return [
    [stuck, { ...task, Catch: [{ ErrorEquals: [ALL_ERRORS], Next: alertStateOf(step), ResultPath: errorPathOf(stuck) }] }],
    [alertStateOf(step), alertState(saga, index, step, resources, alert, stuckName)],
    ...afterAlert,
  ];
}

/**
 * The stuck Task again once people were told, without a catcher: when it still fails, the execution fails at this
 * Task state, and a redrive reruns it with fresh retries and goes on from there.
 */
const redrivableRetry = (step: SagaStep, task: TaskState): [string, State] => [retryStateOf(step), task];

/** A step's compensation, its alert, and what follows the alert: the states of its part of a rollback. */
function compensationStates(
  saga: Saga,
  index: number,
  step: CompensatableStep,
  resources: SagaResources,
  plan: RollbackPlan,
  next: Transition,
  group?: ParallelGroup,
): [string, State][] {
  const task = compensationTask(saga, step, resources, plan.payload, next);
  return alertedStates(saga, index, step, task, resources, plan.alert, plan.afterAlert(step, task, group));
}

/**
 * A group's compensations at once, each branch the compensation, its alert and what follows, as for a single step.
 * Every compensation of the group runs, whichever action failed: cancels are idempotent and owned by the execution,
 * so a branch that never booked cancels nothing, and a stopped branch's late write meets its cancellation marker.
 * Without a catcher: a branch stuck past its alert fails this state, which a redrive reruns (on AWS, the failed and
 * stopped branches only).
 */
function compensationGroupState(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan, next: Transition): ParallelState {
  const group = saga.steps[index] as ParallelGroup;
  return {
    Type: 'Parallel',
    Comment: `Cancel the ${group.parallel.map((step) => step.name).join(', ')} bookings at once, if there are any (idempotent)`,
    Branches: group.parallel.filter(isCompensatable).map((step) => ({
      StartAt: step.compensation,
      States: Object.fromEntries(compensationStates(saga, index, step, resources, plan, { End: true }, group)),
    })),
    ResultSelector: Object.fromEntries(
      group.parallel.filter(isCompensatable).map((step, branch) => [`${step.compensation}.$`, `$[${branch}].results.${step.compensation}`]),
    ),
    ResultPath: resultPathOf(groupCompensationOf(group)),
    ...next,
  };
}

/**
 * The states of a stage's part of a rollback, going on to the previous stage's, or to `end`; none for the pivot and
 * the stages after it, which are never compensated.
 */
function stageCompensationStates(saga: Saga, index: number, resources: SagaResources, plan: RollbackPlan, end: string): [string, State][] {
  const stage = saga.steps[index] as Stage;
  if (!isCompensatedStage(stage)) return [];
  const previous = saga.steps[index - 1];
  const next = { Next: previous === undefined ? end : compensationEntryOf(previous) };
  return isGroup(stage)
    ? [[groupCompensationOf(stage), compensationGroupState(saga, index, resources, plan, next)]]
    : compensationStates(saga, index, stage as CompensatableStep, resources, plan, next);
}

// Built afresh on every render: consumers (asl-validator among them) add keys to the objects they are given.
const terminalStates = (saga: Saga): Readonly<Record<string, FailState>> => ({
  [TerminalState.RolledBack]: {
    Type: 'Fail',
    Error: SagaOutcome.RolledBack,
    Cause: 'A step failed and every compensation owed completed: nothing is left booked.',
  },
  [rejectedStateOf(saga)]: {
    Type: 'Fail',
    Error: invalidErrorOf(saga),
    Cause: 'The input failed validation before anything was booked.',
  },
});

/** What the definition's comment says of the pivot, if the saga has one. */
function pivotComment(saga: Saga): string {
  const pivot = pivotOf(saga);
  if (pivot === undefined) return '';
  return (
    `. ${pivot.action} is the pivot: once it succeeds nothing is undone, and when it fails only the steps before it are` +
    (retriableStepsOf(saga).length === 0
      ? ''
      : '; every step after it retries every error, then alerts and runs once more (Retry<action>), where a still-failing ' +
        'one stops the execution, to be redriven forward once fixed')
  );
}

/**
 * EXPRESS cannot be redriven, and a retriable step stuck past the pivot has nothing to hand off to (a rollback is not
 * owed): the configuration is refused, by name. Stacks and the local mode alike come through here.
 */
export function expressProblems(saga: Saga): string[] {
  const retriable = retriableStepsOf(saga);
  return retriable.length === 0
    ? []
    : [
        `retriable step(s) ${retriable.map((step) => step.name).join(', ')}: an EXPRESS state machine cannot be redriven, ` +
          'and a retriable step that gives up waits for a redrive; use STANDARD (a pivot without retriable steps after it may be EXPRESS)',
      ];
}

function assertRenderable(saga: Saga, resources: SagaResources): void {
  assertValidSaga(saga);
  const problems = resourceProblems(saga, resources);
  if (problems.length > 0) throw new SagaResourcesError(problems);
}

/** A stuck compensation, once alerted, runs again with no catcher: the execution stops there, to be redriven. */
const redrivablePlan = (saga: Saga, payload: PayloadTemplate): RollbackPlan => ({
  payload,
  alert: compensationAlert(saga, REDRIVE),
  afterAlert: (step, task) => [redrivableRetry(step, task)],
});

function sagaPlan(saga: Saga, options: SagaRenderOptions): RollbackPlan {
  switch (options.type) {
    case 'STANDARD':
      return redrivablePlan(saga, SAGA_PAYLOAD);
    case 'EXPRESS':
      return {
        payload: SAGA_PAYLOAD,
        alert: compensationAlert(saga, {
          resume: 'none: the rollback machine finishes it, in an execution named by the SHA-256 of this execution id',
        }),
        afterAlert: (step, _, group) =>
          group === undefined
            ? [
                [
                  handOffStateOf(step),
                  handOffState(options.rollbackStateMachine, ownedInput(saga), step.compensation, RollbackState.HandedOff),
                ],
              ]
            : [
                [
                  handOffStateOf(step),
                  handOffState(options.rollbackStateMachine, ownedInput(saga), groupCompensationOf(group), handedOffStateOf(step)),
                ],
                [handedOffStateOf(step), handedOff()],
              ],
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
  if (options.type === 'EXPRESS' && expressProblems(saga).length > 0) throw new SagaDefinitionError(expressProblems(saga));
  const plan = sagaPlan(saga, options);
  const definition: StateMachineDefinition = {
    // Said once here rather than in every state: each state's name says which step it serves.
    Comment:
      `Saga ${saga.name}: every action in order, retried on transient errors; after a failure, the compensations owed ` +
      "in reverse, the failing step's own first (its write may have landed), each idempotent and retried; a compensation " +
      'that gives up alerts people, then ' +
      (options.type === 'STANDARD'
        ? 'runs once more (Retry<compensation>), where a still-failing one stops the execution, to be redriven once fixed'
        : 'hands the rollback to the rollback machine, which can be redriven') +
      pivotComment(saga),
    StartAt: actionEntryOf(saga.steps[0] as Stage),
    ...(saga.timeoutSeconds === undefined ? {} : { TimeoutSeconds: saga.timeoutSeconds }),
    States: {
      ...Object.fromEntries(
        saga.steps.flatMap((stage, index): [string, State][] => {
          const following = saga.steps[index + 1];
          const next = then(following && actionEntryOf(following));
          return [
            ...(isGroup(stage)
              ? [[stage.name, actionGroupState(saga, index, resources, plan.payload, next)] as [string, State]]
              : actionStates(saga, stage, index, resources, plan.payload, next)),
            ...stageCompensationStates(saga, index, resources, plan, TerminalState.RolledBack),
          ];
        }),
      ),
      ...terminalStates(saga),
      // A grouped step's hand-off ends in its own branch: the top-level one serves single steps only.
      ...(options.type === 'EXPRESS' && saga.steps.some((stage) => !isGroup(stage) && isCompensatable(stage))
        ? { [RollbackState.HandedOff]: handedOff() }
        : {}),
    },
  };
  assertValidDefinition(definition);
  return definition;
}

/**
 * Renders the rollback machine: a STANDARD state machine that finishes a saga execution's rollback from a named
 * compensation, for an execution that redrive cannot serve (EXPRESS, or more than 14 days after it ended). Input:
 * `{"<payload key>": <the saga's input>, "execution": "<the saga execution's ARN, which owns the bookings>", "resumeFrom": "<compensation>"}`.
 * Its compensations, alerts and retries are the saga's own, so a stuck one is redriven in this machine. A
 * compensation of a group resumes the whole group (its other compensations are idempotent), as does the group's name.
 */
export function renderRollback(saga: Saga, resources: SagaResources): StateMachineDefinition {
  assertRenderable(saga, resources);
  const plan = redrivablePlan(saga, rollbackPayload(saga));
  // What `resumeFrom` may name, and where the rollback then enters.
  const resumable = saga.steps.filter(isCompensatedStage).flatMap((stage): [string, string][] => [
    ...(isGroup(stage) ? [[groupCompensationOf(stage), groupCompensationOf(stage)] as [string, string]] : []),
    ...stepsOfStage(stage)
      .filter(isCompensatable)
      .map((step): [string, string] => [step.compensation, compensationEntryOf(stage)]),
  ]);
  const definition: StateMachineDefinition = {
    Comment: `Saga ${saga.name}'s rollback, finished from the compensation named in $.resumeFrom, on the bookings of $.execution`,
    StartAt: RollbackState.ResumeFrom,
    States: {
      [RollbackState.ResumeFrom]: {
        Type: 'Choice',
        Choices: [
          // A path that the input lacks would fail the first compensation with States.Runtime, which nothing catches.
          { Or: rollbackInputPaths(saga).map((path) => ({ Variable: path, IsPresent: false })), Next: RollbackState.UnknownCompensation },
          ...resumable.map(([resumeFrom, entry]) => ({ Variable: RESUME_FROM_PATH, StringEquals: resumeFrom, Next: entry })),
        ],
        Default: RollbackState.UnknownCompensation,
      },
      ...Object.fromEntries(
        saga.steps.flatMap((_, index) => stageCompensationStates(saga, index, resources, plan, TerminalState.RolledBack)),
      ),
      // A saga whose first step is the pivot has nothing to compensate: its rollback machine only refuses its input.
      ...(resumable.length === 0
        ? {}
        : { [TerminalState.RolledBack]: { Type: 'Succeed', Comment: 'Every compensation owed completed: nothing is left booked.' } }),
      [RollbackState.UnknownCompensation]: {
        Type: 'Fail',
        Error: SagaOutcome.UnknownCompensation,
        Cause:
          `The input must hold ${rollbackInputPaths(saga).join(', ')}, and ${RESUME_FROM_PATH} must name one of ` +
          resumable.map(([resumeFrom]) => resumeFrom).join(', '),
      },
    },
  };
  assertValidDefinition(definition);
  return definition;
}

/** ARNs of the shape AWS gives, in a given or placeholder account: to look at, validate or run a definition without AWS. */
/**
 * The alias of each state machine through which executions start: it routes to the version published last, while
 * every execution keeps the version it started on (README, "Changing a deployed saga").
 */
export const LIVE_ALIAS = 'live';

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

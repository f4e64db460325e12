import { ALL_ERRORS, StepError } from './errors.ts';
import { allStatesOf, assertNever, type State, type StateGraph, type StateMachineDefinition } from './model.ts';
import {
  backoffSeconds,
  compensationRetryOf,
  DEFAULT_ALERT_RETRY,
  DEFAULT_TASK_TIMEOUT_SECONDS,
  forwardRetryOf,
  invalidErrorOf,
  isCompensatable,
  isCompensatedStage,
  isGroup,
  retryPolicyOf,
  retryStateOf,
  roleOf,
  roleOfStage,
  StepRole,
  stepsOf,
  stepsOfStage,
  totalBackoffSeconds,
  type RetryPolicy,
  type Saga,
  type SagaStep,
  type Stage,
} from './saga.ts';

/**
 * List prices assumed (AWS Step Functions, US East (N. Virginia), as published in 2026; free tiers ignored).
 * Lambda invocations, DynamoDB writes and SNS are billed apart and are not included.
 */
export const PRICES = {
  /** Standard workflows: per state transition ($0.025 per 1,000). */
  standardPerTransition: 0.000025,
  /** Express workflows: per execution ($1.00 per million). */
  expressPerRequest: 0.000001,
  /** Express workflows: per GB-second of duration, first tier. */
  expressPerGbSecond: 0.00001667,
  /** Express bills memory in 64 MB steps; a saga's state is far smaller, so it pays for the minimum. */
  expressMemoryGb: 64 / 1024,
  /** Express bills duration rounded up to the next 100 ms. */
  expressBillingIncrementMs: 100,
  /** CloudWatch Logs, per GB of vended logs (what a state machine's log delivery is) ingested, first tier. */
  logIngestionPerGb: 0.5,
  /**
   * One history event as a log record without execution data (id, type, details, previous_event_id,
   * event_timestamp, execution_arn, redrive_count: about 320 bytes of JSON), plus the 26 bytes CloudWatch Logs
   * counts per event. An estimate: a record's size varies with the names and ARNs in it.
   */
  logEventBytes: 350,
} as const;

/** What the stack logs of each state machine (`loggingConfiguration.level`): Express keeps no history of its own. */
export const LOG_LEVELS = { STANDARD: 'ERROR', EXPRESS: 'ALL' } as const;

/** History events that a log at level ERROR records: the failures, among them every failed attempt of a Task. */
export interface LogEvents {
  /** Every event: what level ALL logs. */
  readonly all: number;
  /** The failures (ExecutionFailed, LambdaFunctionFailed, TaskFailed, ParallelStateFailed, FailStateEntered): level ERROR. */
  readonly error: number;
}

const addEvents = (a: LogEvents, b: LogEvents): LogEvents => ({ all: a.all + b.all, error: a.error + b.error });

/** A way through a stretch of the execution that takes time one after the other: attempts of states, and pauses. */
export interface Stretch {
  readonly attempts: number;
  readonly waitSeconds: number;
}

/** One way through the state machine: the states it enters, and the retries on the way. */
export interface SagaPath {
  readonly scenario: string;
  /** Every state entered, those of Parallel branches included, which run at the same time. */
  readonly states: readonly string[];
  /** Retries of failing Tasks: each is one more billed transition on Standard. */
  readonly retries: number;
  /**
   * How long the execution runs, for Express: the longest of these stretches (one per way through the Parallel
   * states' branches; a single stretch without them). A Parallel state takes as long as its slowest branch.
   */
  readonly stretches: readonly Stretch[];
  /** The history events of the execution, which its log records at the stack's level. */
  readonly logEvents: LogEvents;
  /** A path that waits for a redrive (a retriable step stuck past the pivot): STANDARD only, EXPRESS refuses it. */
  readonly standardOnly?: true;
}

interface Fault {
  readonly state: string;
  readonly error: string;
}

const matches = (errors: readonly string[], error: string): boolean => errors.includes(error) || errors.includes(ALL_ERRORS);

/** What a graph does with faults: the states entered, the retries, the stretches of time, and the error it ends with. */
interface Walked {
  readonly states: string[];
  readonly retries: number;
  readonly stretches: Stretch[];
  readonly error: string | undefined;
  readonly logEvents: LogEvents;
}

/** One stretch after another: every way through the first, followed by every way through the second. */
const followedBy = (first: readonly Stretch[], second: readonly Stretch[]): Stretch[] =>
  first.flatMap((a) => second.map((b) => ({ attempts: a.attempts + b.attempts, waitSeconds: a.waitSeconds + b.waitSeconds })));

function walkGraph(graph: StateGraph, faults: readonly Fault[]): Walked {
  const states: string[] = [];
  let retries = 0;
  let stretches: Stretch[] = [{ attempts: 0, waitSeconds: 0 }];
  let error: string | undefined;
  let logEvents: LogEvents = { all: 0, error: 0 };
  const stateCount = allStatesOf(graph).length;
  for (let name: string | undefined = graph.StartAt; name !== undefined;) {
    if (states.length > stateCount) throw new Error(`the path from StartAt loops at "${name}"`);
    states.push(name);
    const state: State | undefined = graph.States[name];
    if (state === undefined) throw new Error(`the path reaches "${name}", which is not a state`);
    if (state.Type === 'Parallel') {
      // Every branch runs; the state fails with the first failing branch's error and lasts as long as its slowest.
      const branches = state.Branches.map((branch) => walkGraph(branch, faults));
      for (const branch of branches) {
        states.push(...branch.states);
        retries += branch.retries;
        logEvents = addEvents(logEvents, branch.logEvents);
      }
      stretches = followedBy(
        stretches,
        branches.flatMap((branch) => branch.stretches),
      );
      error = branches.find((branch) => branch.error !== undefined)?.error;
    } else {
      error = faults.find((fault) => fault.state === name)?.error;
      const retrier =
        state.Type === 'Task' && error !== undefined
          ? state.Retry?.find((candidate) => matches(candidate.ErrorEquals, error as string))
          : undefined;
      const policy = retrier && retryPolicyOf(retrier);
      let waitSeconds = 0;
      for (let attempt = 0; policy !== undefined && attempt < policy.maxAttempts; attempt += 1) {
        retries += 1;
        waitSeconds += backoffSeconds(policy, attempt) / (retrier?.JitterStrategy === 'FULL' ? 2 : 1);
      }
      const attempts = 1 + (policy?.maxAttempts ?? 0);
      stretches = followedBy(stretches, [{ attempts, waitSeconds }]);
      if (state.Type === 'Task') {
        // Each attempt: scheduled, started, and its end; every attempt of a failing Task fails.
        logEvents = addEvents(logEvents, { all: 3 * attempts, error: error === undefined ? 0 : attempts });
      }
    }
    const next = nextState(state, error);
    logEvents = addEvents(logEvents, stateEvents(state, error, next));
    if (next !== undefined) error = undefined;
    // A Fail state ends its graph with its own error.
    if (state.Type === 'Fail') error = state.Error;
    name = next;
  }
  return { states, retries, stretches, error, logEvents };
}

/** A state's own events besides its Task's calls: its entry, a Parallel state's start and end, its exit if it goes on. */
function stateEvents(state: State, error: string | undefined, next: string | undefined): LogEvents {
  const exited = state.Type !== 'Fail' && (error === undefined || next !== undefined) ? 1 : 0;
  switch (state.Type) {
    case 'Parallel':
      return { all: 3 + exited, error: error === undefined ? 0 : 1 };
    case 'Fail':
      return { all: 1, error: 1 };
    case 'Task':
    case 'Choice':
    case 'Succeed':
      return { all: 1 + exited, error: 0 };
    default:
      return assertNever(state);
  }
}

/**
 * Follows the definition from StartAt. A faulty state fails every attempt with its error: it uses up the first
 * retrier that matches, then takes the first catcher that matches. A Parallel state runs every branch.
 */
export function walk(definition: StateMachineDefinition, faults: readonly Fault[]): Omit<SagaPath, 'scenario'> {
  const { states, retries, stretches, error, logEvents } = walkGraph(definition, faults);
  // The execution's start and its end; a failed end is a failure.
  return { states, retries, stretches, logEvents: addEvents(logEvents, { all: 2, error: error === undefined ? 0 : 1 }) };
}

function nextState(state: State, error: string | undefined): string | undefined {
  switch (state.Type) {
    case 'Task':
    case 'Parallel':
      if (error === undefined) return state.Next;
      return (state.Catch ?? []).find((catcher) => matches(catcher.ErrorEquals, error))?.Next;
    case 'Choice':
      // A path is priced from its faults alone, without an input to choose by.
      throw new Error(`cannot price a path through Choice state ${JSON.stringify(state)}: it depends on the input`);
    case 'Fail':
    case 'Succeed':
      return undefined;
    default:
      return assertNever(state);
  }
}

const businessFailure = (state: string): Fault => ({ state, error: StepError.BookingConflict });

/**
 * A retriable step that keeps failing: its retries of every error, its alert, its retry, and the stop for a redrive;
 * then (for a step alone, not in a group) the redrive, which reruns that retry and goes on to the end.
 */
function forwardStuckPaths(definition: StateMachineDefinition, stage: Stage, index: number): SagaPath[] {
  return stepsOfStage(stage).flatMap((step) => {
    const where = `step ${index + 1}${isGroup(stage) ? `, group ${stage.name}` : ''}`;
    return [
      {
        scenario: `${step.action} keeps failing (${where}, past the pivot): retry, alert, stop for redrive`,
        ...walk(definition, [businessFailure(step.action), businessFailure(retryStateOf(step))]),
        standardOnly: true as const,
      },
      ...(isGroup(stage)
        ? []
        : [
            {
              scenario: `... then its redrive: ${retryStateOf(step)} succeeds, on to the end`,
              ...walk({ ...definition, StartAt: retryStateOf(step) }, []),
              standardOnly: true as const,
            },
          ]),
    ];
  });
}

/**
 * The paths worth pricing: success, a rollback from each step up to the pivot, each retriable step stuck past it and
 * its redrive, invalid input, a compensation that gives up.
 */
export function sagaPaths(saga: Saga, definition: StateMachineDefinition): SagaPath[] {
  // The step whose failure rolls back the most (the pivot, or else the last), and the last compensation it owes.
  const rollingBack = stepsOf(saga).filter((step) => roleOf(step) !== StepRole.Retriable);
  const failing = rollingBack.at(-1) as SagaStep;
  const stuck = rollingBack.filter(isCompensatable).at(-1);
  return [
    { scenario: 'all steps succeed', ...walk(definition, []) },
    ...saga.steps.flatMap((stage, index) =>
      roleOfStage(stage) === StepRole.Retriable
        ? forwardStuckPaths(definition, stage, index)
        : stepsOfStage(stage).map((step) => ({
            scenario: `${step.action} fails (step ${index + 1}${isGroup(stage) ? `, group ${stage.name}` : ''}): roll back`,
            ...walk(definition, [businessFailure(step.action)]),
          })),
    ),
    {
      scenario: `invalid ${saga.noun.toLowerCase()}`,
      ...walk(
        definition,
        stepsOfStage(saga.steps[0] as Stage).map((step) => ({ state: step.action, error: invalidErrorOf(saga) })),
      ),
    },
    ...(stuck === undefined
      ? []
      : [
          {
            scenario: `${failing.action} fails and ${stuck.compensation} stays stuck: alert, stop for redrive`,
            ...walk(definition, [
              businessFailure(failing.action),
              businessFailure(stuck.compensation),
              businessFailure(retryStateOf(stuck)),
            ]),
          },
        ]),
  ];
}

export interface PathCost extends SagaPath {
  /** Billed Standard transitions: one per state entered and one per retry. */
  readonly transitions: number;
  readonly standardPerMillion: number;
  readonly expressPerMillion: number;
  /** Log ingestion at each type's level (ERROR for Standard, ALL for Express), per million executions. */
  readonly standardLogsPerMillion: number;
  readonly expressLogsPerMillion: number;
}

/** What logging `events` history events costs per million executions. */
const logsPerMillion = (events: number): number => ((events * PRICES.logEventBytes) / 1e9) * PRICES.logIngestionPerGb * 1e6;

/** Prices a path per million executions, assuming each attempt of a state takes `stateMs` on Express. */
export function priceOf(path: SagaPath, stateMs: number): PathCost {
  const transitions = path.states.length + path.retries;
  const durationMs = Math.max(...path.stretches.map((stretch) => stretch.attempts * stateMs + stretch.waitSeconds * 1000));
  const billedMs = Math.ceil(durationMs / PRICES.expressBillingIncrementMs) * PRICES.expressBillingIncrementMs;
  const expressPerExecution = PRICES.expressPerRequest + (billedMs / 1000) * PRICES.expressMemoryGb * PRICES.expressPerGbSecond;
  return {
    ...path,
    transitions,
    standardPerMillion: transitions * PRICES.standardPerTransition * 1e6,
    expressPerMillion: expressPerExecution * 1e6,
    standardLogsPerMillion: logsPerMillion(path.logEvents.error),
    expressLogsPerMillion: logsPerMillion(path.logEvents.all),
  };
}

/** Express workflows stop any execution after 5 minutes. */
export const EXPRESS_MAX_SECONDS = 300;

/** A Task's every attempt failing after `attemptSeconds`, with the longest pauses between them (no jitter). */
function exhaustedSeconds(policy: RetryPolicy, attemptSeconds: number): number {
  return (policy.maxAttempts + 1) * attemptSeconds + totalBackoffSeconds(policy);
}

/**
 * An upper bound on how long one execution of the saga runs, in seconds, when each attempt of a function takes
 * `attemptSeconds` at most (its Task's timeout caps it): every action uses up its retries, every compensation too,
 * and the first one's alert and hand-off pause as long as their retries allow (publishing and starting an execution
 * themselves take no time worth counting).
 */
export function worstCaseSeconds(saga: Saga, attemptSeconds: number): number {
  const attempt = (step: SagaStep): number => Math.min(step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS, attemptSeconds);
  // A group's actions run at once, and so do its compensations: each takes as long as its slowest.
  const slowest = (stage: Stage, seconds: (step: SagaStep) => number): number => Math.max(...stepsOfStage(stage).map(seconds));
  const stages = saga.steps.reduce(
    (sum, stage) =>
      sum +
      slowest(stage, (step) => exhaustedSeconds(forwardRetryOf(step), attempt(step))) +
      (isCompensatedStage(stage) ? slowest(stage, (step) => exhaustedSeconds(compensationRetryOf(saga), attempt(step))) : 0),
    0,
  );
  return stages + 2 * exhaustedSeconds(DEFAULT_ALERT_RETRY, 0);
}

/** What an EXPRESS column says of a path that only STANDARD can take (a redrive). */
const STANDARD_ONLY = 'n/a (redrive)';

const dollars = (amount: number): string => `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The paths' prices as a Markdown table, columns aligned: what `saga cost` prints and the README embeds. */
export function costTable(saga: Saga, definition: StateMachineDefinition, stateMs: number): string[] {
  const rows = sagaPaths(saga, definition).map((path) => priceOf(path, stateMs));
  const header = [
    'path',
    'transitions',
    'Standard per 1M',
    'Express per 1M',
    `Standard logs (${LOG_LEVELS.STANDARD})`,
    `Express logs (${LOG_LEVELS.EXPRESS})`,
  ];
  const table = [
    header,
    header.map((cell) => '-'.repeat(cell.length)),
    ...rows.map((row) => [
      row.scenario,
      String(row.transitions),
      dollars(row.standardPerMillion),
      row.standardOnly ? STANDARD_ONLY : dollars(row.expressPerMillion),
      dollars(row.standardLogsPerMillion),
      row.standardOnly ? STANDARD_ONLY : dollars(row.expressLogsPerMillion),
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...table.map((cells) => (cells[column] as string).length)));
  return table.map((cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`);
}

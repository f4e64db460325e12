import { ALL_ERRORS, StepError } from './errors.ts';
import { assertNever, type State, type StateMachineDefinition } from './model.ts';
import {
  actionRetryOf,
  backoffSeconds,
  compensationRetryOf,
  DEFAULT_ALERT_RETRY,
  DEFAULT_TASK_TIMEOUT_SECONDS,
  retryStateOf,
  type RetryPolicy,
  type Saga,
  type SagaStep,
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
} as const;

/** One way through the state machine: the states it enters, and the retries on the way. */
export interface SagaPath {
  readonly scenario: string;
  readonly states: readonly string[];
  /** Retries of failing Tasks: each is one more billed transition on Standard. */
  readonly retries: number;
  /** Expected time spent waiting between retries (full jitter: half of each capped interval, on average). */
  readonly waitSeconds: number;
}

interface Fault {
  readonly state: string;
  readonly error: string;
}

const matches = (errors: readonly string[], error: string): boolean => errors.includes(error) || errors.includes(ALL_ERRORS);

/**
 * Follows the definition from StartAt. A faulty state fails every attempt with its error: it uses up the first
 * retrier that matches, then takes the first catcher that matches.
 */
export function walk(definition: StateMachineDefinition, faults: readonly Fault[]): Omit<SagaPath, 'scenario'> {
  const states: string[] = [];
  let retries = 0;
  let waitSeconds = 0;
  for (let name: string | undefined = definition.StartAt; name !== undefined;) {
    if (states.length > Object.keys(definition.States).length) throw new Error(`the path from StartAt loops at "${name}"`);
    states.push(name);
    const state: State | undefined = definition.States[name];
    if (state === undefined) throw new Error(`the path reaches "${name}", which is not a state`);
    const error = faults.find((fault) => fault.state === name)?.error;
    const retrier =
      state.Type === 'Task' && error !== undefined ? state.Retry?.find((candidate) => matches(candidate.ErrorEquals, error)) : undefined;
    for (let attempt = 0; retrier !== undefined && attempt < retrier.MaxAttempts; attempt += 1) {
      retries += 1;
      const policy = {
        intervalSeconds: retrier.IntervalSeconds,
        backoffRate: retrier.BackoffRate,
        maxDelaySeconds: retrier.MaxDelaySeconds,
        maxAttempts: retrier.MaxAttempts,
      };
      waitSeconds += backoffSeconds(policy, attempt) / (retrier.JitterStrategy === 'FULL' ? 2 : 1);
    }
    name = nextState(state, error);
  }
  return { states, retries, waitSeconds };
}

function nextState(state: State, error: string | undefined): string | undefined {
  switch (state.Type) {
    case 'Task':
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

/** The paths worth pricing: success, a rollback from each step, invalid input, a compensation that gives up. */
export function sagaPaths(saga: Saga, definition: StateMachineDefinition): SagaPath[] {
  const businessFailure = (state: string): Fault => ({ state, error: StepError.BookingConflict });
  // A definition was rendered from this saga, so it has at least one step.
  const first = saga.steps[0] as SagaStep;
  const last = saga.steps.at(-1) as SagaStep;
  return [
    { scenario: 'all steps succeed', ...walk(definition, []) },
    ...saga.steps.map((step, index) => ({
      scenario: `${step.action} fails (step ${index + 1}): roll back`,
      ...walk(definition, [businessFailure(step.action)]),
    })),
    { scenario: 'invalid trip', ...walk(definition, [{ state: first.action, error: StepError.TripInvalid }]) },
    {
      scenario: `${last.action} fails and ${last.compensation} stays stuck: alert, stop for redrive`,
      ...walk(definition, [businessFailure(last.action), businessFailure(last.compensation), businessFailure(retryStateOf(last))]),
    },
  ];
}

export interface PathCost extends SagaPath {
  /** Billed Standard transitions: one per state entered and one per retry. */
  readonly transitions: number;
  readonly standardPerMillion: number;
  readonly expressPerMillion: number;
}

/** Prices a path per million executions, assuming each attempt of a state takes `stateMs` on Express. */
export function priceOf(path: SagaPath, stateMs: number): PathCost {
  const transitions = path.states.length + path.retries;
  const durationMs = transitions * stateMs + path.waitSeconds * 1000;
  const billedMs = Math.ceil(durationMs / PRICES.expressBillingIncrementMs) * PRICES.expressBillingIncrementMs;
  const expressPerExecution = PRICES.expressPerRequest + (billedMs / 1000) * PRICES.expressMemoryGb * PRICES.expressPerGbSecond;
  return {
    ...path,
    transitions,
    standardPerMillion: transitions * PRICES.standardPerTransition * 1e6,
    expressPerMillion: expressPerExecution * 1e6,
  };
}

/** Express workflows stop any execution after 5 minutes. */
export const EXPRESS_MAX_SECONDS = 300;

/** A Task's every attempt failing after `attemptSeconds`, with the longest pauses between them (no jitter). */
function exhaustedSeconds(policy: RetryPolicy, attemptSeconds: number): number {
  const pauses = Array.from({ length: policy.maxAttempts }, (_, attempt) => backoffSeconds(policy, attempt));
  return (policy.maxAttempts + 1) * attemptSeconds + pauses.reduce((sum, pause) => sum + pause, 0);
}

/**
 * An upper bound on how long one execution of the saga runs, in seconds, when each attempt of a function takes
 * `attemptSeconds` at most (its Task's timeout caps it): every action uses up its retries, every compensation too,
 * and the first one's alert and hand-off pause as long as their retries allow (publishing and starting an execution
 * themselves take no time worth counting).
 */
export function worstCaseSeconds(saga: Saga, attemptSeconds: number): number {
  const attempt = (step: SagaStep): number => Math.min(step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS, attemptSeconds);
  const steps = saga.steps.reduce(
    (sum, step) => sum + exhaustedSeconds(actionRetryOf(step), attempt(step)) + exhaustedSeconds(compensationRetryOf(saga), attempt(step)),
    0,
  );
  return steps + 2 * exhaustedSeconds(DEFAULT_ALERT_RETRY, 0);
}

const dollars = (amount: number): string => `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The paths' prices as a Markdown table, columns aligned: what `saga cost` prints and the README embeds. */
export function costTable(saga: Saga, definition: StateMachineDefinition, stateMs: number): string[] {
  const rows = sagaPaths(saga, definition).map((path) => priceOf(path, stateMs));
  const header = ['path', 'transitions', 'Standard per 1M', 'Express per 1M'];
  const table = [
    header,
    header.map((cell) => '-'.repeat(cell.length)),
    ...rows.map((row) => [row.scenario, String(row.transitions), dollars(row.standardPerMillion), dollars(row.expressPerMillion)]),
  ];
  const widths = header.map((_, column) => Math.max(...table.map((cells) => (cells[column] as string).length)));
  return table.map((cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`);
}

import { ALL_ERRORS, StepError } from './errors.ts';
import { assertNever, type State, type StateMachineDefinition } from './model.ts';
import type { Saga, SagaStep } from './saga.ts';

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

/** One way through the state machine, as the states it enters. */
export interface SagaPath {
  readonly scenario: string;
  readonly states: readonly string[];
}

interface Fault {
  readonly state: string;
  readonly error: string;
}

/** Follows the definition from StartAt, taking the catcher that matches at each faulty state. */
export function walk(definition: StateMachineDefinition, faults: readonly Fault[]): string[] {
  const entered: string[] = [];
  for (let name: string | undefined = definition.StartAt; name !== undefined; ) {
    if (entered.length > Object.keys(definition.States).length) throw new Error(`the path from StartAt loops at "${name}"`);
    entered.push(name);
    const state: State | undefined = definition.States[name];
    if (state === undefined) throw new Error(`the path reaches "${name}", which is not a state`);
    name = nextState(state, faults.find((fault) => fault.state === name)?.error);
  }
  return entered;
}

function nextState(state: State, error: string | undefined): string | undefined {
  switch (state.Type) {
    case 'Task':
      if (error === undefined) return state.Next;
      return (state.Catch ?? []).find(
        (catcher) => catcher.ErrorEquals.includes(error) || catcher.ErrorEquals.includes(ALL_ERRORS),
      )?.Next;
    case 'Fail':
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
    { scenario: 'all steps succeed', states: walk(definition, []) },
    ...saga.steps.map((step, index) => ({
      scenario: `${step.action} fails (step ${index + 1}): roll back`,
      states: walk(definition, [businessFailure(step.action)]),
    })),
    { scenario: 'invalid trip', states: walk(definition, [{ state: first.action, error: StepError.TripInvalid }]) },
    {
      scenario: `${last.action} fails and ${last.compensation} gives up: alert`,
      states: walk(definition, [businessFailure(last.action), businessFailure(last.compensation)]),
    },
  ];
}

export interface PathCost extends SagaPath {
  /** Billed Standard transitions: one per state entered (retries would add one each). */
  readonly transitions: number;
  readonly standardPerMillion: number;
  readonly expressPerMillion: number;
}

/** Prices a path per million executions, assuming each state takes `stateMs` on Express. */
export function priceOf(path: SagaPath, stateMs: number): PathCost {
  const transitions = path.states.length;
  const billedMs = Math.ceil((transitions * stateMs) / PRICES.expressBillingIncrementMs) * PRICES.expressBillingIncrementMs;
  const expressPerExecution = PRICES.expressPerRequest + (billedMs / 1000) * PRICES.expressMemoryGb * PRICES.expressPerGbSecond;
  return {
    ...path,
    transitions,
    standardPerMillion: transitions * PRICES.standardPerTransition * 1e6,
    expressPerMillion: expressPerExecution * 1e6,
  };
}

import { walk } from '../asl/cost.ts';
import { StepError } from '../asl/errors.ts';
import { placeholderResources, renderSaga } from '../asl/render.ts';
import {
  compensatableStepsOf,
  forwardRetryOf,
  invalidErrorOf,
  retriableStepsOf,
  retryStateOf,
  rollbackStepsOf,
  stepsOfStage,
  type Saga,
  type SagaStep,
  type Stage,
} from '../asl/saga.ts';
import type { Outcome } from '../local/execution.ts';

// What `saga verify` runs, derived from the step list alone: each scenario, what it asks of the input, and what
// the saga promises of it. Pure: the suite (verify/suite.ts) runs them against a target.

/** Attempts of a compensation that fail before it recovers, when its retries allow as many. */
export const TRANSIENT_FAILURES = 2;

/** How a scenario drives executions. */
export type ScenarioKind =
  /** One execution of one input. */
  | 'once'
  /** One execution that stops with a stuck compensation (or, past the pivot, a stuck step), then is redriven. */
  | 'redrive'
  /** StartExecution sent twice with one name and input: one execution. */
  | 'repeated start'
  /** A second execution (another name) of an input that the first holds: it rolls back, undoing nothing of the first's. */
  | 'two executions';

export interface Scenario {
  readonly title: string;
  /** Part of the scenario's key: letters, digits and dashes. */
  readonly slug: string;
  readonly kind: ScenarioKind;
  /** The input's `fail` list; a scenario with one needs fault injection. */
  readonly fail: readonly string[];
  /** The input breaks its schema (an unknown field): rejected before anything is written. */
  readonly invalid?: true;
  /** The outcome of each execution, in order: of two executions, or of one before and after its redrive. */
  readonly outcomes: readonly Outcome[];
  /** The states each execution enters, over every run; those of a group's branches in any order. */
  readonly paths: readonly (readonly string[])[];
  /** A compensation (or a retriable step's action) that must be seen failing and then recovering: its attempts. */
  readonly recovers?: { readonly state: string; readonly attempts: number };
}

/** The fault-injection fault that no retrier of an action matches: the action's step is compensated. */
const injected = (state: string) => ({ state, error: StepError.InjectedFault });

/** The states of the saga's definition outside any group's branches: the ones whose order a path must keep. */
export const topLevelStatesOf = (saga: Saga): ReadonlySet<string> =>
  new Set(Object.keys(renderSaga(saga, placeholderResources(saga)).States));

/**
 * Whether a path taken is the expected one: the same states, and those outside a group's branches (which run at
 * once, their events interleaved) first entered in the same order. A state entered again (the one a redrive reruns)
 * counts once.
 */
export function samePath(topLevel: ReadonlySet<string>, seen: readonly string[], expected: readonly string[]): boolean {
  const firsts = (path: readonly string[]) => [...new Set(path.filter((state) => topLevel.has(state)))].join();
  const all = (path: readonly string[]) => [...new Set(path)].sort().join();
  return firsts(seen) === firsts(expected) && all(seen) === all(expected);
}

/**
 * Every scenario of the suite, from the step list: the happy path; each action up to the pivot failing; each
 * compensation failing `transientFailures` times and recovering (none when the compensations are not retried); a
 * stuck compensation, alerted, then redriven; past the pivot, each retriable step failing `transientFailures` times and
 * going on, and the last one stuck, alerted, then redriven forward to success; an invalid input; a repeated start; a
 * second execution of an input the first holds.
 */
export function scenariosOf(saga: Saga, transientFailures = TRANSIENT_FAILURES): Scenario[] {
  const definition = renderSaga(saga, placeholderResources(saga));
  const topLevel = new Set(Object.keys(definition.States));
  const path = (faults: readonly { state: string; error: string }[], from = definition.StartAt) =>
    walk({ ...definition, StartAt: from }, faults).states;
  // The steps whose failure rolls back (up to the pivot), and those of them with a compensation.
  const steps = rollbackStepsOf(saga);
  const compensatable = compensatableStepsOf(saga);
  const first = stepsOfStage(saga.steps[0] as Stage);
  const last = steps.at(-1) as SagaStep;
  // The compensation before the last: the rollback gets stuck midway, and a redrive has earlier compensations to finish.
  const stuck = compensatable.at(-2) ?? compensatable.at(-1);
  const happy = path([]);
  const noun = saga.noun.toLowerCase();
  const lastFails = path([injected(last.action)]);
  const stopped = stuck && path([injected(last.action), injected(stuck.compensation), injected(retryStateOf(stuck))]);
  // The redrive reruns the state where the execution stopped (a group's compensations, or a retry), and goes on.
  const redriven =
    stopped &&
    path(
      [],
      stopped.findLast((state) => topLevel.has(state)),
    );
  // Past the pivot: the last retriable step (the most steps done before it) stuck, then redriven on to the end.
  const forward = retriableStepsOf(saga);
  const stuckForward = forward.at(-1);
  const stoppedForward = stuckForward && path([injected(stuckForward.action), injected(retryStateOf(stuckForward))]);
  const redrivenForward =
    stoppedForward &&
    path(
      [],
      stoppedForward.findLast((state) => topLevel.has(state)),
    );
  return [
    { title: 'happy path', slug: 'happy', kind: 'once', fail: [], outcomes: ['succeeded'], paths: [happy] },
    ...steps.map((step): Scenario => ({
      title: `${step.action} fails`,
      slug: `${step.action}-fails`,
      kind: 'once',
      fail: [step.action],
      outcomes: ['rolled back'],
      paths: [path([injected(step.action)])],
    })),
    ...(transientFailures === 0 ? [] : compensatable).map((step): Scenario => ({
      title: `${step.compensation} fails ${transientFailures}× and recovers`,
      slug: `${step.compensation}-recovers`,
      kind: 'once',
      fail: [last.action, `${step.compensation}=${transientFailures}`],
      outcomes: ['rolled back'],
      paths: [lastFails],
      recovers: { state: step.compensation, attempts: transientFailures + 1 },
    })),
    ...(stuck === undefined || stopped === undefined || redriven === undefined
      ? []
      : [
          {
            title: `${stuck.compensation} stuck: alert, then redrive`,
            slug: `${stuck.compensation}-redriven`,
            kind: 'redrive',
            fail: [last.action, `${stuck.compensation}=until-redrive`],
            outcomes: ['compensation not finished', 'rolled back'],
            paths: [[...stopped, ...redriven]],
          } satisfies Scenario,
        ]),
    // Only where its own retry allows as many failures: past the pivot a step is retried, never compensated.
    ...forward
      .filter((step) => transientFailures > 0 && forwardRetryOf(step).maxAttempts >= transientFailures)
      .map((step): Scenario => ({
        title: `${step.action} fails ${transientFailures}× and goes on`,
        slug: `${step.action}-recovers`,
        kind: 'once',
        fail: [`${step.action}=${transientFailures}`],
        outcomes: ['succeeded'],
        paths: [happy],
        recovers: { state: step.action, attempts: transientFailures + 1 },
      })),
    ...(stuckForward === undefined || stoppedForward === undefined || redrivenForward === undefined
      ? []
      : [
          {
            title: `${stuckForward.action} stuck past the pivot: alert, then redrive forward`,
            slug: `${stuckForward.action}-redriven`,
            kind: 'redrive',
            fail: [`${stuckForward.action}=until-redrive`],
            outcomes: ['step not finished', 'succeeded'],
            paths: [[...stoppedForward, ...redrivenForward]],
          } satisfies Scenario,
        ]),
    {
      title: `invalid ${noun}`,
      slug: 'invalid',
      kind: 'once',
      fail: [],
      invalid: true,
      outcomes: ['bad input'],
      paths: [path(first.map((step) => ({ state: step.action, error: invalidErrorOf(saga) })))],
    },
    { title: `repeated start of one ${noun}`, slug: 'repeated', kind: 'repeated start', fail: [], outcomes: ['succeeded'], paths: [happy] },
    {
      title: `two executions of one ${noun}`,
      slug: 'two',
      kind: 'two executions',
      fail: [],
      outcomes: ['succeeded', 'rolled back'],
      paths: [happy, path(first.map((step) => ({ state: step.action, error: StepError.BookingConflict })))],
    },
  ];
}

/** How many executions the suite starts: the bound on what it runs against a stack. */
export const executionsOf = (scenarios: readonly Scenario[]): number =>
  scenarios.reduce((sum, scenario) => sum + (scenario.kind === 'two executions' ? 2 : 1), 0);

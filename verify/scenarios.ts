import { walk } from '../asl/cost.ts';
import { StepError } from '../asl/errors.ts';
import { placeholderResources, renderSaga } from '../asl/render.ts';
import { retryStateOf, type Saga, type SagaStep } from '../asl/saga.ts';
import type { Outcome } from '../local/execution.ts';

// What `saga verify` runs, derived from the step list alone: each scenario, what it asks of the trip, and what
// the saga promises of it. Pure: the suite (verify/suite.ts) runs them against a target.

/** Attempts of a compensation that fail before it recovers, when its retries allow as many. */
export const TRANSIENT_FAILURES = 2;

/** How a scenario drives executions. */
export type ScenarioKind =
  /** One execution of one trip. */
  | 'once'
  /** One execution that stops with a stuck compensation, then is redriven. */
  | 'redrive'
  /** StartExecution sent twice with one name and input: one execution. */
  | 'repeated start'
  /** Two executions (two names) of one trip: one holds the bookings, the other rolls back. */
  | 'two executions';

export interface Scenario {
  readonly title: string;
  /** Part of the scenario's trip id: letters, digits and dashes. */
  readonly slug: string;
  readonly kind: ScenarioKind;
  /** The trip's `fail` list; a scenario with one needs fault injection. */
  readonly fail: readonly string[];
  /** The trip breaks its schema (an unknown field): rejected before anything is written. */
  readonly invalid?: true;
  /** The outcome of each execution, in order (both of two executions, in either order). */
  readonly outcomes: readonly Outcome[];
  /** The states entered, over every run, of each execution. */
  readonly paths: readonly (readonly string[])[];
  /** A compensation that must be seen failing and then recovering: its attempts. */
  readonly recovers?: { readonly state: string; readonly attempts: number };
}

/** The fault-injection fault that no retrier of an action matches: the action's step is compensated. */
const injected = (state: string) => ({ state, error: StepError.InjectedFault });

/**
 * Every scenario of the suite, from the step list: the happy path; each action failing; each compensation failing
 * `transientFailures` times and recovering (none when the compensations are not retried); a stuck compensation,
 * alerted, then redriven; an invalid trip; a repeated start; two executions of one trip.
 */
export function scenariosOf(saga: Saga, transientFailures = TRANSIENT_FAILURES): Scenario[] {
  const definition = renderSaga(saga, placeholderResources(saga));
  const path = (faults: readonly { state: string; error: string }[], from = definition.StartAt) =>
    walk({ ...definition, StartAt: from }, faults).states;
  const first = saga.steps[0] as SagaStep;
  const last = saga.steps.at(-1) as SagaStep;
  // The step before the last: the rollback gets stuck midway, and a redrive has earlier compensations to finish.
  const stuck = saga.steps.at(-2) ?? first;
  const happy = path([]);
  const lastFails = path([injected(last.action)]);
  const stuckPath = path([injected(last.action), injected(stuck.compensation), injected(retryStateOf(stuck))]);
  return [
    { title: 'happy path', slug: 'happy', kind: 'once', fail: [], outcomes: ['succeeded'], paths: [happy] },
    ...saga.steps.map((step): Scenario => ({
      title: `${step.action} fails`,
      slug: `${step.action}-fails`,
      kind: 'once',
      fail: [step.action],
      outcomes: ['rolled back'],
      paths: [path([injected(step.action)])],
    })),
    ...(transientFailures === 0 ? [] : saga.steps).map((step): Scenario => ({
      title: `${step.compensation} fails ${transientFailures}× and recovers`,
      slug: `${step.compensation}-recovers`,
      kind: 'once',
      fail: [last.action, `${step.compensation}=${transientFailures}`],
      outcomes: ['rolled back'],
      paths: [lastFails],
      recovers: { state: step.compensation, attempts: transientFailures + 1 },
    })),
    {
      title: `${stuck.compensation} stuck: alert, then redrive`,
      slug: `${stuck.compensation}-redriven`,
      kind: 'redrive',
      fail: [last.action, `${stuck.compensation}=until-redrive`],
      outcomes: ['compensation not finished', 'rolled back'],
      // The redrive reruns the state where the execution stopped, and goes on from there.
      paths: [[...stuckPath, ...path([], retryStateOf(stuck)).slice(1)]],
    },
    {
      title: 'invalid trip',
      slug: 'invalid',
      kind: 'once',
      fail: [],
      invalid: true,
      outcomes: ['bad input'],
      paths: [path([{ state: first.action, error: StepError.TripInvalid }])],
    },
    { title: 'repeated start of one trip', slug: 'repeated', kind: 'repeated start', fail: [], outcomes: ['succeeded'], paths: [happy] },
    {
      title: 'two executions of one trip',
      slug: 'two',
      kind: 'two executions',
      fail: [],
      outcomes: ['succeeded', 'rolled back'],
      paths: [happy, path([{ state: first.action, error: StepError.BookingConflict }])],
    },
  ];
}

/** How many executions the suite starts: the bound on what it runs against a stack. */
export const executionsOf = (scenarios: readonly Scenario[]): number =>
  scenarios.reduce((sum, scenario) => sum + (scenario.kind === 'two executions' ? 2 : 1), 0);

import {
  compensationRetryOf,
  forwardRetryOf,
  isCompensatable,
  isGroup,
  roleOf,
  roleOfStage,
  rollbackStepsOf,
  StepRole,
  stepsOf,
  type Saga,
  type SagaStep,
} from '../../asl/saga.ts';
import type { FaultSpec } from '../../local/faults.ts';
import type { Outcome } from '../../local/runtime.ts';

/** One cell of the failure matrix: what goes wrong, and how the execution must end. */
export interface Scenario {
  readonly name: string;
  readonly faults: Readonly<Record<string, FaultSpec>>;
  readonly deliverTwice: readonly string[];
  readonly expected: Outcome;
  /** An action delivered again after the execution ended (a late booking), which must be refused. */
  readonly lateDelivery?: string;
}

/** How long a slow sibling's call waits before its function runs: long enough to outlast its group's failure. */
export const SLOW_MS = 150;

/**
 * The failure matrix of a step list: every action failing; every compensation failing transiently as often as it
 * may retry, and permanently; every action and compensation delivered twice; every booking landing after its
 * compensation; and in a group, every action failing while its siblings fail too, or are slow (their writes land
 * after the group has failed). Past the pivot, every retriable action failing as often as its own retry allows (it
 * succeeds), and for good (it alerts, stops, and a redrive finishes it). (Invalid trips are the same for any step
 * list and tested apart.)
 */
export function failureMatrix(saga: Saga): Scenario[] {
  // The failure that rolls back the most: the pivot's, or else the last step's.
  const last = rollbackStepsOf(saga).at(-1)?.action as string;
  const allowed = compensationRetryOf(saga).maxAttempts;
  const always: FaultSpec = { times: 'always' };
  return [
    { name: 'nothing fails', faults: {}, deliverTwice: [], expected: 'succeeded' },
    ...saga.steps.filter(isGroup).flatMap((group) => {
      const stuck: Outcome = roleOfStage(group) === StepRole.Retriable ? 'step not finished' : 'rolled back';
      return group.parallel.flatMap((step): Scenario[] => {
        const siblings = group.parallel.filter((sibling) => sibling !== step);
        return [
          {
            name: `${step.action} fails while ${siblings.map((sibling) => sibling.action).join(', ')} fail too`,
            faults: Object.fromEntries(group.parallel.map((failing) => [failing.action, always])),
            deliverTwice: [],
            expected: stuck,
          },
          ...siblings.map((sibling): Scenario => ({
            name: `${step.action} fails while ${sibling.action} is slow`,
            faults: { [step.action]: always, [sibling.action]: { delayMs: SLOW_MS } },
            deliverTwice: [],
            expected: stuck,
          })),
        ];
      });
    }),
    ...stepsOf(saga).flatMap((step): Scenario[] => [
      ...actionScenarios(step),
      { name: `${step.action} delivered twice`, faults: {}, deliverTwice: [step.action], expected: 'succeeded' },
      ...(isCompensatable(step)
        ? [
            {
              name: `${step.compensation} fails ${allowed} times, then succeeds`,
              faults: { [last]: always, [step.compensation]: { times: allowed } },
              deliverTwice: [],
              expected: 'rolled back',
            } satisfies Scenario,
            {
              name: `${step.compensation} never succeeds`,
              faults: { [last]: always, [step.compensation]: always },
              deliverTwice: [],
              expected: 'compensation not finished',
            } satisfies Scenario,
            {
              name: `${step.compensation} delivered twice`,
              faults: { [last]: always },
              deliverTwice: [step.compensation],
              expected: 'rolled back',
            } satisfies Scenario,
            {
              name: `${step.action} lands after its compensation`,
              faults: { [last]: always },
              deliverTwice: [],
              expected: 'rolled back',
              lateDelivery: step.action,
            } satisfies Scenario,
          ]
        : []),
    ]),
  ];
}

/**
 * A step's action failing: before and at the pivot, once for good (a rollback) and transiently (retried); past it,
 * as often as its forward retry allows (it succeeds), and for good (it alerts and stops, to be redriven).
 */
function actionScenarios(step: SagaStep): Scenario[] {
  if (roleOf(step) !== StepRole.Retriable)
    return [
      { name: `${step.action} fails`, faults: { [step.action]: { times: 'always' } }, deliverTwice: [], expected: 'rolled back' },
      {
        name: `${step.action} fails transiently, then succeeds`,
        faults: { [step.action]: { times: 2 } },
        deliverTwice: [],
        expected: 'succeeded',
      },
    ];
  const retries = forwardRetryOf(step).maxAttempts;
  return [
    {
      name: `${step.action} fails ${retries} times (any error), then succeeds: retried forward`,
      faults: { [step.action]: { times: retries } },
      deliverTwice: [],
      expected: 'succeeded',
    },
    {
      name: `${step.action} never succeeds: alert, stop past the pivot, redrive forward`,
      faults: { [step.action]: { times: 'always' } },
      deliverTwice: [],
      expected: 'step not finished',
    },
    {
      name: `${step.action} fails until redriven`,
      faults: { [step.action]: { times: 'until-redrive' } },
      deliverTwice: [],
      expected: 'step not finished',
    },
  ];
}

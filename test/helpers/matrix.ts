import { compensationRetryOf, isGroup, stepsOf, type Saga } from '../../asl/saga.ts';
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
 * after the group has failed). (Invalid trips are the same for any step list and tested apart.)
 */
export function failureMatrix(saga: Saga): Scenario[] {
  const last = stepsOf(saga).at(-1)?.action as string;
  const allowed = compensationRetryOf(saga).maxAttempts;
  const always: FaultSpec = { times: 'always' };
  return [
    { name: 'nothing fails', faults: {}, deliverTwice: [], expected: 'succeeded' },
    ...saga.steps.filter(isGroup).flatMap((group) =>
      group.parallel.flatMap((step): Scenario[] => {
        const siblings = group.parallel.filter((sibling) => sibling !== step);
        return [
          {
            name: `${step.action} fails while ${siblings.map((sibling) => sibling.action).join(', ')} fail too`,
            faults: Object.fromEntries(group.parallel.map((failing) => [failing.action, always])),
            deliverTwice: [],
            expected: 'rolled back',
          },
          ...siblings.map((sibling): Scenario => ({
            name: `${step.action} fails while ${sibling.action} is slow`,
            faults: { [step.action]: always, [sibling.action]: { delayMs: SLOW_MS } },
            deliverTwice: [],
            expected: 'rolled back',
          })),
        ];
      }),
    ),
    ...stepsOf(saga).flatMap((step): Scenario[] => [
      { name: `${step.action} fails`, faults: { [step.action]: always }, deliverTwice: [], expected: 'rolled back' },
      {
        name: `${step.action} fails transiently, then succeeds`,
        faults: { [step.action]: { times: 2 } },
        deliverTwice: [],
        expected: 'succeeded',
      },
      {
        name: `${step.compensation} fails ${allowed} times, then succeeds`,
        faults: { [last]: always, [step.compensation]: { times: allowed } },
        deliverTwice: [],
        expected: 'rolled back',
      },
      {
        name: `${step.compensation} never succeeds`,
        faults: { [last]: always, [step.compensation]: always },
        deliverTwice: [],
        expected: 'compensation not finished',
      },
      { name: `${step.action} delivered twice`, faults: {}, deliverTwice: [step.action], expected: 'succeeded' },
      {
        name: `${step.compensation} delivered twice`,
        faults: { [last]: always },
        deliverTwice: [step.compensation],
        expected: 'rolled back',
      },
      {
        name: `${step.action} lands after its compensation`,
        faults: { [last]: always },
        deliverTwice: [],
        expected: 'rolled back',
        lateDelivery: step.action,
      },
    ]),
  ];
}

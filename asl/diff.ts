import { isDeepStrictEqual } from 'node:util';
import { statesByName, type State, type StateMachineDefinition } from './model.ts';
import { retiredStepsOf, stepsOf, tableOf, type Saga, type SagaStep } from './saga.ts';

// What a change of definition does to the executions of the earlier one: the states it no longer has (an
// execution stopped in one of them can only be redriven on its own, pinned definition), those it adds, and those
// whose definition changed. Names are compared across Parallel branches too: state names are machine-wide.

export interface DefinitionChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** States of both whose own definition differs (a Next, a Retry, a Resource). */
  readonly changed: readonly string[];
}

/**
 * A state with every ARN in it reduced to its service (`lambda`, `sns`, `states`): the function a Task calls follows
 * from its name, and placeholder ARNs (a rendered file) then compare with a deployment's by what the states do.
 */
const withoutArns = (state: State | undefined): unknown =>
  JSON.parse(JSON.stringify(state ?? null), (_, value: unknown) =>
    typeof value === 'string' && value.startsWith('arn:') ? `arn:${value.split(':')[2]}` : value,
  );

export function definitionChanges(before: StateMachineDefinition, after: StateMachineDefinition): DefinitionChanges {
  const old = statesByName(before);
  const now = statesByName(after);
  return {
    added: [...now.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !now.has(name)),
    changed: [...now].flatMap(([name, state]) =>
      old.has(name) && !isDeepStrictEqual(withoutArns(old.get(name)), withoutArns(state)) ? [name] : [],
    ),
  };
}

const listed = (count: number, what: string, names: readonly string[]): string[] =>
  names.length === 0 ? [] : [`${count} ${what} (${names.join(', ')})`];

/** One line: e.g. `2 states removed (BookRental, CancelRental), 1 changed (BookFlight)`, or `no state changed`. */
export function changesSummary(changes: DefinitionChanges): string {
  const parts = [
    ...listed(changes.removed.length, `state${changes.removed.length === 1 ? '' : 's'} removed`, changes.removed),
    ...listed(changes.added.length, 'added', changes.added),
    ...listed(changes.changed.length, 'changed', changes.changed),
  ];
  return parts.length === 0 ? 'no state changed' : parts.join(', ');
}

/** What a new step list does to the steps of the one deployed before it, and to their resources. */
export interface StepListChanges {
  /** Steps new to the list: their tables and functions are created; executions already started never call them. */
  readonly added: readonly SagaStep[];
  /** Steps taken out of the list and declared retired: their table, functions and roles stay. */
  readonly retired: readonly SagaStep[];
  /** Steps taken out of the list and not retired: `pulumi up` deletes their functions and roles. */
  readonly dropped: readonly SagaStep[];
  /** Steps retired before and no longer declared: retired for good. */
  readonly retiredForGood: readonly SagaStep[];
  /** Steps that keep their table under another name or other states: `from` is the earlier one. */
  readonly renamed: readonly { readonly from: SagaStep; readonly to: SagaStep }[];
  /** Steps whose place in the list changed: executions started before run them in the earlier order. */
  readonly moved: readonly SagaStep[];
}

const sameStep = (a: SagaStep, b: SagaStep): boolean => a.name === b.name && a.action === b.action && a.compensation === b.compensation;

export function stepListChanges(before: Saga, after: Saga): StepListChanges {
  const earlier = stepsOf(before);
  const now = stepsOf(after);
  const isIn = (steps: readonly SagaStep[]) => (step: SagaStep) => steps.some((other) => sameStep(other, step));
  // A step whose table stays but whose name or states change is one step renamed, not one removed and one added.
  const renamed = earlier.flatMap((from) => {
    const to = now.find((step) => tableOf(step) !== undefined && tableOf(step) === tableOf(from) && !sameStep(step, from));
    return to && !isIn(now)(from) ? [{ from, to }] : [];
  });
  const gone = earlier.filter((step) => !isIn(now)(step) && !renamed.some((pair) => pair.from === step));
  const retiredNow = retiredStepsOf(after);
  const order = (steps: readonly SagaStep[]) =>
    steps
      .filter(isIn(earlier))
      .filter(isIn(now))
      .map((step) => step.name);
  const [wasOrder, isOrder] = [order(earlier), order(now)];
  return {
    added: now.filter((step) => !isIn(earlier)(step) && !renamed.some((pair) => pair.to === step)),
    retired: gone.filter(isIn(retiredNow)),
    dropped: gone.filter((step) => !isIn(retiredNow)(step)),
    retiredForGood: retiredStepsOf(before).filter((step) => !isIn(retiredNow)(step) && !isIn(now)(step)),
    renamed,
    moved: now.filter((step) => isIn(earlier)(step) && wasOrder.indexOf(step.name) !== isOrder.indexOf(step.name)),
  };
}

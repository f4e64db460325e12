import { isDeepStrictEqual } from 'node:util';
import { statesByName, type StateMachineDefinition } from './model.ts';

// What a change of definition does to the executions of the earlier one: the states it no longer has (an
// execution stopped in one of them can only be redriven on its own, pinned definition), those it adds, and those
// whose definition changed. Names are compared across Parallel branches too: state names are machine-wide.

export interface DefinitionChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** States of both whose own definition differs (a Next, a Retry, a Resource). */
  readonly changed: readonly string[];
}

export function definitionChanges(before: StateMachineDefinition, after: StateMachineDefinition): DefinitionChanges {
  const old = statesByName(before);
  const now = statesByName(after);
  return {
    added: [...now.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !now.has(name)),
    changed: [...now].flatMap(([name, state]) => (old.has(name) && !isDeepStrictEqual(old.get(name), state) ? [name] : [])),
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

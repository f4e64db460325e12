import { createRequire } from 'node:module';
import {
  retryPolicyOf,
  type RetryPolicy,
  type State,
  type StateGraph,
  type StateMachineDefinition,
  type TaskState,
} from '../../asl/index.ts';

// asl-validator is CommonJS only; it is the independent check of every definition we render.
const aslValidatorOf = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};
/** asl-validator adds keys to what it validates: give it a copy. */
export const aslValidator = (definition: StateMachineDefinition) => aslValidatorOf(structuredClone(definition));

type Graph = StateGraph;

/** The states that hold one by name: the definition's own, or those of the branch that runs it. */
export function graphHolding(definition: Graph, name: string): Graph | undefined {
  if (name in definition.States) return definition;
  for (const state of Object.values(definition.States)) {
    if (state.Type !== 'Parallel') continue;
    for (const branch of state.Branches) {
      const found = graphHolding(branch, name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** A definition's state by name, at the top level or in a branch; the test fails when there is none. */
export function stateOf(definition: Graph, name: string): State {
  const state = graphHolding(definition, name)?.States[name];
  if (state === undefined) throw new Error(`no state ${name}, at the top level or in a branch`);
  return state;
}

/** A definition's Task state by name, wherever it is, failing the test when it is another kind of state. */
export function task(definition: Graph, name: string): TaskState {
  const state = stateOf(definition, name);
  if (state.Type !== 'Task') throw new Error(`${name} is a ${state.Type} state`);
  return state;
}

/** A definition's graph and those of its Parallel states' branches, at any depth. */
export function graphsOf(definition: Graph): Graph[] {
  return [
    definition,
    ...Object.values(definition.States).flatMap((state) => (state.Type === 'Parallel' ? state.Branches.flatMap(graphsOf) : [])),
  ];
}

/** The policy of a Task's retrier (its first unless told), with the fields ASL defaults filled in as ASL reads them. */
export function retryOf(state: TaskState, index = 0): RetryPolicy {
  const retrier = state.Retry?.[index];
  if (retrier === undefined) throw new Error(`no retrier ${index} in ${JSON.stringify(state)}`);
  return retryPolicyOf(retrier);
}

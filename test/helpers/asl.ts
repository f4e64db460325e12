import { createRequire } from 'node:module';
import type { State, StateMachineDefinition, TaskState } from '../../asl/index.ts';

// asl-validator is CommonJS only; it is the independent check of every definition we render.
const aslValidatorOf = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};
/** asl-validator adds keys to what it validates: give it a copy. */
export const aslValidator = (definition: StateMachineDefinition) => aslValidatorOf(structuredClone(definition));

/** A definition's Task state by name, failing the test when it is another kind of state. */
export function task(definition: StateMachineDefinition, name: string): TaskState {
  const state = definition.States[name] as State;
  if (state.Type !== 'Task') throw new Error(`${name} is a ${state.Type} state`);
  return state;
}

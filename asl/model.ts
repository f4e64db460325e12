// The whole of the Amazon States Language that this project emits, and nothing more.
// Query language: JSONPath (the default), so that every ASL interpreter can run it.

export type JsonPath = `$${string}`;

export type JitterStrategy = 'FULL' | 'NONE';

export interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly BackoffRate: number;
  readonly MaxDelaySeconds: number;
  readonly JitterStrategy: JitterStrategy;
}

export interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly Next: string;
  /** Where the error goes; `null` discards it and keeps the state's input as it was. */
  readonly ResultPath: JsonPath | null;
}

/** A payload template: keys ending in `.$` hold a path evaluated at run time. */
export interface PayloadTemplate {
  readonly [key: string]: string | number | boolean | readonly string[] | PayloadTemplate;
}

/** `Next` and `End` exclude each other: a state either goes on or ends the execution. */
export type Transition = { readonly Next: string; readonly End?: never } | { readonly End: true; readonly Next?: never };

export type TaskState = {
  readonly Type: 'Task';
  readonly Comment?: string;
  readonly Resource: string;
  readonly Parameters?: PayloadTemplate;
  readonly ResultPath?: JsonPath;
  readonly TimeoutSeconds?: number;
  readonly Retry?: readonly Retrier[];
  readonly Catch?: readonly Catcher[];
} & Transition;

/** Terminal by type: a Fail state has neither `Next` nor `End`. */
export interface FailState {
  readonly Type: 'Fail';
  readonly Comment?: string;
  readonly Error: string;
  readonly Cause: string;
}

/** A branch on a string in the input: the first rule whose value equals the input's goes on, else `Default`. */
export interface ChoiceRule {
  readonly Variable: JsonPath;
  readonly StringEquals: string;
  readonly Next: string;
}

export interface ChoiceState {
  readonly Type: 'Choice';
  readonly Comment?: string;
  readonly Choices: readonly ChoiceRule[];
  readonly Default: string;
}

/** Terminal by type, like a Fail state: ends the execution succeeded. */
export interface SucceedState {
  readonly Type: 'Succeed';
  readonly Comment?: string;
}

export type State = TaskState | ChoiceState | FailState | SucceedState;

export interface StateMachineDefinition {
  readonly Comment?: string;
  readonly StartAt: string;
  readonly TimeoutSeconds?: number;
  readonly States: Readonly<Record<string, State>>;
}

export function assertNever(value: never): never {
  throw new Error(`Unhandled ASL variant: ${JSON.stringify(value)}`);
}

/** A labelled edge of the state graph; `via` names what takes it (an error list, or `Next`, or a Choice's rule). */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly via: 'Next' | readonly string[] | { readonly when: string };
}

/** Every way out of a state, in the order ASL tries them: catchers first, then `Next`. */
export function edgesOf(name: string, state: State): Edge[] {
  switch (state.Type) {
    case 'Task':
      return [
        ...(state.Catch ?? []).map((catcher) => ({ from: name, to: catcher.Next, via: catcher.ErrorEquals })),
        ...(state.Next === undefined ? [] : [{ from: name, to: state.Next, via: 'Next' as const }]),
      ];
    case 'Choice':
      return [
        ...state.Choices.map((rule) => ({ from: name, to: rule.Next, via: { when: `${rule.Variable} = ${rule.StringEquals}` } })),
        { from: name, to: state.Default, via: { when: 'otherwise' } },
      ];
    case 'Fail':
    case 'Succeed':
      return [];
    default:
      return assertNever(state);
  }
}

/** The names of a definition's Task states, in order. */
export function taskStatesOf(definition: StateMachineDefinition): string[] {
  return Object.entries(definition.States).flatMap(([name, state]) => (state.Type === 'Task' ? [name] : []));
}

export function edgesOfDefinition(definition: StateMachineDefinition): Edge[] {
  return Object.entries(definition.States).flatMap(([name, state]) => edgesOf(name, state));
}

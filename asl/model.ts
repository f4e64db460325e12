// The whole of the Amazon States Language that this project emits, and nothing more.
// Query language: JSONPath (the default), so that every ASL interpreter can run it.

export type JsonPath = `$${string}`;

export type JitterStrategy = 'FULL' | 'NONE';

/** What ASL takes for a retrier's field that is left out: the renderer leaves out a field equal to it. */
export const RETRIER_DEFAULTS = { IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 } as const;

export interface Retrier {
  readonly ErrorEquals: readonly string[];
  /** @default RETRIER_DEFAULTS.IntervalSeconds */
  readonly IntervalSeconds?: number;
  /** @default RETRIER_DEFAULTS.MaxAttempts */
  readonly MaxAttempts?: number;
  /** @default RETRIER_DEFAULTS.BackoffRate */
  readonly BackoffRate?: number;
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

/** A test of one path of the input: whether it holds this string, or whether it is there at all. */
export type ChoiceTest =
  { readonly Variable: JsonPath; readonly StringEquals: string } | { readonly Variable: JsonPath; readonly IsPresent: boolean };

/** A branch on the input: the first rule whose test (or any of whose tests) holds goes on, else `Default`. */
export type ChoiceRule = (ChoiceTest | { readonly Or: readonly ChoiceTest[] }) & { readonly Next: string };

const describeTest = (test: ChoiceTest): string =>
  'StringEquals' in test ? `${test.Variable} = ${test.StringEquals}` : `${test.Variable} ${test.IsPresent ? 'present' : 'absent'}`;

/** A rule's test in words, e.g. `$.resumeFrom = CancelHotel`, or `$.execution absent`. */
export const describeRule = (rule: ChoiceRule): string => ('Or' in rule ? rule.Or.map(describeTest).join(' or ') : describeTest(rule));

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

/** States reached from `StartAt`: a whole state machine, or one branch of a Parallel state. */
export interface StateGraph {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, State>>;
}

/**
 * Runs its branches at once and goes on when all have ended; when one fails, Step Functions stops the others and
 * the state fails with that branch's error. Its raw result is the array of the branches' outputs.
 */
export type ParallelState = {
  readonly Type: 'Parallel';
  readonly Comment?: string;
  readonly Branches: readonly StateGraph[];
  /** What every branch gets as its input. */
  readonly Parameters?: PayloadTemplate;
  /** Picks from the array of the branches' outputs. */
  readonly ResultSelector?: PayloadTemplate;
  readonly ResultPath?: JsonPath;
  readonly Catch?: readonly Catcher[];
} & Transition;

export type State = TaskState | ParallelState | ChoiceState | FailState | SucceedState;

export interface StateMachineDefinition extends StateGraph {
  readonly Comment?: string;
  readonly TimeoutSeconds?: number;
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
    case 'Parallel':
      return [
        ...(state.Catch ?? []).map((catcher) => ({ from: name, to: catcher.Next, via: catcher.ErrorEquals })),
        ...(state.Next === undefined ? [] : [{ from: name, to: state.Next, via: 'Next' as const }]),
      ];
    case 'Choice':
      return [
        ...state.Choices.map((rule) => ({ from: name, to: rule.Next, via: { when: describeRule(rule) } })),
        { from: name, to: state.Default, via: { when: 'otherwise' } },
      ];
    case 'Fail':
    case 'Succeed':
      return [];
    default:
      return assertNever(state);
  }
}

/** Every state of a graph, those of its Parallel states' branches included (names are unique machine-wide), in order. */
export function allStatesOf(graph: StateGraph): [string, State][] {
  return Object.entries(graph.States).flatMap(([name, state]): [string, State][] => [
    [name, state],
    ...(state.Type === 'Parallel' ? state.Branches.flatMap(allStatesOf) : []),
  ]);
}

/** Every state of a graph by name, those inside Parallel branches included (state names are unique machine-wide). */
export const statesByName = (graph: StateGraph): ReadonlyMap<string, State> => new Map(allStatesOf(graph));

/** The names of a definition's Task states, in order, those inside Parallel branches included. */
export function taskStatesOf(graph: StateGraph): string[] {
  return allStatesOf(graph).flatMap(([name, state]) => (state.Type === 'Task' ? [name] : []));
}

/** The edges between the states of one graph: a branch's states are linked among themselves, not to the graph around. */
export function edgesOfDefinition(graph: StateGraph): Edge[] {
  return Object.entries(graph.States).flatMap(([name, state]) => edgesOf(name, state));
}

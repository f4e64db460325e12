import type { ParallelState, StateGraph, StateMachineDefinition } from '../asl/model.ts';
import type { HistoryEvent } from './history.ts';

// Where a later run of an execution enters the definition: a redrive (RedriveExecution) or the continuation of a
// run that its process did not finish. Both rerun the last state entered, with the input it had.

/** The execution cannot be redriven: AWS's error name, and its reason as AWS words it. */
export class ExecutionNotRedrivableError extends Error {
  override readonly name = 'ExecutionNotRedrivable';
}

/** Step Functions redrives an unsuccessful execution for 14 days after it ends. */
const REDRIVABLE_PERIOD_MS = 14 * 24 * 60 * 60 * 1000;

/** Why an execution cannot be redriven (AWS's redriveStatusReason), or undefined when it can. */
export function notRedrivableReason(status: string, stopDate: Date | undefined, now = new Date()): string | undefined {
  if (!['FAILED', 'TIMED_OUT', 'ABORTED'].includes(status)) return `Execution is ${status} and cannot be redriven.`;
  if (stopDate && now.getTime() - stopDate.getTime() > REDRIVABLE_PERIOD_MS) return 'Execution redrivable period exceeded.';
  return undefined;
}

/**
 * The entry of a later run: a Pass state that no rendered definition can hold (state names there are
 * identifiers), so that it never clashes. Its events are the local machinery of that run, not the execution's.
 * Inside a Parallel state's branches, the entries are named after it, one per branch (names are machine-wide).
 */
export const REENTRY = '(redrive)';
export const isReentry = (name: string): boolean => name.startsWith(REENTRY);

const detailsOf = (event: HistoryEvent): { name: string; input?: string; output?: string } =>
  (event['stateEnteredEventDetails'] ?? event['stateExitedEventDetails']) as { name: string; input?: string; output?: string };

/** The states an execution entered, in order, over every run. */
export const statesEntered = (history: readonly HistoryEvent[]): string[] =>
  history.flatMap((event) => (event.type.endsWith('StateEntered') ? [detailsOf(event).name] : []));

/**
 * The state where an execution stopped, with its input: the last state it entered among `states` (by default, any;
 * a redrive looks among the top-level states, and reruns a Parallel state's branches itself).
 */
export function stoppedAt(history: readonly HistoryEvent[], states?: StateGraph['States']): { state: string; input: unknown } | undefined {
  const entered = history.findLast(
    (event) => event.type.endsWith('StateEntered') && (states === undefined || detailsOf(event).name in states),
  );
  if (!entered) return undefined;
  const { name, input } = detailsOf(entered);
  return { state: name, input: JSON.parse(input ?? 'null') };
}

/** A Pass state that hands `result` on, to `next` or as its branch's output. */
const pass = (result: unknown, next: string | undefined) =>
  ({ Type: 'Pass', Result: result, ...(next === undefined ? { End: true } : { Next: next }) }) as never;

/**
 * A Parallel state as a redrive reruns it on AWS: only the branches that failed or were stopped, each from the state
 * where it stopped, with that state's input; a branch that succeeded is not rerun, its output is kept.
 */
function parallelReentered(name: string, state: ParallelState, history: readonly HistoryEvent[]): ParallelState {
  const since = history.slice(history.findLastIndex((event) => event.type === 'ParallelStateEntered' && detailsOf(event).name === name));
  return {
    ...state,
    Branches: state.Branches.map((branch, index) => {
      const entry = `${REENTRY} ${name} ${index + 1}`;
      const last = since.findLast((event) => /State(Entered|Exited)$/.test(event.type) && detailsOf(event).name in branch.States);
      if (last === undefined) return branch;
      const { name: at, output } = detailsOf(last);
      const ended = last.type.endsWith('StateExited') && branch.States[at] !== undefined && 'End' in (branch.States[at] as object);
      // A caught error leaves its state at `$.errors.<state>`: the branch went on to the catcher's target.
      const caught = ended && (JSON.parse(output ?? 'null') as { errors?: Record<string, unknown> } | null)?.errors?.[at] !== undefined;
      if (ended && !caught) return { StartAt: entry, States: { [entry]: pass(JSON.parse(output ?? 'null'), undefined) } };
      const resumed = stoppedAt(since, branch.States) as { state: string; input: unknown };
      return { StartAt: entry, States: { [entry]: pass(resumed.input, resumed.state), ...branch.States } };
    }),
  };
}

/**
 * The definition entered at `state` with `input`. The interpreter sets $$.Execution.Input to its run's input: the
 * run is given the original input and enters by a Pass state that hands the state its saved input. Nothing else
 * of the definition changes, but a Parallel state entered again, whose branches resume where they stopped.
 */
export const reentered = (
  definition: StateMachineDefinition,
  state: string,
  input: unknown,
  history: readonly HistoryEvent[],
): StateMachineDefinition => {
  const entered = definition.States[state];
  return {
    ...definition,
    StartAt: REENTRY,
    States: {
      [REENTRY]: pass(input, state),
      ...definition.States,
      ...(entered?.Type === 'Parallel' ? { [state]: parallelReentered(state, entered, history) } : {}),
    },
  };
};

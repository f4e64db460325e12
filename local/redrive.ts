import type { StateMachineDefinition } from '../asl/model.ts';
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
 */
export const REENTRY = '(redrive)';

/** The states an execution entered, in order, over every run. */
export const statesEntered = (history: readonly HistoryEvent[]): string[] =>
  history.flatMap((event) => (event.type.endsWith('StateEntered') ? [(event['stateEnteredEventDetails'] as { name: string }).name] : []));

/** The state where an execution stopped, with its input: the last state it entered. */
export function stoppedAt(history: readonly HistoryEvent[]): { state: string; input: unknown } | undefined {
  const entered = history.findLast((event) => event.type.endsWith('StateEntered'));
  if (!entered) return undefined;
  const { name, input } = entered['stateEnteredEventDetails'] as { name: string; input: string };
  return { state: name, input: JSON.parse(input) };
}

/**
 * The definition entered at `state` with `input`. The interpreter sets $$.Execution.Input to its run's input: the
 * run is given the original input and enters by a Pass state that hands the state its saved input. Nothing else
 * of the definition changes.
 */
export const reentered = (definition: StateMachineDefinition, state: string, input: unknown): StateMachineDefinition => ({
  ...definition,
  StartAt: REENTRY,
  States: { [REENTRY]: { Type: 'Pass', Result: input, Next: state } as never, ...definition.States },
});

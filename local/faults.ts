import { faultError, parseFault as parseFaultEntry, type Fault } from '../functions/faults.ts';

/**
 * A failure injected at a Task state by the local mode (`--fail`), before its handler runs, in the grammar and with
 * the meaning of the input's `fail` list (functions/faults.ts), but counting differently: N fails the first N calls of
 * the function in a run, from whichever state calls it, where the input's list counts the retries of each entry of a
 * state. Only `saga run`, `resume` and `local` take it: `saga verify` asks for faults through the input alone.
 */
export type FaultSpec =
  | Pick<Fault, 'times'>
  /** Not a failure: every call waits this long before its function runs, as a slow service would make it. */
  | { readonly delayMs: number }
  /**
   * Not a failure: every call waits until this settles before its function runs, so that a program (a test) may hold a
   * call while it watches what happens around it, rather than guess how long that takes.
   */
  | { readonly until: Promise<unknown> };

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

/** Parses `STATE`, `STATE=N`, `STATE=always` or `STATE=until-redrive` (from `--fail`), checking STATE against the definition's Task states. */
export function parseFault(text: string, taskStates: readonly string[]): [string, FaultSpec] {
  const fault = parseFaultEntry(text.trim());
  if (!fault) {
    throw new FaultSpecError(
      /=0+$/.test(text.trim())
        ? `--fail "${text}": N must be at least 1`
        : `--fail "${text}": expected STATE, STATE=N, STATE=always or STATE=until-redrive (N from 1 to 999)`,
    );
  }
  if (!taskStates.includes(fault.state)) {
    throw new FaultSpecError(`--fail "${text}": "${fault.state}" is not a Task state (one of ${taskStates.join(', ')})`);
  }
  return [fault.state, { times: fault.times }];
}

/**
 * The error a call should fail with, if any: `call` counts from 1, retries included; `redriveCount` is how many
 * times the execution has been redriven.
 */
export function injectedError(fault: FaultSpec | undefined, state: string, call: number, redriveCount: number): Error | undefined {
  if (fault === undefined || !('times' in fault)) return undefined;
  return faultError({ state, times: fault.times }, { number: call, redriveCount }, `--fail ${state}=${fault.times}`);
}

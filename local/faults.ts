import { StepError } from '../asl/errors.ts';

/**
 * A failure injected at a Task state by the local mode, before its handler runs:
 * `always` fails every call with InjectedFault (an action does not retry it: the saga rolls back; a compensation
 * retries it until its attempts are spent: the alert); a number fails the first N calls of a run with
 * TransientError (retried, so the state then succeeds if its retries outlast N); `until-redrive` fails like
 * `always` until the execution is redriven, as a fault fixed before the redrive would.
 */
export type FaultSpec =
  | { readonly times: 'always' | 'until-redrive' }
  | { readonly times: number }
  /** Not a failure: every call waits this long before its function runs, as a slow service would make it. */
  | { readonly delayMs: number };

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

/** Parses `STATE`, `STATE=N`, `STATE=always` or `STATE=until-redrive` (from `--fail`), checking STATE against the definition's Task states. */
export function parseFault(text: string, taskStates: readonly string[]): [string, FaultSpec] {
  const match = /^([A-Za-z][A-Za-z0-9_-]*)(?:=(always|until-redrive|\d+))?$/.exec(text.trim());
  if (!match) throw new FaultSpecError(`--fail "${text}": expected STATE, STATE=N, STATE=always or STATE=until-redrive`);
  const [, state = '', count] = match;
  if (!taskStates.includes(state)) {
    throw new FaultSpecError(`--fail "${text}": "${state}" is not a Task state (one of ${taskStates.join(', ')})`);
  }
  if (count === undefined || count === 'always') return [state, { times: 'always' }];
  if (count === 'until-redrive') return [state, { times: 'until-redrive' }];
  const times = Number(count);
  if (times < 1) throw new FaultSpecError(`--fail "${text}": N must be at least 1`);
  return [state, { times }];
}

/**
 * The error a call should fail with, if any: `call` counts from 1, retries included; `redriveCount` is how many
 * times the execution has been redriven.
 */
export function injectedError(fault: FaultSpec | undefined, state: string, call: number, redriveCount: number): Error | undefined {
  if (fault === undefined || 'delayMs' in fault) return undefined;
  if (fault.times === 'always' || (fault.times === 'until-redrive' && redriveCount === 0)) {
    return Object.assign(new Error(`${state} failed on purpose (--fail ${state}=${fault.times})`), { name: StepError.InjectedFault });
  }
  if (fault.times === 'until-redrive' || call > fault.times) return undefined;
  return Object.assign(new Error(`${state} failed on purpose, call ${call} of the first ${fault.times} (--fail ${state}=${fault.times})`), {
    name: StepError.Transient,
  });
}

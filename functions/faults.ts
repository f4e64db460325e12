import { InjectedFaultError, TransientError } from './errors.ts';

// Faults asked for on purpose, by the input's `fail` list (where the function's configuration enables fault
// injection) and by the local mode's `--fail`: one grammar, one decision. A fault that heals is keyed on what
// Step Functions tells the function, so that it behaves alike on AWS and locally.

/**
 * How a fault strikes a state: `always` fails every attempt with InjectedFault (an action does not retry it: the
 * saga rolls back; a compensation retries it until its attempts are spent: the alert); a number N fails the first N
 * attempts with TransientError, which actions and compensations both retry, so the state heals once its retries
 * outlast N; `until-redrive` fails every attempt with InjectedFault until the execution has been redriven, as a
 * fault fixed before the redrive would.
 */
export type FaultTimes = 'always' | 'until-redrive' | number;

export interface Fault {
  /** The Task state (its function) that fails, e.g. `CancelHotel`. */
  readonly state: string;
  readonly times: FaultTimes;
}

/** `STATE`, `STATE=always`, `STATE=until-redrive` or `STATE=N` (N from 1 to 999). */
export const FAULT_PATTERN = '^([A-Za-z][A-Za-z0-9_-]{0,63})(?:=(always|until-redrive|[1-9][0-9]{0,2}))?$';
const FAULT = new RegExp(FAULT_PATTERN);

/** The fault a `fail` entry asks for, or undefined if it does not follow the grammar. */
export function parseFault(text: string): Fault | undefined {
  const match = FAULT.exec(text);
  if (!match) return undefined;
  const [, state = '', times = 'always'] = match;
  return { state, times: times === 'always' || times === 'until-redrive' ? times : Number(times) };
}

/** An attempt of a state: its number (1 for the first call, retries counted) and the execution's redrives so far. */
export interface Attempt {
  readonly number: number;
  readonly redriveCount: number;
}

/** The error the attempt fails with when the fault strikes it; `origin` tells whoever reads it who asked. */
export function faultError(fault: Fault, attempt: Attempt, origin: string): Error | undefined {
  if (fault.times === 'always' || (fault.times === 'until-redrive' && attempt.redriveCount === 0)) {
    return new InjectedFaultError(`${fault.state} failed on purpose (${origin})`);
  }
  if (fault.times === 'until-redrive' || attempt.number > fault.times) return undefined;
  return new TransientError(`${fault.state} failed on purpose, attempt ${attempt.number} of the first ${fault.times} (${origin})`);
}

/** Whether no two entries of a `fail` list name one state: each state fails one way. */
export function hasDistinctFaultStates(list: unknown): boolean {
  if (!Array.isArray(list)) return false;
  const states = list.map((entry) => (typeof entry === 'string' ? (parseFault(entry)?.state ?? entry) : entry));
  return new Set(states).size === states.length;
}

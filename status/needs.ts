import { SagaOutcome } from '../asl/errors.ts';
import {
  compensationEntryOf,
  invalidErrorOf,
  isCompensatedStage,
  isGroup,
  payloadKeyOf,
  stepsOfStage,
  alertStateOf,
  retryStateOf,
  handOffStateOf,
  handedOffStateOf,
  retriableStepsOf,
  stepsOf,
  type Saga,
  type SagaStep,
} from '../asl/saga.ts';

// What needs a person now: of the executions that ended, those that left the saga's promise unkept. Pure: the
// scan (scan.ts) brings what Step Functions and the tables say; `saga status` and the console show the verdict.

/** Step Functions redrives an unsuccessful STANDARD execution for 14 days after it ends. */
export const REDRIVE_PERIOD_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The statuses of an execution that ended without succeeding: the only ones a person may have to finish. */
export const UNSUCCESSFUL = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type Unsuccessful = (typeof UNSUCCESSFUL)[number];

/**
 * The errors an execution ends with on purpose, which leave nothing to do. The saga's: a completed rollback, an input
 * refused before anything was written (its own `<Noun>Invalid`), an EXPRESS rollback handed to the rollback machine
 * (which is watched in its turn). The rollback machine's: a completed rollback, or a resumeFrom it does not know.
 */
export const routineEndsOf = (saga: Saga, role: MachineRole): readonly string[] =>
  role === 'saga'
    ? [SagaOutcome.RolledBack, invalidErrorOf(saga), SagaOutcome.RollbackHandedOff]
    : [SagaOutcome.RolledBack, SagaOutcome.UnknownCompensation];

/** Why an execution needs a person. */
export const Need = {
  /** It failed at a Task, not at a routine end: a compensation stuck after its alert, or something unforeseen. */
  Stuck: 'stuck: needs redrive',
  /** Past the pivot, a retriable step gave up after its alert: a redrive goes on forward; nothing is to be undone. */
  StuckForward: 'stuck forward: needs redrive',
  TimedOut: 'timed out with bookings left',
  Aborted: 'aborted with bookings left',
} as const;
export type Need = (typeof Need)[keyof typeof Need];

/** An ended execution as Step Functions describes it, with its input parsed. */
export interface EndedExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: Unsuccessful;
  readonly startDate: Date;
  readonly stopDate: Date;
  readonly error?: string;
  readonly cause?: string;
  readonly input: unknown;
  /** Whether Step Functions would accept a redrive now (DescribeExecution's redriveStatus). */
  readonly redrivable: boolean;
  readonly redriveCount: number;
}

/** Which machine ran it: the saga's, or the rollback machine (whose input names the saga execution it undoes). */
export type MachineRole = 'saga' | 'rollback';

/** Whose bookings an execution holds: its own, or (the rollback machine) those of the execution its input names. */
export function ownerOf(role: MachineRole, execution: Pick<EndedExecution, 'executionArn' | 'input'>): string {
  if (role === 'saga') return execution.executionArn;
  const named = (execution.input as Record<string, unknown> | null)?.['execution'];
  return typeof named === 'string' ? named : execution.executionArn;
}

/** The saga's input an execution works on: its own input, or (the rollback machine) the one under the payload key. */
const sagaInputOf = (saga: Saga, role: MachineRole, input: unknown): unknown =>
  role === 'saga' ? input : (input as Record<string, unknown> | null)?.[payloadKeyOf(saga)];

/** The key under which an execution's bookings are kept: its input's key field (a rollback's, its saga input's). */
export function keyOf(saga: Saga, role: MachineRole, input: unknown): string | undefined {
  const sagaInput = sagaInputOf(saga, role, input);
  const key = typeof sagaInput === 'object' && sagaInput !== null ? (sagaInput as Record<string, unknown>)[saga.keyField] : undefined;
  return typeof key === 'string' ? key : undefined;
}

/**
 * Whether an ended execution needs a person, and why; undefined when it does not. A failure at a routine end never
 * does. Any other failure does while it can be redriven (its alert went out, its rollback is not done), and after
 * that while it still holds bookings (once the rollback machine has undone them, nothing is left to do). A run that
 * timed out or was stopped needs one only if it left bookings.
 */
export function needOf(
  saga: Saga,
  role: MachineRole,
  execution: EndedExecution,
  bookingsLeft: readonly string[],
  now: Date,
): Need | undefined {
  switch (execution.status) {
    case 'FAILED': {
      if (execution.error !== undefined && routineEndsOf(saga, role).includes(execution.error)) return undefined;
      return bookingsLeft.length > 0 || redriveDeadlineOf(execution).getTime() > now.getTime() ? Need.Stuck : undefined;
    }
    case 'TIMED_OUT':
      return bookingsLeft.length > 0 ? Need.TimedOut : undefined;
    case 'ABORTED':
      return bookingsLeft.length > 0 ? Need.Aborted : undefined;
  }
}

/**
 * The saga's outcome of an execution, as the console lists it: what a person needs to know at a glance, whether a
 * rollback finished, is stuck, or a stopped run left bookings.
 */
export function outcomeOf(saga: Saga, status: string, error: string | undefined, need: Need | undefined): string {
  if (need !== undefined) return need;
  if (status === 'SUCCEEDED') return 'succeeded';
  if (status === 'RUNNING') return 'running';
  if (status === 'FAILED') {
    if (error === SagaOutcome.RolledBack) return 'rolled back';
    if (error === invalidErrorOf(saga)) return 'input refused, nothing written';
    if (error === SagaOutcome.RollbackHandedOff) return 'handed to the rollback machine';
    return 'failed, nothing left';
  }
  return `${status === 'ABORTED' ? 'aborted' : 'timed out'}, nothing left`;
}

export const redriveDeadlineOf = (execution: Pick<EndedExecution, 'stopDate'>): Date =>
  new Date(execution.stopDate.getTime() + REDRIVE_PERIOD_DAYS * DAY_MS);

/**
 * Where the rollback machine takes over a rollback the execution left: the compensation of the stage of the last state
 * it entered (a group's, for a state inside a group: a group is resumed whole); the last stage's when it entered none
 * of the saga's. None past the pivot, where nothing is undone: such an execution is only finished forward.
 */
export function resumeFromOf(saga: Saga, lastState: string | undefined): string | undefined {
  const stage =
    saga.steps.find(
      (entry) =>
        (isGroup(entry) && (lastState === entry.name || lastState === compensationEntryOf(entry))) ||
        stepsOfStage(entry).some((step) =>
          [step.action, step.compensation, alertStateOf(step), retryStateOf(step), handOffStateOf(step), handedOffStateOf(step)].includes(
            lastState ?? '',
          ),
        ),
    ) ?? saga.steps.at(-1);
  if (stage !== undefined && !isCompensatedStage(stage)) return undefined;
  return stage === undefined ? '' : compensationEntryOf(stage);
}

/**
 * The retriable step an execution of the saga's machine stopped at, past the pivot (its action, alert or retry was
 * the last state entered); undefined for any other stop. A redrive of it goes on forward.
 */
export function forwardStepAt(saga: Saga, role: MachineRole, stoppedAt: string | undefined): SagaStep | undefined {
  if (role !== 'saga' || stoppedAt === undefined) return undefined;
  return retriableStepsOf(saga).find((step) => [step.action, alertStateOf(step), retryStateOf(step)].includes(stoppedAt));
}

/** What a person needs to know of one execution, and the command that finishes it. */
export interface NeedsAPerson {
  readonly need: Need;
  readonly role: MachineRole;
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: Unsuccessful;
  readonly error?: string;
  /** The error's own message, where the cause is a Lambda error's JSON; else the cause as it is. */
  readonly message?: string;
  readonly key?: string;
  /** The last state it entered: where it stopped. */
  readonly stoppedAt?: string;
  /** Past the pivot, the retriable step (its action) it is stuck at: it can only go on forward. */
  readonly forwardStep?: string;
  /** The steps whose table still holds a booking it owns. */
  readonly bookingsLeft: readonly string[];
  readonly startDate: string;
  readonly stopDate: string;
  /** Seconds since it started, and since it ended, when the scan ran. */
  readonly ageSeconds: number;
  readonly waitingSeconds: number;
  readonly redriveCount: number;
  /** Until when a redrive is accepted (STANDARD: 14 days after its end). */
  readonly redriveDeadline: string;
  readonly redrivable: boolean;
  /**
   * The command that finishes it: a redrive while it is accepted, else the rollback machine from where it stopped (past
   * the pivot, where nothing may be undone, the steps left to finish by hand).
   */
  readonly command: string;
  /** The rollback machine's command, where it is known (before the pivot): undoes what is left instead of going on. */
  readonly rollbackCommand?: string;
}

/** A Lambda error's Cause is the JSON of its errorType, errorMessage and trace: its message is what a person reads. */
export function causeMessage(cause: string | undefined): string | undefined {
  if (cause === undefined) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: a cause given to StopExecution, or a Step Functions error's own words.
  }
  return cause;
}

/** Single-quoted for a POSIX shell: the commands are pasted as they are printed. */
const shellQuoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

export interface CommandContext {
  /** `--endpoint-url URL`, or nothing for AWS itself. */
  readonly endpointFlag: string;
  /** The rollback machine's ARN, where known. */
  readonly rollbackStateMachineArn?: string;
}

/** The verdict on one execution that needs a person, with the commands that finish it. */
export function describeNeed(
  saga: Saga,
  role: MachineRole,
  execution: EndedExecution,
  need: Need,
  bookingsLeft: readonly string[],
  stoppedAt: string | undefined,
  context: CommandContext,
  now: Date,
): NeedsAPerson {
  const flag = context.endpointFlag ? ` ${context.endpointFlag}` : '';
  const redrive = `aws stepfunctions redrive-execution${flag} --execution-arn ${execution.executionArn}`;
  const forward = forwardStepAt(saga, role, stoppedAt);
  // The rollback machine resumes with the saga's input: a saga execution's own, or a rollback's own input's.
  const sagaInput = sagaInputOf(saga, role, execution.input);
  // None from the pivot on: past the point of no return nothing may be undone.
  const resumeFrom = resumeFromOf(saga, stoppedAt);
  const rollbackCommand =
    context.rollbackStateMachineArn === undefined || sagaInput === undefined || resumeFrom === undefined
      ? undefined
      : `aws stepfunctions start-execution${flag} --state-machine-arn ${context.rollbackStateMachineArn} --input ${shellQuoted(
          JSON.stringify({ [payloadKeyOf(saga)]: sagaInput, execution: ownerOf(role, execution), resumeFrom }),
        )}`;
  const deadline = redriveDeadlineOf(execution);
  const redrivable = execution.redrivable && deadline.getTime() > now.getTime();
  const message = causeMessage(execution.cause);
  const key = keyOf(saga, role, execution.input);
  // Without a redrive, a step stuck past the pivot and every later one are finished by hand (README's runbook).
  const byHand =
    forward &&
    `no redrive accepted: finish by hand ${stepsOf(saga)
      .slice(stepsOf(saga).indexOf(forward))
      .map((step) => step.action)
      .join(', ')}`;
  return {
    need: forward !== undefined && need === Need.Stuck ? Need.StuckForward : need,
    role,
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(message === undefined ? {} : { message }),
    ...(key === undefined ? {} : { key }),
    ...(stoppedAt === undefined ? {} : { stoppedAt }),
    ...(forward === undefined ? {} : { forwardStep: forward.action }),
    bookingsLeft,
    startDate: execution.startDate.toISOString(),
    stopDate: execution.stopDate.toISOString(),
    ageSeconds: Math.round((now.getTime() - execution.startDate.getTime()) / 1000),
    waitingSeconds: Math.round((now.getTime() - execution.stopDate.getTime()) / 1000),
    redriveCount: execution.redriveCount,
    redriveDeadline: deadline.toISOString(),
    redrivable,
    command: redrivable ? redrive : (rollbackCommand ?? byHand ?? redrive),
    ...(rollbackCommand === undefined ? {} : { rollbackCommand }),
  };
}

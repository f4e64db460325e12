import { BookingStatus, OWNER } from '../functions/bookings.ts';
import type { FaultSpec } from './faults.ts';
import type { HistoryEvent } from './history.ts';
import type { Saga } from '../asl/saga.ts';
import type { PinnedDefinition } from './pinned.ts';

// What the local engine takes and gives: executions, their options, alerts and outcomes.

/** Step Functions' rule for an execution name: 1 to 80 characters, none of them blank, special or control. */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
/**
 * A lone UTF-16 surrogate is no character: AWS refuses it, and a file system writes it as U+FFFD, so that
 * `x\ud800y`, `x\udc00y` and `x\ufffdy` would share one journal.
 */
export const isExecutionName = (name: unknown): name is string =>
  typeof name === 'string' && EXECUTION_NAME.test(name) && name.isWellFormed();

/** An execution name that Step Functions would refuse, or one a kept execution already has. */
export class ExecutionNameError extends Error {
  override readonly name = 'ExecutionNameError';
}

/**
 * An execution's name from its ARN (`…:execution:<machine>:<name>`), and on EXPRESS its unique suffix too
 * (`…:express:<machine>:<name>:<id>`).
 */
export const executionNameOf = (executionArn: string): string => executionArn.split(':').slice(7).join(':');

export type Bookings = Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>;

/** The steps whose table still holds a booking (not a cancellation marker) of the key owned by the execution. */
export const stillBooked = (bookings: Bookings, executionArn: string): string[] =>
  Object.entries(bookings).flatMap(([step, item]) =>
    item?.['status'] === BookingStatus.Booked && item[OWNER] === executionArn ? [step] : [],
  );

/**
 * How an execution ended, as the command line reports it. `step not finished`: past the pivot, a retriable step gave
 * up, alerted and stopped at a Task state, to be redriven forward (nothing is undone).
 */
export type Outcome = 'succeeded' | 'rolled back' | 'compensation not finished' | 'step not finished' | 'bad input' | 'aborted' | 'failed';

export interface Alert {
  /** The ARN of the execution that raised it. */
  readonly execution: string;
  readonly state: string;
  readonly subject: string;
  /** What the state machine published. */
  readonly message: Record<string, unknown>;
  /**
   * The steps still booked by the execution when the alert was raised, read from the tables by the local stand-in
   * for SNS, as a subscriber to the topic would (the state machine cannot know whether a failed action's write
   * landed). Another execution's bookings of the same key are not among them.
   */
  readonly bookingsLeft: readonly string[];
  readonly at: string;
}

export interface Execution {
  readonly name: string;
  readonly executionArn: string;
  readonly input: unknown;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly outcome: Outcome;
  readonly error?: string;
  readonly cause?: string;
  readonly output?: unknown;
  readonly startDate: Date;
  readonly stopDate: Date;
  /** How many times it was redriven, and when last. */
  readonly redriveCount: number;
  readonly redriveDate?: Date;
  /** The states entered, in order, over every run. */
  readonly path: readonly string[];
  /** Calls of each Task's function, retries and redrives included. */
  readonly calls: Readonly<Record<string, number>>;
  readonly history: readonly HistoryEvent[];
  readonly alerts: readonly Alert[];
  /** The definition it ran on, and its step list: absent only from a journal written before executions kept theirs. */
  readonly pinned?: PinnedDefinition;
}

export interface ExecuteOptions {
  /** The execution's name. @default the input's key field, else a UUID */
  readonly name?: string;
  /** Failures to inject, by the name of the function (or, for the alert, the state) that a Task calls. */
  readonly faults?: Readonly<Record<string, FaultSpec>>;
  /** Pause before each retry, replacing the definition's backoff and jitter. @default the definition's own */
  readonly retryDelayMs?: number;
  /**
   * Task states whose function is delivered every call twice, as an at-least-once retry would: the second once the
   * first's work is over (a hand-off's, once the rollback execution it started has ended).
   */
  readonly deliverTwice?: readonly string[];
  /** Called with each history event as it happens. */
  readonly onEvent?: (event: HistoryEvent) => void;
  /** Called with each alert as it is published. */
  readonly onAlert?: (alert: Alert) => void;
  /** Stops the execution (StopExecution): it ends ABORTED. */
  readonly signal?: AbortSignal;
}

export interface LocalSagaOptions {
  readonly saga: Saga;
  /** Keep the tables, executions and alerts in this folder. @default in memory */
  readonly dataDir?: string;
  /** Let an input's `fail` list fail states, as on a development stack. @default true */
  readonly faultInjection?: boolean;
  /** Where the functions' JSON log lines go. @default nowhere */
  readonly functionLog?: (line: string) => void;
  /** The embedded DynamoDB's port on 127.0.0.1. @default any free port */
  readonly dynamoDbPort?: number;
  /**
   * STANDARD refuses a second execution of a name; EXPRESS gives every execution its own ARN (a name and a
   * unique suffix), as AWS does, so that one name may run several times. @default 'STANDARD'
   */
  readonly type?: StateMachineType;
}

export type StateMachineType = 'STANDARD' | 'EXPRESS';

/** The saga's own state machine, or the rollback machine rendered beside it from the same step list. */
export type MachineKind = 'saga' | 'rollback';

/** The start of an execution, accepted (with --data: durable), and its end to come. */
export interface Started {
  readonly name: string;
  readonly executionArn: string;
  readonly startDate: Date;
  readonly done: Promise<Execution>;
}

/**
 * The error of an execution stopped because its journal could not be written (a full disk): it is not run on
 * unjournaled; kept without an end, it is continued at the next start, once the folder can be written.
 */
export const JOURNAL_WRITE_FAILED = 'JournalWriteFailed';

/** The error of an interrupted execution that cannot be continued, and of the exception that interrupts a run. */
export const EXECUTION_INTERRUPTED = 'ExecutionInterrupted';

/**
 * The process stopped a run before its end (Ctrl-C, close): with --data the execution is kept without an end, and
 * continued by the next start (continueInterrupted).
 */
export class ExecutionInterruptedError extends Error {
  override readonly name = EXECUTION_INTERRUPTED;
}

/** An execution found running in the data folder at start, what was done with it, and its end to come. */
export interface Recovery {
  readonly name: string;
  readonly executionArn: string;
  readonly input: unknown;
  /** One line: what was found, and what was done. */
  readonly report: string;
  readonly done: Promise<Execution>;
}

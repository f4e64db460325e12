import { actionEntryOf, isCustomStep, recordsOf, stepsOf, stuckStepOf, type Saga } from '../asl/saga.ts';
import { stateOfEvents, type HistoryEvent } from './history.ts';
import { BookingStatus, CANCELLED_BY, EXPIRES_AT, OWNER } from '../functions/bookings.ts';
import { executionNameOf, stillBooked, type Bookings, type Execution } from './runtime.ts';

// What the command line prints of an execution: its path state by state, the tables, a verdict.

type Details = Record<string, unknown>;
const detailsOf = (event: HistoryEvent | undefined, key: string): Details => (event?.[key] as Details | undefined) ?? {};

/** The message of a function's error, from the JSON cause Lambda gives it, without the stack trace it carries. */
export function causeMessage(cause: unknown): string {
  if (typeof cause !== 'string') return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

function resultSummary(output: unknown): string {
  if (typeof output !== 'string') return '';
  try {
    const result = JSON.parse(output) as Details;
    return ['status', 'outcome'].flatMap((key) => (typeof result[key] === 'string' ? [String(result[key])] : [])).join(', ');
  } catch {
    return '';
  }
}

/**
 * Turns history events into timeline lines as they happen. Keeps what it needs to tell a retry (a new call of
 * the state that just failed) from a first call, and which state an event belongs to: the one its
 * `previousEventId` leads to (branches of a Parallel state run at once, their events interleaved).
 */
export function timelinePrinter(write: (line: string) => void) {
  let start: number | undefined;
  const stateOf = stateOfEvents();
  const attempts = new Map<string, number>();
  const at = (event: HistoryEvent): string => `${String(event.timestamp.getTime() - (start ??= event.timestamp.getTime())).padStart(6)} ms`;
  return (event: HistoryEvent): void => {
    const current = stateOf(event);
    switch (event.type) {
      case 'ExecutionStarted':
        at(event);
        return;
      case 'TaskStateEntered':
      case 'ParallelStateEntered':
      case 'FailStateEntered': {
        attempts.set(current, 0);
        const marker = event.type === 'FailStateEntered' ? '■' : '→';
        write(`${at(event)}  ${marker} ${current}${event.type === 'ParallelStateEntered' ? ' (its branches at once)' : ''}`);
        return;
      }
      case 'LambdaFunctionScheduled':
      case 'TaskScheduled': {
        const attempt = (attempts.get(current) ?? 0) + 1;
        attempts.set(current, attempt);
        if (attempt > 1) write(`${at(event)}      ↻ ${current} retry ${attempt - 1}`);
        return;
      }
      case 'LambdaFunctionSucceeded': {
        const summary = resultSummary(detailsOf(event, 'lambdaFunctionSucceededEventDetails')['output']);
        write(`${at(event)}      ✓ ${current}${summary ? ` (${summary})` : ''}`);
        return;
      }
      case 'TaskSucceeded':
        write(`${at(event)}      ✉ alert published to the alert topic`);
        return;
      case 'LambdaFunctionFailed':
      case 'TaskFailed': {
        const failure = detailsOf(event, event.type === 'TaskFailed' ? 'taskFailedEventDetails' : 'lambdaFunctionFailedEventDetails');
        write(`${at(event)}      ✗ ${current} ${failure['error']}: ${causeMessage(failure['cause'])}`);
        return;
      }
      case 'ParallelStateSucceeded':
      case 'ParallelStateFailed':
        write(
          `${at(event)}  ${event.type === 'ParallelStateSucceeded' ? '✓' : '✗'} ${current}: every branch ${event.type === 'ParallelStateSucceeded' ? 'succeeded' : 'ended; one failed'}`,
        );
        return;
      case 'ExecutionSucceeded':
        write(`${at(event)}  ● execution succeeded`);
        return;
      case 'ExecutionFailed':
        write(`${at(event)}  ● execution failed: ${detailsOf(event, 'executionFailedEventDetails')['error']}`);
        return;
      default:
        return;
    }
  };
}

/** An alert's message as printed: its error's cause reduced to its message (`--json` keeps the whole). */
export function alertForPrinting(message: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const error = message['error'];
  if (typeof error !== 'object' || error === null) return { ...message };
  return { ...message, error: { ...error, Cause: causeMessage((error as Details)['Cause']) } };
}

/** One line per step: what its table holds for the key. */
export function bookingsTable(saga: Saga, bookings: Bookings): string[] {
  const width = Math.max(...stepsOf(saga).map((step) => step.name.length));
  return stepsOf(saga).map((step) => {
    const item = bookings[step.name];
    const name = step.name.padEnd(width);
    if (!(step.name in bookings)) return `  ${name}  ?          (a custom step without a probe: not checked)`;
    if (!item) return `  ${name}  —          (no item)`;
    if (isCustomStep(step)) {
      // What the step's probe says: its effect, present or undone, and whose it is.
      const details = Object.entries(item).flatMap(([key, value]) =>
        key === 'status' || key === OWNER || value === undefined ? [] : [String(value)],
      );
      const state = item['status'] === BookingStatus.Booked ? 'BOOKED   ' : 'CANCELLED';
      return `  ${name}  ${state}  ${details.join(', ')}  by ${executionNameOf(String(item[OWNER]))}`;
    }
    if (item['status'] === BookingStatus.Cancelled) {
      const markers = (item[CANCELLED_BY] as Set<string> | undefined)?.size ?? 0;
      const until = new Date(Number(item[EXPIRES_AT]) * 1000).toISOString();
      return `  ${name}  CANCELLED  refusing late bookings of ${markers} execution${markers === 1 ? '' : 's'} until ${until}`;
    }
    return `  ${name}  BOOKED     ${recordsOf(step)
      .map((field) => String(item[field]))
      .join(', ')}  by ${executionNameOf(String(item[OWNER]))}`;
  });
}

/** The error a state's catcher put at `$.errors.<state>`, as its exit shows it. */
function caughtError(execution: Execution, state: string): string {
  const exited = execution.history.find(
    (event) => event.type.endsWith('StateExited') && detailsOf(event, 'stateExitedEventDetails')['name'] === state,
  );
  const output = JSON.parse(String(detailsOf(exited, 'stateExitedEventDetails')['output'] ?? '{}')) as {
    errors?: Record<string, { Error?: string }>;
  };
  return output.errors?.[state]?.Error ?? 'an error';
}

/** The one-line verdict, checked against the tables rather than assumed from the outcome. */
export function verdict(saga: Saga, execution: Execution, bookings: Bookings): string {
  const booked = stillBooked(bookings, execution.executionArn);
  switch (execution.outcome) {
    case 'succeeded':
      return booked.length === stepsOf(saga).filter((step) => step.name in bookings).length
        ? `✓ succeeded: all ${booked.length} bookings made`
        : `✗ INCONSISTENT: succeeded but only ${booked.join(', ') || 'nothing'} booked`;
    case 'rolled back': {
      // A group's actions fail as one: its Parallel state caught the error.
      const actions = new Set(saga.steps.map(actionEntryOf));
      const failedAction = execution.path.filter((state) => actions.has(state)).at(-1) ?? 'a step';
      // Bookings of the key held by other executions were never this one's to undo: say so, not "nothing booked".
      const others = Object.entries(bookings).flatMap(([step, item]) => (item?.['status'] === BookingStatus.Booked ? [step] : []));
      const kept = others.length === 0 ? '' : ` (${others.join(', ')} stay booked by another execution of the ${saga.noun.toLowerCase()})`;
      return booked.length === 0
        ? `↩ rolled back: ${failedAction} failed (${caughtError(execution, failedAction)}); every compensation ran, nothing of its own is left booked${kept}`
        : `✗ INCONSISTENT: rolled back but ${booked.join(', ')} still booked`;
    }
    case 'compensation not finished': {
      // Named by the state it stopped at: its alert may not have been published.
      const stuck = stuckStepOf(saga, execution.path);
      const told = execution.alerts.length > 0 ? 'raised an alert' : 'no alert was published';
      return (
        `⚠ compensation not finished: ${stuck?.compensation ?? 'a compensation'} gave up and ${told}; ` +
        `still booked: ${booked.join(', ') || 'nothing'}`
      );
    }
    case 'step not finished': {
      // Named by the state it stopped at, as a stuck compensation is.
      const stuck = stuckStepOf(saga, execution.path);
      const told = execution.alerts.length > 0 ? 'raised an alert' : 'no alert was published';
      return (
        `⚠ step not finished: ${stuck?.action ?? 'a step'}, past the point of no return, gave up and ${told}; ` +
        `nothing is undone; still booked: ${booked.join(', ') || 'nothing'}; a redrive goes on forward from it`
      );
    }
    case 'bad input': {
      const rejected = execution.history.find((event) => event.type === 'LambdaFunctionFailed');
      const reason = causeMessage(detailsOf(rejected, 'lambdaFunctionFailedEventDetails')['cause']);
      const written = Object.entries(bookings).flatMap(([step, item]) => (item ? [step] : []));
      return written.length === 0
        ? `✗ bad input: ${reason}; nothing was written`
        : `✗ INCONSISTENT: bad input (${reason}) but ${written.join(', ')} written`;
    }
    case 'aborted':
      return `■ stopped before it ended: still booked: ${booked.join(', ') || 'nothing'}`;
    case 'failed':
      return `✗ failed: ${execution.error}: ${causeMessage(execution.cause)}`;
  }
}

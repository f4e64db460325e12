import { recordsOf, roleOf, StepRole, stepsOf, stepsOfStage, stuckStepOf, type Saga } from '../asl/saga.ts';
import { stillBooked, type Bookings, type Outcome } from '../local/execution.ts';

// The saga's consistency invariant, on what the tables hold once an execution has ended: what `saga verify` checks
// of every scenario, and the tests of every local execution.

/** An ended execution, as far as the invariant needs it. */
export interface Ended {
  readonly executionArn: string;
  readonly outcome: Outcome;
  /** The states entered, in order, those of a group's branches among them. */
  readonly path: readonly string[];
  /** Whether an alert was published. */
  readonly alerted: boolean;
}

export { stuckStepOf };

/**
 * What breaks the invariant, if anything: a succeeded execution holds all its bookings, with the input's details; a
 * rolled-back one holds none; one whose compensation did not finish stopped after a compensation's retry, alerted,
 * and holds only bookings still owed (its stage's, a group's whole, and every earlier stage's); bad input wrote nothing.
 */
export function invariantProblems(saga: Saga, ended: Ended, input: Readonly<Record<string, unknown>>, bookings: Bookings): string[] {
  // A custom step without a probe has no entry: its effect cannot be seen, and only the path speaks for it.
  const steps = stepsOf(saga).filter((step) => step.name in bookings);
  const own = stillBooked(bookings, ended.executionArn);
  switch (ended.outcome) {
    case 'succeeded': {
      const missing = steps.filter((step) => !own.includes(step.name)).map((step) => step.name);
      if (missing.length) return [`succeeded, but ${missing.join(', ')} not booked by it`];
      const altered = steps.flatMap((step) =>
        recordsOf(step)
          .filter((field) => bookings[step.name]?.[field] !== input[field])
          .map((field) => `${step.name}.${field}`),
      );
      return altered.length ? [`succeeded, but ${altered.join(', ')} differ from the ${saga.noun.toLowerCase()}`] : [];
    }
    case 'rolled back':
      return own.length ? [`rolled back, but ${own.join(', ')} still booked by it`] : [];
    case 'compensation not finished': {
      const stuck = stuckStepOf(saga, ended.path);
      const stage = saga.steps.findIndex((entry) => stepsOfStage(entry).some((step) => step === stuck));
      const owed = saga.steps
        .slice(0, stage + 1)
        .flatMap(stepsOfStage)
        .map((step) => step.name);
      return [
        ...(stage < 0 ? ['a compensation did not finish, but none was retried after an alert'] : []),
        ...(ended.alerted ? [] : ['a compensation gave up, but no alert was published']),
        ...own.filter((step) => !owed.includes(step)).map((step) => `${step} still booked, though no compensation owed it`),
      ];
    }
    case 'step not finished': {
      // Past the pivot nothing is undone: every step before the stuck one's stage keeps its effect.
      const stuck = stuckStepOf(saga, ended.path);
      const stage = saga.steps.findIndex((entry) => stepsOfStage(entry).some((step) => step === stuck));
      const done = saga.steps
        .slice(0, Math.max(stage, 0))
        .flatMap(stepsOfStage)
        .filter((step) => step.name in bookings);
      return [
        ...(stuck === undefined || roleOf(stuck) !== StepRole.Retriable
          ? ['a step past the pivot did not finish, but no retriable step was retried after an alert']
          : []),
        ...(ended.alerted ? [] : ['a retriable step gave up, but no alert was published']),
        ...done.filter((step) => !own.includes(step.name)).map((step) => `${step.name} undone or missing, though the pivot had committed`),
      ];
    }
    case 'bad input': {
      const written = steps.filter((step) => bookings[step.name]).map((step) => step.name);
      return written.length ? [`bad input, but ${written.join(', ')} written`] : [];
    }
    case 'aborted':
    case 'failed':
      return [`ended ${ended.outcome}, which the saga never does`];
  }
}

import { stepsOf, type Saga } from '../asl/saga.ts';
import { stillBooked, type Bookings } from '../local/execution.ts';
import {
  describeNeed,
  needOf,
  ownerOf,
  keyOf,
  routineEndsOf,
  UNSUCCESSFUL,
  type CommandContext,
  type EndedExecution,
  type MachineRole,
  type Need,
  type NeedsAPerson,
  type Unsuccessful,
} from './needs.ts';

// The scan behind `saga status` and the console's "needs a person": every ended execution of the saga's state
// machines, paged through ListExecutions, described, and its bookings read from the tables; bounded in calls.

/** An execution as ListExecutions lists it. */
export interface ListedExecution {
  readonly executionArn: string;
  readonly startDate: Date;
}

/** What the scan asks: the Step Functions API (AWS's or `saga local`'s) and the saga's tables. */
export interface StatusSource {
  /** One page of ListExecutions of a state machine, of one status, newest first. */
  listExecutions(
    stateMachineArn: string,
    status: Unsuccessful,
    nextToken: string | undefined,
  ): Promise<{ executions: readonly ListedExecution[]; nextToken?: string }>;
  /** DescribeExecution; undefined for one that no longer has an unsuccessful end (redriven since it was listed). */
  describeExecution(executionArn: string): Promise<EndedExecution | undefined>;
  /** The last state the execution entered, from the end of its history (one page). */
  lastStateEntered(executionArn: string): Promise<string | undefined>;
  /** The key's item in each step's table, by step name. */
  bookingsOf(key: string): Promise<Bookings>;
}

export interface ScannedMachine {
  readonly role: MachineRole;
  readonly stateMachineArn: string;
}

/** @default 1000: the executions of each status examined per state machine; past it, the scan says it is incomplete. */
export const DEFAULT_MAX_EXECUTIONS = 1000;
/** Executions examined at once: a few, to stay well under Step Functions' and DynamoDB's request rates. */
const AT_ONCE = 8;

export interface ScanOptions {
  readonly machines: readonly ScannedMachine[];
  readonly context: CommandContext;
  /** @default DEFAULT_MAX_EXECUTIONS */
  readonly maxExecutions?: number;
  /** Executions started before this are not examined (ListExecutions lists newest first). */
  readonly since?: Date;
  readonly now?: Date;
}

export interface ScanResult {
  /** Newest first, the saga's machine before the rollback machine. */
  readonly needs: readonly NeedsAPerson[];
  /** Ended executions examined. */
  readonly examined: number;
  /** API calls made: Step Functions' and DynamoDB's. */
  readonly calls: { readonly stepFunctions: number; readonly dynamodb: number };
  /** The machines and statuses whose list went past the bound: what was not examined may need someone. */
  readonly unexamined: readonly string[];
}

/** An ended execution, and whether it needs a person: what it still holds, and why. */
export interface Verdict {
  readonly execution: EndedExecution;
  readonly bookingsLeft: readonly string[];
  readonly need: Need | undefined;
}

/**
 * Whether an execution that ended unsuccessfully needs a person: one DescribeExecution, and unless it ended at a
 * routine end, its key's items; undefined when it has not ended unsuccessfully (it runs again, redriven).
 */
export async function verdictOf(
  saga: Saga,
  role: MachineRole,
  source: StatusSource,
  executionArn: string,
  now: Date,
  calls = { stepFunctions: 0, dynamodb: 0 },
): Promise<Verdict | undefined> {
  calls.stepFunctions += 1;
  const execution = await source.describeExecution(executionArn);
  if (execution === undefined) return undefined;
  if (execution.status === 'FAILED' && execution.error !== undefined && routineEndsOf(saga, role).includes(execution.error)) {
    return { execution, bookingsLeft: [], need: undefined };
  }
  const key = keyOf(saga, role, execution.input);
  let bookings: Bookings = {};
  if (key !== undefined) {
    calls.dynamodb += stepsOf(saga).length;
    bookings = await source.bookingsOf(key);
  }
  const bookingsLeft = stillBooked(bookings, ownerOf(role, execution));
  return { execution, bookingsLeft, need: needOf(saga, role, execution, bookingsLeft, now) };
}

/** An execution as DescribeExecution answers it, its dates as dates (the SDK's) whatever the wire said. */
export interface DescribedExecution {
  readonly executionArn: string;
  readonly stateMachineArn?: string | undefined;
  readonly name?: string | undefined;
  readonly status?: string | undefined;
  readonly startDate?: Date | undefined;
  readonly stopDate?: Date | undefined;
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
  readonly input?: string | undefined;
  readonly redriveStatus?: string | undefined;
  readonly redriveCount?: number | undefined;
}

/** The description of an execution that ended unsuccessfully, its input parsed; undefined for any other. */
export function endedExecutionOf(described: DescribedExecution): EndedExecution | undefined {
  const status = described.status as Unsuccessful;
  if (!UNSUCCESSFUL.includes(status) || described.stopDate === undefined) return undefined;
  let input: unknown;
  try {
    input = JSON.parse(described.input ?? 'null');
  } catch {
    input = described.input;
  }
  return {
    executionArn: described.executionArn,
    stateMachineArn: described.stateMachineArn ?? '',
    name: described.name ?? '',
    status,
    startDate: described.startDate ?? new Date(0),
    stopDate: described.stopDate,
    ...(described.error === undefined ? {} : { error: described.error }),
    ...(described.cause === undefined ? {} : { cause: described.cause }),
    input,
    redrivable: described.redriveStatus === 'REDRIVABLE',
    redriveCount: described.redriveCount ?? 0,
  };
}

/**
 * Which ended executions need a person. Calls made, at most: per state machine and unsuccessful status, one
 * ListExecutions per 1000 executions; per execution examined, one DescribeExecution, and unless it ended at a
 * routine end one GetItem per step; per execution that needs a person, one GetExecutionHistory.
 */
export async function scanForNeeds(saga: Saga, source: StatusSource, options: ScanOptions): Promise<ScanResult> {
  const now = options.now ?? new Date();
  const max = options.maxExecutions ?? DEFAULT_MAX_EXECUTIONS;
  const calls = { stepFunctions: 0, dynamodb: 0 };
  const needs: NeedsAPerson[] = [];
  const unexamined: string[] = [];
  let examined = 0;

  const examine = async (role: MachineRole, listed: ListedExecution): Promise<NeedsAPerson | undefined> => {
    const verdict = await verdictOf(saga, role, source, listed.executionArn, now, calls);
    if (verdict?.need === undefined) return undefined;
    calls.stepFunctions += 1;
    const stoppedAt = await source.lastStateEntered(listed.executionArn);
    return describeNeed(saga, role, verdict.execution, verdict.need, verdict.bookingsLeft, stoppedAt, options.context, now);
  };

  for (const machine of options.machines) {
    const found: { startDate: Date; need: NeedsAPerson }[] = [];
    for (const status of UNSUCCESSFUL) {
      let taken = 0;
      let nextToken: string | undefined;
      do {
        calls.stepFunctions += 1;
        const page = await source.listExecutions(machine.stateMachineArn, status, nextToken);
        nextToken = page.nextToken;
        const recent = page.executions.filter((listed) => options.since === undefined || listed.startDate >= options.since);
        // Newest first: once one is older than asked, so is every later one.
        if (recent.length < page.executions.length) nextToken = undefined;
        const batch = recent.slice(0, max - taken);
        if (batch.length < recent.length || (nextToken !== undefined && taken + batch.length >= max)) {
          unexamined.push(`${machine.stateMachineArn} ${status}`);
          nextToken = undefined;
        }
        taken += batch.length;
        for (let start = 0; start < batch.length; start += AT_ONCE) {
          const slice = batch.slice(start, start + AT_ONCE);
          const verdicts = await Promise.all(slice.map((listed) => examine(machine.role, listed)));
          verdicts.forEach((need, index) => need && found.push({ startDate: (slice[index] as ListedExecution).startDate, need }));
        }
      } while (nextToken !== undefined);
      examined += taken;
    }
    needs.push(...found.sort((a, b) => b.startDate.getTime() - a.startDate.getTime()).map(({ need }) => need));
  }
  return { needs, examined, calls, unexamined };
}

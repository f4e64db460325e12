import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { stepsOf, type Saga } from '../asl/saga.ts';
import { BookingStatus, OWNER } from '../functions/bookings.ts';
import type { Trip } from '../functions/trip.ts';
import type { Bookings, Outcome } from '../local/execution.ts';
import { invariantProblems } from './invariant.ts';
import { outcomeOf } from '../local/runtime.ts';
import { samePath, topLevelStatesOf, type Scenario } from './scenarios.ts';
import type { Target } from './target.ts';
import { TRIP_PREFIX } from './trip-prefix.ts';

// Runs the scenarios against a target through the Step Functions and DynamoDB APIs alone, checks the saga's
// invariant on what the tables hold, and deletes what it wrote: the items of its own trip ids.

/** One execution as the APIs show it once it has ended. */
export interface Seen {
  readonly executionArn: string;
  readonly outcome: Outcome;
  readonly path: readonly string[];
  readonly history: readonly HistoryEvent[];
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly status: 'held' | 'violated' | 'skipped';
  /** Why it was skipped, or the problems that make it violated. */
  readonly notes: readonly string[];
  readonly seen: readonly Seen[];
  /** What each step's table holds for the scenario's trip, as seen by the execution that should hold its bookings. */
  readonly tables: string;
}

export interface SuiteOptions {
  readonly saga: Saga;
  /** The trip every scenario starts from (the example trip), under its own id. */
  readonly trip: Trip;
  /** How often an execution's status is asked for. */
  readonly pollMs: number;
  /** How long one execution may run before it is stopped and its scenario violated. */
  readonly timeoutMs: number;
}

export interface SuiteRun {
  readonly results: readonly ScenarioResult[];
  /** Items deleted at the end: verify's own, by trip id. */
  readonly cleanedUp: number;
}

/** A state entered twice in a row is one visit: a redrive re-enters the state where the execution stopped. */
export const visits = (path: readonly string[]): string[] => path.filter((state, index) => state !== path[index - 1]);

class Runner {
  readonly #target: Target;
  readonly #options: SuiteOptions;
  readonly #topLevel: ReadonlySet<string>;
  readonly tripIds = new Set<string>();

  constructor(target: Target, options: SuiteOptions) {
    this.#target = target;
    this.#options = options;
    this.#topLevel = topLevelStatesOf(options.saga);
  }

  async #history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#target.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  }

  /** Waits for the execution's run to end (a redrive's, with `redriveCount`), stopping it past the timeout. */
  async #ended(executionArn: string, redriveCount = 0): Promise<Seen> {
    const deadline = Date.now() + this.#options.timeoutMs;
    for (;;) {
      const described = await this.#target.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const running =
        described.status === 'RUNNING' || described.status === 'PENDING_REDRIVE' || (described.redriveCount ?? 0) < redriveCount;
      if (!running) {
        const history = await this.#history(executionArn);
        const path = history.flatMap((event) => (event.stateEnteredEventDetails?.name ? [event.stateEnteredEventDetails.name] : []));
        const status = described.status === 'SUCCEEDED' || described.status === 'ABORTED' ? described.status : 'FAILED';
        // Where it stopped: the last state entered outside a group's branches (a group's compensations, when stuck).
        const stoppedAt = path.findLast((state) => this.#topLevel.has(state));
        return { executionArn, outcome: outcomeOf(this.#options.saga, status, described.error, stoppedAt), path, history };
      }
      if (Date.now() > deadline) {
        await this.#target.sfn.send(new StopExecutionCommand({ executionArn, error: 'SagaVerifyTimeout' }));
        throw new Error(`${executionArn} still ran after ${this.#options.timeoutMs / 1000} s: stopped`);
      }
      await sleep(this.#options.pollMs);
    }
  }

  async #start(name: string, trip: unknown): Promise<string> {
    const { executionArn } = await this.#target.sfn.send(
      new StartExecutionCommand({ stateMachineArn: this.#target.stateMachineArn, name, input: JSON.stringify(trip) }),
    );
    return executionArn as string;
  }

  async #bookings(tripId: string): Promise<Bookings> {
    const { saga } = this.#options;
    const items = await Promise.all(
      stepsOf(saga).map(async (step) => {
        const { Item } = await this.#target.dynamodb.send(
          new GetCommand({ TableName: this.#target.tables[step.name], Key: { [saga.keyField]: tripId }, ConsistentRead: true }),
        );
        return [step.name, Item] as const;
      }),
    );
    return Object.fromEntries(items);
  }

  /** The consistency invariant of one execution, on the tables: what is wrong, if anything. */
  #problems(seen: Seen, trip: Trip, bookings: Bookings): string[] {
    const alerted = seen.history.some((event) => event.type === 'TaskSucceeded' && event.taskSucceededEventDetails?.resourceType === 'sns');
    return invariantProblems(this.#options.saga, { ...seen, alerted }, trip, bookings);
  }

  async run(scenario: Scenario, tripId: string): Promise<ScenarioResult> {
    const { saga } = this.#options;
    this.tripIds.add(tripId);
    const trip: Trip = { ...this.#options.trip, [saga.keyField]: tripId, ...(scenario.fail.length ? { fail: [...scenario.fail] } : {}) };
    const input = scenario.invalid ? { ...trip, not_a_trip_field: true } : trip;
    const notes: string[] = [];
    let seen: Seen[];
    switch (scenario.kind) {
      case 'once':
        seen = [await this.#ended(await this.#start(tripId, input))];
        break;
      case 'redrive': {
        const stopped = await this.#ended(await this.#start(tripId, input));
        notes.push(...this.#problems(stopped, trip, await this.#bookings(tripId)).map((problem) => `before the redrive: ${problem}`));
        if (stopped.outcome !== scenario.outcomes[0])
          notes.push(`before the redrive: expected ${scenario.outcomes[0]}, saw ${stopped.outcome}`);
        await this.#target.sfn.send(new RedriveExecutionCommand({ executionArn: stopped.executionArn }));
        seen = [stopped, await this.#ended(stopped.executionArn, 1)];
        break;
      }
      case 'repeated start': {
        const first = await this.#start(tripId, input);
        const again = await this.#start(tripId, input).catch((error: unknown) => {
          // The first has already ended: AWS refuses the name from then on, which is one execution as well.
          if (error instanceof ExecutionAlreadyExists) return first;
          throw error;
        });
        if (again !== first) notes.push(`the second start made another execution: ${again}`);
        seen = [await this.#ended(first)];
        break;
      }
      case 'two executions': {
        // The second starts once the first holds the trip: of two at once, which wins a group's bookings is a race,
        // which both can lose.
        const holder = await this.#ended(await this.#start(`${tripId}-a`, input));
        seen = [holder, await this.#ended(await this.#start(`${tripId}-b`, input))];
        break;
      }
    }
    const bookings = await this.#bookings(tripId);
    const outcomes = seen.map((execution) => execution.outcome);
    if (outcomes.join() !== scenario.outcomes.join()) notes.push(`expected ${scenario.outcomes.join(' + ')}, saw ${outcomes.join(' + ')}`);
    const last = scenario.kind === 'redrive' ? seen.slice(1) : seen;
    for (const execution of last) notes.push(...this.#problems(execution, trip, bookings));
    const paths = scenario.kind === 'redrive' ? [seen[1]?.path ?? []] : last.map((execution) => execution.path);
    paths.forEach((path, index) => {
      const expected = scenario.paths[index] ?? [];
      if (!samePath(this.#topLevel, path, expected))
        notes.push(`path ${visits(path).join(' → ')} is not the expected ${expected.join(' → ')}`);
    });
    if (scenario.recovers) {
      const attempts = attemptsIn(seen[0]?.history ?? [], scenario.recovers.state);
      if (attempts !== scenario.recovers.attempts)
        notes.push(
          `${scenario.recovers.state}: expected ${scenario.recovers.attempts} attempts (failing, then recovering), saw ${attempts}`,
        );
    }
    const holder = seen.find((execution) => execution.outcome === 'succeeded') ?? seen.at(-1);
    return { scenario, status: notes.length ? 'violated' : 'held', notes, seen, tables: tablesCell(saga, bookings, holder?.executionArn) };
  }

  /** Deletes every item of verify's own trip ids, and no other; returns how many there were. */
  async cleanUp(): Promise<number> {
    const { saga } = this.#options;
    const deleted = await Promise.all(
      [...this.tripIds].flatMap((tripId) =>
        stepsOf(saga).map(async (step) => {
          const { Attributes } = await this.#target.dynamodb.send(
            new DeleteCommand({ TableName: this.#target.tables[step.name], Key: { [saga.keyField]: tripId }, ReturnValues: 'ALL_OLD' }),
          );
          return Attributes ? 1 : 0;
        }),
      ),
    );
    return deleted.reduce<number>((sum, count) => sum + count, 0);
  }
}

/**
 * Attempts of a state's function (its first call and its retries), from the history: each scheduling of a function
 * is traced back, event by event, to the state it was scheduled in, which a group's interleaved branches need.
 */
function attemptsIn(history: readonly HistoryEvent[], state: string): number {
  const byId = new Map(history.map((event) => [event.id, event]));
  const stateOf = (event: HistoryEvent | undefined): string | undefined => {
    let current = event;
    while (current && !current.stateEnteredEventDetails) current = byId.get(current.previousEventId ?? 0);
    return current?.stateEnteredEventDetails?.name;
  };
  return history.filter((event) => event.type === 'LambdaFunctionScheduled' && stateOf(event) === state).length;
}

/** What each step's table holds for the trip, in a few words: booked by the execution, by another, cancelled, nothing. */
function tablesCell(saga: Saga, bookings: Bookings, executionArn: string | undefined): string {
  return stepsOf(saga)
    .map((step) => {
      const item = bookings[step.name];
      const held = !item
        ? '—'
        : item['status'] === BookingStatus.Cancelled
          ? 'cancelled'
          : item[OWNER] === executionArn
            ? 'booked'
            : 'booked by the other';
      return `${step.name} ${held}`;
    })
    .join(', ');
}

/**
 * Runs every scenario (those that need faults only where `target.faults` allows), all at once, each on its own trip
 * id; then deletes what they wrote, even when one of them failed to run.
 */
export async function runSuite(target: Target, scenarios: readonly Scenario[], options: SuiteOptions): Promise<SuiteRun> {
  const runner = new Runner(target, options);
  const runId = randomBytes(4).toString('hex');
  try {
    const results = await Promise.all(
      scenarios.map(async (scenario, index): Promise<ScenarioResult> => {
        if (scenario.fail.length > 0 && !target.faults.run) {
          return { scenario, status: 'skipped', notes: [target.faults.why], seen: [], tables: '' };
        }
        try {
          // At most 80 characters, as an execution name, less the suffix of two executions' names.
          const tripId = `${TRIP_PREFIX}-${runId}-${index}-${scenario.slug}`.slice(0, 77);
          return await runner.run(scenario, tripId);
        } catch (error) {
          return { scenario, status: 'violated', notes: [`${(error as Error).name}: ${(error as Error).message}`], seen: [], tables: '' };
        }
      }),
    );
    return { results, cleanedUp: await runner.cleanUp() };
  } catch (error) {
    await runner.cleanUp();
    throw error;
  }
}

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
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { FAULT_FIELD, stepsOf, type Saga } from '../asl/saga.ts';
import type { Probe } from '../functions/custom-step.ts';
import { BookingStatus, OWNER } from '../functions/bookings.ts';
import type { Bookings, Outcome } from '../local/execution.ts';
import { invariantProblems } from './invariant.ts';
import { effectsOf } from '../status/aws-source.ts';
import { outcomeOf } from '../local/runtime.ts';
import { samePath, topLevelStatesOf, type Scenario } from './scenarios.ts';
import type { Target } from './target.ts';
import { KEY_PREFIX } from './key-prefix.ts';

// Runs the scenarios against a target through the Step Functions and DynamoDB APIs alone, checks the saga's
// invariant on what the tables hold, and deletes what it wrote: the items of its own keys.

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
  /** What each step's table holds for the scenario's key, as seen by the execution that should hold its bookings. */
  readonly tables: string;
}

export interface SuiteOptions {
  readonly saga: Saga;
  /** The probes of the saga's custom steps that have one (functions/custom-step.ts, probesOf). */
  readonly probes: ReadonlyMap<string, Probe>;
  /** The input every scenario starts from (the saga's example), under its own key. */
  readonly example: Readonly<Record<string, unknown>>;
  /** How often an execution's status is asked for. */
  readonly pollMs: number;
  /** How long one execution may run before it is stopped and its scenario violated. */
  readonly timeoutMs: number;
}

export interface SuiteRun {
  readonly results: readonly ScenarioResult[];
  /** Items deleted at the end: verify's own, by key. */
  readonly cleanedUp: number;
}

/** A state entered twice in a row is one visit: a redrive re-enters the state where the execution stopped. */
export const visits = (path: readonly string[]): string[] => path.filter((state, index) => state !== path[index - 1]);

class Runner {
  readonly #target: Target;
  readonly #options: SuiteOptions;
  readonly #topLevel: ReadonlySet<string>;
  readonly keys = new Set<string>();

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

  async #start(name: string, input: unknown): Promise<string> {
    const { executionArn } = await this.#target.sfn.send(
      new StartExecutionCommand({ stateMachineArn: this.#target.stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return executionArn as string;
  }

  /** Each step's item for the key; a custom step's effect as its probe says; a custom step without a probe left out. */
  #bookings(key: string): Promise<Bookings> {
    return effectsOf(this.#options.saga, this.#options.probes, this.#target.dynamodb, this.#target.tables, key);
  }

  /** The consistency invariant of one execution, on the tables: what is wrong, if anything. */
  #problems(seen: Seen, input: Readonly<Record<string, unknown>>, bookings: Bookings): string[] {
    const alerted = seen.history.some((event) => event.type === 'TaskSucceeded' && event.taskSucceededEventDetails?.resourceType === 'sns');
    return invariantProblems(this.#options.saga, { ...seen, alerted }, input, bookings);
  }

  async run(scenario: Scenario, key: string): Promise<ScenarioResult> {
    const { saga } = this.#options;
    this.keys.add(key);
    const valid = {
      ...this.#options.example,
      [saga.keyField]: key,
      ...(scenario.fail.length ? { [FAULT_FIELD]: [...scenario.fail] } : {}),
    };
    const input = scenario.invalid ? { ...valid, not_an_input_field: true } : valid;
    const notes: string[] = [];
    let seen: Seen[];
    switch (scenario.kind) {
      case 'once':
        seen = [await this.#ended(await this.#start(key, input))];
        break;
      case 'redrive': {
        const stopped = await this.#ended(await this.#start(key, input));
        notes.push(...this.#problems(stopped, valid, await this.#bookings(key)).map((problem) => `before the redrive: ${problem}`));
        if (stopped.outcome !== scenario.outcomes[0])
          notes.push(`before the redrive: expected ${scenario.outcomes[0]}, saw ${stopped.outcome}`);
        await this.#target.sfn.send(new RedriveExecutionCommand({ executionArn: stopped.executionArn }));
        seen = [stopped, await this.#ended(stopped.executionArn, 1)];
        break;
      }
      case 'repeated start': {
        const first = await this.#start(key, input);
        const again = await this.#start(key, input).catch((error: unknown) => {
          // The first has already ended: AWS refuses the name from then on, which is one execution as well.
          if (error instanceof ExecutionAlreadyExists) return first;
          throw error;
        });
        if (again !== first) notes.push(`the second start made another execution: ${again}`);
        seen = [await this.#ended(first)];
        break;
      }
      case 'two executions': {
        // The second starts once the first holds the key: of two at once, which wins a group's bookings is a race,
        // which both can lose.
        const holder = await this.#ended(await this.#start(`${key}-a`, input));
        seen = [holder, await this.#ended(await this.#start(`${key}-b`, input))];
        break;
      }
    }
    const bookings = await this.#bookings(key);
    const outcomes = seen.map((execution) => execution.outcome);
    if (outcomes.join() !== scenario.outcomes.join()) notes.push(`expected ${scenario.outcomes.join(' + ')}, saw ${outcomes.join(' + ')}`);
    const last = scenario.kind === 'redrive' ? seen.slice(1) : seen;
    for (const execution of last) notes.push(...this.#problems(execution, valid, bookings));
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

  /** Deletes every item of verify's own keys, and no other; returns how many there were. */
  async cleanUp(): Promise<number> {
    const { saga } = this.#options;
    const deleted = await Promise.all(
      [...this.keys].flatMap((key) =>
        stepsOf(saga)
          .flatMap((step) => (this.#target.tables[step.name] === undefined ? [] : [step]))
          .map(async (step) => {
            const { Attributes } = await this.#target.dynamodb.send(
              new DeleteCommand({ TableName: this.#target.tables[step.name], Key: { [saga.keyField]: key }, ReturnValues: 'ALL_OLD' }),
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

/** What each step's table holds for the key, in a few words: booked by the execution, by another, cancelled, nothing. */
function tablesCell(saga: Saga, bookings: Bookings, executionArn: string | undefined): string {
  return stepsOf(saga)
    .map((step) => {
      const item = bookings[step.name];
      // A custom step without a probe: only the path taken speaks for it.
      if (!(step.name in bookings)) return `${step.name} path only (no probe)`;
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
 * Runs every scenario (those that need faults only where `target.faults` allows), all at once, each on its own
 * key; then deletes what they wrote, even when one of them failed to run.
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
          const key = `${KEY_PREFIX}-${runId}-${index}-${scenario.slug}`.slice(0, 77);
          return await runner.run(scenario, key);
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

import { statesByName, type FailState, type State, type StateGraph, type StateMachineDefinition } from '../asl/model.ts';
import { LOCAL_REGION } from './dynamodb.ts';
import { payloadTextOf } from './payload-text.ts';

// An execution's history in the shape of Step Functions' GetExecutionHistory, built from the events of
// aws-local-stepfunctions. Inputs and outputs are JSON strings, as AWS returns them. Event types, detail fields and
// `previousEventId` links follow histories recorded on AWS (test/fixtures/aws-histories, compared in a test).

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly [details: string]: unknown;
}

/** The subset of aws-local-stepfunctions' event log that a history is made of. */
export type InterpreterEvent =
  | { type: 'ExecutionStarted'; timestamp: number; input: unknown }
  | { type: 'ExecutionSucceeded'; timestamp: number; output: unknown }
  | { type: 'ExecutionFailed'; timestamp: number; Error: string; Cause: unknown }
  | { type: 'ExecutionAborted' | 'ExecutionTimeout'; timestamp: number }
  | { type: 'StateEntered' | 'StateExited' | 'StateCaught'; timestamp: number; state: { name: string; input: unknown; output?: unknown } }
  | { type: 'StateFailed'; timestamp: number; state: { name: string }; Error: string; Cause: unknown }
  | { type: 'StateRetried'; timestamp: number; state: { name: string }; retry: { attempt: number } };

const toJson = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value ?? null));

/** HistoryEventExecutionDataDetails: the API model has `truncated` alone, always false for API calls. */
const details = { truncated: false } as const;

/** A Task's call: the payload it sent, and the JSON texts of its payload and result, as they crossed to and from its function. */
export interface TaskCall {
  readonly payload: unknown;
  input?: string;
  result?: string;
}

/**
 * What a run hands its history, in the order it happened: an interpreter event, a Task's call as it begins, or the
 * redrive the run is. Each is written out as events when the history is next read (ExecutionHistory.events).
 */
type Recorded =
  | { readonly kind: 'event'; readonly event: InterpreterEvent }
  | { readonly kind: 'call'; readonly state: string; readonly call: TaskCall }
  | { readonly kind: 'redriven'; readonly timestamp: number; readonly redriveCount: number };

/**
 * The chain an event links into: the execution's own (''), or one branch of a Parallel state (`<state>#<index>`).
 * AWS links each event to the previous one of its chain: a branch's first state to its Parallel state's
 * ParallelStateStarted, whatever the other branches recorded in between.
 */
type Chain = string;
const EXECUTION: Chain = '';

/** Each state's chain, and each Parallel state's branch chains, read from the definition. */
function chainsOf(graph: StateGraph, chain: Chain, chainOf: Map<string, Chain>, branchesOf: Map<string, Chain[]>): void {
  for (const [name, state] of Object.entries(graph.States)) {
    chainOf.set(name, chain);
    if (state.Type !== 'Parallel') continue;
    const branches = state.Branches.map((_, index) => `${name}#${index}`);
    branchesOf.set(name, branches);
    state.Branches.forEach((branch, index) => chainsOf(branch, branches[index] as Chain, chainOf, branchesOf));
  }
}

/** What a history reads of its definition, the same for every execution of it: worked out once per definition. */
interface DefinitionFacts {
  readonly states: ReadonlyMap<string, State>;
  readonly resources: Readonly<Record<string, string>>;
  /** Each Task's service integration (integrationOf), undefined for a Lambda function's. */
  readonly integrations: ReadonlyMap<string, Integration | undefined>;
  readonly timeouts: Readonly<Record<string, number | undefined>>;
  readonly chainOf: ReadonlyMap<string, Chain>;
  readonly branchesOf: ReadonlyMap<string, Chain[]>;
}

const factsByDefinition = new WeakMap<StateMachineDefinition, DefinitionFacts>();

function factsOf(definition: StateMachineDefinition): DefinitionFacts {
  const known = factsByDefinition.get(definition);
  if (known) return known;
  const states = statesByName(definition);
  const tasks = [...states].flatMap(([name, state]) => (state.Type === 'Task' ? [[name, state] as const] : []));
  const chainOf = new Map<string, Chain>();
  const branchesOf = new Map<string, Chain[]>();
  chainsOf(definition, EXECUTION, chainOf, branchesOf);
  const facts: DefinitionFacts = {
    states,
    resources: Object.fromEntries(tasks.map(([name, state]) => [name, state.Resource])),
    integrations: new Map(tasks.map(([name, state]) => [name, integrationOf(state.Resource)])),
    timeouts: Object.fromEntries(tasks.map(([name, state]) => [name, state.TimeoutSeconds])),
    chainOf,
    branchesOf,
  };
  factsByDefinition.set(definition, facts);
  return facts;
}

interface Integration {
  readonly resourceType: string;
  readonly resource: string;
}

/**
 * A service integration's `resourceType` and `resource`, as AWS records them (`arn:aws:states:::sns:publish` is
 * `sns` and `publish`); undefined for a Lambda function's ARN, whose calls are Lambda events.
 */
function integrationOf(resourceArn: string): Integration | undefined {
  const [, resourceType, resource] = /^arn:[^:]+:states:::([^:]+):([^:.]+)/.exec(resourceArn) ?? [];
  return resourceType === undefined || resource === undefined ? undefined : { resourceType, resource };
}

const isFailure = (type: string): boolean => type.endsWith('Failed') || type === 'FailStateEntered';

export class ExecutionHistory {
  readonly #events: HistoryEvent[];
  /**
   * Recorded and not yet written out. A run that nobody watches (no journal, no listener) is read at its end or
   * never, and its texts are not written until then: they are the objects the run handed on, which nothing changes
   * in place (a ResultPath copies what it writes; the local functions change nothing they are given).
   */
  #unwritten: Recorded[] = [];
  readonly #payloadText = payloadTextOf();
  /** Every state by name, those inside Parallel branches included: their events are the execution's, as on AWS. */
  readonly #states: ReadonlyMap<string, State>;
  readonly #resources: Readonly<Record<string, string>>;
  readonly #integrations: ReadonlyMap<string, Integration | undefined>;
  /** Each Task's TimeoutSeconds, which AWS reports as the scheduled function's timeoutInSeconds. */
  readonly #timeouts: Readonly<Record<string, number | undefined>>;
  readonly #roleArn: string;
  /**
   * Each Task's calls, in order, as its handler saw them (the input after Parameters, the raw result): the
   * interpreter's events say when a call ended but not with what, and they may be read after later calls began.
   */
  readonly #calls = new Map<string, TaskCall[]>();
  /** When each Task's current call was scheduled: its entry, or its last retry. */
  readonly #scheduledAt = new Map<string, number>();
  readonly #failedLast = new Set<string>();
  readonly #chainOf: ReadonlyMap<string, Chain>;
  readonly #branchesOf: ReadonlyMap<string, Chain[]>;
  /** The last event of each chain: where its next event links to. */
  readonly #last = new Map<Chain, number>();
  /** States entered and not yet exited, by chain: a stopped branch's are aborted. */
  readonly #open = new Map<Chain, Set<string>>();
  /** The Fail state last entered and not caught: an execution it fails records only the error and cause it names. */
  #failing: FailState | undefined;
  /**
   * The last data written as JSON, and its text: a state's output is the next state's input, and the last one the
   * execution's output, the same object each time (nothing changes state data in place), written once.
   */
  #lastWritten: { readonly value: unknown; readonly text: string } | undefined;
  /** A Parallel state's failure, recorded once it is known not to be retried (a retried one records none, as on AWS). */
  #pendingFailure: { readonly state: string; readonly timestamp: number; readonly cause: number } | undefined;

  /** `previous`: the events of the execution's earlier runs, when it is redriven: ids continue from them. */
  constructor(definition: StateMachineDefinition, roleArn: string, previous: readonly HistoryEvent[] = []) {
    this.#events = [...previous];
    ({
      states: this.#states,
      resources: this.#resources,
      integrations: this.#integrations,
      timeouts: this.#timeouts,
      chainOf: this.#chainOf,
      branchesOf: this.#branchesOf,
    } = factsOf(definition));
    this.#roleArn = roleArn;
    // AWS links the first state's entry to 0, not to ExecutionStarted; a later run's first event to the last one.
    this.#last.set(EXECUTION, previous.at(-1)?.id ?? 0);
  }

  /** The events so far, in the shape of GetExecutionHistory: what was recorded since the last read is written out now. */
  get events(): HistoryEvent[] {
    const unwritten = this.#unwritten;
    if (unwritten.length > 0) {
      this.#unwritten = [];
      for (const recorded of unwritten) this.#write(recorded);
    }
    return this.#events;
  }

  /** Called by a Task's handler wrapper as a call begins, with what the Task sends; the returned record takes the result. */
  recordCall(state: string, payload: unknown): TaskCall {
    const call: TaskCall = { payload };
    this.#unwritten.push({ kind: 'call', state, call });
    return call;
  }

  /** A call's payload as the JSON text that crosses to its function. */
  inputTextOf(call: TaskCall): string {
    call.input ??= this.#payloadText(call.payload);
    return call.input;
  }

  /** Where a redrive begins, as AWS records it; the redriven run's own ExecutionStarted is not an event of the execution. */
  redriven(redriveCount: number): void {
    this.#unwritten.push({ kind: 'redriven', timestamp: Date.now(), redriveCount });
  }

  /** An event of the interpreter, as it dispatches it. */
  record(event: InterpreterEvent): void {
    this.#unwritten.push({ kind: 'event', event });
  }

  #write(recorded: Recorded): void {
    switch (recorded.kind) {
      case 'call': {
        const calls = this.#calls.get(recorded.state) ?? [];
        calls.push(recorded.call);
        this.#calls.set(recorded.state, calls);
        return;
      }
      case 'redriven':
        this.#add(recorded.timestamp, 'ExecutionRedriven', { executionRedrivenEventDetails: { redriveCount: recorded.redriveCount } });
        return;
      case 'event':
        this.#writeEvent(recorded.event);
    }
  }

  #chain(state: string | undefined): Chain {
    return state === undefined ? EXECUTION : (this.#chainOf.get(state) ?? EXECUTION);
  }

  /**
   * Adds an event to the chain of `state` (the execution's, without one), linked to that chain's last event unless
   * `previous` says otherwise; `chained: false` leaves the chain's last event as it was.
   */
  #add(
    timestamp: number,
    type: string,
    fields: Record<string, unknown> = {},
    state?: string,
    link: { previous?: number; chained?: boolean } = {},
  ): number {
    const id = this.#events.length + 1;
    const chain = this.#chain(state);
    const previousEventId = link.previous ?? this.#last.get(chain) ?? id - 1;
    this.#events.push({ id, previousEventId, timestamp: new Date(timestamp), type, ...fields });
    if (link.chained !== false) this.#last.set(chain, id);
    return id;
  }

  #opened(chain: Chain): Set<string> {
    const open = this.#open.get(chain) ?? new Set<string>();
    this.#open.set(chain, open);
    return open;
  }

  /** The scheduled and started events of a Task's current call, when it began; the call's record, to end it with. */
  #callBegun(state: string): TaskCall {
    const call = this.#calls.get(state)?.shift() ?? { payload: null };
    const at = this.#scheduledAt.get(state) ?? Date.now();
    const input = this.inputTextOf(call);
    const integration = this.#integrations.get(state);
    if (integration) {
      this.#add(at, 'TaskScheduled', { taskScheduledEventDetails: { ...integration, region: LOCAL_REGION, parameters: input } }, state);
      this.#add(at, 'TaskStarted', { taskStartedEventDetails: integration }, state);
    } else {
      const timeout = this.#timeouts[state];
      this.#add(
        at,
        'LambdaFunctionScheduled',
        {
          lambdaFunctionScheduledEventDetails: {
            resource: this.#resources[state],
            input,
            inputDetails: details,
            ...(timeout === undefined ? {} : { timeoutInSeconds: timeout }),
          },
        },
        state,
      );
      this.#add(at, 'LambdaFunctionStarted', {}, state);
    }
    return call;
  }

  /**
   * A Parallel state's branches stopped by one that failed: each state still running in them records its abort
   * (a Task its call, which went on and may have landed, then TaskStateAborted), as AWS records it. Returns the
   * failing branch's failure, where ParallelStateFailed links.
   */
  #stopBranches(parallel: string, timestamp: number): number | undefined {
    const lastFailure = (chain: Chain): number | undefined => {
      const last = this.#last.get(chain);
      return last !== undefined && isFailure(this.#events[last - 1]?.type ?? '') ? last : undefined;
    };
    const branches = this.#branchesOf.get(parallel) ?? [];
    const failure = Math.max(0, ...branches.map((chain) => lastFailure(chain) ?? 0)) || undefined;
    // The failing branch first: its Task's abort follows its failure, as in AWS's records.
    const failing = branches.filter((chain) => lastFailure(chain) === failure);
    for (const chain of [...failing, ...branches.filter((chain) => !failing.includes(chain))]) {
      const failed = lastFailure(chain) !== undefined;
      for (const state of this.#opened(chain)) {
        const type = this.#states.get(state)?.Type ?? 'Task';
        if (type === 'Parallel') this.#stopBranches(state, timestamp);
        else if (type === 'Task' && !failed && this.#calls.get(state)?.length) this.#callBegun(state);
        this.#add(timestamp, `${type}StateAborted`, {}, state, { chained: !failed });
      }
      this.#opened(chain).clear();
    }
    return failure;
  }

  /** Records a Parallel state's failure that was not retried: linked to its failing branch's failure. */
  #settleFailure(): void {
    const pending = this.#pendingFailure;
    if (pending === undefined) return;
    this.#pendingFailure = undefined;
    this.#add(pending.timestamp, 'ParallelStateFailed', {}, pending.state, { previous: pending.cause });
  }

  #json(value: unknown): string {
    const last = this.#lastWritten;
    if (last !== undefined && last.value === value && typeof value === 'object' && value !== null) return last.text;
    const text = toJson(value);
    this.#lastWritten = { value, text };
    return text;
  }

  #writeEvent(event: InterpreterEvent): void {
    if (!(event.type === 'StateRetried' && event.state.name === this.#pendingFailure?.state)) this.#settleFailure();
    switch (event.type) {
      case 'ExecutionStarted': {
        const input = this.#json(event.input);
        this.#add(
          event.timestamp,
          'ExecutionStarted',
          { executionStartedEventDetails: { input, inputDetails: details, roleArn: this.#roleArn } },
          undefined,
          { previous: 0, chained: false },
        );
        return;
      }
      case 'ExecutionSucceeded': {
        const output = this.#json(event.output);
        this.#add(event.timestamp, 'ExecutionSucceeded', { executionSucceededEventDetails: { output, outputDetails: details } });
        return;
      }
      case 'ExecutionFailed': {
        // A Fail state without an error or a cause fails the execution without one (the interpreter gives defaults).
        const fail = this.#failing;
        const failure = {
          ...(fail === undefined || 'Error' in fail ? { error: event.Error } : {}),
          ...(fail === undefined || 'Cause' in fail ? { cause: toJson(event.Cause) } : {}),
        };
        this.#add(event.timestamp, 'ExecutionFailed', { executionFailedEventDetails: failure });
        return;
      }
      case 'ExecutionAborted':
        // A stopped execution's running Tasks keep the calls they made; AWS records no abort of its states and links
        // ExecutionAborted to 0. StopExecution's error and cause, when given, are set by the API (sfn-server.ts).
        for (const open of this.#open.values()) {
          for (const state of open) if (this.#states.get(state)?.Type === 'Task' && this.#calls.get(state)?.length) this.#callBegun(state);
        }
        this.#add(event.timestamp, 'ExecutionAborted', { executionAbortedEventDetails: {} }, undefined, { previous: 0 });
        return;
      case 'ExecutionTimeout':
        this.#add(event.timestamp, 'ExecutionTimedOut');
        return;
      case 'StateEntered': {
        const name = event.state.name;
        const type = this.#states.get(name)?.Type ?? 'Task';
        const input = this.#json(event.state.input);
        this.#add(event.timestamp, `${type}StateEntered`, { stateEnteredEventDetails: { name, input, inputDetails: details } }, name);
        // A Fail state ends its chain: nothing of it is left to abort.
        const state = this.#states.get(name);
        if (state?.Type === 'Fail') this.#failing = state;
        else this.#opened(this.#chain(name)).add(name);
        if (type === 'Parallel') this.#parallelStarted(name, event.timestamp);
        this.#scheduledAt.set(name, event.timestamp);
        this.#failedLast.delete(name);
        return;
      }
      case 'StateRetried': {
        const name = event.state.name;
        this.#failing = undefined;
        this.#scheduledAt.set(name, event.timestamp);
        this.#failedLast.delete(name);
        if (this.#pendingFailure?.state === name) {
          // A retried Parallel state records no failure: it starts again, linked to its failing branch's failure.
          this.#last.set(this.#chain(name), this.#pendingFailure.cause);
          this.#pendingFailure = undefined;
          this.#parallelStarted(name, event.timestamp);
        }
        return;
      }
      case 'StateFailed': {
        const name = event.state.name;
        const type = this.#states.get(name)?.Type;
        if (type === 'Parallel') {
          this.#failedLast.add(name);
          const cause = this.#stopBranches(name, event.timestamp) ?? this.#last.get(this.#chain(name)) ?? this.#events.length;
          this.#pendingFailure = { state: name, timestamp: event.timestamp, cause };
          return;
        }
        if (type !== 'Task') return;
        const failure = { error: event.Error, cause: toJson(event.Cause) };
        this.#failedLast.add(name);
        const integration = this.#integrations.get(name);
        this.#callBegun(name);
        if (integration) this.#add(event.timestamp, 'TaskFailed', { taskFailedEventDetails: { ...integration, ...failure } }, name);
        else this.#add(event.timestamp, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: failure }, name);
        return;
      }
      case 'StateCaught':
        this.#failing = undefined;
        return;
      case 'StateExited': {
        const name = event.state.name;
        const type = this.#states.get(name)?.Type ?? 'Task';
        const chain = this.#chain(name);
        this.#opened(chain).delete(name);
        if (type === 'Parallel' && !this.#failedLast.has(name)) {
          // Both link to the branches' latest event: AWS does not chain ParallelStateSucceeded.
          const branchesEnd = Math.max(...(this.#branchesOf.get(name) ?? []).map((branch) => this.#last.get(branch) ?? 0));
          this.#add(event.timestamp, 'ParallelStateSucceeded', {}, name, { previous: branchesEnd, chained: false });
          this.#last.set(chain, branchesEnd);
        }
        if (type === 'Task' && !this.#failedLast.has(name)) {
          const { result: output = 'null' } = this.#callBegun(name);
          const integration = this.#integrations.get(name);
          const succeeded = { ...integration, output, outputDetails: details };
          if (integration) this.#add(event.timestamp, 'TaskSucceeded', { taskSucceededEventDetails: succeeded }, name);
          else this.#add(event.timestamp, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: succeeded }, name);
        }
        const output = this.#json(event.state.output);
        this.#add(event.timestamp, `${type}StateExited`, { stateExitedEventDetails: { name, output, outputDetails: details } }, name);
        return;
      }
    }
  }

  /** A Parallel state starts (again, when retried): each of its branches' chains begins at ParallelStateStarted. */
  #parallelStarted(name: string, timestamp: number): void {
    const started = this.#add(timestamp, 'ParallelStateStarted', {}, name);
    for (const branch of this.#branchesOf.get(name) ?? []) {
      this.#last.set(branch, started);
      this.#opened(branch).clear();
    }
  }
}

const PARALLEL_ENDS = new Set(['ParallelStateSucceeded', 'ParallelStateFailed']);

/**
 * Tells, event by event in the order of a history, which state each event belongs to: the state it names, else the
 * one its `previousEventId` leads to (a Parallel state's branches run at once, their events interleaved), except a
 * Parallel state's end, which links to its branches' last event: it belongs to the innermost Parallel state under way.
 */
export function stateOfEvents(): (event: Pick<HistoryEvent, 'id' | 'previousEventId' | 'type'>) => string {
  const stateOfEvent = new Map<number, string>();
  const parallels: string[] = [];
  return (event) => {
    const { stateEnteredEventDetails, stateExitedEventDetails } = event as Partial<Record<string, { name?: unknown }>>;
    const named = (stateEnteredEventDetails ?? stateExitedEventDetails)?.name;
    const state =
      typeof named === 'string'
        ? named
        : PARALLEL_ENDS.has(event.type)
          ? (parallels.at(-1) ?? '')
          : (stateOfEvent.get(event.previousEventId) ?? '');
    if (event.type === 'ParallelStateEntered') parallels.push(state);
    if (event.type === 'ParallelStateExited' && parallels.includes(state)) parallels.splice(parallels.lastIndexOf(state), 1);
    stateOfEvent.set(event.id, state);
    return state;
  };
}

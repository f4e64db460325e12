import { statesByName, type State, type StateMachineDefinition } from '../asl/model.ts';
import { LOCAL_REGION } from './dynamodb.ts';

// An execution's history in the shape of Step Functions' GetExecutionHistory, built from the events of
// aws-local-stepfunctions. Inputs and outputs are JSON strings, as AWS returns them.

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

const json = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value ?? null));
const details = (text: string) => ({ truncated: false, included: true, size: text.length });

interface TaskCall {
  readonly input: unknown;
  result?: unknown;
}

export class ExecutionHistory {
  readonly events: HistoryEvent[];
  /** Every state by name, those inside Parallel branches included: their events are the execution's, as on AWS. */
  readonly #states: ReadonlyMap<string, State>;
  readonly #resources: Readonly<Record<string, string>>;
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

  /** `previous`: the events of the execution's earlier runs, when it is redriven: ids continue from them. */
  constructor(definition: StateMachineDefinition, roleArn: string, previous: readonly HistoryEvent[] = []) {
    this.events = [...previous];
    this.#states = statesByName(definition);
    this.#roleArn = roleArn;
    const tasks = [...this.#states].flatMap(([name, state]) => (state.Type === 'Task' ? [[name, state] as const] : []));
    this.#resources = Object.fromEntries(tasks.map(([name, state]) => [name, state.Resource]));
    this.#timeouts = Object.fromEntries(tasks.map(([name, state]) => [name, state.TimeoutSeconds]));
  }

  /** Called by a Task's handler wrapper as a call begins; the returned record takes the result. */
  recordCall(state: string, input: unknown): TaskCall {
    const call: TaskCall = { input };
    const calls = this.#calls.get(state) ?? [];
    calls.push(call);
    this.#calls.set(state, calls);
    return call;
  }

  /** Where a redrive begins, as AWS records it; the redriven run's own ExecutionStarted is not an event of the execution. */
  redriven(redriveCount: number): void {
    this.#add(Date.now(), 'ExecutionRedriven', { executionRedrivenEventDetails: { redriveCount } });
  }

  /**
   * Adds an event. One of a state's own (its calls, its end) follows that state's previous event, as AWS links them:
   * with a Parallel state's branches running at once, the event before it may be another state's.
   */
  #add(timestamp: number, type: string, fields: Record<string, unknown> = {}, state?: string): void {
    const id = this.events.length + 1;
    const previousEventId = (state !== undefined && !type.endsWith('StateEntered') && this.#lastOf.get(state)) || id - 1;
    this.events.push({ id, previousEventId, timestamp: new Date(timestamp), type, ...fields });
    if (state !== undefined) this.#lastOf.set(state, id);
  }

  /** Each state's latest event: where its next event links to. */
  readonly #lastOf = new Map<string, number>();

  /**
   * A service integration's `resourceType` and `resource`, as AWS records them (`arn:aws:states:::sns:publish` is
   * `sns` and `publish`); undefined for a Lambda function's ARN, whose calls are Lambda events.
   */
  #integration(state: string): { resourceType: string; resource: string } | undefined {
    const [, resourceType, resource] = /^arn:[^:]+:states:::([^:]+):([^:.]+)/.exec(this.#resources[state] ?? '') ?? [];
    return resourceType === undefined || resource === undefined ? undefined : { resourceType, resource };
  }

  /** The events of one finished call: scheduled and started when it began, then `ended`. */
  #call(state: string, ended: (call: TaskCall) => void): void {
    const call = this.#calls.get(state)?.shift() ?? { input: null };
    const at = this.#scheduledAt.get(state) ?? Date.now();
    const input = json(call.input);
    const integration = this.#integration(state);
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
            inputDetails: details(input),
            ...(timeout === undefined ? {} : { timeoutInSeconds: timeout }),
          },
        },
        state,
      );
      this.#add(at, 'LambdaFunctionStarted', {}, state);
    }
    ended(call);
  }

  record(event: InterpreterEvent): void {
    switch (event.type) {
      case 'ExecutionStarted': {
        const input = json(event.input);
        this.#add(event.timestamp, 'ExecutionStarted', {
          executionStartedEventDetails: { input, inputDetails: details(input), roleArn: this.#roleArn },
        });
        return;
      }
      case 'ExecutionSucceeded': {
        const output = json(event.output);
        this.#add(event.timestamp, 'ExecutionSucceeded', { executionSucceededEventDetails: { output, outputDetails: details(output) } });
        return;
      }
      case 'ExecutionFailed':
        this.#add(event.timestamp, 'ExecutionFailed', { executionFailedEventDetails: { error: event.Error, cause: json(event.Cause) } });
        return;
      case 'ExecutionAborted':
        this.#add(event.timestamp, 'ExecutionAborted');
        return;
      case 'ExecutionTimeout':
        this.#add(event.timestamp, 'ExecutionTimedOut');
        return;
      case 'StateEntered': {
        const type = this.#states.get(event.state.name)?.Type ?? 'Task';
        const input = json(event.state.input);
        this.#add(
          event.timestamp,
          `${type}StateEntered`,
          { stateEnteredEventDetails: { name: event.state.name, input, inputDetails: details(input) } },
          event.state.name,
        );
        // AWS records a Parallel state's start apart from its entry, then its branches' states as the execution's.
        if (type === 'Parallel') this.#add(event.timestamp, 'ParallelStateStarted', {}, event.state.name);
        this.#scheduledAt.set(event.state.name, event.timestamp);
        this.#failedLast.delete(event.state.name);
        return;
      }
      case 'StateRetried':
        this.#scheduledAt.set(event.state.name, event.timestamp);
        this.#failedLast.delete(event.state.name);
        return;
      case 'StateFailed': {
        const name = event.state.name;
        if (this.#states.get(name)?.Type === 'Parallel') {
          this.#failedLast.add(name);
          this.#add(event.timestamp, 'ParallelStateFailed', {}, name);
          return;
        }
        if (this.#states.get(name)?.Type !== 'Task') return;
        const failure = { error: event.Error, cause: json(event.Cause) };
        this.#failedLast.add(name);
        const integration = this.#integration(name);
        this.#call(name, () =>
          integration
            ? this.#add(event.timestamp, 'TaskFailed', { taskFailedEventDetails: { ...integration, ...failure } }, name)
            : this.#add(event.timestamp, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: failure }, name),
        );
        return;
      }
      case 'StateCaught':
        return;
      case 'StateExited': {
        const name = event.state.name;
        const type = this.#states.get(name)?.Type ?? 'Task';
        if (type === 'Parallel' && !this.#failedLast.has(name)) this.#add(event.timestamp, 'ParallelStateSucceeded', {}, name);
        if (type === 'Task' && !this.#failedLast.has(name)) {
          this.#call(name, (call) => {
            const result = json(call.result);
            const integration = this.#integration(name);
            if (integration) {
              this.#add(
                event.timestamp,
                'TaskSucceeded',
                { taskSucceededEventDetails: { ...integration, output: result, outputDetails: details(result) } },
                name,
              );
            } else {
              this.#add(
                event.timestamp,
                'LambdaFunctionSucceeded',
                { lambdaFunctionSucceededEventDetails: { output: result, outputDetails: details(result) } },
                name,
              );
            }
          });
        }
        const output = json(event.state.output);
        this.#add(
          event.timestamp,
          `${type}StateExited`,
          { stateExitedEventDetails: { name, output, outputDetails: details(output) } },
          name,
        );
        return;
      }
    }
  }
}

import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { SagaOutcome } from '../asl/errors.ts';
import { taskStatesOf, type StateMachineDefinition } from '../asl/model.ts';
import { placeholderResources, renderRollback, renderSaga, SNS_PUBLISH, START_EXECUTION } from '../asl/render.ts';
import { retryStateOf, type Saga } from '../asl/saga.ts';
import { BookingStatus, OWNER } from '../functions/bookings.ts';
import { handlerModulesOf } from '../functions/build.ts';
import { stepConfigsOf, type StepConfig } from '../functions/config.ts';
import type { HandlerDependencies } from '../functions/handlers.ts';
import { Logger } from '../functions/logger.ts';
import { createBookingTables, LOCAL_ACCOUNT, LOCAL_REGION, startDynamoDb, type EmbeddedDynamoDb } from './dynamodb.ts';
import { injectedError, type FaultSpec } from './faults.ts';
import { ExecutionHistory, type HistoryEvent, type InterpreterEvent } from './history.ts';
import { lambdaContext } from './lambda-context.ts';

/** Step Functions' rule for an execution name: 1 to 80 characters, none of them blank, special or control. */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
export const isExecutionName = (name: unknown): name is string => typeof name === 'string' && EXECUTION_NAME.test(name);

/** An execution name that Step Functions would refuse, or one a kept execution already has. */
export class ExecutionNameError extends Error {
  override readonly name = 'ExecutionNameError';
}

export type Bookings = Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>;

/** The steps whose table still holds a booking (not a cancellation marker) of the trip owned by the execution. */
export const stillBooked = (bookings: Bookings, executionArn: string): string[] =>
  Object.entries(bookings).flatMap(([step, item]) =>
    item?.['status'] === BookingStatus.Booked && item[OWNER] === executionArn ? [step] : [],
  );

/** How an execution ended, as the command line reports it. */
export type Outcome = 'succeeded' | 'rolled back' | 'compensation not finished' | 'bad input' | 'aborted' | 'failed';

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
   * landed). Another execution's bookings of the same trip are not among them.
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
}

export interface ExecuteOptions {
  /** The execution's name. @default the input's key field (the trip id), else a UUID */
  readonly name?: string;
  /** Failures to inject, by the name of the function (or, for the alert, the state) that a Task calls. */
  readonly faults?: Readonly<Record<string, FaultSpec>>;
  /** Pause before each retry, replacing the definition's backoff and jitter. @default the definition's own */
  readonly retryDelayMs?: number;
  /** Task states whose function is delivered every call twice, as an at-least-once retry would. */
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
  /** Let a trip's `fail` list fail states, as on a development stack. @default true */
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

/** What the hand-off Task passes `states:startExecution`. */
interface HandOff {
  readonly Name: string;
  readonly Input: unknown;
}

/** Where the rollback machine keeps its executions, inside the saga's data folder. */
const rollbackDataDir = (dataDir: string): string => join(dataDir, 'rollback');

/** One run of an execution: its first, or a redrive. */
interface ExecutionRun {
  readonly name: string;
  readonly executionArn: string;
  /** The execution's input: `$$.Execution.Input`, in a redrive too. */
  readonly input: unknown;
  readonly startDate: Date;
  readonly redriveCount: number;
  readonly redriveDate?: Date;
}

/** The execution cannot be redriven: AWS's error name, and its reason as AWS words it. */
export class ExecutionNotRedrivableError extends Error {
  override readonly name = 'ExecutionNotRedrivable';
}

/** Step Functions redrives an unsuccessful execution for 14 days after it ends. */
const REDRIVABLE_PERIOD_MS = 14 * 24 * 60 * 60 * 1000;

/** Why an execution cannot be redriven (AWS's redriveStatusReason), or undefined when it can. */
export function notRedrivableReason(status: string, stopDate: Date | undefined, now = new Date()): string | undefined {
  if (!['FAILED', 'TIMED_OUT', 'ABORTED'].includes(status)) return `Execution is ${status} and cannot be redriven.`;
  if (stopDate && now.getTime() - stopDate.getTime() > REDRIVABLE_PERIOD_MS) return 'Execution redrivable period exceeded.';
  return undefined;
}

/**
 * The entry of a redriven run: a Pass state that no rendered definition can hold (state names there are
 * identifiers), so that it never clashes.
 */
const REDRIVE_ENTRY = '(redrive)';

/** The state where an execution stopped, with its input: the last state it entered. */
function stoppedAt(history: readonly HistoryEvent[]): { state: string; input: unknown } | undefined {
  const entered = history.findLast((event) => event.type.endsWith('StateEntered'));
  if (!entered) return undefined;
  const { name, input } = entered['stateEnteredEventDetails'] as { name: string; input: string };
  return { state: name, input: JSON.parse(input) };
}

/**
 * aws-local-stepfunctions validates with asl-validator, which adds keys to what it is given: give it a copy.
 * A JSON copy, not structuredClone: its objects must be plain objects of this realm for the interpreter to
 * resolve nested `.$` keys (under Jest's VM modules, structuredClone's come from another realm).
 */
const interpreterOf = (definition: StateMachineDefinition, options?: ConstructorParameters<typeof StateMachine>[1]): StateMachine =>
  new StateMachine(JSON.parse(JSON.stringify(definition)) as ConstructorParameters<typeof StateMachine>[0], options);

type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

/** How an execution ended; `lastState` is the last state it entered (a failed retry of a compensation: stuck). */
const outcomeOf = (saga: Saga, status: Execution['status'], error: string | undefined, lastState: string | undefined): Outcome => {
  if (status === 'SUCCEEDED') return 'succeeded';
  if (status === 'ABORTED') return 'aborted';
  if (error === SagaOutcome.RolledBack) return 'rolled back';
  if (error === SagaOutcome.TripInvalid) return 'bad input';
  // Stuck at a compensation's retry (STANDARD, to be redriven), or handed to the rollback machine (EXPRESS).
  if (error === SagaOutcome.RollbackHandedOff) return 'compensation not finished';
  if (saga.steps.some((step) => retryStateOf(step) === lastState)) return 'compensation not finished';
  return 'failed';
};

/** The function a Task state invokes: the name at the end of its Lambda ARN (a compensation and its retry share one). */
const functionOf = (definition: StateMachineDefinition, state: string): string => {
  const task = definition.States[state];
  return task?.Type === 'Task' ? (task.Resource.split(':function:')[1] ?? state) : state;
};

/**
 * As Lambda reports a function's error to Step Functions: `Error` is the error's name, `Cause` a JSON string
 * of errorType, errorMessage and trace. Tests that pass here would pass against AWS.
 */
function asLambdaError(error: unknown): Error {
  const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
  const cause = JSON.stringify({ errorType: name, errorMessage: message, trace: (stack ?? '').split('\n') });
  return Object.assign(new Error(cause), { name });
}

/**
 * The saga on one machine: an embedded DynamoDB (dynalite) with the step list's tables, and the very definition
 * that infra deploys (rendered by asl/ with local ARNs), run by aws-local-stepfunctions with each Task state
 * served in-process by the function's real Middy handler.
 */
export class LocalSaga {
  readonly saga: Saga;
  /** The saga's own state machine, or its rollback machine (which finishes a rollback from a named compensation). */
  readonly kind: MachineKind;
  /** The state machine's name: the saga's, or `<saga>-rollback`. */
  readonly machineName: string;
  readonly definition: StateMachineDefinition;
  readonly stateMachineArn: string;
  /** The saga's rollback machine, served beside it on the same tables and functions (absent on the rollback machine itself). */
  readonly rollback: LocalSaga | undefined;
  /** The role the state machine would run as: it appears in histories and descriptions, and grants nothing. */
  readonly roleArn: string;
  readonly dynamo: EmbeddedDynamoDb;
  readonly #handlers: Readonly<Record<string, LambdaHandler>>;
  readonly #machine: StateMachine;
  readonly #dataDir: string | undefined;
  readonly type: StateMachineType;
  /** Names a STANDARD machine has run in this process: a name is never run twice. */
  readonly #names = new Set<string>();

  private constructor(options: LocalSagaOptions, dynamo: EmbeddedDynamoDb, handlers: Record<string, LambdaHandler>, kind: MachineKind) {
    this.saga = options.saga;
    this.kind = kind;
    this.dynamo = dynamo;
    this.#dataDir = options.dataDir;
    this.#handlers = handlers;
    this.type = options.type ?? 'STANDARD';
    this.machineName = kind === 'rollback' ? `${options.saga.name}-rollback` : options.saga.name;
    this.stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${this.machineName}`;
    this.rollback =
      kind === 'saga'
        ? new LocalSaga(
            { ...options, type: 'STANDARD', ...(options.dataDir ? { dataDir: rollbackDataDir(options.dataDir) } : {}) },
            dynamo,
            handlers,
            'rollback',
          )
        : undefined;
    // ARNs of the shape AWS gives, in a local account: the definitions render exactly as for a deployment.
    const resources = placeholderResources(options.saga, LOCAL_REGION, LOCAL_ACCOUNT);
    this.definition =
      kind === 'rollback'
        ? renderRollback(options.saga, resources)
        : renderSaga(
            options.saga,
            resources,
            this.type === 'EXPRESS' ? { type: 'EXPRESS', rollbackStateMachine: (this.rollback as LocalSaga).stateMachineArn } : undefined,
          );
    this.roleArn = `arn:aws:iam::${LOCAL_ACCOUNT}:role/${this.machineName}-local`;
    this.#machine = interpreterOf(this.definition);
  }

  static async start(options: LocalSagaOptions): Promise<LocalSaga> {
    if (options.dataDir) {
      await mkdir(join(options.dataDir, 'executions'), { recursive: true });
      await mkdir(join(rollbackDataDir(options.dataDir), 'executions'), { recursive: true });
      await lockDataDir(options.dataDir);
    }
    const dynamo = await startDynamoDb({
      ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
      ...(options.dynamoDbPort === undefined ? {} : { port: options.dynamoDbPort }),
    });
    try {
      await createBookingTables(dynamo.client, options.saga);
      const configs = stepConfigsOf(options.saga, { faultInjection: options.faultInjection ?? true });
      const logger = new Logger({
        service: 'saga',
        level: options.functionLog ? 'INFO' : 'SILENT',
        ...(options.functionLog ? { write: options.functionLog } : {}),
      });
      const handlers: Record<string, LambdaHandler> = {};
      for (const { state, url } of handlerModulesOf(options.saga)) {
        const { createHandler } = (await import(url)) as { createHandler: (dependencies: HandlerDependencies) => LambdaHandler };
        handlers[state] = createHandler({ config: configs[state] as StepConfig, client: dynamo.client, logger });
      }
      return new LocalSaga(options, dynamo, handlers, 'saga');
    } catch (error) {
      await dynamo.close();
      throw error;
    }
  }

  /** Runs one execution to its end. */
  async execute(input: unknown, options: ExecuteOptions = {}): Promise<Execution> {
    return (await this.begin(input, options)).done;
  }

  /** Accepts an execution (its name checked and claimed) and runs it in the background. */
  async begin(input: unknown, options: ExecuteOptions = {}): Promise<{ executionArn: string; done: Promise<Execution> }> {
    const keyValue = (input as Record<string, unknown> | null)?.[this.saga.keyField];
    // Named by the trip id, as the README suggests for AWS; a trip id that cannot name an execution is invalid anyway.
    const name = options.name ?? (isExecutionName(keyValue) ? keyValue : randomUUID());
    if (!isExecutionName(name))
      throw new ExecutionNameError(`"${name}" cannot name an execution: 1 to 80 characters, no blanks, no <>{}[]?*"#%\\^|~\`$&,;:/`);
    if (this.type === 'STANDARD') {
      if (this.#names.has(name)) throw new ExecutionNameError(`an execution named "${name}" has already run: choose another name`);
      // Claimed before the folder is read: two starts of one name at once must not both pass.
      this.#names.add(name);
      if (await this.savedExecution(name)) {
        throw new ExecutionNameError(`an execution named "${name}" is already kept in ${this.#dataDir}: choose another name`);
      }
    }
    const executionArn =
      this.type === 'EXPRESS'
        ? `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:express:${this.machineName}:${name}:${randomUUID()}`
        : this.executionArnOf(name);
    return { executionArn, done: this.#run(this.#machine, { name, executionArn, input, startDate: new Date(), redriveCount: 0 }, options) };
  }

  /**
   * Redrives an unsuccessful execution, as RedriveExecution does on AWS: reruns the state where it stopped, with
   * the input that state had and fresh retries, and carries on from there. `$$.Execution` keeps its input and
   * ARN; the history continues, after an ExecutionRedriven event. A Fail state, rerun, fails again.
   */
  async redrive(execution: Execution, options: Omit<ExecuteOptions, 'name' | 'deliverTwice'> = {}): Promise<Execution> {
    if (this.type === 'EXPRESS') throw new ExecutionNotRedrivableError('RedriveExecution is not supported by EXPRESS state machines');
    const reason = notRedrivableReason(execution.status, execution.stopDate);
    if (reason) throw new ExecutionNotRedrivableError(reason);
    const { state, input } = stoppedAt(execution.history) ?? { state: this.definition.StartAt, input: execution.input };
    // The interpreter sets $$.Execution.Input to its run's input: run it with the original input, entering by a
    // Pass state that hands the stopped state its saved input. Nothing else of the definition changes.
    const entered: StateMachineDefinition = {
      ...this.definition,
      StartAt: REDRIVE_ENTRY,
      States: { [REDRIVE_ENTRY]: { Type: 'Pass', Result: input, Next: state } as never, ...this.definition.States },
    };
    const { name, executionArn, startDate } = execution;
    const run = {
      name,
      executionArn,
      input: execution.input,
      startDate,
      redriveCount: execution.redriveCount + 1,
      redriveDate: new Date(),
    };
    // The states before the stopped one are unreachable from the entry, which asl-validator refuses; the
    // definition itself was validated when this saga started.
    return this.#run(interpreterOf(entered, { validationOptions: { noValidate: true } }), run, options, execution);
  }

  /** Runs the interpreter to the end of one run of an execution: its first, or a redrive after `previous`. */
  async #run(machine: StateMachine, run: ExecutionRun, options: ExecuteOptions, previous?: Execution): Promise<Execution> {
    const { name, executionArn, input, redriveCount } = run;
    const history = new ExecutionHistory(this.definition, this.roleArn, previous?.history);
    const calls: Record<string, number> = { ...previous?.calls };
    const functionCalls: Record<string, number> = {};
    const alerts: Alert[] = [...(previous?.alerts ?? [])];
    const raise = (alert: Alert) => {
      alerts.push(alert);
      options.onAlert?.(alert);
    };
    const taskStates = taskStatesOf(this.definition);
    const taskHandler = (state: string) => async (taskInput: unknown) => {
      const call = history.recordCall(state, taskInput);
      calls[state] = (calls[state] ?? 0) + 1;
      // Faults strike the function, whichever state calls it, counting its calls in this run from every state.
      const fn = functionOf(this.definition, state);
      functionCalls[fn] = (functionCalls[fn] ?? 0) + 1;
      const fault = injectedError(options.faults?.[fn], fn, functionCalls[fn], redriveCount);
      try {
        if (fault) throw fault;
        if (options.deliverTwice?.includes(state)) await this.#serve(state, taskInput, { executionArn, input }, raise);
        call.result = await this.#serve(state, taskInput, { executionArn, input }, raise);
        return call.result as never;
      } catch (error) {
        throw asLambdaError(error);
      }
    };
    if (previous) {
      const before = history.events.length;
      history.redriven(redriveCount);
      for (const recorded of history.events.slice(before)) options.onEvent?.(recorded);
    }
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(taskStates.map((state) => [state, taskHandler(state)])),
        ...(options.retryDelayMs === undefined
          ? {}
          : { retryIntervalOverrides: Object.fromEntries(taskStates.map((state) => [state, options.retryDelayMs as number])) }),
      },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          RoleArn: this.roleArn,
          RedriveCount: redriveCount,
          ...(run.redriveDate ? { RedriveTime: run.redriveDate.toISOString() } : {}),
        },
        StateMachine: { Id: this.stateMachineArn, Name: this.machineName },
      } as never,
    });
    options.signal?.addEventListener('abort', () => execution.abort(), { once: true });
    const settled = execution.result.then(
      (output) => ({ status: 'SUCCEEDED' as const, output }),
      () => ({ status: options.signal?.aborted ? ('ABORTED' as const) : ('FAILED' as const) }),
    );
    const path: string[] = [...(previous?.path ?? [])];
    let failure: { error: string; cause: string } | undefined;
    for await (const event of execution.eventLogs) {
      // A redrive's entry and its run's start are the local machinery of a redrive, not events of the execution.
      if (previous && (event.type === 'ExecutionStarted' || ('state' in event && event.state.name === REDRIVE_ENTRY))) continue;
      const before = history.events.length;
      history.record(event as InterpreterEvent);
      if (event.type === 'StateEntered') path.push(event.state.name);
      if (event.type === 'ExecutionFailed')
        failure = { error: event.Error, cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause) };
      for (const recorded of history.events.slice(before)) options.onEvent?.(recorded);
    }
    const { status, ...result } = await settled;
    const ended: Execution = {
      name,
      executionArn,
      input,
      status,
      outcome: outcomeOf(this.saga, status, failure?.error, path.at(-1)),
      ...(failure ? { error: failure.error, cause: failure.cause } : {}),
      ...('output' in result ? { output: result.output } : {}),
      startDate: run.startDate,
      stopDate: new Date(),
      redriveCount,
      ...(run.redriveDate ? { redriveDate: run.redriveDate } : {}),
      path,
      calls,
      history: history.events,
      alerts,
    };
    await this.#save(ended);
    return ended;
  }

  /** What a Task does locally: the function's handler, or (for the alert) a recorded SNS publish. */
  async #serve(
    state: string,
    input: unknown,
    execution: Pick<Execution, 'executionArn' | 'input'>,
    raise: (alert: Alert) => void,
  ): Promise<unknown> {
    const definition = this.definition.States[state];
    if (definition?.Type === 'Task' && definition.Resource === SNS_PUBLISH) {
      const { Subject, Message } = input as { Subject: string; Message: Record<string, unknown> };
      // The rollback machine undoes the bookings of the saga execution its input names.
      const { trip, execution: owner } =
        this.kind === 'rollback'
          ? (execution.input as { trip: Record<string, unknown>; execution: string })
          : { trip: execution.input as Record<string, unknown>, execution: execution.executionArn };
      const bookingsLeft = stillBooked(await this.bookingsOf(String(trip[this.saga.keyField])), owner);
      const alert: Alert = {
        execution: execution.executionArn,
        state,
        subject: Subject,
        message: Message,
        bookingsLeft,
        at: new Date().toISOString(),
      };
      raise(alert);
      if (this.#dataDir) await appendFile(join(this.#dataDir, 'alerts.jsonl'), `${JSON.stringify(alert)}\n`);
      return { MessageId: randomUUID() };
    }
    if (definition?.Type === 'Task' && definition.Resource === START_EXECUTION) return this.#handOff(input as HandOff);
    const handler = this.#handlers[functionOf(this.definition, state)];
    if (!handler) throw new Error(`no handler for Task state ${state}`);
    return handler(input, lambdaContext(state));
  }

  /**
   * An EXPRESS saga's stuck rollback, handed to the rollback machine (`states:startExecution`, request-response):
   * it answers once the rollback machine has accepted the execution; a name already used is refused, as AWS
   * refuses it, so that a repeated hand-off starts nothing.
   */
  async #handOff({ Name, Input }: HandOff): Promise<{ ExecutionArn: string; StartDate: string }> {
    const startDate = new Date();
    try {
      const { executionArn, done } = await (this.rollback as LocalSaga).begin(Input, { name: Name });
      this.#handedOff.push(done);
      return { ExecutionArn: executionArn, StartDate: startDate.toISOString() };
    } catch (error) {
      if (!(error instanceof ExecutionNameError)) throw error;
      // As the Step Functions integration names the service's refusal.
      throw Object.assign(new Error(error.message), { name: 'StepFunctions.ExecutionAlreadyExistsException' });
    }
  }

  /** Rollbacks this machine handed off, as they end: closing waits for them. */
  readonly #handedOff: Promise<Execution>[] = [];

  /** The rollback machine's executions that this machine handed stuck rollbacks to, once they have ended. */
  handedOff(): Promise<Execution[]> {
    return Promise.all(this.#handedOff);
  }

  /** The ARN that an execution of this name has on a STANDARD machine, here as on AWS. */
  executionArnOf(name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${this.machineName}:${name}`;
  }

  /**
   * Calls a Task state's function directly, as `aws lambda invoke` would: a late or repeated delivery. The input
   * is the whole payload, `{trip, execution}`, as the state machine would pass it.
   */
  invoke(state: string, input: unknown): Promise<unknown> {
    const { trip, execution } = (input ?? {}) as { trip?: unknown; execution?: unknown };
    return this.#serve(state, input, { executionArn: String(execution), input: trip }, () => undefined);
  }

  async #save(execution: Execution): Promise<void> {
    if (!this.#dataDir) return;
    await writeFile(join(this.#dataDir, 'executions', `${execution.name}.json`), JSON.stringify(execution, null, 2));
  }

  /** An execution kept in the data folder (with --data), for redriving or describing it. */
  async savedExecution(name: string): Promise<Execution | undefined> {
    if (!this.#dataDir) return undefined;
    let text: string;
    try {
      text = await readFile(join(this.#dataDir, 'executions', `${name}.json`), 'utf8');
    } catch {
      return undefined;
    }
    const saved = JSON.parse(text) as Execution;
    const date = (value: unknown) => new Date(value as string);
    return {
      ...saved,
      startDate: date(saved.startDate),
      stopDate: date(saved.stopDate),
      ...(saved.redriveDate ? { redriveDate: date(saved.redriveDate) } : {}),
      history: saved.history.map((event) => ({ ...event, timestamp: date(event.timestamp) })),
    };
  }

  /** Every execution kept in the data folder. */
  async savedExecutions(): Promise<Execution[]> {
    if (!this.#dataDir) return [];
    const files = await readdir(join(this.#dataDir, 'executions'));
    const saved = await Promise.all(
      files.filter((file) => file.endsWith('.json')).map((file) => this.savedExecution(file.slice(0, -'.json'.length))),
    );
    return saved.filter((execution): execution is Execution => execution !== undefined);
  }

  /** Each step's item for a trip: a booking, a cancellation marker, or nothing. */
  async bookingsOf(tripId: string): Promise<Record<string, Record<string, unknown> | undefined>> {
    const entries = await Promise.all(
      this.saga.steps.map(async (step) => {
        const { Item } = await this.dynamo.client.send(
          new GetCommand({ TableName: step.table, Key: { [this.saga.keyField]: tripId }, ConsistentRead: true }),
        );
        return [step.name, Item] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    await this.handedOff();
    await this.dynamo.close();
    if (this.#dataDir) await rm(join(this.#dataDir, LOCK_FILE), { force: true });
  }
}

const LOCK_FILE = 'saga.lock';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/**
 * One process at a time per data folder: LevelDB allows no more, and fails late and obscurely. A lock left by a
 * process that is gone is taken over.
 */
async function lockDataDir(dataDir: string): Promise<void> {
  const lock = join(dataDir, LOCK_FILE);
  try {
    await writeFile(lock, String(process.pid), { flag: 'wx' });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(await readFile(lock, 'utf8'));
  let alive = false;
  try {
    process.kill(holder, 0);
    alive = true;
  } catch {
    // no such process: the lock is stale
  }
  if (alive && holder !== process.pid) throw new DataDirInUseError(`${dataDir} is in use by another saga process (pid ${holder})`);
  await writeFile(lock, String(process.pid));
}

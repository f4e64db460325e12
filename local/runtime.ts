import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { BatchGetCommand, paginateScan, type BatchGetCommandInput, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import { EXECUTION_ALREADY_EXISTS, SagaOutcome } from '../asl/errors.ts';
import { allStatesOf, statesByName, taskStatesOf, type State, type StateMachineDefinition } from '../asl/model.ts';
import { placeholderResources, renderRollback, renderSaga, SNS_PUBLISH, START_EXECUTION, rollbackMachineNameOf } from '../asl/render.ts';
import {
  actionEntryOf,
  compensatableStepsOf,
  groupCompensationOf,
  invalidErrorOf,
  isCompensatedStage,
  functionStatesOfStep,
  isCustomStep,
  isGroup,
  retriableStepsOf,
  retryStateOf,
  roleOfStage,
  StepRole,
  stepsOf,
  tableOf,
  type Saga,
} from '../asl/saga.ts';
import { definitionChanges, changesSummary } from '../asl/diff.ts';
import { BookingStatus, OWNER } from '../functions/bookings.ts';
import { handlerModulesOf, type HandlerModule } from '../functions/handler-modules.ts';
import { stepConfigsOf, type StepConfig } from '../functions/config.ts';
import type { HandlerDependencies } from '../functions/handlers.ts';
import { Logger } from '../functions/logger.ts';
import { inputOf } from '../functions/middleware.ts';
import { stepEventValidatorsOf } from '../functions/validator.ts';
import { customStepHandler, probesOf, type Probe, type StepCode } from '../functions/custom-step.ts';
import { createBookingTables, LOCAL_ACCOUNT, LOCAL_REGION, startDynamoDb, type EmbeddedDynamoDb } from './dynamodb.ts';
import { injectedError } from './faults.ts';
import { ExecutionHistory, type HistoryEvent, type InterpreterEvent } from './history.ts';
import {
  Journal,
  JournalExistsError,
  JournalWriteError,
  type Ending,
  type ExecutionRun,
  type JournalWriter,
  type Kept,
} from './journal.ts';
import { lambdaContext } from './lambda-context.ts';
import { pinDefinition, type PinnedDefinition } from './pinned.ts';
import { ServiceContentType, withSdkMetadata } from './service-response.ts';
import { ExecutionNotRedrivableError, isReentry, notRedrivableReason, reentered, statesEntered, stoppedAt } from './redrive.ts';

import {
  EXECUTION_INTERRUPTED,
  JOURNAL_WRITE_FAILED,
  ExecutionInterruptedError,
  ExecutionNameError,
  executionNameOf,
  isExecutionName,
  stillBooked,
  type Alert,
  type ExecuteOptions,
  type Execution,
  type LocalSagaOptions,
  type MachineKind,
  type Outcome,
  type Started,
  type Recovery,
  type StateMachineType,
} from './execution.ts';

export * from './execution.ts';
export { ExecutionNotRedrivableError, notRedrivableReason } from './redrive.ts';
export { DataDirInUseError, JournalWriteError } from './journal.ts';

/** What the hand-off Task passes `states:startExecution`. */
interface HandOff {
  readonly Name: string;
  readonly Input: unknown;
}

/** What `states:startExecution` answers (request-response). */
interface HandedOff {
  readonly ExecutionArn: string;
  readonly StartDate: string;
}

/** Where the rollback machine keeps its executions, inside the saga's data folder. */
const ROLLBACK_DIR = 'rollback';
/** DynamoDB's limit of keys in one BatchGetItem. */
const BATCH_GET_MAX_KEYS = 100;

/** What an execution's earlier runs left to the next one (a redrive, a continuation), and where it goes. */
interface RunContext {
  readonly earlier?: Pick<Kept, 'history' | 'alerts' | 'calls'>;
  readonly journal?: JournalWriter | undefined;
  /** Record the redrive (ExecutionRedriven) before the run. */
  readonly redriven?: boolean;
}

/**
 * The interpreter of a definition that renderSaga or renderRollback validated (or one re-entered from it, whose
 * earlier states are unreachable, which a validator refuses). Not validated again: aws-local-stepfunctions would
 * compile asl-validator's schemas for every machine (over 100 ms each). A JSON copy, not structuredClone: its
 * objects must be plain objects of this realm for the interpreter to resolve nested `.$` keys (under Jest's VM
 * modules, structuredClone's come from another realm).
 */
const interpreterOf = (definition: StateMachineDefinition): StateMachine =>
  new StateMachine(JSON.parse(JSON.stringify(definition)) as ConstructorParameters<typeof StateMachine>[0], {
    validationOptions: { noValidate: true },
  });

type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

/** Makes a function's handler from its module, step list and configuration; one serves every definition that asks the same. */
type HandlerFactory = (module: HandlerModule, saga: Saga, config: StepConfig) => Promise<LambdaHandler>;

/** The probes of a step list's custom steps, loaded once per step list. */
const probesByList = new WeakMap<Saga, Promise<Map<string, Probe>>>();
const probesCached = (saga: Saga): Promise<Map<string, Probe>> => {
  const known = probesByList.get(saga) ?? probesOf(saga);
  probesByList.set(saga, known);
  return known;
};

/** A definition that executions run on: the current one, or one an execution kept in the data folder started with. */
interface Version extends RunFacts {
  readonly pinned: PinnedDefinition;
  /** Each function's handler, by name (the Task state it serves), once the step list's tables exist. */
  readonly handlers: Promise<Readonly<Record<string, LambdaHandler>>>;
}

/** What every run on a definition reads of it and of its step list: worked out once per definition. */
interface RunFacts {
  /** Its states by name, looked up on every Task call. */
  readonly states: ReadonlyMap<string, State>;
  /** The function each Task state invokes (functionOf). */
  readonly functions: ReadonlyMap<string, string>;
  /**
   * The functions that run the saga's author's own code (custom steps): they get their payload and give their result
   * as JSON, as across Lambda's boundary, so that what the code does with either cannot reach the execution's data.
   * The project's booking functions, which change neither, are spared the copies.
   */
  readonly authorsCode: ReadonlySet<string>;
}

const runFactsOf = ({ saga, definition }: Pick<PinnedDefinition, 'saga' | 'definition'>): RunFacts => {
  const states = statesByName(definition);
  return {
    states,
    functions: new Map(taskStatesOf(definition).map((state) => [state, functionOf(state, states.get(state))])),
    authorsCode: new Set(stepsOf(saga).filter(isCustomStep).flatMap(functionStatesOfStep)),
  };
};

/**
 * A value for each Task state, as the interpreter reads its overrides (a state's handler, its retry delay), each made
 * when first read: an execution reaches few of its definition's Task states (a happy path none of the compensations),
 * and a run would otherwise make them all.
 */
function byTaskState<Value>(states: ReadonlyMap<string, State>, valueOf: (state: string) => Value): Record<string, Value> {
  const made = new Map<string, Value>();
  return new Proxy({} as Record<string, Value>, {
    get: (_, state) => {
      if (typeof state !== 'string' || states.get(state)?.Type !== 'Task') return undefined;
      if (made.has(state)) return made.get(state);
      const value = valueOf(state);
      made.set(state, value);
      return value;
    },
  });
}

/**
 * What interrupts one run (`interrupt()` on every run under way), made for every execution: a flag and the one
 * thing to do then, where an AbortController would cost more than the rest of a run's setup.
 */
class Interruption {
  interrupted = false;
  #abort: (() => void) | undefined;

  interrupt(): void {
    this.interrupted = true;
    this.#abort?.();
  }

  /** Calls `onInterrupt` when the run is interrupted, at once if it already is. */
  onInterrupt(abort: () => void): void {
    this.#abort = abort;
    if (this.interrupted) abort();
  }
}

/** The handlers of every function of a step list, by name. */
async function handlersFor(saga: Saga, faultInjection: boolean, handlerOf: HandlerFactory): Promise<Record<string, LambdaHandler>> {
  const configs = functionConfigsOf({ saga, faultInjection });
  const handlers: Record<string, LambdaHandler> = {};
  // One at a time: Jest's VM modules fail a module imported twice at once ("not been linked").
  for (const module of handlerModulesOf(saga)) handlers[module.state] = await handlerOf(module, saga, configs[module.state] as StepConfig);
  return handlers;
}

/** Each function's configuration, by its name (the Task state it serves), as the local mode runs it. */
export const functionConfigsOf = (options: Pick<LocalSagaOptions, 'saga' | 'faultInjection'>): Record<string, StepConfig> =>
  stepConfigsOf(options.saga, { faultInjection: options.faultInjection ?? true });

/**
 * How an execution ended; `lastState` is the last top-level state it entered: a failed retry of a compensation, or a
 * group's compensations (which fail when one of them is stuck past its retry), is stuck.
 */
export const outcomeOf = (saga: Saga, status: Execution['status'], error: string | undefined, lastState: string | undefined): Outcome => {
  if (status === 'SUCCEEDED') return 'succeeded';
  if (status === 'ABORTED') return 'aborted';
  if (error === SagaOutcome.RolledBack) return 'rolled back';
  if (error === invalidErrorOf(saga)) return 'bad input';
  // Stuck at a compensation's retry (STANDARD, to be redriven), or handed to the rollback machine (EXPRESS).
  if (error === SagaOutcome.RollbackHandedOff) return 'compensation not finished';
  if (lastState === undefined) return 'failed';
  const stuckAt = [
    ...compensatableStepsOf(saga).map(retryStateOf),
    ...saga.steps.filter(isGroup).filter(isCompensatedStage).map(groupCompensationOf),
  ];
  if (stuckAt.includes(lastState)) return 'compensation not finished';
  // Past the pivot: stuck at a retriable step's retry, or at a group of them (which fails when one is stuck).
  const stuckForward = [
    ...retriableStepsOf(saga).map(retryStateOf),
    ...saga.steps.filter((stage) => isGroup(stage) && roleOfStage(stage) === StepRole.Retriable).map(actionEntryOf),
  ];
  if (stuckForward.includes(lastState)) return 'step not finished';
  return 'failed';
};

/** How an execution ended, from the last event of its history when that is an execution's end; else undefined. */
function endedByHistory(saga: Saga, definition: StateMachineDefinition, kept: Kept): Ending | undefined {
  const last = kept.history.at(-1);
  const path = statesEntered(kept.history);
  const stopDate = last?.timestamp ?? new Date();
  const lastState = path.findLast((state) => state in definition.States);
  switch (last?.type) {
    case 'ExecutionSucceeded': {
      const { output } = last['executionSucceededEventDetails'] as { output: string };
      return { status: 'SUCCEEDED', outcome: 'succeeded', output: JSON.parse(output) as unknown, stopDate };
    }
    case 'ExecutionFailed': {
      const { error, cause } = last['executionFailedEventDetails'] as { error: string; cause: string };
      return { status: 'FAILED', outcome: outcomeOf(saga, 'FAILED', error, lastState), error, cause, stopDate };
    }
    case 'ExecutionAborted':
      return { status: 'ABORTED', outcome: 'aborted', stopDate };
    default:
      return undefined;
  }
}

/**
 * The function a Task state invokes: the name in its Lambda ARN, without a version qualifier (a compensation and its
 * retry share one).
 */
const functionOf = (state: string, task: State | undefined): string =>
  task?.Type === 'Task' ? (task.Resource.split(':function:')[1]?.split(':')[0] ?? state) : state;

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
 * Where a later run enters: the last state the execution entered, with its input; when that state is inside a
 * Parallel state's branch, the Parallel state (its branches resume where they stopped); before the first state,
 * the start. A state the definition does not have is returned as it is, for the caller to refuse.
 */
function stoppedIn(
  definition: StateMachineDefinition,
  history: readonly HistoryEvent[],
  input: unknown,
): { state: string; input: unknown } {
  const last = stoppedAt(history);
  if (last === undefined) return { state: definition.StartAt, input };
  if (last.state in definition.States) return last;
  const parallel = Object.entries(definition.States).find(
    ([, state]) => state.Type === 'Parallel' && state.Branches.flatMap(allStatesOf).some(([name]) => name === last.state),
  );
  return parallel ? (stoppedAt(history, { [parallel[0]]: parallel[1] }) ?? last) : last;
}

/** The interpreter of a definition entered at `state`: a redrive, or the continuation of an interrupted run. */
const reenteredMachine = (definition: StateMachineDefinition, state: string, input: unknown, history: readonly HistoryEvent[]) =>
  interpreterOf(reentered(definition, state, input, history));

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
  /** Whether its functions honour an input's `fail` list, as SAGA_FAULT_INJECTION says on a deployed stack. */
  readonly faultInjection: boolean;
  /** The definition new executions start on, rendered from the step list this saga was started with. */
  readonly #current: Version;
  /** Definitions that executions kept in the data folder started with, other than the current one, by hash. */
  readonly #versions = new Map<string, Version>();
  readonly #handlerOf: HandlerFactory;
  readonly #machine: StateMachine;
  readonly #dataDir: string | undefined;
  readonly #journal: Journal | undefined;
  readonly type: StateMachineType;
  /**
   * Names a STANDARD machine has run in this process: a name is never run twice. Names only: a process left running
   * keeps nothing else of an execution once it has ended.
   */
  readonly #names = new Set<string>();
  /** The runs under way, each with what interrupts it. */
  readonly #running = new Map<Interruption, Promise<Execution>>();
  /** Function calls under way, which a stopped Parallel branch leaves running. */
  readonly #calls = new Set<Promise<unknown>>();
  /** The interrupted executions this process has taken on: each is continued once. */
  readonly #continued = new Set<string>();
  /** The executions running in this process (their first run, a redrive or a continuation), by ARN. */
  readonly #open = new Map<string, ExecutionRun>();

  private constructor(
    options: LocalSagaOptions,
    dynamo: EmbeddedDynamoDb,
    handlers: Record<string, LambdaHandler>,
    handlerOf: HandlerFactory,
    kind: MachineKind,
    journal: Journal | undefined,
  ) {
    this.saga = options.saga;
    this.kind = kind;
    this.dynamo = dynamo;
    this.#dataDir = options.dataDir;
    this.#journal = journal;
    this.#handlerOf = handlerOf;
    this.faultInjection = options.faultInjection ?? true;
    this.type = options.type ?? 'STANDARD';
    this.machineName = kind === 'rollback' ? rollbackMachineNameOf(options.saga) : options.saga.name;
    this.stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${this.machineName}`;
    this.rollback =
      kind === 'saga'
        ? new LocalSaga(
            { ...options, type: 'STANDARD', ...(options.dataDir ? { dataDir: join(options.dataDir, ROLLBACK_DIR) } : {}) },
            dynamo,
            handlers,
            handlerOf,
            'rollback',
            journal?.within(ROLLBACK_DIR),
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
    const pinned = pinDefinition(options.saga, this.definition);
    this.#current = { pinned, ...runFactsOf(pinned), handlers: Promise.resolve(handlers) };
  }

  static async start(options: LocalSagaOptions): Promise<LocalSaga> {
    const journal = options.dataDir ? Journal.open(options.dataDir) : undefined;
    const dynamo = await startDynamoDb({
      ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
      ...(options.dynamoDbPort === undefined ? {} : { port: options.dynamoDbPort }),
    }).catch((error: unknown) => {
      journal?.release();
      throw error;
    });
    try {
      await createBookingTables(dynamo.client, options.saga);
      const logger = new Logger({
        service: 'saga',
        level: options.functionLog ? 'INFO' : 'SILENT',
        ...(options.functionLog ? { write: options.functionLog } : {}),
      });
      const made = new Map<string, Promise<LambdaHandler>>();
      const handlerOf: HandlerFactory = ({ url, role }, saga, config) => {
        // The same module, configuration and input schema make the same handler, whichever definition asks.
        const key = JSON.stringify({ url, role, config, input: saga.input, optional: saga.optional });
        const dependencies = { config, client: dynamo.client, validators: stepEventValidatorsOf(saga), logger };
        const handler =
          made.get(key) ??
          import(url).then((module: { createHandler?: (dependencies: HandlerDependencies) => LambdaHandler; default?: unknown }) =>
            role === undefined
              ? (module.createHandler as (dependencies: HandlerDependencies) => LambdaHandler)(dependencies)
              : (customStepHandler(module.default as StepCode<unknown>, role, dependencies) as LambdaHandler),
          );
        made.set(key, handler);
        return handler;
      };
      const handlers = await handlersFor(options.saga, options.faultInjection ?? true, handlerOf);
      return new LocalSaga(options, dynamo, handlers, handlerOf, 'saga', journal);
    } catch (error) {
      await dynamo.close();
      journal?.release();
      throw error;
    }
  }

  /** Whether executions are kept in a data folder (--data). */
  get keepsData(): boolean {
    return this.#journal !== undefined;
  }

  /**
   * What opening the data folder found and did, one line each: a lock of no live process taken over, torn records
   * dropped, and journals that could not be read set aside, each with the bookings its execution still holds (orphans
   * now, to be cleaned by hand).
   */
  async dataFolderNotes(): Promise<string[]> {
    const notes = this.#journal?.staleLock ? [`Took over ${this.#dataDir}: ${this.#journal.staleLock}.`] : [];
    for (const machine of [this, ...(this.rollback ? [this.rollback] : [])]) {
      const journal = machine.#journal;
      if (!journal) continue;
      notes.push(...journal.repaired.map((line) => `Repaired ${line}.`));
      for (const set of journal.quarantined) {
        const orphans = await this.#bookedBy(machine.executionArnOf(set.key));
        notes.push(
          `Set aside ${set.file}, which ${set.reason.startsWith('cannot') ? set.reason : `is not a journal: ${set.reason}`}: now ${set.movedTo}; ` +
            `the name "${set.key}" is free again.`,
          ...(orphans.length === 0
            ? [`  It owns no booking.`]
            : [`  Its bookings, orphans to clean (delete-item):`, ...orphans.map((orphan) => `    ${orphan}`)]),
        );
      }
    }
    return notes;
  }

  /** Every booking an execution owns, in every step's table, as `TABLE KEY=VALUE`. */
  async #bookedBy(executionArn: string): Promise<string[]> {
    const found: string[] = [];
    // The bookings' own tables: a custom step's effect is its probe's to tell, by key.
    for (const step of stepsOf(this.saga).filter((each) => !isCustomStep(each))) {
      const table = tableOf(step) as string;
      const pages = paginateScan(
        { client: this.dynamo.client },
        {
          TableName: table,
          FilterExpression: '#owner = :owner AND #status = :booked',
          ExpressionAttributeNames: { '#owner': OWNER, '#status': 'status' },
          ExpressionAttributeValues: { ':owner': executionArn, ':booked': BookingStatus.Booked },
        },
      );
      for await (const page of pages)
        for (const item of page.Items ?? []) found.push(`${table} ${this.saga.keyField}=${String(item[this.saga.keyField])}`);
    }
    return found;
  }

  /** Runs one execution to its end. */
  async execute(input: unknown, options: ExecuteOptions = {}): Promise<Execution> {
    return this.begin(input, options).done;
  }

  /** Starts an execution: when this returns it is accepted, and with --data its start is on disk. */
  begin(input: unknown, options: ExecuteOptions = {}): Started {
    const keyValue = (input as Record<string, unknown> | null)?.[this.saga.keyField];
    // Named by the input's key, as the README suggests for AWS; a key that cannot name an execution is invalid anyway.
    const name = options.name ?? (isExecutionName(keyValue) ? keyValue : randomUUID());
    if (!isExecutionName(name))
      throw new ExecutionNameError(`"${name}" cannot name an execution: 1 to 80 characters, no blanks, no <>{}[]?*"#%\\^|~\`$&,;:/`);
    if (this.type === 'STANDARD' && this.#names.has(name))
      throw new ExecutionNameError(`an execution named "${name}" has already run: choose another name`);
    const executionArn =
      this.type === 'EXPRESS'
        ? `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:express:${this.machineName}:${name}:${randomUUID()}`
        : this.executionArnOf(name);
    const run: ExecutionRun = { name, executionArn, input, startDate: new Date(), redriveCount: 0, pinned: this.#current.pinned };
    let journal: JournalWriter | undefined;
    try {
      journal = this.#journal?.begin(executionNameOf(executionArn), run);
    } catch (error) {
      if (error instanceof JournalExistsError) throw new ExecutionNameError(`${error.message} in ${this.#dataDir}: choose another name`);
      throw error;
    }
    if (this.type === 'STANDARD') this.#names.add(name);
    return { name, executionArn, startDate: run.startDate, done: this.#launch(this.#machine, run, options, { journal }) };
  }

  /**
   * Redrives an unsuccessful execution, as RedriveExecution does on AWS: reruns the state where it stopped, with
   * the input that state had and fresh retries, and carries on from there. `$$.Execution` keeps its input and
   * ARN; the history continues, after an ExecutionRedriven event. A Fail state, rerun, fails again.
   */
  async redrive(execution: Execution, options: Omit<ExecuteOptions, 'name' | 'deliverTwice'> = {}): Promise<Execution> {
    return this.beginRedrive(execution, options);
  }

  /**
   * Starts a redrive: when this returns it is accepted, and with --data on disk; a redrive that AWS would refuse,
   * or whose record cannot be written, throws here and nothing runs.
   */
  beginRedrive(execution: Execution, options: Omit<ExecuteOptions, 'name' | 'deliverTwice'> = {}): Promise<Execution> {
    if (this.type === 'EXPRESS') throw new ExecutionNotRedrivableError('RedriveExecution is not supported by EXPRESS state machines');
    const reason = notRedrivableReason(execution.status, execution.stopDate);
    if (reason) throw new ExecutionNotRedrivableError(reason);
    const version = this.#versionOf(execution.pinned);
    const { state, input } = stoppedIn(version.pinned.definition, execution.history, execution.input);
    // Only an execution kept without its definition (an older journal) runs on the current one, which may lack it.
    if (!version.pinned.definition.States[state])
      throw new ExecutionNotRedrivableError(`Execution stopped in state ${state}, which the state machine no longer has.`);
    const { name, executionArn, startDate } = execution;
    const redriveDate = new Date();
    const run: ExecutionRun = {
      name,
      executionArn,
      input: execution.input,
      startDate,
      redriveCount: execution.redriveCount + 1,
      redriveDate,
      ...(execution.pinned ? { pinned: execution.pinned } : {}),
    };
    const journal = this.#journal?.reopen(executionNameOf(executionArn));
    const machine = reenteredMachine(version.pinned.definition, state, input, execution.history);
    try {
      journal?.redrive(run.redriveCount, redriveDate);
    } catch (error) {
      journal?.close();
      throw error;
    }
    return this.#launch(machine, run, options, { earlier: execution, journal, redriven: true });
  }

  /**
   * Continues every execution of the data folder that was running when its process stopped (a journal without an
   * end): it reruns the last state entered, with that state's input (the functions are idempotent), as a redrive
   * does but without being one: no ExecutionRedriven, no redriveCount. One the definition cannot continue (its
   * state is gone from the step list) ends FAILED there, ExecutionInterrupted.
   */
  continueInterrupted(optionsOf: (kept: Kept) => ExecuteOptions = () => ({})): Recovery[] {
    return (this.#journal?.readAll() ?? [])
      .filter((kept) => !kept.ended && !this.#continued.has(kept.run.executionArn))
      .map((kept) => {
        const { name, executionArn, input: executionInput } = kept.run;
        this.#continued.add(executionArn);
        // Asked of every execution found, whichever way it goes on: a caller keeps its record of it there (saga local).
        const options = optionsOf(kept);
        const journal = this.#journal?.reopen(executionNameOf(executionArn));
        const version = this.#versionOf(kept.run.pinned);
        const { definition } = version.pinned;
        const ended = endedByHistory(version.pinned.saga, definition, kept);
        if (ended) {
          // Its end event is kept, its end record torn: it ended, and is not run again. An end that cannot be
          // written now is found the same way at the next start.
          try {
            journal?.end(ended);
          } catch (error) {
            if (!(error instanceof JournalWriteError)) throw error;
          }
          const { calls, history, alerts } = kept;
          const execution: Execution = { ...kept.run, ...ended, path: statesEntered(history), calls, history, alerts };
          return {
            name,
            executionArn,
            input: executionInput,
            report: `${name}: its end record was torn; its history says it ended ${ended.status}: kept so, not run again`,
            done: Promise.resolve(execution),
          };
        }
        const { state, input } = stoppedIn(definition, kept.history, kept.run.input);
        const note = this.definitionNoteOf(kept.run);
        const found = `${name}: was running${stoppedAt(kept.history) ? ` in ${state}` : ', before its first state'}${note ? ` (${note})` : ''}`;
        if (!definition.States[state]) {
          const cause = `The process stopped in state ${state}, which the state machine no longer has (the step list changed).`;
          const done = Promise.resolve(this.#interruptedForGood(version, kept, cause, journal, options));
          return {
            name,
            executionArn,
            input: executionInput,
            report: `${found}, which the step list no longer has: ended FAILED (ExecutionInterrupted)`,
            done,
          };
        }
        const done = this.#launch(reenteredMachine(definition, state, input, kept.history), kept.run, options, {
          earlier: kept,
          journal,
        });
        return { name, executionArn, input: executionInput, report: `${found}: continued from ${state}`, done };
      });
  }

  /** Interrupts every run under way and waits for each to stop; with --data they are continued at the next start. */
  async interrupt(): Promise<void> {
    for (const interruption of this.#running.keys()) interruption.interrupt();
    await Promise.allSettled([...this.#running.values(), this.rollback?.interrupt()]);
  }

  /**
   * What runs an execution that started on another definition than the current one, or was kept without its
   * definition, and how it came to: one line, or undefined when it runs on the current definition.
   */
  definitionNoteOf(execution: Pick<ExecutionRun, 'pinned'>): string | undefined {
    const { pinned } = execution;
    const current = this.#current.pinned;
    if (!pinned)
      return `kept without its definition (a journal older than definitions in journals): it runs on the current step list, ${current.hash}`;
    if (pinned.hash === current.hash) return undefined;
    const changes = changesSummary(definitionChanges(pinned.definition, current.definition));
    return `the step list changed since it started (${changes}): it runs on the definition it started with, ${pinned.hash}, not the current ${current.hash}`;
  }

  /** The definition and step list an execution runs on: the one it started with, or the current one for an older journal. */
  pinnedOf(execution: Pick<ExecutionRun, 'pinned'>): PinnedDefinition {
    return execution.pinned ?? this.#current.pinned;
  }

  /** The definition new executions start on, with the step list it is rendered from. */
  get pinned(): PinnedDefinition {
    return this.#current.pinned;
  }

  /** A kept execution's definition, served by handlers made from its own step list, whose tables it makes sure of. */
  #versionOf(pinned: PinnedDefinition | undefined): Version {
    if (!pinned || pinned.hash === this.#current.pinned.hash) return this.#current;
    const known = this.#versions.get(pinned.hash);
    if (known) return known;
    const handlers = createBookingTables(this.dynamo.client, pinned.saga).then(() =>
      handlersFor(pinned.saga, this.faultInjection, this.#handlerOf),
    );
    // Awaited by each run on it; a failure (a handler module gone) fails those runs, not the process.
    handlers.catch(() => undefined);
    const version: Version = { pinned, ...runFactsOf(pinned), handlers };
    this.#versions.set(pinned.hash, version);
    return version;
  }

  /** Ends FAILED, where it stopped, an interrupted execution that cannot be continued. */
  #interruptedForGood(
    version: Version,
    kept: Kept,
    cause: string,
    journal: JournalWriter | undefined,
    { onEvent }: ExecuteOptions,
  ): Execution {
    const history = new ExecutionHistory(version.pinned.definition, this.roleArn, kept.history);
    history.record({ type: 'ExecutionFailed', timestamp: Date.now(), Error: EXECUTION_INTERRUPTED, Cause: cause });
    const failed = history.events.at(-1) as HistoryEvent;
    journal?.event(failed);
    onEvent?.(failed);
    const ending: Ending = { status: 'FAILED', outcome: 'failed', error: EXECUTION_INTERRUPTED, cause, stopDate: new Date() };
    journal?.end(ending);
    const path = statesEntered(kept.history);
    return { ...kept.run, ...ending, path, calls: kept.calls, history: history.events, alerts: kept.alerts };
  }

  /** Runs one run of an execution, interruptible by `interrupt()`. */
  #launch(machine: StateMachine, run: ExecutionRun, options: ExecuteOptions, context: RunContext): Promise<Execution> {
    const interruption = new Interruption();
    const done = this.#run(machine, run, options, context, interruption);
    this.#running.set(interruption, done);
    this.#open.set(run.executionArn, run);
    const forget = () => {
      this.#running.delete(interruption);
      this.#open.delete(run.executionArn);
    };
    done.then(forget, forget);
    return done;
  }

  /** Runs the interpreter to the end of one run of an execution: its first, a redrive or a continuation. */
  async #run(
    machine: StateMachine,
    run: ExecutionRun,
    options: ExecuteOptions,
    context: RunContext,
    interruption: Interruption,
  ): Promise<Execution> {
    const { name, executionArn, input, redriveCount } = run;
    const { earlier } = context;
    const version = this.#versionOf(run.pinned);
    const { saga, definition } = version.pinned;
    const handlers = await version.handlers;
    const history = new ExecutionHistory(definition, this.roleArn, earlier?.history);
    // A journal write that fails stops the run: it is not run on unjournaled (see JOURNAL_WRITE_FAILED).
    let unjournaled: JournalWriteError | undefined;
    let stopUnjournaled = (): void => undefined;
    const journaled = (write: (journal: JournalWriter) => void): void => {
      if (!context.journal || unjournaled) return;
      try {
        write(context.journal);
      } catch (error) {
        unjournaled = error instanceof JournalWriteError ? error : new JournalWriteError(String(error));
        stopUnjournaled();
      }
    };
    const calls: Record<string, number> = { ...earlier?.calls };
    const functionCalls: Record<string, number> = {};
    const alerts: Alert[] = [...(earlier?.alerts ?? [])];
    const raise = (alert: Alert) => {
      alerts.push(alert);
      journaled((journal) => journal.alert(alert));
      options.onAlert?.(alert);
    };
    // A run that nobody watches leaves its history to be written when it is read (ExecutionHistory.events).
    const watched = context.journal !== undefined || options.onEvent !== undefined;
    const earlierEvents = earlier?.history.length ?? 0;
    let emitted = earlierEvents;
    const emitNew = () => {
      if (!watched) return;
      const { events } = history;
      for (; emitted < events.length; emitted += 1) {
        const recorded = events[emitted] as HistoryEvent;
        journaled((journal) => journal.event(recorded));
        options.onEvent?.(recorded);
      }
    };
    const served = { saga, states: version.states, functions: version.functions, handlers };
    const caller = { executionArn, input };
    const taskHandler = (state: string) => (taskInput: unknown) => {
      const call = history.recordCall(state, taskInput);
      calls[state] = (calls[state] ?? 0) + 1;
      journaled((journal) => journal.call(state));
      // Not called unjournaled: a call the next start cannot see would be made again without its count.
      if (unjournaled) return Promise.reject(unjournaled);
      // Faults strike the function, whichever state calls it, counting its calls in this run from every state.
      const fn = version.functions.get(state) ?? state;
      functionCalls[fn] = (functionCalls[fn] ?? 0) + 1;
      const spec = options.faults?.[fn];
      const fault = injectedError(spec, fn, functionCalls[fn], redriveCount);
      const deliveredTwice = options.deliverTwice?.includes(state) ?? false;
      const asJson = version.authorsCode.has(fn);
      // Authors' code gets its own copy, as from Lambda: the history keeps the payload as it was sent, whatever the
      // code does with it.
      const serve = () => this.#serve(served, state, asJson ? JSON.parse(history.inputTextOf(call)) : taskInput, caller, raise);
      // A call goes straight to its function, through no async function of its own, unless a fault, a delay or a
      // repeated delivery is asked for: every layer of promises is paid again when the call's answer comes back.
      const calling =
        fault || spec || deliveredTwice
          ? (async () => {
              if (fault) throw fault;
              if (spec && 'delayMs' in spec) await delay(spec.delayMs);
              if (spec && 'until' in spec) await spec.until.catch(() => undefined);
              if (deliveredTwice) await this.#workOf(await serve());
              return serve();
            })()
          : serve();
      const answer = calling.then(
        (result: unknown) => {
          try {
            call.result = JSON.stringify(result ?? null);
            return (asJson ? JSON.parse(call.result) : result) as never;
          } catch (error) {
            throw asLambdaError(error);
          }
        },
        (error: unknown) => {
          throw asLambdaError(error);
        },
      );
      // A call outlives its state when a Parallel state stops its branch: its write still lands, as on AWS.
      this.#calls.add(answer);
      const ended = () => this.#calls.delete(answer);
      answer.then(ended, ended);
      return answer;
    };
    // The redrive's record is on disk already (beginRedrive); its event follows.
    if (context.redriven && run.redriveDate) {
      history.redriven(redriveCount);
      emitNew();
    }
    const path: string[] = statesEntered(earlier?.history ?? []);
    let failure: { error: string; cause: string } | undefined;
    // Each event is recorded as the interpreter dispatches it. What fails here fails the run, not the state that
    // dispatched the event, once the run has settled.
    let listenerError: unknown;
    const onEvent: NonNullable<RunOptions['onEvent']> = (event) => {
      try {
        // A later run's start and entry are the local machinery of that run, not events of the execution; nor is
        // the abort by which the process interrupts a run.
        if (event.type === 'ExecutionStarted' && earlierEvents > 0) return;
        if ('state' in event && isReentry(event.state.name)) return;
        if (event.type === 'ExecutionAborted' && (stopped() || unjournaled)) return;
        history.record(event as InterpreterEvent);
        if (event.type === 'StateEntered') path.push(event.state.name);
        if (event.type === 'ExecutionFailed')
          failure = { error: event.Error, cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause) };
        emitNew();
      } catch (error) {
        listenerError ??= error;
      }
    };
    const stopped = () => interruption.interrupted && !options.signal?.aborted;
    const { retryDelayMs } = options;
    const execution = machine.run(input as never, {
      onEvent,
      overrides: {
        taskResourceLocalHandlers: byTaskState(version.states, taskHandler),
        ...(retryDelayMs === undefined ? {} : { retryIntervalOverrides: byTaskState(version.states, () => retryDelayMs) }),
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
    interruption.onInterrupt(() => execution.abort());
    // Stopped while its handlers were being made (a kept execution's own step list).
    if (options.signal?.aborted) execution.abort();
    stopUnjournaled = () => execution.abort();
    if (unjournaled) execution.abort();
    const settled = execution.result.then(
      (output) => ({ status: 'SUCCEEDED' as const, output }),
      () => ({ status: options.signal?.aborted ? ('ABORTED' as const) : ('FAILED' as const) }),
    );
    const outcome = await settled;
    if (listenerError !== undefined) throw listenerError;
    const { status, ...result } = unjournaled ? { status: 'FAILED' as const } : outcome;
    if (stopped()) {
      context.journal?.close();
      throw new ExecutionInterruptedError(`${executionArn} was interrupted in ${path.at(-1) ?? 'its start'}`);
    }
    if (unjournaled) {
      context.journal?.close();
      const stoppedIn = path.at(-1) ?? 'its start';
      const booked = await this.#bookingsLeft({ executionArn, input }, saga).catch(() => undefined);
      failure = {
        error: JOURNAL_WRITE_FAILED,
        cause:
          `${unjournaled.message}: stopped in ${stoppedIn} rather than run on unjournaled; still booked by it: ` +
          `${booked === undefined ? 'unknown (the tables cannot be read)' : booked.join(', ') || 'nothing'}. ` +
          'Kept unfinished: the next start continues it, once the folder can be written.',
      };
      history.record({ type: 'ExecutionFailed', timestamp: Date.now(), Error: failure.error, Cause: failure.cause });
      emitNew();
    }
    const ending: Ending = {
      status,
      outcome: outcomeOf(
        saga,
        status,
        failure?.error,
        path.findLast((state) => state in definition.States),
      ),
      ...(failure ? { error: failure.error, cause: failure.cause } : {}),
      ...('output' in result ? { output: result.output } : {}),
      stopDate: new Date(),
    };
    journaled((journal) => journal.end(ending));
    return {
      name,
      executionArn,
      input,
      ...ending,
      startDate: run.startDate,
      redriveCount,
      ...(run.redriveDate ? { redriveDate: run.redriveDate } : {}),
      ...(run.pinned ? { pinned: run.pinned } : {}),
      path,
      calls,
      // Written out when first read: the caller of a run that nobody watched may never read it.
      get history() {
        return history.events;
      },
      alerts,
    };
  }

  /**
   * What a Task does locally: the function's handler, or (for the alert) a recorded SNS publish. Not an async
   * function: a handler's promise is handed on as it is, not resolved into another one on every call.
   */
  #serve(
    served: Pick<RunFacts, 'states' | 'functions'> & { saga: Saga; handlers: Readonly<Record<string, LambdaHandler>> },
    state: string,
    input: unknown,
    execution: Pick<Execution, 'executionArn' | 'input'>,
    raise: (alert: Alert) => void,
  ): Promise<unknown> {
    const definition = served.states.get(state);
    if (definition?.Type === 'Task' && definition.Resource === SNS_PUBLISH)
      return this.#publish(served.saga, state, input, execution, raise);
    if (definition?.Type === 'Task' && definition.Resource === START_EXECUTION)
      return new Promise((resolve) => resolve(withSdkMetadata(this.#handOff(input as HandOff), ServiceContentType.states)));
    const handler = served.handlers[served.functions.get(state) ?? state];
    if (!handler) return Promise.reject(new Error(`no handler for Task state ${state}`));
    return handler(input, lambdaContext(state));
  }

  /** The alert's SNS publish, recorded with the bookings the execution still holds. */
  async #publish(
    saga: Saga,
    state: string,
    input: unknown,
    execution: Pick<Execution, 'executionArn' | 'input'>,
    raise: (alert: Alert) => void,
  ): Promise<unknown> {
    const { Subject, Message } = input as { Subject: string; Message: Record<string, unknown> };
    const bookingsLeft = await this.#bookingsLeft(execution, saga);
    const alert: Alert = {
      execution: execution.executionArn,
      state,
      subject: Subject,
      message: Message,
      bookingsLeft,
      at: new Date().toISOString(),
    };
    raise(alert);
    return withSdkMetadata({ MessageId: randomUUID() }, ServiceContentType.sns);
  }

  /** The steps still booked by an execution; on the rollback machine, by the saga execution its input names. */
  async #bookingsLeft(execution: Pick<Execution, 'executionArn' | 'input'>, saga: Saga = this.saga): Promise<string[]> {
    // The rollback machine undoes the bookings of the saga execution its input names.
    const { sagaInput, owner } =
      this.kind === 'rollback'
        ? { sagaInput: inputOf(execution.input, saga), owner: String((execution.input as { execution?: unknown }).execution) }
        : { sagaInput: execution.input as Record<string, unknown> | null, owner: execution.executionArn };
    return stillBooked(await this.bookingsOf(String(sagaInput?.[saga.keyField]), saga), owner);
  }

  /**
   * An EXPRESS saga's stuck rollback, handed to the rollback machine (`states:startExecution`, request-response):
   * it answers once the rollback machine has accepted the execution; a name already used is refused, as AWS
   * refuses it, so that a repeated hand-off starts nothing.
   */
  #handOff({ Name, Input }: HandOff): HandedOff {
    const rollback = this.rollback as LocalSaga;
    try {
      const { executionArn, startDate, done } = rollback.begin(Input, { name: Name });
      this.#handedOff.set(executionArn, done);
      return { ExecutionArn: executionArn, StartDate: startDate.toISOString() };
    } catch (error) {
      if (!(error instanceof ExecutionNameError)) throw error;
      // The same name with the same input while that execution runs is the same request (two branches of a group
      // handing off at once): Step Functions answers it with that execution. Once it has closed, the name is refused
      // whatever the input.
      const started = rollback.#open.get(rollback.executionArnOf(Name));
      if (started && isDeepStrictEqual(started.input, Input))
        return { ExecutionArn: started.executionArn, StartDate: new Date(started.startDate).toISOString() };
      // As the Step Functions integration names the service's refusal.
      throw Object.assign(new Error(error.message), { name: EXECUTION_ALREADY_EXISTS });
    }
  }

  /**
   * The end of the work a call's result stands for: for a hand-off, the rollback execution it started (a repeated
   * delivery then finds it closed, as a late rerun on AWS may); for a function, the call itself, already over.
   */
  async #workOf(result: unknown): Promise<void> {
    const started = (result as Partial<HandedOff> | null)?.ExecutionArn;
    if (started !== undefined) await this.#handedOff.get(started);
  }

  /** Rollbacks this machine handed off, by ARN, as they end: closing waits for them. */
  readonly #handedOff = new Map<string, Promise<Execution>>();

  /** The rollback machine's executions that this machine handed stuck rollbacks to, once they have ended. */
  handedOff(): Promise<Execution[]> {
    return Promise.all(this.#handedOff.values());
  }

  /** The ARN that an execution of this name has on a STANDARD machine, here as on AWS. */
  executionArnOf(name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${this.machineName}:${name}`;
  }

  /**
   * Calls a Task state's function directly, as `aws lambda invoke` would: a late or repeated delivery. The input
   * is the whole payload, `{<payload key>: <input>, execution}`, as the state machine would pass it.
   */
  async invoke(state: string, input: unknown): Promise<unknown> {
    const { execution } = (input ?? {}) as { execution?: unknown };
    const { pinned, states, functions, handlers } = this.#current;
    const served = { saga: pinned.saga, states, functions, handlers: await handlers };
    return this.#serve(served, state, input, { executionArn: String(execution), input: inputOf(input, pinned.saga) }, () => undefined);
  }

  /** An execution kept in the data folder (with --data) that has ended, for redriving or describing it. */
  savedExecution(name: string): Execution | undefined {
    return this.#journal?.read(name)?.ended;
  }

  /** Every execution kept in the data folder that has ended. */
  savedExecutions(): Execution[] {
    return (this.#journal?.readAll() ?? []).flatMap((kept) => kept.ended ?? []);
  }

  /**
   * Each step's item for a key: a booking, a cancellation marker, or nothing; for a custom step, what its probe says
   * of its effect, and nothing when it has no probe.
   */
  async bookingsOf(key: string, saga: Saga = this.saga): Promise<Record<string, Record<string, unknown> | undefined>> {
    const probes = await probesCached(saga);
    const steps = stepsOf(saga);
    const [items, probed] = await Promise.all([
      this.#itemsByTable(
        steps.flatMap((step) => (isCustomStep(step) ? [] : [tableOf(step) as string])),
        { [saga.keyField]: key },
      ),
      Promise.all(
        steps.map(async (step) => {
          if (!isCustomStep(step)) return undefined;
          // Without a probe, the step's effect is unknown here: left out, not reported as absent.
          return probes.get(step.name)?.({
            key,
            table: tableOf(step),
            client: this.dynamo.client,
            environment: step.needs?.environment ?? {},
          });
        }),
      ),
    ]);
    return Object.fromEntries(
      steps.flatMap((step, index) => {
        if (!isCustomStep(step)) return [[step.name, items.get(tableOf(step) as string)]];
        return probes.has(step.name) ? [[step.name, probed[index]]] : [];
      }),
    );
  }

  /**
   * The item of one key in each table, by table, read consistently by BatchGetItem (a GetItem per table cost a
   * request each: most of the time of checking an execution's bookings), at most its 100 keys a request, and again
   * for what DynamoDB left unprocessed.
   */
  async #itemsByTable(tables: readonly string[], key: Record<string, string>): Promise<Map<string, Record<string, unknown>>> {
    const items = new Map<string, Record<string, unknown>>();
    const unique = [...new Set(tables)];
    for (let first = 0; first < unique.length; first += BATCH_GET_MAX_KEYS) {
      let requested: BatchGetCommandInput['RequestItems'] = Object.fromEntries(
        unique.slice(first, first + BATCH_GET_MAX_KEYS).map((table) => [table, { Keys: [key], ConsistentRead: true }]),
      );
      while (requested !== undefined && Object.keys(requested).length > 0) {
        const answer: BatchGetCommandOutput = await this.dynamo.client.send(new BatchGetCommand({ RequestItems: requested }));
        for (const [table, [item] = []] of Object.entries(answer.Responses ?? {})) if (item) items.set(table, item);
        requested = answer.UnprocessedKeys;
      }
    }
    return items;
  }

  /** Once every function call under way has ended: those of stopped Parallel branches too, whose writes land late. */
  async idle(): Promise<void> {
    while (this.#calls.size > 0) await Promise.allSettled([...this.#calls]);
  }

  /** Closes the DynamoDB; with --data, runs under way are interrupted first, to be continued at the next start. */
  async close(): Promise<void> {
    if (this.#journal) await this.interrupt();
    await this.idle();
    // A hand-off interrupted with the process is continued at the next start.
    await Promise.allSettled(this.#handedOff.values());
    await this.dynamo.close();
    this.#journal?.release();
  }
}

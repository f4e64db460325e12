import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIVE_ALIAS } from '../asl/render.ts';
import { problemsText } from '../functions/input-problems.ts';
import type { FaultSpec } from './faults.ts';
import type { HistoryEvent } from './history.ts';
import { inputDepthProblem } from './input.ts';
import { guard, readBodyWithin } from './http-guard.ts';
import { answerFunctionConfiguration } from './lambda-api.ts';
import type { ExecutionRun } from './journal.ts';
import type { PinnedDefinition } from './pinned.ts';
import {
  ExecutionInterruptedError,
  ExecutionNameError,
  isExecutionName,
  JournalWriteError,
  notRedrivableReason,
  type Alert,
  type Execution,
  type LocalSaga,
  type Started,
} from './runtime.ts';

// The Step Functions API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`) for the local saga's one
// state machine, so that the AWS CLI and SDKs drive it as they drive AWS, only the endpoint differing; and, on the
// same port, Lambda's GetFunctionConfiguration of its functions (local/lambda-api.ts).

/** Step Functions' limit on an execution's input. */
const MAX_INPUT_BYTES = 256 * 1024;
/** A request body larger than any valid request (an input of 256 KB, escaped): refused before it is read whole. */
const MAX_REQUEST_BYTES = 1024 * 1024;
/** How long a request may take to arrive, headers and body (StepFunctionsServerOptions.requestTimeoutMs). */
const REQUEST_TIMEOUT_MS = 10_000;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
/** A state machine's ARN, or one of its alias or version (`…:stateMachine:<name>:<alias or version>`). */
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+(:[^:]+)?$/;

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

interface ExecutionRecord {
  /** The state machine it runs on: the saga's, or its rollback machine. */
  readonly machine: LocalSaga;
  /** The definition it runs on, to its end and through every redrive: the one it started with. */
  readonly pinned: PinnedDefinition;
  readonly executionArn: string;
  readonly name: string;
  readonly input: string;
  startDate: Date;
  readonly history: HistoryEvent[];
  /** Stops the current run: each redrive has its own. */
  abort: AbortController;
  status: Status;
  result?: Execution;
  done: Promise<void>;
  redriveCount: number;
  redriveDate?: Date;
  /** The clientToken of the last redrive: a request repeated with it is the same redrive. */
  redriveToken?: string | undefined;
}

/** An error in AWS's shape: the SDKs and the CLI read its type from `__type` and the message from `message`. */
export class ApiError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const errorBody = ({ type, message }: Pick<ApiError, 'type' | 'message'>): string =>
  JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${type}`, message });

function send(response: ServerResponse, status: number, requestId: string, text: string, errorType?: string): void {
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(text);
}

const sendError = (response: ServerResponse, requestId: string, error: ApiError): void =>
  send(response, error.status, requestId, errorBody(error), error.type);

/** A member of the wrong JSON type: AWS cannot deserialise the request at all. */
function typed(body: Record<string, unknown>, member: string, type: 'string' | 'boolean' | 'number'): void {
  const value = body[member];
  if (value !== undefined && value !== null && typeof value !== type) {
    throw new ApiError('SerializationException', `${member}: expected a ${type}, got ${JSON.stringify(value)}`);
  }
}

/** An enum member, as AWS words a value outside it; undefined when absent. */
function oneOf<const Value extends string>(body: Record<string, unknown>, member: string, values: readonly Value[]): Value | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (!values.includes(value as Value)) {
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`,
    );
  }
  return value as Value;
}

/** As AWS words a missing required member. */
function required(member: string, value: unknown): void {
  if (value === undefined || value === null) {
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
}

const epochSeconds = (date: Date | undefined): number | undefined => (date ? date.getTime() / 1000 : undefined);

/** History events as the JSON protocol carries them: timestamps in epoch seconds. */
const wireEvent = (event: HistoryEvent) => ({ ...event, timestamp: epochSeconds(event.timestamp) });

/** An event without the execution's data (inputs, outputs, parameters), as includeExecutionData: false asks. */
function withoutData(event: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) =>
      key.endsWith('EventDetails') && typeof value === 'object' && value !== null
        ? [key, Object.fromEntries(Object.entries(value).filter(([field]) => !['input', 'output', 'parameters'].includes(field)))]
        : [key, value],
    ),
  );
}

function page<T>(items: readonly T[], maxResults: unknown, nextToken: unknown): { items: T[]; nextToken?: string } {
  const size = maxResults === undefined || maxResults === 0 ? 100 : Number(maxResults);
  if (!Number.isInteger(size) || size < 0 || size > 1000)
    throw new ApiError('ValidationException', 'maxResults must be between 0 and 1000');
  let start = 0;
  if (nextToken !== undefined) {
    const decoded =
      typeof nextToken === 'string' && /^[A-Za-z0-9_-]+$/.test(nextToken) ? Buffer.from(nextToken, 'base64url').toString() : '';
    start = /^\d+$/.test(decoded) ? Number(decoded) : Number.NaN;
    if (!Number.isInteger(start) || start < 0 || start > items.length)
      throw new ApiError('InvalidToken', `Invalid Token: '${String(nextToken)}'`);
  }
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}

export interface StepFunctionsServerOptions {
  readonly port?: number;
  /**
   * How long a request may take to arrive, headers and body, before it is answered 408 and closed: a stalled client
   * does not hold a connection for Node's 300 s. @default 10 s
   */
  readonly requestTimeoutMs?: number;
  /** Pause before each retry, replacing the definition's backoff. @default the definition's own */
  readonly retryDelayMs?: number;
  /**
   * Checks an input at StartExecution, refusing it with InvalidExecutionInput when this returns problems, as a
   * saga that validates at its start would. @default none: like AWS, the first step's function validates
   */
  readonly validateInput?: (input: unknown) => readonly string[];
  /** Failures to inject into every execution, as `saga run --fail` does into one. @default none */
  readonly faults?: Readonly<Record<string, FaultSpec>>;
  /** Called with each alert as it is published. */
  readonly onAlert?: (alert: Alert) => void;
  /** Called with each execution (or redrive) as it ends. */
  readonly onEnd?: (execution: Execution) => void;
  /**
   * Answers the GET requests that the API (POST only) leaves free: the console (local/console.ts). Made with the
   * server, so that it reads executions through the same operations as any client. @default none: GET is refused
   */
  readonly pages?: (server: StepFunctionsServer) => (request: IncomingMessage, response: ServerResponse) => Promise<void>;
  /** Called at start with one line for each execution found running in the data folder: what was done with it. */
  readonly onRecovery?: (report: string) => void;
}

export class StepFunctionsServer {
  readonly local: LocalSaga;
  readonly createdAt = new Date();
  readonly #executions = new Map<string, ExecutionRecord>();
  readonly #server: Server;
  readonly #options: StepFunctionsServerOptions;
  readonly #pages: ((request: IncomingMessage, response: ServerResponse) => Promise<void>) | undefined;

  /** The saga's state machine and its rollback machine, by ARN. */
  readonly #machines: ReadonlyMap<string, LocalSaga>;

  private constructor(local: LocalSaga, options: StepFunctionsServerOptions) {
    this.local = local;
    this.#machines = new Map([local, ...(local.rollback ? [local.rollback] : [])].map((machine) => [machine.stateMachineArn, machine]));
    this.#options = options;
    this.#pages = options.pages?.(this);
    const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#server = createServer(
      // Checked every second (Node's default: every 30 s), so that the timeout is kept to within a second.
      { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 },
    );
    guard(this.#server, (request, response) => this.#handle(request, response), {
      refuse: (response, { status, type, message }) => sendError(response, randomUUID(), new ApiError(type, message, status)),
      body: errorBody,
      internalError: 'InternalFailure',
    });
  }

  static async start(local: LocalSaga, options: StepFunctionsServerOptions = {}): Promise<StepFunctionsServer> {
    const server = new StepFunctionsServer(local, options);
    // Executions kept by an earlier run (--data) keep their names, and can still be described.
    for (const machine of server.#machines.values()) {
      for (const execution of machine.savedExecutions()) {
        server.#executions.set(execution.executionArn, {
          ...server.#recordOf(machine, execution, execution.history),
          status: execution.status,
          result: execution,
        });
      }
      // Executions that were running when the process stopped go on, and answer as RUNNING meanwhile.
      const recoveries = machine.continueInterrupted((kept) => {
        const record = server.#recordOf(machine, kept.run, kept.history);
        server.#executions.set(record.executionArn, record);
        return server.#runOptions(record);
      });
      for (const recovery of recoveries) {
        server.#track(server.#executions.get(recovery.executionArn) as ExecutionRecord, recovery.done);
        options.onRecovery?.(recovery.report);
      }
    }
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A running record of an execution on `machine`, from its start and the history it has so far. */
  #recordOf(machine: LocalSaga, run: ExecutionRun, history: readonly HistoryEvent[]): ExecutionRecord {
    return {
      machine,
      pinned: machine.pinnedOf(run),
      executionArn: run.executionArn,
      name: run.name,
      input: JSON.stringify(run.input),
      startDate: run.startDate,
      history: [...history],
      abort: new AbortController(),
      status: 'RUNNING',
      done: Promise.resolve(),
      redriveCount: run.redriveCount,
      ...(run.redriveDate ? { redriveDate: run.redriveDate } : {}),
    };
  }

  /**
   * Stops accepting requests and waits for running executions to stop: with a data folder they are interrupted,
   * kept without an end and continued at the next start; in memory they are aborted.
   */
  async close(): Promise<void> {
    const running = [...this.#executions.values()].filter((record) => record.status === 'RUNNING');
    if (this.local.keepsData) await this.local.interrupt();
    else for (const record of running) record.abort.abort();
    await Promise.all(running.map((record) => record.done));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Runs an operation as a request for it would, with the same answer or ApiError. */
  async call(operation: string, body: Record<string, unknown>): Promise<unknown> {
    const handler = Object.hasOwn(this.#operations, operation) ? this.#operations[operation] : undefined;
    if (!handler) throw new ApiError('UnknownOperationException', `Unknown operation ${operation}`);
    return handler(body);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (answerFunctionConfiguration(this.local, request, response)) return;
    if (request.method === 'GET' && this.#pages) return this.#pages(request, response);
    const requestId = randomUUID();
    try {
      const chunks = await readBodyWithin(request, response, MAX_REQUEST_BYTES);
      if (!chunks) throw new ApiError('RequestEntityTooLargeException', `Request body is larger than ${MAX_REQUEST_BYTES} bytes`, 413);
      if (request.method !== 'POST')
        throw new ApiError('UnknownOperationException', `${request.method} is not supported: POST a JSON 1.0 request`, 404);
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
      // Own entries only: `constructor`, `toString` or `__proto__` are no operations.
      const handler = Object.hasOwn(this.#operations, operation) ? this.#operations[operation] : undefined;
      if (!handler) throw new ApiError('UnknownOperationException', `Unknown operation ${target || '(no X-Amz-Target header)'}`);
      let body: Record<string, unknown>;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new ApiError('SerializationException', 'Request body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new ApiError('SerializationException', 'Request body must be a JSON object');
      for (const member of [
        'executionArn',
        'stateMachineArn',
        'name',
        'input',
        'nextToken',
        'statusFilter',
        'redriveFilter',
        'error',
        'cause',
      ])
        typed(body, member, 'string');
      for (const member of ['reverseOrder', 'includeExecutionData']) typed(body, member, 'boolean');
      typed(body, 'maxResults', 'number');
      const result = await handler(body);
      send(response, 200, requestId, JSON.stringify(result));
    } catch (error) {
      sendError(response, requestId, error instanceof ApiError ? error : new ApiError('InternalFailure', (error as Error).message, 500));
    }
  }

  #stateMachine(arn: unknown): LocalSaga {
    required('stateMachineArn', arn);
    if (typeof arn !== 'string' || !STATE_MACHINE_ARN.test(arn)) throw new ApiError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
    // The alias through which a deployed stack's executions start names here the one definition that is served.
    const machine = this.#machines.get(arn.endsWith(`:${LIVE_ALIAS}`) ? arn.slice(0, -`:${LIVE_ALIAS}`.length) : arn);
    if (!machine) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  /** The definition an execution runs on, with its step list, as DescribeStateMachineForExecution answers it. */
  pinnedOf(executionArn: string): PinnedDefinition {
    return this.#execution(executionArn).pinned;
  }

  #execution(arn: unknown): ExecutionRecord {
    required('executionArn', arn);
    if (typeof arn !== 'string' || !EXECUTION_ARN.test(arn)) throw new ApiError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
    const record = this.#executions.get(arn);
    if (!record) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  }

  /** Starts an execution in the background; AWS's rules on names and inputs apply. */
  #start(body: Record<string, unknown>): ExecutionRecord {
    const machine = this.#stateMachine(body['stateMachineArn']);
    const name = body['name'] === undefined ? randomUUID() : body['name'];
    if (!isExecutionName(name)) throw new ApiError('InvalidName', `Invalid Name: '${String(name)}'`);
    const input = body['input'] === undefined ? '{}' : body['input'];
    if (typeof input !== 'string')
      throw new ApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input must be a JSON string');
    if (Buffer.byteLength(input) > MAX_INPUT_BYTES)
      throw new ApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: larger than 256 KB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch (error) {
      throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }
    const tooDeep = inputDepthProblem(parsed);
    if (tooDeep !== undefined) throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: ${tooDeep}`);
    // Input validation at the start is the saga's; the rollback machine's input is {<payload key>, execution, resumeFrom}.
    const problems = machine === this.local ? (this.#options.validateInput?.(parsed) ?? []) : [];
    if (problems.length > 0)
      throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: ${problemsText(problems)}`);
    const executionArn = machine.executionArnOf(name);
    const existing = this.#executions.get(executionArn);
    if (existing) {
      // As on AWS: the same name and input while the first is still running is the same request, repeated.
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      ...this.#recordOf(machine, { name, executionArn, input: parsed, startDate: new Date(), redriveCount: 0, pinned: machine.pinned }, []),
      input,
    };
    // Accepted once begun: with a data folder its start is on disk before StartExecution answers.
    let started: Started;
    try {
      started = machine.begin(parsed, { name, ...this.#runOptions(record) });
    } catch (error) {
      // A name the data folder keeps already (or one its file system would take for a kept one).
      if (error instanceof ExecutionNameError) throw new ApiError('ExecutionAlreadyExists', error.message);
      if (error instanceof JournalWriteError)
        throw new ApiError('ServiceUnavailable', `the execution was not started: ${error.message}`, 503);
      throw error;
    }
    record.startDate = started.startDate;
    this.#track(record, started.done);
    this.#executions.set(executionArn, record);
    return record;
  }

  /** What every run of an execution is given: its record's history and abort signal, and the server's options. */
  #runOptions(record: ExecutionRecord) {
    const { retryDelayMs, faults, onAlert } = this.#options;
    return {
      signal: record.abort.signal,
      onEvent: (event: HistoryEvent) => record.history.push(event),
      ...(retryDelayMs === undefined ? {} : { retryDelayMs }),
      ...(faults ? { faults } : {}),
      ...(onAlert ? { onAlert } : {}),
    };
  }

  #track(record: ExecutionRecord, run: Promise<Execution>): void {
    record.done = run.then(
      (execution) => {
        record.result = execution;
        record.status = execution.status;
        this.#options.onEnd?.(execution);
      },
      (error: unknown) => {
        // An interrupted run (the process is stopping) stays RUNNING: it is continued at the next start.
        if (!(error instanceof ExecutionInterruptedError)) record.status = 'FAILED';
      },
    );
  }

  /** RedriveExecution: AWS's rules, then the run, in the background, on the same record and history. */
  #redrive(body: Record<string, unknown>): Date {
    const record = this.#execution(body['executionArn']);
    const token = body['clientToken'];
    if (token !== undefined && token === record.redriveToken && record.redriveDate) return record.redriveDate;
    const reason = notRedrivableReason(record.status, record.result?.stopDate);
    if (reason || !record.result) throw new ApiError('ExecutionNotRedrivable', reason ?? 'Execution is RUNNING and cannot be redriven.');
    const abort = new AbortController();
    let run: Promise<Execution>;
    try {
      run = record.machine.beginRedrive(record.result, { ...this.#runOptions(record), signal: abort.signal });
    } catch (error) {
      if (error instanceof JournalWriteError)
        throw new ApiError('ServiceUnavailable', `the execution was not redriven: ${error.message}`, 503);
      throw error;
    }
    record.abort = abort;
    record.status = 'RUNNING';
    record.redriveCount += 1;
    record.redriveDate = new Date();
    record.redriveToken = typeof token === 'string' ? token : undefined;
    this.#track(record, run);
    return record.redriveDate;
  }

  #describe(record: ExecutionRecord) {
    const result = record.result;
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.machine.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: epochSeconds(record.startDate),
      ...(result ? { stopDate: epochSeconds(result.stopDate) } : {}),
      input: record.input,
      inputDetails: { included: true },
      ...(result?.status === 'SUCCEEDED' ? { output: JSON.stringify(result.output), outputDetails: { included: true } } : {}),
      ...(result?.error === undefined ? {} : { error: result.error }),
      ...(result?.cause === undefined ? {} : { cause: result.cause }),
      ...this.#redriveFields(record),
    };
  }

  #redriveFields(record: ExecutionRecord) {
    const reason = notRedrivableReason(record.status, record.result?.stopDate);
    return {
      redriveCount: record.redriveCount,
      ...(record.redriveDate ? { redriveDate: epochSeconds(record.redriveDate) } : {}),
      ...(reason ? { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: reason } : { redriveStatus: 'REDRIVABLE' }),
    };
  }

  readonly #operations: Readonly<Record<string, (body: Record<string, unknown>) => Promise<unknown> | unknown>> = {
    StartExecution: (body) => {
      const record = this.#start(body);
      return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
    },
    StartSyncExecution: (body) => {
      this.#stateMachine(body['stateMachineArn']);
      throw new ApiError('StateMachineTypeNotSupported', 'This operation is not supported by STANDARD state machines: use StartExecution');
    },
    RedriveExecution: (body) => ({ redriveDate: epochSeconds(this.#redrive(body)) }),
    DescribeExecution: (body) => this.#describe(this.#execution(body['executionArn'])),
    StopExecution: async (body) => {
      const record = this.#execution(body['executionArn']);
      if (record.status === 'RUNNING') {
        record.abort.abort();
        await record.done;
        // What the caller said of the stop, where AWS keeps it: the description and the ExecutionAborted event.
        const stop = {
          ...(typeof body['error'] === 'string' ? { error: body['error'] } : {}),
          ...(typeof body['cause'] === 'string' ? { cause: body['cause'] } : {}),
        };
        if (record.result) record.result = { ...record.result, ...stop };
        const aborted = record.history.findIndex((event) => event.type === 'ExecutionAborted');
        if (aborted >= 0) record.history[aborted] = { ...(record.history[aborted] as HistoryEvent), executionAbortedEventDetails: stop };
      }
      return { stopDate: epochSeconds(record.result?.stopDate ?? new Date()) };
    },
    GetExecutionHistory: (body) => {
      const record = this.#execution(body['executionArn']);
      const events = body['reverseOrder'] === true ? [...record.history].reverse() : record.history;
      const { items, nextToken } = page(events, body['maxResults'], body['nextToken']);
      const wire = items.map(wireEvent);
      return { events: body['includeExecutionData'] === false ? wire.map(withoutData) : wire, ...(nextToken ? { nextToken } : {}) };
    },
    ListExecutions: (body) => {
      const machine = this.#stateMachine(body['stateMachineArn']);
      const filter = oneOf(body, 'statusFilter', ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);
      // PENDING_REDRIVE belongs to a Distributed Map's child executions, which AWS lists by mapRunArn only.
      if (filter === 'PENDING_REDRIVE') {
        throw new ApiError('ValidationException', 'A PENDING_REDRIVE statusFilter requires a mapRunArn, not a stateMachineArn.');
      }
      const redriven = oneOf(body, 'redriveFilter', ['REDRIVEN', 'NOT_REDRIVEN']);
      const records = [...this.#executions.values()]
        .filter(
          (record) =>
            record.machine === machine &&
            (filter === undefined || record.status === filter) &&
            (redriven === undefined || record.redriveCount > 0 === (redriven === 'REDRIVEN')),
        )
        .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
      const { items, nextToken } = page(records, body['maxResults'], body['nextToken']);
      return {
        executions: items.map((record) => ({
          executionArn: record.executionArn,
          stateMachineArn: machine.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: epochSeconds(record.startDate),
          ...(record.result ? { stopDate: epochSeconds(record.result.stopDate) } : {}),
          redriveCount: record.redriveCount,
          ...(record.redriveDate ? { redriveDate: epochSeconds(record.redriveDate) } : {}),
        })),
        ...(nextToken ? { nextToken } : {}),
      };
    },
    ListStateMachines: () => ({
      stateMachines: [...this.#machines.values()].map((machine) => ({
        stateMachineArn: machine.stateMachineArn,
        name: machine.machineName,
        type: 'STANDARD',
        creationDate: epochSeconds(this.createdAt),
      })),
    }),
    /** The definition an execution runs on, which a change of the step list since its start does not touch. */
    DescribeStateMachineForExecution: (body) => {
      const record = this.#execution(body['executionArn']);
      return {
        stateMachineArn: record.machine.stateMachineArn,
        name: record.machine.machineName,
        definition: JSON.stringify(record.pinned.definition),
        roleArn: record.machine.roleArn,
        updateDate: epochSeconds(this.createdAt),
        revisionId: record.pinned.hash,
      };
    },
    DescribeStateMachine: (body) => {
      const machine = this.#stateMachine(body['stateMachineArn']);
      return {
        stateMachineArn: machine.stateMachineArn,
        name: machine.machineName,
        status: 'ACTIVE',
        definition: JSON.stringify(machine.definition),
        roleArn: machine.roleArn,
        type: 'STANDARD',
        creationDate: epochSeconds(this.createdAt),
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        tracingConfiguration: { enabled: false },
      };
    },
  };
}

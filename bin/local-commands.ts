import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { taskStatesOf } from '../asl/model.ts';
import { LIVE_ALIAS } from '../asl/render.ts';
import { parseFault, type FaultSpec } from '../local/faults.ts';
import { exampleArgumentOf, exampleInputOf, inputDepthProblem } from '../local/input.ts';
import { alertForPrinting, bookingsTable, timelinePrinter, verdict } from '../local/report.ts';
import { LOCAL_PORTS, LOCAL_REGION } from '../local/dynamodb.ts';
import {
  ExecutionInterruptedError,
  LocalSaga,
  stillBooked,
  type ExecuteOptions,
  type Execution,
  type LocalSagaOptions,
  type Outcome,
  type Recovery,
  type Started,
} from '../local/runtime.ts';
import { inputProblemsOf } from '../functions/input-problems.ts';
import {
  compensatableStepsOf,
  isGroup,
  payloadKeyOf,
  retriableStepsOf,
  roleOf,
  rollbackStepsOf,
  StepRole,
  stepsOf,
  tableOf,
  type Saga,
  type SagaStep,
} from '../asl/saga.ts';
import { Exit, readText, UsageError } from './io.ts';
import { loadSaga, loadSagaForData, sagaOption } from './saga-module.ts';

/** Retry pauses in the tour: short enough to watch, long enough to see. */
const TOUR_RETRY_DELAY_MS = 100;

const exitFor: Readonly<Record<Outcome, number>> = {
  succeeded: Exit.ok,
  'rolled back': Exit.rolledBack,
  'compensation not finished': Exit.notFinished,
  'step not finished': Exit.notFinished,
  'bad input': Exit.badInput,
  aborted: Exit.invalid,
  failed: Exit.invalid,
};

const print = (line = ''): void => void process.stdout.write(`${line}\n`);

export const nonNegativeInteger = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('expected a whole number of milliseconds, 0 or more');
  return number;
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function faultsFrom(specs: readonly string[], local: LocalSaga): Record<string, FaultSpec> {
  const taskStates = taskStatesOf(local.definition);
  try {
    const faults = specs.map((spec) => parseFault(spec, taskStates));
    const repeated = faults.map(([state]) => state).find((state, index, states) => states.indexOf(state) !== index);
    if (repeated) throw new UsageError(`--fail names ${repeated} twice: give each state once`);
    return Object.fromEntries(faults);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * An input from a file: unreadable is a usage error; not JSON, or nested too deeply for the local mode, is bad
 * input, as Step Functions would refuse it.
 */
async function inputFrom(path: string): Promise<{ input: unknown } | { refused: string }> {
  const text = await readText(path);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return { refused: `${path} is not JSON: ${(error as Error).message}` };
  }
  const tooDeep = inputDepthProblem(input);
  return tooDeep === undefined ? { input } : { refused: `${path}: ${tooDeep}` };
}

const retryNote = (delayMs: number | undefined): string =>
  delayMs === undefined
    ? 'retry pauses as the definition says (backoff with jitter); --retry-delay MS shortens them'
    : `every retry pause replaced by ${delayMs} ms`;

/**
 * The key whose bookings an execution made: its input's key field (the execution name may differ); none
 * when the input has no such string, and then nothing can have been booked under it.
 */
function keyOf(local: LocalSaga, execution: Pick<Execution, 'input'>): string | undefined {
  const input = execution.input;
  const id = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[local.saga.keyField] : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The items of the execution's key in every table of its step list; none when its input has no key. */
async function bookingsOfKey(local: LocalSaga, execution: Pick<Execution, 'input' | 'pinned'>) {
  const key = keyOf(local, execution);
  return key === undefined ? {} : local.bookingsOf(key, local.pinnedOf(execution).saga);
}

async function report(local: LocalSaga, execution: Execution, dataDir?: string): Promise<string> {
  // The tables of the step list the execution started with, which may since have changed.
  const { saga } = local.pinnedOf(execution);
  const key = keyOf(local, execution);
  const bookings = await bookingsOfKey(local, execution);
  print();
  if (key === undefined) {
    print(`The input has no ${saga.keyField}: no table can hold a booking of it.`);
  } else {
    print(`Tables for ${saga.keyField} ${key}:`);
    for (const line of bookingsTable(saga, bookings)) print(line);
  }
  for (const alert of execution.alerts) {
    print();
    print(`Alert (${alert.state}): ${alert.subject}; bookings left: ${alert.bookingsLeft.join(', ') || 'none'}`);
    print(`  ${JSON.stringify(alertForPrinting(alert.message))}`);
  }
  const line = verdict(saga, execution, bookings);
  print();
  print(line);
  if (execution.outcome === 'compensation not finished' || execution.outcome === 'step not finished') {
    print(
      dataDir
        ? `  Once the fault is fixed: npx saga resume --data ${dataDir} --execution ${execution.name}`
        : '  Nothing was kept (no --data): run with --data DIR to be able to resume it.',
    );
  }
  return line;
}

/** The exit status of a command stopped by Ctrl-C, as a shell reports a process ended by SIGINT. */
const INTERRUPTED_EXIT = 130;

/** Says what opening the data folder found: a lock taken over, torn records dropped, journals set aside. */
async function announceDataFolder(local: LocalSaga): Promise<void> {
  for (const line of await local.dataFolderNotes()) print(line);
}

/** Says what the start found in the data folder, and continues the executions it found running. */
async function recoverFrom(local: LocalSaga, optionsOf: (name: string) => ExecuteOptions): Promise<Recovery[]> {
  await announceDataFolder(local);
  const recoveries = local.continueInterrupted((kept) => optionsOf(kept.run.name));
  for (const recovery of recoveries) print(`↻ ${recovery.report}`);
  return recoveries;
}

/** Waits for continued executions to end, one line each. */
async function finishRecovered(recoveries: readonly Recovery[]): Promise<void> {
  for (const recovery of recoveries) {
    const execution = await recovery.done;
    print(`■ ${execution.name} ${execution.status}${execution.error ? ` (${execution.error})` : ''}: ${execution.outcome}`);
  }
}

/**
 * Ctrl-C (SIGINT, SIGTERM) interrupts the runs under way: with --data they are kept without an end, to be
 * continued by the next start or `saga resume`. Returns what removes the handlers.
 */
function interruptOnSignal(local: LocalSaga): () => void {
  const stop = () => void local.interrupt();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

/** After Ctrl-C: what the interrupted execution still has booked, and the command that finishes it. */
async function reportInterrupted(
  local: LocalSaga,
  dataDir: string,
  started: Pick<Execution, 'name' | 'executionArn' | 'input'> | undefined,
): Promise<void> {
  print();
  if (started) {
    const key = keyOf(local, started);
    const booked = key === undefined ? [] : stillBooked(await local.bookingsOf(key), started.executionArn);
    print(`Interrupted: ${started.name} is kept unfinished in ${dataDir}; still booked by it: ${booked.join(', ') || 'nothing'}.`);
    print(`  To finish it: npx saga resume --data ${dataDir} --execution ${started.name}`);
  } else {
    print(`Interrupted: the executions found running are kept unfinished in ${dataDir}, to be continued by the next start.`);
  }
  process.exitCode = INTERRUPTED_EXIT;
}

interface RunOptions {
  saga?: string;
  input?: string;
  fail: string[];
  retryDelay?: number;
  json?: boolean;
  graph?: string;
  data?: string;
  name?: string;
  logs?: boolean;
  dynamodbPort?: number;
}

/**
 * Creates the data folder one level at a time, so that a folder that cannot be made fails at once: Node's
 * recursive mkdir never returns where mkdir itself fails with ENOENT (under /proc).
 */
async function makeDataDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let path = resolve(dir); !(await stat(path).catch(() => undefined)) && dirname(path) !== path; path = dirname(path)) {
    missing.unshift(path);
  }
  for (const folder of missing) await mkdir(folder);
}

/** The picture is written after the execution: a path that cannot take it is refused before. */
async function checkGraphPath(file: string): Promise<void> {
  if (!file.endsWith('.svg')) throw new UsageError(`--graph ${file}: the picture is an SVG; name the file *.svg`);
  if (!(await stat(dirname(resolve(file))).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(`--graph ${file}: the folder ${dirname(resolve(file))} does not exist`);
  }
}

async function run(options: RunOptions): Promise<void> {
  if (options.graph) await checkGraphPath(options.graph);
  if (options.data) await makeDataDir(options.data);
  const saga = await loadSagaForData(options.saga, options.data);
  const loaded = options.input === undefined ? { input: await exampleInputOf(saga) } : await inputFrom(options.input);
  if ('refused' in loaded) {
    process.stderr.write(`saga: bad input: ${loaded.refused}\n`);
    process.exitCode = Exit.badInput;
    return;
  }
  const local = await startLocal(saga, options.dynamodbPort, {
    ...(options.data ? { dataDir: options.data } : {}),
    ...(options.logs ? { functionLog: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  // Without --data nothing would be kept: Ctrl-C ends the process, as it always did.
  const stopOnSignal = options.data ? interruptOnSignal(local) : undefined;
  let started: Started | undefined;
  try {
    const faults = faultsFrom(options.fail, local);
    if (!options.json) {
      print(
        `${local.saga.name}, run locally: DynamoDB (dynalite) at ${local.dynamo.endpoint}${options.data ? ` with data in ${options.data}` : ', in memory'};`,
      );
      print(
        `the deployed definition (${Object.keys(local.definition.States).length} states) run by aws-local-stepfunctions; ${retryNote(options.retryDelay)}.`,
      );
      print();
    }
    const retryDelay = options.retryDelay === undefined ? {} : { retryDelayMs: options.retryDelay };
    if (options.data) await finishRecovered(await recoverFrom(local, () => retryDelay));
    started = local.begin(loaded.input, {
      faults,
      ...(options.name ? { name: options.name } : {}),
      ...retryDelay,
      ...(options.json ? {} : { onEvent: timelinePrinter(print) }),
    });
    const execution = await started.done;
    if (options.json) {
      print(
        JSON.stringify(
          {
            executionArn: execution.executionArn,
            status: execution.status,
            error: execution.error,
            cause: execution.cause,
            // What the execution still holds in the tables, read as the text report reads them.
            bookingsLeft: stillBooked(await bookingsOfKey(local, execution), execution.executionArn),
            events: execution.history,
          },
          null,
          2,
        ),
      );
    } else {
      await report(local, execution, options.data);
    }
    if (options.graph) {
      // Loaded for --graph alone, as the server and console are for `saga local` alone: `saga run` starts sooner.
      const { diagramOptionsOf, svgOf, toDot } = await import('../asl/diagram.ts');
      await writeFile(options.graph, await svgOf(toDot(local.definition, execution.path, {}, diagramOptionsOf(local.saga))));
      process.stderr.write(`wrote ${options.graph}\n`);
    }
    process.exitCode = exitFor[execution.outcome];
  } catch (error) {
    if (!(error instanceof ExecutionInterruptedError && options.data)) throw error;
    await reportInterrupted(local, options.data, started && { ...started, input: loaded.input });
  } finally {
    stopOnSignal?.();
    await local.close();
  }
}

/**
 * `saga resume`: continues the kept execution if it was interrupted, else redrives it, as `aws stepfunctions
 * redrive-execution` on AWS. Other executions found running are continued and finished first.
 */
async function resume(options: { saga?: string; data: string; execution: string; fail: string[]; retryDelay?: number }): Promise<void> {
  if (!(await stat(options.data).catch(() => undefined))?.isDirectory())
    throw new UsageError(`${options.data} is not a data folder: give the one that \`saga run --data\` used`);
  const local = await startLocal(await loadSagaForData(options.saga, options.data), undefined, { dataDir: options.data });
  const stopOnSignal = interruptOnSignal(local);
  let current: Pick<Execution, 'name' | 'executionArn' | 'input'> | undefined;
  try {
    const faults = faultsFrom(options.fail, local);
    const runOptions = { faults, ...(options.retryDelay === undefined ? {} : { retryDelayMs: options.retryDelay }) };
    const recoveries = await recoverFrom(local, (name) =>
      name === options.execution ? { ...runOptions, onEvent: timelinePrinter(print) } : runOptions,
    );
    const mine = recoveries.find((recovery) => recovery.name === options.execution);
    await finishRecovered(recoveries.filter((recovery) => recovery !== mine));
    let execution: Execution;
    if (mine) {
      current = mine;
      print(`Continuing ${mine.name}, interrupted, from the state where it stopped; ${retryNote(options.retryDelay)}.`);
      print();
      execution = await mine.done;
    } else {
      const saved = local.savedExecution(options.execution);
      if (!saved) throw new UsageError(`no execution named "${options.execution}" in ${options.data}`);
      current = saved;
      print(`Redriving ${saved.name} (${saved.outcome}) from the state where it stopped; ${retryNote(options.retryDelay)}.`);
      const note = local.definitionNoteOf(saved);
      if (note) print(`Note: ${note}.`);
      print();
      execution = await local.redrive(saved, { ...runOptions, onEvent: timelinePrinter(print) });
    }
    await report(local, execution, options.data);
    process.exitCode = exitFor[execution.outcome];
  } catch (error) {
    if (!(error instanceof ExecutionInterruptedError)) throw error;
    await reportInterrupted(local, options.data, current);
  } finally {
    stopOnSignal();
    await local.close();
  }
}

interface TourScenario {
  readonly title: string;
  readonly explain: string;
  readonly faults: Record<string, FaultSpec>;
  /** The scenario's key: what its execution's input is keyed by, and names it. */
  readonly key: string;
}

/**
 * The tour, from the step list: a success, a failure at the second step, a failure at the last that rolls back with a
 * retried compensation, and past the pivot (if any) a retried step.
 */
export function tourOf(saga: Saga): TourScenario[] {
  // The steps whose failure rolls back (up to the pivot), and the compensation before the last one's.
  const steps = rollbackStepsOf(saga);
  const first = steps[0] as SagaStep;
  const second = steps[1] ?? first;
  const last = steps.at(-1) as SagaStep;
  const compensatable = compensatableStepsOf(saga);
  const retried = compensatable.at(-2) ?? compensatable.at(-1);
  const forward = retriableStepsOf(saga)[0];
  const scenarios: TourScenario[] = [
    {
      title: 'The happy path',
      explain: 'Each action books one thing; the input is passed untouched to every step.',
      faults: {},
      key: 'tour-1-happy-path',
    },
    {
      title: `${second.action} fails`,
      explain:
        roleOf(second) === StepRole.Pivot
          ? 'A business error is not retried. This step is the pivot: it has no compensation (its failure leaves no effect), and every earlier step is compensated.'
          : 'A business error is not retried: the failing step is compensated (its write may have landed), then every earlier one.',
      faults: { [second.action]: { times: 'always' } },
      key: 'tour-2-step-fails',
    },
    ...(retried === undefined
      ? []
      : [
          {
            title: `${last.action} fails, and ${retried.compensation} fails twice before it succeeds`,
            explain: 'Compensations are retried (with backoff) until they succeed, or alert once their attempts are spent.',
            faults: { [last.action]: { times: 'always' as const }, [retried.compensation]: { times: 2 } },
            key: 'tour-3-compensation-retried',
          },
        ]),
    ...(forward === undefined
      ? []
      : [
          {
            title: `${forward.action} fails twice, past the point of no return`,
            explain:
              'After the pivot nothing is undone: a retriable step retries every error, then alerts and waits for a redrive that goes on forward.',
            faults: { [forward.action]: { times: 2 } },
            key: 'tour-4-forward-retried',
          },
        ]),
  ];
  return scenarios.map((scenario, index) => ({ ...scenario, title: `${index + 1}. ${scenario.title}` }));
}

async function tour(options: { saga?: string; dynamodbPort?: number }): Promise<void> {
  const saga = await loadSaga(options.saga);
  const example = await exampleInputOf(saga);
  const local = await startLocal(saga, options.dynamodbPort);
  try {
    print(
      `The ${local.saga.name} saga, on this machine: ${local.saga.steps.map((stage) => (isGroup(stage) ? `(${stage.parallel.map((step) => step.action).join(' ‖ ')})` : stage.action)).join(' → ')},`,
    );
    print(
      `each undone by its compensation up to the pivot, if any. DynamoDB is dynalite at ${local.dynamo.endpoint} (in memory); the state machine is the`,
    );
    print('definition that `pulumi up` deploys, run by aws-local-stepfunctions with each state served by its real Middy handler.');
    print(`Retry pauses are shortened to ${TOUR_RETRY_DELAY_MS} ms for the tour (\`saga run\` honours the definition's backoff).`);
    let consistent = true;
    for (const scenario of tourOf(local.saga)) {
      print();
      print(`━━ ${scenario.title} ━━`);
      print(scenario.explain);
      print();
      const input = { ...(example as object), [saga.keyField]: scenario.key };
      const execution = await local.execute(input, {
        faults: scenario.faults,
        retryDelayMs: TOUR_RETRY_DELAY_MS,
        onEvent: timelinePrinter(print),
      });
      consistent &&= !(await report(local, execution)).includes('INCONSISTENT');
    }
    print();
    print('Next: `npx saga run --help` (inject failures, JSON history, a picture of the path taken), `npm test`.');
    process.exitCode = consistent ? Exit.ok : Exit.invalid;
  } finally {
    await local.close();
  }
}

const port = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new InvalidArgumentError('expected a port number, 0 to 65535');
  return number;
};

interface ServeOptions {
  saga?: string;
  port: number;
  dynamodbPort: number;
  data?: string;
  retryDelay?: number;
  validateInput?: boolean;
  fail: string[];
}

/** Serves the Step Functions and DynamoDB APIs on 127.0.0.1 until interrupted. */
async function serve(options: ServeOptions): Promise<void> {
  if (options.port === options.dynamodbPort && options.port !== 0) {
    throw new UsageError(`--port and --dynamodb-port are both ${options.port}: the two endpoints need a port each`);
  }
  if (options.data) await makeDataDir(options.data);
  const local = await startLocal(
    await loadSagaForData(options.saga, options.data),
    options.dynamodbPort,
    options.data ? { dataDir: options.data } : {},
  );
  const faults = await Promise.resolve()
    .then(() => faultsFrom(options.fail, local))
    .catch(async (error: unknown) => {
      await local.close();
      throw error;
    });
  const [{ StepFunctionsServer }, { consolePages, CONSOLE_PATH }] = await Promise.all([
    import('../local/sfn-server.ts'),
    import('../local/console.ts'),
  ]);
  const server = await StepFunctionsServer.start(local, {
    port: options.port,
    faults,
    onAlert: (alert) =>
      print(`⚠ alert (${alert.state}) ${alert.execution}: ${alert.subject}; bookings left: ${alert.bookingsLeft.join(', ') || 'none'}`),
    onRecovery: (line) => print(`↻ ${line}`),
    onEnd: (execution) =>
      print(`■ ${execution.executionArn} ${execution.status}${execution.error ? ` (${execution.error})` : ''}: ${execution.outcome}`),
    pages: consolePages(local),
    ...(options.validateInput ? { validateInput: inputProblemsOf(local.saga) } : {}),
    ...(options.retryDelay === undefined ? {} : { retryDelayMs: options.retryDelay }),
  }).catch(async (error: NodeJS.ErrnoException) => {
    await local.close();
    if (error.code === 'EADDRINUSE') throw new UsageError(`port ${options.port} is in use: choose another with --port`);
    throw error;
  });
  await announceDataFolder(local);
  const sfn = `--endpoint-url ${server.endpoint}`;
  // The example's own key names its execution, as `saga run` names one.
  const example = (await exampleInputOf(local.saga)) as Record<string, unknown> | null;
  const key = String(example?.[local.saga.keyField] ?? 'example');
  const executionArn = local.executionArnOf(key);
  print(`${local.saga.name} is served locally (${retryNote(options.retryDelay)}).`);
  print(`  State machine  ${local.stateMachineArn}`);
  print(`  Alias          ${local.stateMachineArn}:${LIVE_ALIAS}   (a stack's stateMachineAliasArn: where executions start)`);
  if (local.rollback)
    print(
      `  Rollback       ${local.rollback.stateMachineArn}   input: {"${payloadKeyOf(local.saga)}": …, "execution": ARN, "resumeFrom": COMPENSATION}`,
    );
  print(`  Step Functions ${server.endpoint}`);
  print(`  Console        ${server.endpoint}${CONSOLE_PATH}   (in a browser)`);
  print(
    `  DynamoDB       ${local.dynamo.endpoint}   tables: ${stepsOf(local.saga)
      .flatMap((step) => tableOf(step) ?? [])
      .join(', ')}`,
  );
  print();
  print('With the AWS CLI (any credentials will do; the region must be set, under both names for CLI v1 and boto3):');
  print(`  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=${LOCAL_REGION} AWS_DEFAULT_REGION=${LOCAL_REGION}`);
  print(
    `  aws stepfunctions start-execution ${sfn} --state-machine-arn ${local.stateMachineArn}:${LIVE_ALIAS} --name ${key} --input ${exampleArgumentOf(local.saga)}`,
  );
  print(`  aws stepfunctions describe-execution ${sfn} --execution-arn ${executionArn}`);
  print(`  aws stepfunctions get-execution-history ${sfn} --execution-arn ${executionArn}`);
  print(`  aws stepfunctions redrive-execution ${sfn} --execution-arn ${executionArn}   # AWS CLI 2.13 or later`);
  print(
    `  aws dynamodb get-item --endpoint-url ${local.dynamo.endpoint} --table-name ${stepsOf(local.saga).flatMap((step) => tableOf(step) ?? [])[0]} --key '{"${local.saga.keyField}": {"S": "${key}"}}'`,
  );
  print();
  print('Ctrl-C stops the servers.');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  print(options.data ? `stopping… executions still running are kept in ${options.data}, continued at the next start` : 'stopping…');
  await server.close();
  await local.close();
}

/** The embedded DynamoDB's port: 0 takes any free one. */
const dynamodbPortOption = (byDefault: number) =>
  new Option('--dynamodb-port <port>', 'the embedded DynamoDB endpoint’s port (0: any free port)').argParser(port).default(byDefault);

/** The local mode on the step list, its DynamoDB on the port asked for, a port in use said as such. */
async function startLocal(
  saga: Saga,
  dynamodbPort: number | undefined,
  options: Omit<LocalSagaOptions, 'saga' | 'dynamoDbPort'> = {},
): Promise<LocalSaga> {
  return LocalSaga.start({ saga, ...options, ...(dynamodbPort ? { dynamoDbPort: dynamodbPort } : {}) }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new UsageError(`port ${dynamodbPort} is in use: choose another with --dynamodb-port`);
      throw error;
    },
  );
}

const FAIL_HELP =
  'fail a Task state: STATE (every call, InjectedFault: an action rolls back, a compensation or a step past the pivot alerts), ' +
  'STATE=N (its first N calls, TransientError: retried), STATE=always, or STATE=until-redrive (every call until the ' +
  'execution is redriven: a fault fixed before the redrive); repeatable';

export function registerLocalCommands(program: Command): void {
  program
    .command('run')
    .description('run one execution locally, on an embedded DynamoDB, and show it state by state')
    .addOption(sagaOption)
    .option('--input <file>', "the execution's input (JSON); default: the saga's example")
    .option('--fail <spec>', FAIL_HELP, collect, [])
    .option(
      '--retry-delay <ms>',
      'replace every retry pause by this many milliseconds (default: the definition’s backoff)',
      nonNegativeInteger,
    )
    .option('--json', 'print the event history, shaped like GetExecutionHistory, instead')
    .option('--graph <file.svg>', 'draw the state machine with the path taken in blue')
    .option('--data <dir>', 'keep tables, executions and alerts in this folder (needed to resume)')
    .option('--name <name>', "the execution name (default: the input's key)")
    .option('--logs', "print the functions' JSON logs on standard error")
    .addOption(dynamodbPortOption(0))
    .addHelpText(
      'after',
      '\nExit status: 0 succeeded, 3 rolled back, 4 not finished (a compensation, or a retriable step past the pivot: alerted, to be resumed), 5 bad input, 2 bad command line, 1 failed otherwise.',
    )
    .action(run);

  program
    .command('resume')
    .description(
      'redrive a kept execution that did not succeed (a stuck rollback, once the fault is fixed), as redrive-execution does on AWS',
    )
    .addOption(sagaOption)
    .requiredOption('--data <dir>', 'the folder given to `saga run --data`')
    .requiredOption('--execution <name>', "the execution's name: the input's key, unless `saga run --name` gave another")
    .option('--fail <spec>', FAIL_HELP, collect, [])
    .option('--retry-delay <ms>', 'replace every retry pause by this many milliseconds', nonNegativeInteger)
    .addHelpText('after', '\nExit status: as `saga run` (3 rolled back, 4 still not finished, …); 2 not redrivable or a bad command line.')
    .action(resume);

  program
    .command('local')
    .description('serve the Step Functions and DynamoDB APIs on 127.0.0.1, for the AWS CLI and SDKs, until Ctrl-C')
    .addOption(sagaOption)
    .option('--port <port>', 'the Step Functions endpoint’s port', port, LOCAL_PORTS.stepFunctions)
    .addOption(dynamodbPortOption(LOCAL_PORTS.dynamodb))
    .option('--data <dir>', 'keep tables, executions and alerts in this folder')
    .option(
      '--retry-delay <ms>',
      'replace every retry pause by this many milliseconds (default: the definition’s backoff)',
      nonNegativeInteger,
    )
    .option('--fail <spec>', `${FAIL_HELP}; applies to every execution`, collect, [])
    .option(
      '--validate-input',
      "refuse an input that fails the saga's schema at StartExecution (InvalidExecutionInput), instead of failing its execution",
    )
    .action(serve);

  program
    .command('tour')
    .description('the happy path, a rollback, a retried compensation and, past a pivot, a retried step, explained (npm start)')
    .addOption(sagaOption)
    .addOption(dynamodbPortOption(0))
    .action(tour);
}

import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Option, type Command } from 'commander';
import type { Saga } from '../asl/saga.ts';
import { SagaDefinitionError } from '../asl/validate.ts';
import { sagaModuleOf, settingsFrom, stackFileConfig, type StackSettings } from '../infra/settings.ts';
import { errorLine, readText, UsageError } from './io.ts';

// `--saga FILE` (every command) and a stack's `saga` setting: a module whose default export is a step list.

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What a module's export lacks to be read as a step list at all; the rules of a step list (validate.ts) come after.
 * A step list written in plain JavaScript, or exported by mistake, is refused here by name rather than by a TypeError.
 */
function shapeProblems(saga: unknown): string[] {
  if (!isObject(saga)) return ['its default export is not a step list (an object made by defineSaga)'];
  const problems = (['name', 'noun', 'keyField'] as const).flatMap((key) =>
    typeof saga[key] === 'string' ? [] : [`"${key}" must be a string`],
  );
  if (!isObject(saga['input'])) problems.push('"input" must map each input field to its JSON Schema');
  if (!(saga['example'] instanceof URL) && !isObject(saga['example'])) {
    problems.push('"example" must be an input: an object, or the URL of a JSON file, e.g. new URL(\'./order.json\', import.meta.url)');
  }
  if (!Array.isArray(saga['steps'])) return [...problems, '"steps" must be a list of steps and groups'];
  const stepProblems = (step: unknown, where: string): string[] => {
    if (!isObject(step)) return [];
    const custom = step['kind'] === 'custom';
    // The pivot and retriable steps have no compensation: validation names one that they declare.
    const compensated = step['role'] === undefined || step['role'] === 'compensatable';
    return [
      ...(['name', 'action', ...(compensated ? ['compensation'] : []), ...(custom ? [] : ['table'])] as const).flatMap((key) =>
        typeof step[key] === 'string' ? [] : [`${where}: "${key}" must be a string`],
      ),
      ...(custom || Array.isArray(step['records']) ? [] : [`${where}: "records" must be a list of fields`]),
      ...(!custom || step['code'] instanceof URL
        ? []
        : [`${where}: "code" must be the URL of its module, e.g. new URL('./payment.ts', import.meta.url)`]),
    ];
  };
  saga['steps'].forEach((stage: unknown, index) => {
    const where = `entry ${index + 1} of steps`;
    if (!isObject(stage)) problems.push(`${where} is neither a step nor a group`);
    else if ('parallel' in stage) {
      // Branches that are not steps at all are named by the step list's own rules.
      if (Array.isArray(stage['parallel']))
        stage['parallel'].forEach((step: unknown, branch) => problems.push(...stepProblems(step, `${where}, branch ${branch + 1}`)));
    } else problems.push(...stepProblems(stage, where));
  });
  const retired = saga['retired'];
  if (retired !== undefined) {
    if (!Array.isArray(retired)) problems.push('"retired" must be a list of steps');
    else retired.forEach((step: unknown, index) => problems.push(...stepProblems(step, `entry ${index + 1} of retired`)));
  }
  return problems;
}

/** The project's own saga file, read when no other is named. */
export const DEFAULT_SAGA_FILE = fileURLToPath(new URL('../saga.ts', import.meta.url));

/**
 * The step list in `file` (its default export), or the project's saga.ts when none is named. A file that is missing
 * or cannot be imported is a usage error; one whose export is no step list, a SagaDefinitionError.
 */
export async function loadSaga(file: string | undefined): Promise<Saga> {
  return (await loadSagaModule(file)).saga;
}

async function loadSagaModule(file: string | undefined): Promise<{ readonly saga: Saga; readonly path: string }> {
  const path = resolve(file ?? DEFAULT_SAGA_FILE);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`step list ${file}: no such file`);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`step list ${file} cannot be loaded as a module: ${errorLine(error)}`);
  }
  if (!('default' in module)) {
    throw new SagaDefinitionError([`${file} has no default export: export the step list, \`export default defineSaga({ … })\``]);
  }
  const problems = shapeProblems(module.default);
  if (problems.length > 0) throw new SagaDefinitionError(problems.map((problem) => `${file}: ${problem}`));
  return { saga: module.default as Saga, path };
}

/** What a data folder keeps of the step list its executions run: the saga's name, and the module it was read from. */
interface DataFolderSaga {
  readonly name: string;
  readonly module: string;
}

/** Beside the journal and the tables in a data folder (`--data`). */
export const DATA_FOLDER_SAGA_FILE = 'saga.json';

async function dataFolderSagaOf(dataDir: string): Promise<DataFolderSaga | undefined> {
  const text = await readFile(join(dataDir, DATA_FOLDER_SAGA_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let kept: Partial<DataFolderSaga>;
  try {
    kept = JSON.parse(text) as Partial<DataFolderSaga>;
  } catch {
    // A torn write of this small file: the step list named, or saga.ts, writes it again.
    return undefined;
  }
  return typeof kept.name === 'string' && typeof kept.module === 'string' ? { name: kept.name, module: kept.module } : undefined;
}

/**
 * The step list of the commands that keep executions in a data folder (`saga run`, `resume` and `local` with
 * `--data`): a folder holds one saga's executions and tables, so that `saga resume --data D` continues them with
 * their own saga without being told it again, and a step list of another saga (another name) is refused by name
 * rather than reporting another saga's tables. An edited step list of the same saga is the folder's (its executions
 * still run on the definition they started with).
 */
export async function loadSagaForData(file: string | undefined, dataDir: string | undefined): Promise<Saga> {
  const kept = dataDir === undefined ? undefined : await dataFolderSagaOf(dataDir);
  if (kept !== undefined && file === undefined && !existsSync(kept.module)) {
    throw new UsageError(
      `${dataDir} holds executions of ${kept.name}, read from ${kept.module}, which is gone: name its step list with --saga FILE`,
    );
  }
  const { saga, path } = await loadSagaModule(file ?? kept?.module);
  if (kept !== undefined && saga.name !== kept.name) {
    throw new UsageError(
      `${dataDir} holds executions of the saga ${kept.name} (${kept.module}), not ${saga.name}: give its step list with --saga, or another data folder`,
    );
  }
  if (dataDir !== undefined && kept?.module !== path) {
    await writeFile(
      join(dataDir, DATA_FOLDER_SAGA_FILE),
      `${JSON.stringify({ name: saga.name, module: path } satisfies DataFolderSaga)}\n`,
    );
  }
  return saga;
}

export const sagaOption = new Option(
  '--saga <file>',
  'the step list: the default export of this module (TypeScript or JavaScript), e.g. examples/order.ts; default: saga.ts',
);

/** A stack's file in this project, beside Pulumi.yaml: Pulumi.<stack>.yaml. */
export const stackFileOf = (stack: string): string => fileURLToPath(new URL(`../Pulumi.${stack}.yaml`, import.meta.url));

/** A stack's settings, read from its stack file (by default the project's) as `pulumi up` reads them. */
export async function stackSettingsOf(stack: string, file = stackFileOf(stack)): Promise<StackSettings> {
  // Loaded here, for a stack only: the commands without --stack need no YAML parser.
  const { parse } = await import('yaml');
  return settingsFrom(stackFileConfig(parse(await readText(file))), stack);
}

/**
 * The step list the target was deployed from, as every command takes it: `--saga FILE`; else, for `--stack NAME`
 * with a stack file in this project, its `saga` setting, as `pulumi up` took it; else saga.ts.
 */
export async function deployedSaga(options: { readonly saga?: string; readonly stack?: string }, stackFile?: string): Promise<Saga> {
  if (options.saga !== undefined || options.stack === undefined) return loadSaga(options.saga);
  const file = stackFile ?? stackFileOf(options.stack);
  // A stack deployed from another checkout has no file here: its step list is --saga's to name.
  if (!existsSync(file)) return loadSaga(undefined);
  return loadSaga(sagaModuleOf(await stackSettingsOf(options.stack, file)));
}

/**
 * Where a deployed saga is looked at (`saga verify`, `saga status`): a Pulumi stack, or its state machine, endpoints and
 * tables given one by one. `machines` says what the stack's outputs name; `stateMachineArn` describes that option.
 */
export function addTargetOptions(command: Command, described: { readonly machines: string; readonly stateMachineArn: string }): Command {
  return command
    .addOption(
      new Option(
        '--stack <name>',
        `a Pulumi stack: its outputs name the ${described.machines} and tables (needs the Pulumi CLI)`,
      ).conflicts('stateMachineArn'),
    )
    .option('--state-machine-arn <arn>', described.stateMachineArn)
    .option('--endpoint-url <url>', 'the Step Functions endpoint (default: AWS), e.g. a saga local')
    .option('--dynamodb-endpoint-url <url>', 'the DynamoDB endpoint (default: AWS)')
    .option(
      '--lambda-endpoint-url <url>',
      "where the functions' configuration names the tables (default: --endpoint-url, as saga local serves it)",
    )
    .option(
      '--table <step=name>',
      "a step's table, where the functions' configuration cannot be read; repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [],
    );
}

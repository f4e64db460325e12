import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Option, type Command } from 'commander';
import { changesSummary, definitionChanges, stepListChanges, type StepListChanges } from '../asl/diff.ts';
import { statesByName, type StateMachineDefinition } from '../asl/model.ts';
import { placeholderResources, renderSaga } from '../asl/render.ts';
import { deployedStepsOf, retiredStepsOf, tableOf, type Saga, type SagaStep } from '../asl/saga.ts';
import { assertValidDefinition } from '../asl/validate.ts';
import { stackOutputs } from '../verify/target.ts';
import { Exit, readJsonFile, UsageError } from './io.ts';
import { loadSaga, sagaOption } from './saga-module.ts';

// `saga diff`: what a change of the step list does to the executions that started before it, read before `pulumi up`.
// It compares the step list with an earlier one (a file, or the same file at a git revision) or with an earlier
// definition (a file, or the one a stack has deployed).

/** The earlier side: a step list (all that can be said), or only its definition (what the states say). */
interface Earlier {
  readonly source: string;
  readonly definition: StateMachineDefinition;
  readonly saga?: Saga;
}

const DEFAULT_SAGA_FILE = 'saga.ts';

const functionsOf = (definition: StateMachineDefinition): Set<string> =>
  new Set(
    [...statesByName(definition)].flatMap(([name, state]) =>
      state.Type === 'Task' && state.Resource.includes(':lambda:') && !/^(Retry|Alert|HandOff)/.test(name) ? [name] : [],
    ),
  );

/** The step list in `file` as it was at git revision `revision`, loaded beside the file so that its imports resolve. */
async function sagaAtRevision(file: string, revision: string): Promise<Saga> {
  const path = resolve(file);
  const git = (...args: string[]) => promisify(execFile)('git', args, { cwd: dirname(path), maxBuffer: 16 * 1024 * 1024 });
  let text: string;
  try {
    const { stdout: root } = await git('rev-parse', '--show-toplevel');
    ({ stdout: text } = await git('show', `${revision}:${relative(root.trim(), path)}`));
  } catch (error) {
    throw new UsageError(`--git ${revision}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
  }
  // Its relative imports then resolve as they did at that revision, against the modules of today.
  const copy = join(dirname(path), `.${basename(path, '.ts')}.${randomUUID()}.ts`);
  await writeFile(copy, text);
  try {
    return await loadSaga(copy);
  } finally {
    await rm(copy, { force: true });
  }
}

/** The definition a deployed state machine has: its ARN from the options or the stack's outputs. */
async function deployedDefinition(options: DiffOptions): Promise<Earlier> {
  const arn = options.stateMachineArn ?? (await stackOutputs(options.stack as string)).stateMachineArn;
  const sfn = new SFNClient(options.endpointUrl ? { endpoint: options.endpointUrl } : {});
  try {
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    const definition = JSON.parse(described.definition ?? '{}') as unknown;
    assertValidDefinition(definition);
    return { source: `the definition deployed at ${arn}`, definition };
  } finally {
    sfn.destroy();
  }
}

const rendered = (saga: Saga): StateMachineDefinition => renderSaga(saga, placeholderResources(saga));

async function earlierOf(options: DiffOptions): Promise<Earlier> {
  if (options.against !== undefined) {
    const saga = await loadSaga(options.against);
    return { source: options.against, saga, definition: rendered(saga) };
  }
  if (options.git !== undefined) {
    const saga = await sagaAtRevision(options.saga ?? DEFAULT_SAGA_FILE, options.git);
    return { source: `${options.saga ?? DEFAULT_SAGA_FILE} at ${options.git}`, saga, definition: rendered(saga) };
  }
  if (options.definition !== undefined) {
    const definition = await readJsonFile(options.definition);
    assertValidDefinition(definition);
    return { source: options.definition, definition };
  }
  if (options.stack !== undefined || options.stateMachineArn !== undefined) return deployedDefinition(options);
  throw new UsageError(
    'say what to compare with: --against FILE, --git REVISION, --definition FILE, --stack NAME or --state-machine-arn ARN',
  );
}

const functionsOfStep = (step: SagaStep): string => `${step.action}, ${step.compensation}`;

/** The lines about steps, when both sides are step lists. */
function stepLines(changes: StepListChanges): string[] {
  return [
    ...changes.added.map(
      (step) =>
        `  + ${step.name}: new table ${tableOf(step) ?? '(none)'}, functions ${functionsOfStep(step)}; executions started before never call it`,
    ),
    ...changes.renamed.map(
      ({ from, to }) =>
        `  ~ ${from.name} → ${to.name}: table ${tableOf(to) ?? '(none)'} kept; states ${functionsOfStep(from)} → ${functionsOfStep(to)} ` +
        '(the earlier functions are deleted unless the earlier step is declared retired)',
    ),
    ...changes.moved.map((step) => `  ↕ ${step.name} moved: executions started before keep the earlier order, on their own definition`),
    ...changes.retired.map(
      (step) =>
        `  - ${step.name} retired: out of the definition; its table ${tableOf(step) ?? '(none)'}, functions ${functionsOfStep(step)} and their roles stay ` +
        'for the executions started before (delete it from `retired` 14 days after the last of them ended)',
    ),
    ...changes.dropped.map(
      (step) =>
        `  ⚠ ${step.name} removed and NOT retired: \`pulumi up\` deletes ${functionsOfStep(step)} and their roles, which executions ` +
        `started before (running, or redrivable for 14 days) may still call; its table ${tableOf(step) ?? '(none)'} leaves the stack but stays in ` +
        'DynamoDB (retainOnDelete). Declare the step in `retired` until they have ended',
    ),
    ...changes.retiredForGood.map(
      (step) =>
        `  ✗ ${step.name} retired for good: \`pulumi up\` deletes ${functionsOfStep(step)} and their roles; its table ${tableOf(step) ?? '(none)'} ` +
        'leaves the stack and stays in DynamoDB, to delete by hand once its items are of no use',
    ),
  ];
}

/** The report, and whether executions started before the change are safe without anything else. */
export function diffReport(saga: Saga, earlier: Earlier, sagaSource: string): { lines: string[]; safe: boolean } {
  const definition = rendered(saga);
  const states = definitionChanges(earlier.definition, definition);
  const steps = earlier.saga ? stepListChanges(earlier.saga, saga) : undefined;
  // Without the earlier step list, the functions its definition calls and that nothing deploys any more.
  const deployed = new Set(deployedStepsOf(saga).flatMap((step) => [step.action, step.compensation]));
  const lost = steps
    ? [...steps.dropped, ...steps.retiredForGood, ...steps.renamed.map(({ from }) => from)].flatMap((step) =>
        [step.action, step.compensation].filter((state) => !deployed.has(state)),
      )
    : [...functionsOf(earlier.definition)].filter((state) => !deployed.has(state));
  const kept = retiredStepsOf(saga).flatMap((step) => [step.action, step.compensation]);
  const lines = [
    `${saga.name}: ${sagaSource} against ${earlier.source}`,
    '',
    `States: ${changesSummary(states)}.`,
    ...(steps ? ['', 'Steps:', ...(stepLines(steps).length > 0 ? stepLines(steps) : ['  no step added, removed, renamed or moved'])] : []),
    '',
    'Executions started before the change run to their end, and are redriven, on the definition they started with (a ' +
      'published state machine version) and the function versions it calls; new executions start on the new one ' +
      '(the alias moves to it).',
    ...(kept.length > 0 ? [`Kept for them, retired: ${kept.join(', ')}.`] : []),
    ...(lost.length > 0
      ? [
          `⚠ Needs draining: ${lost.join(', ')} would be deleted while executions started before may still call them. Retire ` +
            'their steps (`retired` in the saga file) and remove them only 14 days after the last such execution ended.',
        ]
      : ['Safe at once: nothing an earlier execution may call is deleted, and no table is ever deleted.']),
  ];
  return { lines, safe: lost.length === 0 };
}

interface DiffOptions {
  readonly saga?: string;
  readonly against?: string;
  readonly git?: string;
  readonly definition?: string;
  readonly stack?: string;
  readonly stateMachineArn?: string;
  readonly endpointUrl?: string;
}

export function registerDiffCommand(program: Command): void {
  const sources = ['against', 'git', 'definition', 'stack', 'stateMachineArn'];
  const others = (own: string) => sources.filter((source) => source !== own);
  program
    .command('diff')
    .description(
      'what a change of the step list does to executions started before it (states and steps added, removed, renamed; ' +
        'resources kept or deleted), against an earlier step list or definition; exit 1 when it needs draining',
    )
    .addOption(sagaOption)
    .addOption(new Option('--against <file>', 'the earlier step list: a saga file').conflicts(others('against')))
    .addOption(
      new Option('--git <revision>', 'the earlier step list: the same file at a git revision, e.g. HEAD or main').conflicts(others('git')),
    )
    .addOption(
      new Option('--definition <file>', 'the earlier definition: an ASL file (`saga asl` output, or a deployed one)').conflicts(
        others('definition'),
      ),
    )
    .addOption(
      new Option('--stack <name>', "the definition the stack's state machine has deployed (Pulumi CLI, AWS)").conflicts(others('stack')),
    )
    .addOption(
      new Option('--state-machine-arn <arn>', 'the definition this state machine has deployed').conflicts(others('stateMachineArn')),
    )
    .option('--endpoint-url <url>', 'the Step Functions endpoint, e.g. a saga local')
    .action(async (options: DiffOptions) => {
      const saga = await loadSaga(options.saga);
      const earlier = await earlierOf(options);
      const { lines, safe } = diffReport(saga, earlier, options.saga ?? DEFAULT_SAGA_FILE);
      process.stdout.write(`${lines.join('\n')}\n`);
      if (!safe) process.exitCode = Exit.invalid;
    });
}

// The commands that render the step list: asl, validate, graph, cost. Loaded alone for them (bin/cli.ts), so that
// `saga asl` loads asl/, the saga file and little else.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  definitionProblems,
  placeholderResources,
  placeholderRollbackArn,
  costTable,
  diagramOptionsOf,
  stepsOf,
  LOG_LEVELS,
  PRICES,
  renderRollback,
  renderSaga,
  svgOf,
  toDot,
  toMermaid,
  type Saga,
  type SagaResources,
  type StateMachineDefinition,
} from '../asl/index.ts';
import { SagaDefinitionError, SagaResourcesError } from '../asl/validate.ts';
import { deploymentNameProblems } from '../infra/names.ts';
import { deployableSaga, sagaModuleOf } from '../infra/settings.ts';
import { handlerModulesOf } from '../functions/handler-modules.ts';
import { readJsonFile, readText, UsageError, writeOrPrint, Exit } from './io.ts';
import { DEFAULT_STATE_MS, partPattern, readmeParts } from '../docs/readme.ts';
import { loadSaga, sagaOption, stackSettingsOf } from './saga-module.ts';

function isResources(value: unknown): value is SagaResources {
  if (typeof value !== 'object' || value === null) return false;
  const { functions, alertTopic } = value as Record<string, unknown>;
  return (
    typeof alertTopic === 'string' &&
    typeof functions === 'object' &&
    functions !== null &&
    Object.values(functions).every((arn) => typeof arn === 'string')
  );
}

async function resourcesFrom(saga: Saga, path: string | undefined): Promise<SagaResources> {
  if (path === undefined) return placeholderResources(saga);
  const value = await readJsonFile(path);
  // A file that was read and parsed but holds the wrong things is invalid ARNs (exit 1), as a malformed ARN is.
  if (!isResources(value)) {
    throw new SagaResourcesError([
      `${path} must hold {"functions": {"<state name>": "<Lambda ARN>", ...}, "alertTopic": "<SNS topic ARN>"}`,
    ]);
  }
  return value;
}

interface SagaOptions {
  saga?: string;
  stack?: string;
}

interface RenderOptions extends SagaOptions {
  resources?: string;
}

/**
 * The step list (`--saga FILE`, else the stack's `saga` setting, else saga.ts) as the named stack deploys it (its
 * settings from Pulumi.<stack>.yaml), refused as the stack refuses it; or with the defaults.
 */
async function sagaFor(options: SagaOptions): Promise<{ saga: Saga; type: 'STANDARD' | 'EXPRESS' }> {
  const settings = options.stack === undefined ? undefined : await stackSettingsOf(options.stack);
  const saga = await loadSaga(options.saga ?? (settings && sagaModuleOf(settings)));
  // The step list's handler modules exist (else a SagaDefinitionError names each missing one). Whether its input
  // schema compiles is `saga validate`'s to say: compiling it (ajv) would more than double what `saga asl` takes.
  handlerModulesOf(saga);
  if (settings === undefined) return { saga, type: 'STANDARD' };
  return { saga: deployableSaga(saga, settings), type: settings.stateMachineType };
}

/** The saga's definition as the stack deploys it: an EXPRESS stack's hands stuck rollbacks to the rollback machine. */
async function render(options: RenderOptions): Promise<{ saga: Saga; definition: StateMachineDefinition }> {
  const { saga, type } = await sagaFor(options);
  const resources = await resourcesFrom(saga, options.resources);
  return {
    saga,
    definition: renderSaga(saga, resources, type === 'EXPRESS' ? { type, rollbackStateMachine: placeholderRollbackArn(saga) } : undefined),
  };
}

/** Lambda runs a function for 15 minutes at most. */
const MAX_STATE_MS = 900_000;
const stateDuration = (value: string): number => {
  const number = Number(value);
  if (!(number > 0 && number <= MAX_STATE_MS)) throw new InvalidArgumentError(`expected milliseconds above 0 and at most ${MAX_STATE_MS}`);
  return number;
};

const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** Brings the README's generated parts up to date with the step lists: the diagrams and the cost tables. */
async function refreshReadme(): Promise<void> {
  let readme = await readText(README);
  for (const part of await readmeParts()) {
    const pattern = partPattern(part);
    if (!pattern.test(readme)) throw new UsageError(`${README} has no part after ${JSON.stringify(part.intro)} to replace`);
    readme = readme.replace(pattern, () => `${part.intro}${part.text}`);
  }
  await writeFile(README, readme);
  process.stderr.write(`updated the diagrams and the cost tables in ${README}\n`);
}

const resourcesOption = new Option(
  '--resources <file>',
  'JSON file with the ARNs: {"functions": {"BookHotel": "arn:aws:lambda:…", …}, "alertTopic": "arn:aws:sns:…"}; default: placeholders',
);

const stackOption = new Option('--stack <name>', 'render as this Pulumi stack deploys it, with the settings in Pulumi.<name>.yaml');

export function registerRenderCommands(program: Command): void {
  program
    .command('asl')
    .description('print the state machine definition (Amazon States Language, JSON)')
    .addOption(sagaOption)
    .addOption(resourcesOption)
    .addOption(stackOption)
    .option('--compact', 'one line, as sent to AWS')
    .option('--rollback', 'the rollback machine instead: it finishes a rollback from the compensation named in its input')
    .action(async (options: RenderOptions & { compact?: boolean; rollback?: boolean }) => {
      let definition: StateMachineDefinition;
      if (options.rollback) {
        const { saga } = await sagaFor(options);
        definition = renderRollback(saga, await resourcesFrom(saga, options.resources));
      } else {
        definition = (await render(options)).definition;
      }
      process.stdout.write(`${JSON.stringify(definition, null, options.compact ? undefined : 2)}\n`);
    });

  program
    .command('validate')
    .description('check the step list, or a definition file, against the ASL schema and graph rules')
    .addOption(sagaOption)
    .addOption(resourcesOption)
    .addOption(stackOption)
    .option('--definition <file>', 'validate this ASL file instead of the rendered saga')
    .action(async (options: RenderOptions & { definition?: string }) => {
      // A rendered saga has passed these checks already: renderSaga returns nothing else.
      const rendered = options.definition === undefined ? await render(options) : undefined;
      // The input schema compiles, as the functions and the local mode compile it (else a SagaDefinitionError names each fault).
      if (rendered !== undefined) (await import('../functions/validator.ts')).stepEventValidatorsOf(rendered.saga);
      // Names that would not deploy are refused whether or not a stack is named: every stack names its resources alike.
      const unDeployable = rendered === undefined ? [] : deploymentNameProblems(rendered.saga);
      if (unDeployable.length > 0) throw new SagaDefinitionError(unDeployable);
      const definition = rendered?.definition ?? (await readJsonFile(options.definition as string));
      const problems = rendered === undefined ? definitionProblems(definition) : [];
      if (problems.length > 0) {
        process.stderr.write(`✗ invalid state machine definition:\n  - ${problems.join('\n  - ')}\n`);
        process.exitCode = Exit.invalid;
        return;
      }
      const machine = definition as StateMachineDefinition;
      const bytes = new TextEncoder().encode(JSON.stringify(machine)).length;
      const source = rendered ? `${rendered.saga.name} (${stepsOf(rendered.saga).length} steps)` : options.definition;
      process.stdout.write(`✓ ${source}: ${Object.keys(machine.States).length} states, ${bytes} bytes — valid\n`);
    });

  program
    .command('graph')
    .description('draw the state machine: a Mermaid flowchart (default), Graphviz DOT, or an SVG picture')
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot', 'svg']).default('mermaid'))
    .option('-o, --out <file>', 'write to a file instead of standard output (svg defaults to saga.svg; - is standard output)')
    .option('--readme', "replace the Mermaid diagram embedded in the project's README.md (after editing the step list)")
    .addOption(sagaOption)
    .addOption(stackOption)
    .action(async (options: SagaOptions & { format: 'mermaid' | 'dot' | 'svg'; out?: string; readme?: boolean }) => {
      if (options.readme) return refreshReadme();
      const { saga, definition } = await render(options);
      // The step list names the pivot, which the drawing marks as the point of no return.
      const drawing = diagramOptionsOf(saga);
      if (options.format === 'mermaid') return writeOrPrint(toMermaid(definition, drawing), options.out);
      if (options.format === 'dot') return writeOrPrint(toDot(definition, [], {}, drawing), options.out);
      return writeOrPrint(await svgOf(toDot(definition, [], {}, drawing)), options.out ?? 'saga.svg');
    });

  program
    .command('cost')
    .description('state transitions per path and what a million executions cost on Standard and Express')
    .option('--state-ms <ms>', 'average duration of one attempt of a state, for Express duration pricing', stateDuration, DEFAULT_STATE_MS)
    .addOption(sagaOption)
    .addOption(stackOption)
    .action(async (options: SagaOptions & { stateMs: number }) => {
      const { saga, definition } = await render(options);
      const lines = costTable(saga, definition, options.stateMs);
      process.stdout.write(
        [
          ...lines,
          '',
          `Prices assumed (us-east-1 list prices, free tiers ignored): Standard $${PRICES.standardPerTransition * 1000} per 1,000 ` +
            `state transitions; Express $${PRICES.expressPerRequest * 1e6} per million executions plus ` +
            `$${PRICES.expressPerGbSecond} per GB-second at the ${PRICES.expressMemoryGb * 1024} MB minimum, duration rounded up ` +
            `to ${PRICES.expressBillingIncrementMs} ms, each state taking ${options.stateMs} ms (a Parallel state as long as its slowest branch).`,
          'Retries count as transitions on Standard; on Express, the expected pauses between them (backoff with full jitter) count as duration.',
          'Past the pivot a stuck step waits for a redrive, which only Standard has: a saga with retriable steps deploys as STANDARD.',
          `Logs: the stack logs Standard at level ${LOG_LEVELS.STANDARD} (its failures) and Express at ${LOG_LEVELS.EXPRESS} (every ` +
            `event: Express keeps no history of its own), about ${PRICES.logEventBytes} bytes an event without execution data, at ` +
            `$${PRICES.logIngestionPerGb} per GB ingested; storage beyond the retention set is not counted.`,
          "Lambda, DynamoDB and SNS charges come on top (the tables use DynamoDB's AWS-owned key, which costs nothing; a " +
            'customer-managed key, the tableKmsKeyArn setting, bills KMS requests too).',
        ].join('\n') + '\n',
      );
    });
}

import { InvalidArgumentError, Option, type Command } from 'commander';
import { LocalSaga } from '../local/runtime.ts';
import { StepFunctionsServer } from '../local/sfn-server.ts';
import type { Saga } from '../asl/saga.ts';
import { longestWaitSeconds, resultLines, verdictLines } from '../verify/report.ts';
import { executionsOf, scenariosOf, TRANSIENT_FAILURES } from '../verify/scenarios.ts';
import { probesOf } from '../functions/custom-step.ts';
import { exampleInputOf } from '../local/input.ts';
import { runSuite } from '../verify/suite.ts';
import { KEY_PREFIX } from '../verify/key-prefix.ts';
import { resolveTarget, type Target, type TargetOptions } from '../verify/target.ts';
import { Exit, UsageError } from './io.ts';
import { nonNegativeInteger } from './local-commands.ts';
import { addTargetOptions, deployedSaga, sagaOption } from './saga-module.ts';

/** Retry pauses of the `saga local` that `--local` starts: the suite's scenarios exhaust retries. */
const LOCAL_RETRY_DELAY_MS = 10;
/** How often an execution is asked whether it has ended: locally at once, on AWS without throttling. */
const LOCAL_POLL_MS = 20;
const AWS_POLL_MS = 2000;
/** @default 600 s: far above the longest scenario on a dev stack (a stuck compensation, retried twice over). */
const DEFAULT_TIMEOUT_SECONDS = 600;

const print = (line = ''): void => void process.stdout.write(`${line}\n`);

interface VerifyOptions extends Omit<TargetOptions, 'table'> {
  local?: boolean;
  saga?: string;
  table: string[];
  timeout: number;
  retryDelay?: number;
}

const seconds = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 86_400) throw new InvalidArgumentError('expected whole seconds, 1 to 86400');
  return number;
};

async function verifyOn(saga: Saga, target: Target, options: VerifyOptions, pauses: string): Promise<void> {
  const retries = target.compensationRetry.maxAttempts;
  const scenarios = scenariosOf(saga, Math.min(TRANSIENT_FAILURES, retries));
  print(`saga verify: ${saga.name} on ${target.label}`);
  print(`  state machine  ${target.stateMachineArn}`);
  print(
    `  tables         ${Object.entries(target.tables)
      .map(([step, table]) => `${step}=${table}`)
      .join(', ')}`,
  );
  print(
    `  faults         ${target.faults.run ? `injected through the ${saga.noun.toLowerCase()}'s fail list` : `none (${target.faults.why})`}`,
  );
  print(`  bounds         at most ${executionsOf(scenarios)} executions, each stopped after ${options.timeout} s; keys ${KEY_PREFIX}-…`);
  print(`  retry pauses   ${pauses}`);
  print();
  const run = await runSuite(target, scenarios, {
    saga,
    example: (await exampleInputOf(saga)) as Record<string, unknown>,
    probes: await probesOf(saga),
    pollMs: options.local || options.endpointUrl ? LOCAL_POLL_MS : AWS_POLL_MS,
    timeoutMs: options.timeout * 1000,
  });
  for (const line of resultLines(run.results)) print(line);
  print();
  for (const line of verdictLines(run)) print(line);
  process.exitCode = run.results.some((result) => result.status === 'violated') ? Exit.invalid : Exit.ok;
}

/** `saga verify --local`: its own `saga local` (Step Functions, Lambda's configuration, DynamoDB), in this process. */
async function verifyLocal(saga: Saga, options: VerifyOptions): Promise<void> {
  const local = await LocalSaga.start({ saga });
  try {
    const retryDelayMs = options.retryDelay ?? LOCAL_RETRY_DELAY_MS;
    const server = await StepFunctionsServer.start(local, { retryDelayMs });
    try {
      const target = await resolveTarget(saga, {
        stateMachineArn: local.stateMachineArn,
        endpointUrl: server.endpoint,
        dynamodbEndpointUrl: local.dynamo.endpoint,
        table: [],
      });
      await verifyOn(
        saga,
        { ...target, label: `saga local, started by verify (${server.endpoint})` },
        options,
        `every one replaced by ${retryDelayMs} ms`,
      );
    } finally {
      await server.close();
    }
  } finally {
    await local.close();
  }
}

async function verify(options: VerifyOptions): Promise<void> {
  const saga = await deployedSaga(options);
  if (options.local) return verifyLocal(saga, options);
  // A deployed definition's pauses are its own: only the saga local that verify starts can be told otherwise.
  if (options.retryDelay !== undefined) throw new UsageError('--retry-delay goes with --local');
  const target = await resolveTarget(saga, options);
  const wait = longestWaitSeconds(target.compensationRetry);
  await verifyOn(
    saga,
    target,
    options,
    `the definition's own: the longest scenario waits up to ${wait} s between attempts (scenarios run at once)`,
  );
}

export function registerVerifyCommand(program: Command): void {
  const command = program
    .command('verify')
    .description("check that a stack keeps the saga's promise: every scenario through the Step Functions and DynamoDB APIs")
    .addOption(sagaOption)
    .addOption(new Option('--local', 'start a saga local of its own and verify it').conflicts(['stack', 'stateMachineArn', 'endpointUrl']));
  addTargetOptions(command, { machines: 'state machine', stateMachineArn: "the saga's state machine" })
    .option('--yes-this-is-not-production', 'run against a stack not named dev or dev-…: only the scenarios that inject no fault')
    .option('--timeout <seconds>', 'stop an execution still running after this long: its scenario fails', seconds, DEFAULT_TIMEOUT_SECONDS)
    .option('--retry-delay <ms>', `with --local: every retry pause, in milliseconds (default ${LOCAL_RETRY_DELAY_MS})`, nonNegativeInteger)
    .addHelpText('after', '\nExit status: 0 every scenario run holds, 1 one does not, 2 a bad target (nothing run).')
    .action(verify);
}

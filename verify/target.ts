import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { compensationRetryOf, functionStatesOf, retryPolicyOf, stepsOf, tableOf, type RetryPolicy, type Saga } from '../asl/saga.ts';
import { statesByName, type StateMachineDefinition } from '../asl/model.ts';
import { ConfigVariable } from '../functions/config.ts';
import { isDevelopmentStack } from '../infra/settings.ts';
import { LOCAL_CREDENTIALS } from '../local/dynamodb.ts';

// Where `saga verify` runs: a state machine, its tables and whether its functions honour the input's fail list,
// found through the APIs AWS serves (and `saga local` serves alike), or from a Pulumi stack's outputs.

/** The target named on the command line cannot be used as given: a bad ARN, a table mapping, a missing option. */
export class VerifyTargetError extends Error {
  override readonly name = 'VerifyTargetError';
}

/** An endpoint that does not answer: nothing was run. */
export class EndpointUnreachableError extends Error {
  override readonly name = 'EndpointUnreachable';
}

/** A stack not named dev or dev-…, without --yes-this-is-not-production: nothing was run. */
export class NotADevelopmentStackError extends Error {
  override readonly name = 'NotADevelopmentStack';
}

/** `--stack` needs the Pulumi CLI to read the stack's outputs. */
export class PulumiMissingError extends Error {
  override readonly name = 'PulumiMissing';
}

export const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

export interface Target {
  /** What the report calls it: a stack, an endpoint, or the `saga local` verify started. */
  readonly label: string;
  readonly sfn: SFNClient;
  readonly dynamodb: DynamoDBDocumentClient;
  readonly stateMachineArn: string;
  /** Each step's table, by step name. */
  readonly tables: Readonly<Record<string, string>>;
  /** Whether fault scenarios run, and if not, why. */
  readonly faults: { readonly run: true } | { readonly run: false; readonly why: string };
  /** The compensations' retry, as deployed: it bounds the transient scenario's faults and the suite's pauses. */
  readonly compensationRetry: RetryPolicy;
}

export interface TargetOptions {
  readonly stateMachineArn?: string;
  readonly endpointUrl?: string;
  readonly dynamodbEndpointUrl?: string;
  readonly lambdaEndpointUrl?: string;
  /** `STEP=TABLE`, each. */
  readonly table: readonly string[];
  readonly stack?: string;
  readonly yesThisIsNotProduction?: boolean;
}

export const isLoopback = (url: string | undefined): boolean => {
  try {
    return url !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    throw new VerifyTargetError(`${url} is not a URL`);
  }
};

/** Each `--table STEP=NAME`, checked against the step list. */
export function tablesGiven(saga: Saga, specs: readonly string[]): Record<string, string> {
  const steps = stepsOf(saga).map((step) => step.name);
  const entries = specs.map((spec) => {
    const match = /^([^=]+)=([A-Za-z0-9_.-]{3,255})$/.exec(spec);
    if (!match)
      throw new VerifyTargetError(
        `--table "${spec}": expected STEP=TABLE, e.g. ${steps[0]}=${stepsOf(saga).flatMap((step) => tableOf(step) ?? [])[0]}`,
      );
    const [, step = '', table = ''] = match;
    if (!steps.includes(step)) throw new VerifyTargetError(`--table "${spec}": "${step}" is not a step (one of ${steps.join(', ')})`);
    return [step, table] as const;
  });
  const repeated = entries.find(([step], index) => entries.findIndex(([other]) => other === step) !== index);
  if (repeated) throw new VerifyTargetError(`--table names ${repeated[0]} twice`);
  return Object.fromEntries(entries);
}

/** The stack's outputs (infra/program.ts), as `pulumi stack output --json` prints them. */
export interface StackOutputs {
  readonly stateMachineArn: string;
  readonly tableNames: Readonly<Record<string, string>>;
  readonly faultInjection: boolean;
  /** Absent from a stack deployed before the rollback machine was. */
  readonly rollbackStateMachineArn?: string;
}

/** Reads a stack's outputs with the Pulumi CLI. */
export async function stackOutputs(stack: string, pulumi = 'pulumi'): Promise<StackOutputs> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(pulumi, ['stack', 'output', '--json', '--stack', stack]));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PulumiMissingError(
        `--stack ${stack} reads the stack's outputs with the Pulumi CLI, which is not installed: install it, or give ` +
          `--state-machine-arn (and --table STEP=NAME) instead`,
      );
    }
    throw new VerifyTargetError(
      `pulumi stack output --stack ${stack} failed: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`,
    );
  }
  const outputs = JSON.parse(stdout) as Partial<StackOutputs>;
  if (typeof outputs.stateMachineArn !== 'string' || typeof outputs.tableNames !== 'object' || outputs.tableNames === null) {
    throw new VerifyTargetError(`stack ${stack} has no stateMachineArn and tableNames outputs: is it this project's, deployed?`);
  }
  return {
    stateMachineArn: outputs.stateMachineArn,
    tableNames: outputs.tableNames,
    faultInjection: outputs.faultInjection === true,
    ...(typeof outputs.rollbackStateMachineArn === 'string' ? { rollbackStateMachineArn: outputs.rollbackStateMachineArn } : {}),
  };
}

/**
 * A failed SDK call as verify reports it: no HTTP status means the endpoint never answered; otherwise the service
 * refused, in words `refused` gives. Verify's own errors pass through.
 */
export function sdkFailure(error: unknown, service: string, refused: (name: string, message: string) => string): Error {
  if (error instanceof VerifyTargetError) return error;
  const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
  return $metadata?.httpStatusCode === undefined
    ? new EndpointUnreachableError(`cannot reach ${service}: ${message}`)
    : new VerifyTargetError(refused(name, message));
}

/** The deployed definition, which also proves the endpoint answers and the ARN names a state machine. */
async function deployedDefinition(sfn: SFNClient, arn: string, endpoint: string): Promise<StateMachineDefinition> {
  try {
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    if (described.type === 'EXPRESS') {
      throw new VerifyTargetError(
        `${arn} is an EXPRESS state machine, whose executions DescribeExecution cannot read: verify a STANDARD stack`,
      );
    }
    return JSON.parse(described.definition ?? '{}') as StateMachineDefinition;
  } catch (error) {
    throw sdkFailure(error, `Step Functions at ${endpoint}`, (name, message) => `${arn}: ${name}: ${message}`);
  }
}

/** What the functions' configuration says: each step's table, and whether every function honours the fail list. */
export async function functionsConfiguration(
  saga: Saga,
  definition: StateMachineDefinition,
  lambda: LambdaClient,
  endpoint: string,
): Promise<{ tables: Record<string, string>; faultInjection: boolean }> {
  const states = statesByName(definition);
  const functionArn = (state: string): string => {
    const task = states.get(state);
    if (task?.Type !== 'Task')
      throw new VerifyTargetError(`the state machine has no Task ${state}: it does not run this step list (saga.ts)`);
    return task.Resource;
  };
  const variablesOf = async (state: string): Promise<Record<string, string>> => {
    try {
      const { Environment } = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionArn(state) }));
      return Environment?.Variables ?? {};
    } catch (error) {
      throw sdkFailure(
        error,
        `Lambda at ${endpoint}`,
        (name, message) => `reading ${state}'s configuration: ${name}: ${message}; or give each table with --table STEP=NAME`,
      );
    }
  };
  const variables = Object.fromEntries(
    await Promise.all(functionStatesOf(saga).map(async (state) => [state, await variablesOf(state)] as const)),
  );
  const tables = Object.fromEntries(
    // A custom step without a table of its own has none to name.
    stepsOf(saga)
      .filter((step) => tableOf(step) !== undefined)
      .map((step) => {
        const table = variables[step.action]?.[ConfigVariable.table];
        if (!table)
          throw new VerifyTargetError(
            `${step.action}'s function names no table (${ConfigVariable.table}): give it with --table ${step.name}=NAME`,
          );
        return [step.name, table];
      }),
  );
  return { tables, faultInjection: Object.values(variables).every((vars) => vars[ConfigVariable.faultInjection] === 'enabled') };
}

/** The deployed compensations' retry (the first compensation's retrier), as the stack configured it. */
const compensationRetryIn = (saga: Saga, definition: StateMachineDefinition): RetryPolicy => {
  const state = statesByName(definition).get(stepsOf(saga)[0]?.compensation ?? '');
  const retrier = state?.Type === 'Task' ? state.Retry?.[0] : undefined;
  return retrier ? retryPolicyOf(retrier) : { ...compensationRetryOf(saga), maxAttempts: 0 };
};

/** An SDK client's configuration for an endpoint (AWS's own when none is given). */
export const clientConfig = (region: string, endpoint: string | undefined) => ({
  region,
  ...(endpoint === undefined ? {} : { endpoint }),
  // A local stand-in checks that requests are signed, not by whom.
  ...(isLoopback(endpoint) ? { credentials: LOCAL_CREDENTIALS } : {}),
});

/**
 * Every step's table, asked for before the first scenario: an endpoint that does not answer, or a table it does not
 * have, stops verify before anything is started or written.
 */
async function tablesAnswer(dynamodb: DynamoDBDocumentClient, tables: Readonly<Record<string, string>>, endpoint: string): Promise<void> {
  for (const [step, table] of Object.entries(tables)) {
    try {
      await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    } catch (error) {
      throw sdkFailure(error, `DynamoDB at ${endpoint}`, (name, message) =>
        name === 'ResourceNotFoundException'
          ? `${step}'s table ${table} does not exist at ${endpoint}: give the right one with --table ${step}=NAME`
          : `reading ${step}'s table ${table}: ${name}: ${message}`,
      );
    }
  }
}

/**
 * The target, checked before anything runs: the state machine answers and runs this step list, every step's table
 * is known, and faults are injected only where fault injection is enabled on a stack named dev or dev-… (or a local
 * endpoint). Any other stack is refused, unless --yes-this-is-not-production, and then runs without faults.
 */
export async function resolveTarget(saga: Saga, options: TargetOptions): Promise<Target> {
  const given = tablesGiven(saga, options.table);
  const outputs = options.stack === undefined ? undefined : await stackOutputs(options.stack);
  const arn = outputs?.stateMachineArn ?? options.stateMachineArn;
  if (arn === undefined) throw new VerifyTargetError('name the target: --local, --stack NAME, or --state-machine-arn ARN');
  const region = STATE_MACHINE_ARN.exec(arn)?.[1];
  if (region === undefined)
    throw new VerifyTargetError(`"${arn}" is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
  const local = isLoopback(options.endpointUrl);
  const label = options.stack === undefined ? (local ? `the endpoint ${options.endpointUrl}` : arn) : `stack ${options.stack}`;
  const development = options.stack === undefined ? local : isDevelopmentStack(options.stack);
  if (!development && !options.yesThisIsNotProduction) {
    throw new NotADevelopmentStackError(
      `${label} is not a stack named dev or dev-… (nor a local endpoint): verify writes to its tables. ` +
        'If you mean it, --yes-this-is-not-production runs the scenarios that inject no fault.',
    );
  }
  const client = (endpoint: string | undefined) => clientConfig(region, endpoint);
  const sfn = new SFNClient(client(options.endpointUrl));
  const definition = await deployedDefinition(sfn, arn, options.endpointUrl ?? 'AWS');
  const complete = stepsOf(saga).every((step) => given[step.name] ?? outputs?.tableNames[step.name]);
  const lambdaEndpoint = options.lambdaEndpointUrl ?? options.endpointUrl;
  const configured =
    outputs === undefined
      ? await functionsConfiguration(saga, definition, new LambdaClient(client(lambdaEndpoint)), lambdaEndpoint ?? 'AWS').catch(
          (error: unknown) => {
            // Every table given: the functions' configuration was asked only for fault injection, which stays unknown.
            if (complete) return undefined;
            throw error;
          },
        )
      : { tables: outputs.tableNames, faultInjection: outputs.faultInjection };
  const tables = Object.fromEntries(stepsOf(saga).map((step) => [step.name, given[step.name] ?? configured?.tables[step.name] ?? '']));
  const missing = stepsOf(saga)
    .filter((step) => !tables[step.name])
    .map((step) => step.name);
  if (missing.length > 0) throw new VerifyTargetError(`no table known for ${missing.join(', ')}: give it with --table STEP=NAME`);
  const faults: Target['faults'] = !development
    ? { run: false, why: 'not a dev stack: no fault is injected' }
    : configured === undefined
      ? { run: false, why: "fault injection unknown: the functions' configuration could not be read" }
      : configured.faultInjection
        ? { run: true }
        : { run: false, why: `fault injection is disabled (${ConfigVariable.faultInjection})` };
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient(client(options.dynamodbEndpointUrl)));
  await tablesAnswer(dynamodb, tables, options.dynamodbEndpointUrl ?? 'AWS');
  return {
    label,
    sfn,
    dynamodb,
    stateMachineArn: arn,
    tables,
    faults,
    compensationRetry: compensationRetryIn(saga, definition),
  };
}

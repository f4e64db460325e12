import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeStateMachineCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StateMachineDefinition } from '../asl/model.ts';
import { rollbackMachineNameOf } from '../asl/render.ts';
import { stepsOf, type Saga } from '../asl/saga.ts';
import { LOCAL_PORTS, LOCAL_REGION } from '../local/dynamodb.ts';
import {
  clientConfig,
  functionsConfiguration,
  sdkFailure,
  stackOutputs,
  STATE_MACHINE_ARN,
  tablesGiven,
  VerifyTargetError,
  type StackOutputs,
} from '../verify/target.ts';
import { probesOf } from '../functions/custom-step.ts';
import { awsStatusSource } from './aws-source.ts';
import { Need, type NeedsAPerson } from './needs.ts';
import { scanForNeeds, type ScannedMachine, type ScanResult } from './scan.ts';

// `saga status`: what needs a person now, on a deployed stack, any endpoint, or the `saga local` on this machine.

export interface StatusOptions {
  readonly local?: boolean;
  readonly stack?: string;
  readonly stateMachineArn?: string;
  readonly rollbackStateMachineArn?: string;
  readonly endpointUrl?: string;
  readonly dynamodbEndpointUrl?: string;
  readonly lambdaEndpointUrl?: string;
  readonly table: readonly string[];
  readonly json?: boolean;
  readonly maxExecutions: number;
  readonly since?: number;
}

/** Where to look, found before the scan: the machines, their clients and the tables. */
interface Located {
  readonly label: string;
  /** The Step Functions endpoint, where it is not AWS's own: the printed commands name it. */
  readonly endpointUrl?: string;
  readonly sfn: SFNClient;
  readonly dynamodb: DynamoDBDocumentClient;
  readonly machines: readonly ScannedMachine[];
  readonly rollbackStateMachineArn?: string;
  readonly tables: Readonly<Record<string, string>>;
  /** What the scan leaves out, and why. */
  readonly notes: readonly string[];
}

const localEndpoint = (port: number): string => `http://127.0.0.1:${port}`;

/** A state machine named after the saga (and its rollback machine), where no ARN is given: what `saga local` serves. */
async function machinesNamed(
  saga: Saga,
  sfn: SFNClient,
  endpoint: string,
): Promise<{ saga?: string | undefined; rollback?: string | undefined }> {
  const found: { saga?: string | undefined; rollback?: string | undefined } = {};
  let nextToken: string | undefined;
  try {
    do {
      const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
      for (const machine of page.stateMachines ?? []) {
        if (machine.name === saga.name) found.saga = machine.stateMachineArn;
        if (machine.name === rollbackMachineNameOf(saga)) found.rollback = machine.stateMachineArn;
      }
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    throw sdkFailure(error, `Step Functions at ${endpoint}`, (name, message) => `ListStateMachines: ${name}: ${message}`);
  }
  return found;
}

async function describeMachine(sfn: SFNClient, arn: string, endpoint: string) {
  try {
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    return { type: described.type, definition: JSON.parse(described.definition ?? '{}') as StateMachineDefinition };
  } catch (error) {
    throw sdkFailure(error, `Step Functions at ${endpoint}`, (name, message) => `${arn}: ${name}: ${message}`);
  }
}

async function locate(saga: Saga, options: StatusOptions): Promise<Located> {
  const endpointUrl = options.local ? localEndpoint(LOCAL_PORTS.stepFunctions) : options.endpointUrl;
  const dynamodbEndpointUrl = options.local ? localEndpoint(LOCAL_PORTS.dynamodb) : options.dynamodbEndpointUrl;
  const given = tablesGiven(saga, options.table);
  const outputs: StackOutputs | undefined = options.stack === undefined ? undefined : await stackOutputs(options.stack);
  const endpoint = endpointUrl ?? 'AWS';
  let sagaArn = outputs?.stateMachineArn ?? options.stateMachineArn;
  let rollbackArn = outputs?.rollbackStateMachineArn ?? options.rollbackStateMachineArn;
  if (sagaArn === undefined && endpointUrl === undefined) {
    throw new VerifyTargetError('name what to look at: --local, --stack NAME, --state-machine-arn ARN, or --endpoint-url URL');
  }
  const regionOf = (arn: string): string => {
    const region = STATE_MACHINE_ARN.exec(arn)?.[1];
    if (region === undefined)
      throw new VerifyTargetError(`"${arn}" is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
    return region;
  };
  let region = sagaArn === undefined ? (process.env['AWS_REGION'] ?? LOCAL_REGION) : regionOf(sagaArn);
  let sfn = new SFNClient(clientConfig(region, endpointUrl));
  if (sagaArn === undefined) {
    const named = await machinesNamed(saga, sfn, endpoint);
    if (named.saga === undefined) {
      throw new VerifyTargetError(`${endpoint} serves no state machine named ${saga.name}: give it with --state-machine-arn ARN`);
    }
    sagaArn = named.saga;
    rollbackArn ??= named.rollback;
    region = regionOf(sagaArn);
    sfn = new SFNClient(clientConfig(region, endpointUrl));
  }
  if (rollbackArn !== undefined) regionOf(rollbackArn);
  const described = await describeMachine(sfn, sagaArn, endpoint);
  const complete = stepsOf(saga).every((step) => given[step.name] ?? outputs?.tableNames[step.name]);
  const lambdaEndpoint = options.lambdaEndpointUrl ?? endpointUrl;
  const configured = complete
    ? undefined
    : await functionsConfiguration(
        saga,
        described.definition,
        new LambdaClient(clientConfig(region, lambdaEndpoint)),
        lambdaEndpoint ?? 'AWS',
      );
  const tables = Object.fromEntries(
    stepsOf(saga).map((step) => [step.name, given[step.name] ?? outputs?.tableNames[step.name] ?? configured?.tables[step.name] ?? '']),
  );
  const notes: string[] = [];
  const machines: ScannedMachine[] = [];
  // An EXPRESS saga's executions cannot be described; it hands every stuck rollback to the rollback machine.
  if (described.type === 'EXPRESS') notes.push(`${sagaArn} is EXPRESS: its stuck rollbacks are the rollback machine's, looked at instead`);
  else machines.push({ role: 'saga', stateMachineArn: sagaArn });
  if (rollbackArn === undefined) notes.push('no rollback machine known (--rollback-state-machine-arn): its executions are not looked at');
  else machines.push({ role: 'rollback', stateMachineArn: rollbackArn });
  return {
    label: options.stack === undefined ? (endpointUrl === undefined ? sagaArn : `the endpoint ${endpointUrl}`) : `stack ${options.stack}`,
    ...(endpointUrl === undefined ? {} : { endpointUrl }),
    sfn,
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(region, dynamodbEndpointUrl))),
    machines,
    ...(rollbackArn === undefined ? {} : { rollbackStateMachineArn: rollbackArn }),
    tables,
    notes,
  };
}

const print = (line = ''): void => void process.stdout.write(`${line}\n`);

/** A span of seconds as a person reads it: the largest two units. */
export function spanOf(seconds: number): string {
  const units = [
    ['d', 86_400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ] as const;
  let rest = Math.max(0, Math.round(Math.abs(seconds)));
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    } else if (parts.length > 0) break;
  }
  return parts.join(' ') || '0 s';
}

function needLines(need: NeedsAPerson, now: Date): string[] {
  const deadlineIn = (new Date(need.redriveDeadline).getTime() - now.getTime()) / 1000;
  return [
    `✗ ${need.name}  ${need.need}${need.role === 'rollback' ? ' (rollback machine)' : ''}`,
    `    execution     ${need.executionArn}`,
    `    status        ${need.status}${need.error ? `, ${need.error}` : ''}${need.message ? `: ${need.message}` : ''}`,
    ...(need.stoppedAt ? [`    stopped at    ${need.stoppedAt}`] : []),
    ...(need.forwardStep
      ? [`    stuck forward at ${need.forwardStep}, past the pivot: a redrive goes on forward from it; nothing is to be undone`]
      : []),
    `    still booked  ${need.bookingsLeft.join(', ') || 'nothing'}${need.key ? ` (key ${need.key})` : ''}`,
    `    started       ${need.startDate} (${spanOf(need.ageSeconds)} ago), ended ${need.stopDate} (${spanOf(need.waitingSeconds)} ago)`,
    `    redrive until ${need.redriveDeadline} (${deadlineIn > 0 ? `in ${spanOf(deadlineIn)}` : `passed ${spanOf(deadlineIn)} ago`})`,
    `    finish with   ${need.command}`,
    ...(need.rollbackCommand && need.rollbackCommand !== need.command && need.need !== Need.Stuck
      ? [`    or undo with  ${need.rollbackCommand}`]
      : []),
  ];
}

function report(saga: Saga, located: Located, result: ScanResult, now: Date): void {
  print(`saga status: ${saga.name} on ${located.label}`);
  print(`  state machines  ${located.machines.map((machine) => machine.stateMachineArn).join(', ')}`);
  for (const note of located.notes) print(`  note            ${note}`);
  print(
    `  looked at       ${result.examined} ended executions, in ${result.calls.stepFunctions} Step Functions and ${result.calls.dynamodb} DynamoDB calls`,
  );
  for (const left of result.unexamined) print(`  NOT looked at   past --max-executions: ${left}`);
  print();
  if (result.needs.length === 0) {
    print(
      result.unexamined.length === 0 ? '✓ nothing needs a person' : '? nothing found among those looked at; the rest was not looked at',
    );
    return;
  }
  print(`${result.needs.length} execution${result.needs.length === 1 ? ' needs' : 's need'} a person:`);
  for (const need of result.needs) {
    print();
    for (const line of needLines(need, now)) print(line);
  }
}

/** Exit 0 when nothing needs anyone (and everything was looked at), else 1. */
export async function status(saga: Saga, options: StatusOptions): Promise<number> {
  const located = await locate(saga, options);
  const now = new Date();
  const result = await scanForNeeds(saga, awsStatusSource(saga, located.sfn, located.dynamodb, located.tables, await probesOf(saga)), {
    machines: located.machines,
    context: {
      endpointFlag: located.endpointUrl === undefined ? '' : `--endpoint-url ${located.endpointUrl}`,
      ...(located.rollbackStateMachineArn === undefined ? {} : { rollbackStateMachineArn: located.rollbackStateMachineArn }),
    },
    maxExecutions: options.maxExecutions,
    ...(options.since === undefined ? {} : { since: new Date(now.getTime() - options.since * 86_400_000) }),
    now,
  });
  if (options.json) {
    print(
      JSON.stringify(
        {
          saga: saga.name,
          target: located.label,
          stateMachines: located.machines,
          examined: result.examined,
          calls: result.calls,
          unexamined: result.unexamined,
          needs: result.needs,
        },
        null,
        2,
      ),
    );
  } else {
    report(saga, located, result, now);
  }
  return result.needs.length === 0 && result.unexamined.length === 0 ? 0 : 1;
}

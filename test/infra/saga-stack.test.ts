import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { SagaOutcome } from '../../asl/errors.ts';
import type * as pulumi from '@pulumi/pulumi';
import { renderRollback, renderSaga, SNS_PUBLISH } from '../../asl/render.ts';
import type { StateGraph } from '../../asl/index.ts';
import {
  alertStateOf,
  compensatableStepsOf,
  compensationRetryOf,
  DEFAULT_ACTION_RETRY,
  functionStatesOf,
  invalidErrorOf,
  isCustomStep,
  retriableStepsOf,
  retryStateOf,
  stepsOf,
  tableOf,
  type Saga,
  type CompensatableStep,
} from '../../asl/saga.ts';
import { exampleInputOf } from '../../local/input.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { MAX_DEPLOYED_STATE_NAME } from '../../infra/names.ts';
import { buildFunctions, type BuiltFunction } from '../../functions/build.ts';
import { configToEnvironment, stepConfigsOf, type StepConfig } from '../../functions/config.ts';
import { STATES_ALARMED } from '../../infra/alerting.ts';
import { KEY_PREFIX } from '../../verify/key-prefix.ts';
import { CUSTOM_TABLE_ACTIONS, WILDCARD_ONLY_ACTIONS, type PolicyDocument } from '../../infra/policies.ts';
import { SagaStack } from '../../infra/saga-stack.ts';
import { DEFAULT_SETTINGS, sagaWithSettings } from '../../infra/settings.ts';
import { tripSaga } from '../../saga.ts';
import { graphHolding, graphsOf, retryOf, task } from '../helpers/asl.ts';
import { saga } from '../helpers/cli.ts';
import { MOCK_ACCOUNT, MOCK_REGION, ofType, runProgram, stackFileSettings, withMocks, type MockResource } from '../helpers/pulumi.ts';
import {
  addedStep,
  everySaga,
  firstStep,
  sagaOfSize,
  tripParallelSaga,
  tripSagaOfTwoStagesOrMore,
  tripSagaWithAddedStep,
  withoutStep,
} from '../helpers/sagas.ts';
import { scratchDir, scratchFile } from '../helpers/scratch.ts';
import devExpressTrip, { DEV_EXPRESS } from '../helpers/dev-express-trip.ts';
import { deploys, projectStackSettings } from '../helpers/stacks.ts';
import expressRefusedSaga from '../helpers/express-refused-saga.ts';

/** The step list module of the trip as far as the dev-express stack deploys it, as a path from the project's folder. */
const DEV_EXPRESS_TRIP = 'test/helpers/dev-express-trip.ts';
/** The shortest saga that an EXPRESS stack of the default bounds refuses (the trip may fit), as a path likewise. */
const EXPRESS_REFUSED_SAGA = 'test/helpers/express-refused-saga.ts';

// jest: heavy (the Pulumi program run under mocks for every stack): test/sequencer.js starts it first on a fresh clone.
// Pulumi's own unit-test mocks stand in for AWS: every resource the program registers is recorded with its inputs.

type Run = Awaited<ReturnType<typeof runProgram>>;

const TYPES = {
  table: 'aws:dynamodb/table:Table',
  fn: 'aws:lambda/function:Function',
  role: 'aws:iam/role:Role',
  policy: 'aws:iam/rolePolicy:RolePolicy',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  stateMachine: 'aws:sfn/stateMachine:StateMachine',
  topic: 'aws:sns/topic:Topic',
  subscription: 'aws:sns/topicSubscription:TopicSubscription',
  alarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  metricFilter: 'aws:cloudwatch/logMetricFilter:LogMetricFilter',
  rule: 'aws:cloudwatch/eventRule:EventRule',
  target: 'aws:cloudwatch/eventTarget:EventTarget',
  topicPolicy: 'aws:sns/topicPolicy:TopicPolicy',
  dashboard: 'aws:cloudwatch/dashboard:Dashboard',
  alias: 'aws:sfn/alias:Alias',
};

const named = (run: Run, type: string, name: string): MockResource => {
  const resource = ofType(run.resources, type).find((candidate) => candidate.name === name);
  if (!resource) throw new Error(`no ${type} named ${name}`);
  return resource;
};
const stateMachineOf = (run: Run) => named(run, TYPES.stateMachine, 'saga');
const rollbackMachineOf = (run: Run) => named(run, TYPES.stateMachine, 'rollback');
const policyOf = (run: Run, name: string) => JSON.parse(named(run, TYPES.policy, name).inputs['policy']) as PolicyDocument;
const arnOf = (run: Run, type: string, name: string): string => named(run, type, name).state['arn'];
/** Each function's published version, by name: what the definitions call. */
const versionArnsOf = (run: Run): Record<string, string> =>
  Object.fromEntries(ofType(run.resources, TYPES.fn).map((fn) => [fn.name, fn.state['qualifiedArn'] as string]));
/** Where an alias of a state machine routes, and its ARN. */
const aliasOf = (run: Run, prefix: string) => named(run, TYPES.alias, `${prefix}-live`);

/** Every rule of the inventory and of least privilege, for any step list. */
function expectSagaInventory(run: Run, saga: Saga): void {
  const count = (type: string) => ofType(run.resources, type).length;
  // A pivot or retriable step has no compensation, and no function for one.
  const functions = functionStatesOf(saga).length;
  expect(count(TYPES.table)).toBe(stepsOf(saga).filter((step) => tableOf(step) !== undefined).length);
  expect(count(TYPES.fn)).toBe(functions);
  expect(count(TYPES.stateMachine)).toBe(2);
  expect(count(TYPES.role)).toBe(functions + 2);
  expect(count(TYPES.policy)).toBe(functions + 2);
  expect(count(TYPES.logGroup)).toBe(functions + 2);
  // Unexpected ends in each machine's log, rollbacks in the saga's.
  expect(count(TYPES.metricFilter)).toBe(3);
  expect(count(TYPES.topic)).toBe(1);
  expect(count(TYPES.topicPolicy)).toBe(1);
  // The log-based alarm, and AWS/States' timed-out and aborted counts of each machine.
  expect(count(TYPES.alarm)).toBe(1 + 2 * STATES_ALARMED.length);
  // Both machines STANDARD: each has its status-change rule to the topic.
  expect(count(TYPES.rule)).toBe(2);
  expect(count(TYPES.target)).toBe(2);
  expect(count(TYPES.dashboard)).toBe(1);
  expectDashboardOfOwnResources(run);

  for (const step of stepsOf(saga)) {
    const tableName = tableOf(step);
    const table = tableName === undefined ? undefined : named(run, TYPES.table, tableName);
    expect(table?.inputs ?? {}).toMatchObject(
      table === undefined
        ? {}
        : {
            billingMode: 'PAY_PER_REQUEST',
            hashKey: saga.keyField,
            attributes: [{ name: saga.keyField, type: 'S' }],
            ttl: { attributeName: 'expires_at', enabled: true },
          },
    );
    // DynamoDB's AWS-owned key, unless the stack names its own: the AWS-managed key is billed through KMS.
    expect(table?.inputs['serverSideEncryption']).toBeUndefined();
    for (const [kind, state] of [
      ['action', step.action] as const,
      ...(step.compensation === undefined ? [] : [['compensation', step.compensation] as const]),
    ]) {
      const fn = named(run, TYPES.fn, state);
      const logGroup = named(run, TYPES.logGroup, `${state}-logs`);
      expect(fn.inputs).toMatchObject({ runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler' });
      expect(fn.inputs['loggingConfig']).toEqual({ logFormat: 'Text', logGroup: logGroup.state['name'] });
      expect(fn.inputs['role']).toBe(arnOf(run, TYPES.role, `${state}-role`));
      const expectedConfig = stepConfigsOf(saga, { faultInjection: false })[state] as StepConfig;
      expect(fn.inputs['environment'].variables).toMatchObject({
        ...configToEnvironment({ ...expectedConfig, ...(table === undefined ? {} : { table: table.state['name'] }) }),
        // A custom step's declared environment, as it declared it.
        ...(isCustomStep(step) ? step.needs?.environment : {}),
      });

      // Its role, statement by statement: its DynamoDB calls on its own table (a custom step's: single items of the
      // table it declared), its own log group, X-Ray, and what a custom step declared on named resources; nothing else.
      const tableActions = isCustomStep(step)
        ? [...CUSTOM_TABLE_ACTIONS]
        : kind === 'action'
          ? ['dynamodb:UpdateItem', 'dynamodb:GetItem']
          : ['dynamodb:UpdateItem'];
      expect(named(run, TYPES.policy, `${state}-policy`).inputs['role']).toBe(named(run, TYPES.role, `${state}-role`).id);
      expect(policyOf(run, `${state}-policy`).Statement).toEqual([
        ...(table === undefined ? [] : [{ Effect: 'Allow', Action: tableActions, Resource: [table.state['arn']] }]),
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [`${logGroup.state['arn']}:*`] },
        XRAY_WRITE,
        ...(isCustomStep(step)
          ? (step.needs?.permissions ?? []).map(({ actions, resources }) => ({ Effect: 'Allow', Action: actions, Resource: resources }))
          : []),
      ]);
    }
  }

  // The state machine's role, statement by statement: only the saga's functions, only its alert topic.
  const functionArns = ofType(run.resources, TYPES.fn).map((fn) => fn.state['arn'] as string);
  expectStateMachinePolicy(run, 'state-machine-policy', functionArns);
  // The rollback machine's: only the compensations, only the alert topic.
  const compensationArns = compensatableStepsOf(saga).map((step) => arnOf(run, TYPES.fn, step.compensation));
  expectStateMachinePolicy(run, 'rollback-policy', compensationArns);
  for (const prefix of ['state-machine', 'rollback']) {
    expect(JSON.parse(named(run, TYPES.role, `${prefix}-role`).inputs['assumeRolePolicy'])).toEqual(STEP_FUNCTIONS_TRUST);
  }
}

/**
 * The dashboard names the stack's own resources and nothing else: every dimension of every metric is one of its
 * state machines, functions, tables or its topic, every alarm one of its alarms; and every function and table is on it.
 */
function expectDashboardOfOwnResources(run: Run): void {
  const body = JSON.parse((ofType(run.resources, TYPES.dashboard)[0] as MockResource).inputs['dashboardBody']) as {
    widgets: { type: string; properties: { metrics?: unknown[][]; alarms?: string[]; region?: string } }[];
  };
  const own: Record<string, string[]> = {
    StateMachineArn: ofType(run.resources, TYPES.stateMachine).map((machine) => machine.state['arn']),
    FunctionName: ofType(run.resources, TYPES.fn).map((fn) => fn.state['name']),
    TableName: ofType(run.resources, TYPES.table).map((table) => table.state['name']),
    TopicName: ofType(run.resources, TYPES.topic).map((topic) => topic.state['name']),
  };
  const named: Record<string, Set<string>> = {};
  const ownMetrics = ofType(run.resources, TYPES.metricFilter).map((filter) => filter.inputs['metricTransformation']);
  for (const widget of body.widgets) {
    if (widget.type === 'alarm') {
      expect([...(widget.properties.alarms ?? [])].sort()).toEqual(
        ofType(run.resources, TYPES.alarm)
          .map((alarm) => alarm.state['arn'])
          .sort(),
      );
      continue;
    }
    expect(widget.properties.region).toBe(MOCK_REGION);
    for (const metric of widget.properties.metrics ?? []) {
      const [namespace, name, ...rest] = metric as [string, string, ...unknown[]];
      const dimensions = rest.filter((part) => typeof part === 'string') as string[];
      if (dimensions.length === 0) {
        // A metric of the stack's own, counted by one of its log filters.
        expect(ownMetrics).toContainEqual(expect.objectContaining({ namespace, name }));
        continue;
      }
      const [dimension = '', value = ''] = dimensions;
      expect(own[dimension]).toContain(value);
      (named[dimension] ??= new Set()).add(value);
    }
  }
  for (const dimension of ['FunctionName', 'TableName', 'StateMachineArn']) {
    expect([...(named[dimension] ?? [])].sort()).toEqual([...(own[dimension] ?? [])].sort());
  }
}

/** Step Functions, on behalf of a state machine of the stack's account and region only. */
const STEP_FUNCTIONS_TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'states.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': MOCK_ACCOUNT },
        ArnLike: { 'aws:SourceArn': `arn:aws:states:${MOCK_REGION}:${MOCK_ACCOUNT}:stateMachine:*` },
      },
    },
  ],
};

/** A state machine's policy, statement by statement: these functions, the alert topic, log delivery, X-Ray, then `own`. */
function expectStateMachinePolicy(run: Run, policyName: string, functionArns: readonly string[], ...own: unknown[]): void {
  const [invoke, publish, logDelivery, xray, ...others] = policyOf(run, policyName).Statement;
  expect(invoke?.Action).toEqual(['lambda:InvokeFunction']);
  expect([...(invoke?.Resource ?? [])].sort()).toEqual(functionArns.flatMap((arn) => [arn, `${arn}:*`]).sort());
  expect(publish).toEqual({ Effect: 'Allow', Action: ['sns:Publish'], Resource: [run.outputs['alertTopicArn']] });
  expect(logDelivery).toEqual({
    Effect: 'Allow',
    Action: [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ],
    Resource: ['*'],
  });
  expect(xray).toEqual({ ...XRAY_WRITE, Action: [...XRAY_WRITE.Action, 'xray:GetSamplingRules', 'xray:GetSamplingTargets'] });
  expect(others).toEqual(own);
}

/** X-Ray's write actions, which accept no resource narrower than "*". */
const XRAY_WRITE = { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] };

/** No wildcard action anywhere; a wildcard resource only for actions AWS allows nothing narrower for. */
function expectNoStrayWildcards(run: Run): void {
  for (const resource of ofType(run.resources, TYPES.policy)) {
    for (const statement of (JSON.parse(resource.inputs['policy']) as PolicyDocument).Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of statement.Action) expect(action).not.toMatch(/\*/);
      if (statement.Resource.some((arn) => arn.includes('*') && !arn.endsWith(':*'))) {
        expect(statement.Resource).toEqual(['*']);
        for (const action of statement.Action) expect(WILDCARD_ONLY_ACTIONS.has(action)).toBe(true);
      }
    }
  }
}

describe('the program, with the default settings', () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram();
  }, 60_000);

  it('creates N tables, 2N functions, one state machine, and a role and log group each', () => {
    expectSagaInventory(run, tripSaga);
  });

  it('grants no wildcard action, and a wildcard resource only where AWS requires it', () => {
    expectNoStrayWildcards(run);
  });

  it('deploys exactly the definition that `saga asl` renders, with the real ARNs in it', () => {
    const functions = versionArnsOf(run);
    const expected = renderSaga(tripSaga, { functions, alertTopic: run.outputs['alertTopicArn'] });
    expect(JSON.parse(stateMachineOf(run).inputs['definition'])).toEqual(expected);
  });

  it('deploys the rollback machine as renderRollback renders it: STANDARD, its own role and log, named in the outputs', () => {
    const functions = versionArnsOf(run);
    const expected = renderRollback(tripSaga, { functions, alertTopic: run.outputs['alertTopicArn'] });
    expect(JSON.parse(rollbackMachineOf(run).inputs['definition'])).toEqual(expected);
    expect(rollbackMachineOf(run).inputs).toMatchObject({
      type: 'STANDARD',
      roleArn: arnOf(run, TYPES.role, 'rollback-role'),
      loggingConfiguration: { level: 'ERROR', logDestination: `${arnOf(run, TYPES.logGroup, 'rollback-logs')}:*` },
    });
    expect(run.outputs['rollbackStateMachineArn']).toBe(rollbackMachineOf(run).state['arn']);
  });

  it('puts both state machines’ log groups under /aws/vendedlogs/states/', () => {
    for (const group of ['state-machine-logs', 'rollback-logs']) {
      expect(named(run, TYPES.logGroup, group).state['name']).toMatch(/^\/aws\/vendedlogs\/states\//);
    }
  });

  it('is a STANDARD state machine, logging errors without execution data, traced', () => {
    expect(stateMachineOf(run).inputs).toMatchObject({
      type: 'STANDARD',
      loggingConfiguration: {
        includeExecutionData: false,
        level: 'ERROR',
        logDestination: `${arnOf(run, TYPES.logGroup, 'state-machine-logs')}:*`,
      },
      tracingConfiguration: { enabled: true },
      roleArn: arnOf(run, TYPES.role, 'state-machine-role'),
    });
  });

  it('alarms the alert topic on an execution of either machine that timed out, was aborted or failed other than by a routine end', () => {
    const alarm = named(run, TYPES.alarm, 'executions-failed');
    expect(alarm.inputs).toMatchObject({ alarmActions: [run.outputs['alertTopicArn']], threshold: 1, statistic: 'Sum' });
    const filters = ofType(run.resources, TYPES.metricFilter);
    const patternOf = (group: string, metric = alarm.inputs['metricName']) =>
      filters.find(
        (filter) =>
          filter.inputs['logGroupName'] === named(run, TYPES.logGroup, group).state['name'] &&
          filter.inputs['metricTransformation'].name === metric,
      )?.inputs;
    for (const group of ['state-machine-logs', 'rollback-logs']) {
      expect(patternOf(group)?.['metricTransformation']).toEqual({
        namespace: alarm.inputs['namespace'],
        name: alarm.inputs['metricName'],
        value: '1',
      });
    }
    expect(patternOf('state-machine-logs')?.['pattern']).toBe(
      '{ ($.type = "ExecutionTimedOut") || ($.type = "ExecutionAborted") || ($.type = "ExecutionFailed" && ' +
        '$.details.error != "SagaRolledBack" && $.details.error != "TripInvalid" && $.details.error != "SagaRollbackHandedOff") }',
    );
    // The rollback machine ends well only by succeeding.
    expect(patternOf('rollback-logs')?.['pattern']).toBe(
      '{ ($.type = "ExecutionTimedOut") || ($.type = "ExecutionAborted") || ($.type = "ExecutionFailed") }',
    );
  });

  it("alarms on AWS/States' timed-out and aborted executions of each machine, whatever their log says", () => {
    for (const machine of [stateMachineOf(run), rollbackMachineOf(run)]) {
      const alarms = ofType(run.resources, TYPES.alarm).filter(
        (alarm) => alarm.inputs['dimensions']?.StateMachineArn === machine.state['arn'],
      );
      expect(alarms.map((alarm) => alarm.inputs['metricName']).sort()).toEqual(STATES_ALARMED.map((alarmed) => alarmed.metric).sort());
      for (const alarm of alarms) {
        expect(alarm.inputs).toMatchObject({ namespace: 'AWS/States', threshold: 1, alarmActions: [run.outputs['alertTopicArn']] });
      }
    }
  });

  it('sends every STANDARD execution that ends unfinished to the topic through EventBridge: not a rollback, a refused trip or a hand-off', () => {
    const patternOf = (machine: MockResource) => {
      const rule = ofType(run.resources, TYPES.rule).find((candidate) =>
        JSON.parse(candidate.inputs['eventPattern']).detail.stateMachineArn.includes(machine.state['arn']),
      ) as MockResource;
      const target = ofType(run.resources, TYPES.target).find((candidate) => candidate.inputs['rule'] === rule.state['name']);
      expect(target?.inputs['arn']).toBe(run.outputs['alertTopicArn']);
      expect(JSON.parse(target?.inputs['inputTransformer'].inputTemplate)).toContain('npx saga status --stack test');
      return JSON.parse(rule.inputs['eventPattern']);
    };
    const arn = stateMachineOf(run).state['arn'];
    expect(patternOf(stateMachineOf(run))).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [arn, { prefix: `${arn}:` }],
        $or: [
          { status: ['TIMED_OUT', 'ABORTED'] },
          {
            status: ['FAILED'],
            error: [{ 'anything-but': [SagaOutcome.RolledBack, invalidErrorOf(tripSaga), SagaOutcome.RollbackHandedOff] }],
          },
        ],
      },
    });
    expect(patternOf(rollbackMachineOf(run)).detail.$or).toEqual([{ status: ['TIMED_OUT', 'ABORTED'] }, { status: ['FAILED'] }]);
    // EventBridge and CloudWatch alarms of the stack's account may publish to the topic.
    const policy = JSON.parse(named(run, TYPES.topicPolicy, 'alerts-policy').inputs['policy']);
    expect(policy.Statement.map((statement: { Principal: { Service: string } }) => statement.Principal.Service).sort()).toEqual([
      'cloudwatch.amazonaws.com',
      'events.amazonaws.com',
    ]);
    for (const statement of policy.Statement) {
      expect(statement).toMatchObject({
        Resource: run.outputs['alertTopicArn'],
        Condition: { StringEquals: { 'aws:SourceAccount': MOCK_ACCOUNT } },
      });
    }
  });

  it("has one dashboard of the stack's own resources, its URL a stack output", () => {
    const dashboard = ofType(run.resources, TYPES.dashboard)[0] as MockResource;
    expect(run.outputs['dashboardUrl']).toBe(
      `https://${MOCK_REGION}.console.aws.amazon.com/cloudwatch/home?region=${MOCK_REGION}#dashboards/dashboard/${dashboard.state['dashboardName']}`,
    );
    const titles = JSON.parse(dashboard.inputs['dashboardBody']).widgets.map(
      (widget: { properties: { title: string } }) => widget.properties.title,
    );
    expect(titles).toEqual([
      `${tripSaga.name}: executions by outcome`,
      'stuck executions: rollbacks, and steps past the pivot',
      'function errors and throttles',
      'DynamoDB throttles',
      'alarms',
    ]);
  });

  it('leaves fault injection, point-in-time recovery and deletion protection off', () => {
    for (const fn of ofType(run.resources, TYPES.fn)) expect(fn.inputs['environment'].variables['SAGA_FAULT_INJECTION']).toBe('disabled');
    for (const table of ofType(run.resources, TYPES.table)) {
      expect(table.inputs).toMatchObject({ pointInTimeRecovery: { enabled: false }, deletionProtectionEnabled: false });
    }
    expect(ofType(run.resources, TYPES.subscription)).toEqual([]);
  });

  it('outputs the state machine and its log group, the alert topic, the table and function names, and whether faults are honoured', () => {
    expect(run.outputs).toEqual({
      stateMachineAliasArn: aliasOf(run, 'state-machine').state['arn'],
      stateMachineVersionArn: stateMachineOf(run).state['stateMachineVersionArn'],
      stateMachineArn: stateMachineOf(run).state['arn'],
      stateMachineName: stateMachineOf(run).state['name'],
      alertTopicArn: (ofType(run.resources, TYPES.topic)[0] as MockResource).state['arn'],
      dashboardUrl: expect.stringContaining('#dashboards/dashboard/'),
      stateMachineLogGroup: named(run, TYPES.logGroup, 'state-machine-logs').state['name'],
      rollbackStateMachineAliasArn: aliasOf(run, 'rollback').state['arn'],
      rollbackStateMachineArn: rollbackMachineOf(run).state['arn'],
      rollbackStateMachineName: rollbackMachineOf(run).state['name'],
      rollbackStateMachineLogGroup: named(run, TYPES.logGroup, 'rollback-logs').state['name'],
      tableNames: Object.fromEntries(
        stepsOf(tripSaga).map((step) => [step.name, named(run, TYPES.table, tableOf(step) as string).state['name']]),
      ),
      functionNames: Object.fromEntries(ofType(run.resources, TYPES.fn).map((fn) => [fn.name, fn.state['name']])),
      faultInjection: false,
    });
  });
});

describe('a step list with one more step, through the same component', () => {
  let run: Run;
  beforeAll(async () => {
    const code: BuiltFunction[] = await buildFunctions(tripSagaWithAddedStep, { outDir: await scratchDir() });
    run = await withMocks(async () => {
      const stack = new SagaStack('trip', { saga: tripSagaWithAddedStep, settings: DEFAULT_SETTINGS, code });
      return { alertTopicArn: stack.alertTopic.arn, stateMachineArn: stack.stateMachine.arn };
    });
  }, 60_000);

  it('follows the same rules without any change to the infrastructure code', () => {
    expectSagaInventory(run, tripSagaWithAddedStep);
    expectNoStrayWildcards(run);
    expect(JSON.parse(stateMachineOf(run).inputs['definition']).States).toHaveProperty(addedStep.action);
  });
});

describe.each(everySaga.map(({ file, saga }) => [file, saga] as const))('a stack whose saga setting names %s', (file, saga) => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram({ saga: file });
  }, 120_000);

  it('deploys its tables, functions and roles, each least-privilege, whatever the kind of its steps', () => {
    expectSagaInventory(run, saga);
    expectNoStrayWildcards(run);
  });

  it('alerts on each retriable step stuck past the pivot, naming it and its redrive, and pages on the execution it stops', async () => {
    const definition = JSON.parse(stateMachineOf(run).inputs['definition']);
    const forward = retriableStepsOf(saga);
    // Every alert of the deployed definition is a stuck compensation's or a retriable step's: one each.
    const alerts = graphsOf(definition).flatMap((graph) =>
      Object.entries(graph.States).filter(([, state]) => (state as { Resource?: string }).Resource === SNS_PUBLISH),
    );
    expect(alerts.map(([name]) => name).sort()).toEqual(
      [...compensatableStepsOf(saga), ...forward].map((step) => alertStateOf(step)).sort(),
    );
    const sagaPattern = JSON.parse(
      (
        ofType(run.resources, TYPES.rule).find((rule) =>
          JSON.parse(rule.inputs['eventPattern']).detail.stateMachineArn.includes(stateMachineOf(run).state['arn']),
        ) as MockResource
      ).inputs['eventPattern'],
    );
    const routine = sagaPattern.detail.$or.find((branch: { status: string[] }) => branch.status.includes('FAILED')).error[0][
      'anything-but'
    ];
    const logPattern = ofType(run.resources, TYPES.metricFilter).find(
      (filter) => filter.inputs['logGroupName'] === named(run, TYPES.logGroup, 'state-machine-logs').state['name'],
    )?.inputs['pattern'] as string;
    const local = await LocalSaga.start({ saga });
    try {
      for (const step of forward) {
        const alert = task(definition, alertStateOf(step));
        expect(alert.Parameters).toMatchObject({
          TopicArn: run.outputs['alertTopicArn'],
          Subject: expect.stringContaining(saga.name),
          Message: { stuckStep: step.action, 'resume.$': expect.stringContaining('aws stepfunctions redrive-execution --execution-arn') },
        });
        // The step's Task gives up to its alert, which goes on to its retry: a Task without a catcher, where it stops.
        expect(task(definition, step.action).Catch).toEqual([
          expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: alertStateOf(step) }),
        ]);
        expect(alert.Next).toBe(retryStateOf(step));
        expect(task(definition, retryStateOf(step)).Catch).toBeUndefined();
        // The execution it stops, as the local engine runs the same definition, ends with an error no pattern calls
        // routine: EventBridge sends it to the topic, and the log's metric filter counts it for the alarm.
        const key = `stack-forward-${step.action}`;
        const example = (await exampleInputOf(saga)) as Record<string, unknown>;
        const stuck = await local.execute(
          { ...example, [saga.keyField]: key },
          { name: key, faults: { [step.action]: { times: 'until-redrive' } }, retryDelayMs: 0 },
        );
        expect(stuck).toMatchObject({ status: 'FAILED', outcome: 'step not finished' });
        expect(routine).not.toContain(stuck.error);
        expect(logPattern).toContain('$.type = "ExecutionFailed"');
        expect(logPattern).not.toContain(`"${stuck.error}"`);
      }
    } finally {
      await local.close();
    }
  }, 120_000);
});

describe('a stack whose saga setting names the example with a group (examples/trip-parallel.ts)', () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram({ saga: 'examples/trip-parallel.ts' });
  }, 60_000);

  it('deploys that step list, its group a Parallel state, under the same rules of inventory and least privilege', () => {
    expectSagaInventory(run, tripParallelSaga);
    expectNoStrayWildcards(run);
    const functions = versionArnsOf(run);
    const definition = JSON.parse(stateMachineOf(run).inputs['definition']);
    expect(definition).toEqual(renderSaga(tripParallelSaga, { functions, alertTopic: run.outputs['alertTopicArn'] }));
    expect(Object.values(definition.States).map((state) => (state as { Type: string }).Type)).toContain('Parallel');
    expect(JSON.parse(rollbackMachineOf(run).inputs['definition'])).toEqual(
      renderRollback(tripParallelSaga, { functions, alertTopic: run.outputs['alertTopicArn'] }),
    );
  });

  it('refuses a saga setting that names no module, saying which', async () => {
    await expect(runProgram({ saga: 'examples/no-such-saga.ts' })).rejects.toThrow(/step list \S*examples\/no-such-saga\.ts: no such file/);
  }, 60_000);
});

/**
 * A project stack deployed as its file (Pulumi.<stack>.yaml) sets it, and what `saga asl --stack` prints with its ARNs;
 * with `sagaModule` (a path from the project's folder), of that step list instead of the file's.
 */
async function deployedAndPrinted(stack: string, sagaModule?: string): Promise<{ run: Run; printed: string }> {
  const settings = stackFileSettings(readFileSync(new URL(`../../Pulumi.${stack}.yaml`, import.meta.url), 'utf8'));
  const run = await runProgram(sagaModule === undefined ? settings : { ...settings, saga: sagaModule }, stack);
  const resources = {
    functions: versionArnsOf(run),
    alertTopic: run.outputs['alertTopicArn'],
  };
  const sagaOption = sagaModule === undefined ? [] : ['--saga', fileURLToPath(new URL(`../../${sagaModule}`, import.meta.url))];
  const printed = await saga('asl', '--stack', stack, ...sagaOption, '--resources', await scratchFile(JSON.stringify(resources)));
  expect(printed.code).toBe(0);
  return { run, printed: printed.stdout };
}

describe('stack settings', () => {
  let defaults: Run;
  beforeAll(async () => {
    defaults = await runProgram();
  }, 60_000);

  /** The resources whose inputs differ between two runs, by type and name. */
  const changedResourcesBetween = (before: Run, after: Run): string[] =>
    after.resources
      .filter((resource) => {
        const old = before.resources.find((candidate) => candidate.type === resource.type && candidate.name === resource.name);
        return JSON.stringify(old?.inputs) !== JSON.stringify(resource.inputs);
      })
      .map((resource) => `${resource.type.split(':').at(-1)} ${resource.name}`);
  /** The resources whose inputs differ from the default stack's. */
  const changedResources = (run: Run): string[] => changedResourcesBetween(defaults, run);

  it('EXPRESS, within its 5 minutes, changes the saga’s type, log level, definition and role: a stuck rollback is handed off', async () => {
    // Bounds tighter than the dev-express stack's, on the part of the trip that it deploys: within Express's 5 minutes.
    const settings = { compensationMaxAttempts: '0', functionTimeoutSeconds: '1', saga: DEV_EXPRESS_TRIP };
    const standard = await runProgram(settings);
    const run = await runProgram({ ...settings, stateMachineType: 'EXPRESS' });
    expect(changedResourcesBetween(standard, run)).toEqual(['RolePolicy state-machine-policy', 'StateMachine saga']);
    // Express sends no status-change events: only the rollback machine has a rule; the log and AWS/States still alarm.
    expect(ofType(run.resources, TYPES.rule).map((rule) => JSON.parse(rule.inputs['eventPattern']).detail.stateMachineArn[0])).toEqual([
      rollbackMachineOf(run).state['arn'],
    ]);
    expect(stateMachineOf(run).inputs).toMatchObject({
      type: 'EXPRESS',
      loggingConfiguration: { level: 'ALL', includeExecutionData: false },
    });
    const functions = versionArnsOf(run);
    // The hand-off starts the rollback machine through its alias, on its latest version.
    const rollbackStateMachine = aliasOf(run, 'rollback').state['arn'];
    expect(JSON.parse(stateMachineOf(run).inputs['definition'])).toEqual(
      renderSaga(
        sagaWithSettings(devExpressTrip, { ...DEFAULT_SETTINGS, compensationMaxAttempts: 0 }),
        { functions, alertTopic: run.outputs['alertTopicArn'] },
        {
          type: 'EXPRESS',
          rollbackStateMachine,
        },
      ),
    );
    // It may start the rollback machine, and nothing else.
    const functionArns = ofType(run.resources, TYPES.fn).map((fn) => fn.state['arn'] as string);
    expectStateMachinePolicy(run, 'state-machine-policy', functionArns, {
      Effect: 'Allow',
      Action: ['states:StartExecution'],
      Resource: [rollbackStateMachine],
    });
  }, 60_000);

  it('EXPRESS is refused when its worst case can outrun 5 minutes, naming the settings to change, before any resource is registered', async () => {
    const registered: MockResource[] = [];
    const running = runProgram({ stateMachineType: 'EXPRESS', saga: EXPRESS_REFUSED_SAGA }, 'test', registered);
    await expect(running).rejects.toThrow(
      new RegExp(
        `an EXPRESS execution of ${expressRefusedSaga.name} can run \\d+ s \\(every attempt cold: 10 s of Lambda init before the function's timeout\\), ` +
          `past Express's 300 s: lower compensationMaxAttempts \\(now ${compensationRetryOf(expressRefusedSaga).maxAttempts}\\) ` +
          `or functionTimeoutSeconds \\(now ${DEFAULT_SETTINGS.functionTimeoutSeconds}\\)`,
      ),
    );
    expect(registered).toEqual([]);
  }, 60_000);

  it('the component itself refuses, before registering anything, a step list whose names a deployment would overrun', async () => {
    const tooLong = { ...firstStep, action: `Book${'X'.repeat(MAX_DEPLOYED_STATE_NAME - 3)}` };
    const saga: Saga = { ...tripSaga, steps: [tooLong, ...tripSaga.steps.slice(1)] };
    const registered: MockResource[] = [];
    const deploying = withMocks(
      async () => {
        const stack = new SagaStack('trip', { saga, settings: DEFAULT_SETTINGS, code: [] });
        return { stateMachineArn: stack.stateMachine.arn };
      },
      {},
      'test',
      registered,
    );
    await expect(deploying).rejects.toMatchObject({
      name: 'SagaDefinitionError',
      message: expect.stringContaining(`state "${tooLong.action}"`),
    });
    expect(registered).toEqual([]);
  });

  it('the dev-express stack, as Pulumi.dev-express.yaml sets it, deploys what `saga asl --stack dev-express` prints, for the trip as far as it fits Express', async () => {
    const { run, printed } = await deployedAndPrinted(DEV_EXPRESS, DEV_EXPRESS_TRIP);
    expect(stateMachineOf(run).inputs['type']).toBe('EXPRESS');
    // The printed hand-off names the rollback machine by a placeholder ARN; the deployed one, by its own (its alias).
    const rollbackNamed = (definition: string) => JSON.parse(definition.replaceAll(/arn:aws:states:[^"]*rollback[^"]*/g, 'rollback'));
    expect(rollbackNamed(stateMachineOf(run).inputs['definition'])).toEqual(rollbackNamed(printed));
  }, 60_000);

  it('tableKmsKeyArn encrypts every table with that key, which each function may use for its own table, and nothing else changes', async () => {
    const key = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const run = await runProgram({ tableKmsKeyArn: key });
    expect(changedResources(run).sort()).toEqual(
      [
        ...ofType(run.resources, TYPES.table).map((table) => `Table ${table.name}`),
        ...ofType(run.resources, TYPES.fn).map((fn) => `RolePolicy ${fn.name}-policy`),
      ].sort(),
    );
    for (const table of ofType(run.resources, TYPES.table))
      expect(table.inputs['serverSideEncryption']).toEqual({ enabled: true, kmsKeyArn: key });
    for (const fn of ofType(run.resources, TYPES.fn)) {
      expect(policyOf(run, `${fn.name}-policy`).Statement).toContainEqual(expect.objectContaining({ Effect: 'Allow', Resource: [key] }));
    }
    await expect(runProgram({ tableKmsKeyArn: 'alias/mine' })).rejects.toThrow('tableKmsKeyArn "alias/mine" is not the ARN of a KMS key');
  }, 60_000);

  it('tracing off removes X-Ray from the functions, their roles and the state machine', async () => {
    const run = await runProgram({ tracing: 'false' });
    expect(changedResources(run).sort()).toEqual(
      [
        ...ofType(run.resources, TYPES.fn).map((fn) => `Function ${fn.name}`),
        ...ofType(run.resources, TYPES.policy).map((p) => `RolePolicy ${p.name}`),
        'StateMachine saga',
        'StateMachine rollback',
      ].sort(),
    );
    for (const fn of ofType(run.resources, TYPES.fn)) expect(fn.inputs['tracingConfig']).toEqual({ mode: 'PassThrough' });
    for (const machine of ofType(run.resources, TYPES.stateMachine))
      expect(machine.inputs['tracingConfiguration']).toEqual({ enabled: false });
    for (const policy of ofType(run.resources, TYPES.policy)) expect(policy.inputs['policy']).not.toContain('xray:');
  }, 60_000);

  it('production settings protect the data, keep logs longer, bound compensations as set and page someone', async () => {
    const run = await runProgram({
      pointInTimeRecovery: 'true',
      deletionProtection: 'true',
      logRetentionDays: '365',
      compensationMaxAttempts: '8',
      functionMemoryMb: '512',
      alertEmail: 'oncall@example.com',
    });
    for (const table of ofType(run.resources, TYPES.table)) {
      expect(table.inputs).toMatchObject({ pointInTimeRecovery: { enabled: true }, deletionProtectionEnabled: true });
    }
    for (const group of ofType(run.resources, TYPES.logGroup)) expect(group.inputs['retentionInDays']).toBe(365);
    for (const fn of ofType(run.resources, TYPES.fn)) expect(fn.inputs['memorySize']).toBe(512);
    const definition = JSON.parse(stateMachineOf(run).inputs['definition']);
    for (const step of compensatableStepsOf(tripSaga)) {
      expect(retryOf(task(definition, step.compensation)).maxAttempts).toBe(8);
      expect(retryOf(task(definition, step.action)).maxAttempts).toBe(DEFAULT_ACTION_RETRY.maxAttempts);
    }
    expect(ofType(run.resources, TYPES.subscription).map((subscription) => subscription.inputs)).toEqual([
      { topic: run.outputs['alertTopicArn'], protocol: 'email', endpoint: 'oncall@example.com' },
    ]);
    expect(changedResources(run).filter((name) => name.startsWith('Role ') || name.startsWith('RolePolicy '))).toEqual([]);
  }, 60_000);

  it('the dev stack, as Pulumi.dev.yaml sets it, deploys exactly what `saga asl --stack dev` prints, fault injection on', async () => {
    const { run, printed } = await deployedAndPrinted('dev');
    for (const fn of ofType(run.resources, TYPES.fn)) expect(fn.inputs['environment'].variables['SAGA_FAULT_INJECTION']).toBe('enabled');
    const deployed = JSON.parse(stateMachineOf(run).inputs['definition']);
    expect(deployed).toEqual(JSON.parse(printed));
    expect(retryOf(task(deployed, firstStep.compensation)).maxAttempts).toBe(3);
    // saga verify fails executions on purpose here: its trip ids (the executions' names) page no one.
    for (const rule of ofType(run.resources, TYPES.rule)) {
      expect(JSON.parse(rule.inputs['eventPattern']).detail.name).toEqual([{ 'anything-but': { prefix: `${KEY_PREFIX}-` } }]);
    }
    for (const filter of ofType(run.resources, TYPES.metricFilter).filter((candidate) => candidate.name.endsWith('-unexpected-ends'))) {
      expect(filter.inputs['pattern']).toMatch(new RegExp(`&& \\$\\.execution_arn != "\\*:${KEY_PREFIX}-\\*" }$`));
    }
  }, 60_000);

  it('fault injection is refused on any stack but a development one', async () => {
    await expect(runProgram({ faultInjection: 'true' }, 'prod')).rejects.toThrow(
      'faultInjection is for development stacks (dev, dev-…), not "prod"',
    );
    const run = await runProgram({ faultInjection: 'true' }, 'dev-alice');
    expect(ofType(run.resources, TYPES.fn)[0]?.inputs['environment'].variables['SAGA_FAULT_INJECTION']).toBe('enabled');
    // What `saga verify --stack` reads to inject faults.
    expect(run.outputs['faultInjection']).toBe(true);
  }, 60_000);

  it('bad settings stop the program with StackSettingsError naming each key', async () => {
    await expect(
      runProgram({ stateMachineType: 'FAST', functionTimeoutSeconds: '90', logRetentionDays: '10', tracing: 'yes' }),
    ).rejects.toThrow(
      /bad stack configuration: stateMachineType must be STANDARD or EXPRESS, got "FAST"; functionTimeoutSeconds must be an integer from 1 to 59, got "90"; tracing must be true or false, got "yes"; logRetentionDays must be one of/,
    );
  }, 60_000);
});

describe('the Pulumi project', () => {
  const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

  it('loads infra/main.js as an ES module, TypeScript stripped by Node itself', () => {
    expect(read('Pulumi.yaml')).toMatch(/^main: infra\/main\.js$/m);
    expect(read('Pulumi.yaml')).toMatch(/^\s+typescript: false$/m);
    expect(JSON.parse(read('package.json')).type).toBe('module');
  });

  it('enables fault injection on the dev stack only', () => {
    expect(read('Pulumi.dev.yaml')).toMatch(/^\s+step-saga:faultInjection: "true"$/m);
    expect(DEFAULT_SETTINGS.faultInjection).toBe(false);
  });

  it('Pulumi.dev-express.yaml says how long a step list fits Express with its settings, and it fits that many stages, not one more', () => {
    const stages = Number(/up to (\d+) stages of bookings/.exec(read(`Pulumi.${DEV_EXPRESS}.yaml`))?.[1]);
    expect(stages).toBeGreaterThan(0);
    const settings = projectStackSettings(DEV_EXPRESS);
    expect(deploys(sagaOfSize(stages), settings)).toBe(true);
    expect(deploys(sagaOfSize(stages + 1), settings)).toBe(false);
  });
});

describe('changing the step list of a deployed stack: two successive programs, before and after a step is removed', () => {
  /** The trip, of two stages at least: a trip of one step would be left with none. */
  const deployed = tripSagaOfTwoStagesOrMore;
  const removed = compensatableStepsOf(deployed).at(-1) as CompensatableStep;
  /** The step list without the step, wherever it stood (alone, or in a group). */
  const kept = withoutStep(removed, deployed).steps;
  /** The runbook's removal: out of the step list, into `retired`, until the redrive window has passed. */
  const withRetired: Saga = { ...deployed, steps: kept, retired: [removed] };
  /** The removal once retired for good: the step's functions and roles go; its table leaves the stack, not DynamoDB. */
  const withoutIt: Saga = { ...deployed, steps: kept };

  /** One `pulumi up` of a step list, with the names of the resources it marks retainOnDelete. */
  async function deploy(saga: Saga): Promise<Run & { retained: ReadonlySet<string> }> {
    const code = await buildFunctions(saga, { outDir: await scratchDir() });
    const retained = new Set<string>();
    const record: pulumi.ResourceTransformation = ({ name, opts }) => {
      if (opts.retainOnDelete) retained.add(name);
      return undefined;
    };
    const run = await withMocks(async () => {
      const stack = new SagaStack('trip', { saga, settings: DEFAULT_SETTINGS, code }, { transformations: [record] });
      return { alertTopicArn: stack.alertTopic.arn, stateMachineAliasArn: stack.stateMachineAlias.arn };
    });
    return { ...run, retained };
  }

  let before: Awaited<ReturnType<typeof deploy>>;
  let after: Awaited<ReturnType<typeof deploy>>;
  let retiredForGood: Awaited<ReturnType<typeof deploy>>;
  beforeAll(async () => {
    before = await deploy(deployed);
    after = await deploy(withRetired);
    retiredForGood = await deploy(withoutIt);
  }, 120_000);

  const taskResources = (run: Run): string[] =>
    graphsOf(JSON.parse(stateMachineOf(run).inputs['definition']) as StateGraph)
      .flatMap((graph) => Object.values(graph.States) as { Type: string; Resource?: string }[])
      .filter((state) => state.Type === 'Task' && state.Resource?.includes(':lambda:'))
      .map((state) => state.Resource as string);

  it('publishes a version of each state machine and of each function, and starts executions through an alias of the latest', () => {
    for (const run of [before, after]) {
      for (const machine of [stateMachineOf(run), rollbackMachineOf(run)]) expect(machine.inputs['publish']).toBe(true);
      for (const fn of ofType(run.resources, TYPES.fn)) expect(fn.inputs['publish']).toBe(true);
      expect(aliasOf(run, 'state-machine').inputs['routingConfigurations']).toEqual([
        { stateMachineVersionArn: stateMachineOf(run).state['stateMachineVersionArn'], weight: 100 },
      ]);
      expect(run.outputs['stateMachineAliasArn']).toBe(`${stateMachineOf(run).state['arn']}:live`);
    }
  });

  it('calls published function versions (qualified ARNs) from the definition, never a function’s latest code', () => {
    for (const run of [before, after]) {
      const versions = new Set(Object.values(versionArnsOf(run)));
      expect(taskResources(run).length).toBeGreaterThan(0);
      for (const resource of taskResources(run)) {
        expect(versions.has(resource)).toBe(true);
        expect(resource).toMatch(/:function:[^:]+:\d+$/);
      }
    }
  });

  it('after the removal, the definition no longer calls the step, but its functions, roles, log groups and table stay', () => {
    const definition = JSON.parse(stateMachineOf(after).inputs['definition']) as StateGraph;
    expect(graphHolding(definition, removed.action)).toBeUndefined();
    expect(graphHolding(definition, removed.compensation)).toBeUndefined();
    for (const state of [removed.action, removed.compensation]) {
      for (const [type, name] of [
        [TYPES.fn, state],
        [TYPES.role, `${state}-role`],
        [TYPES.policy, `${state}-policy`],
        [TYPES.logGroup, `${state}-logs`],
      ] as const) {
        // The same logical name with the same inputs (the code aside: each program built its bundle in its own
        // folder): Pulumi neither replaces nor deletes it.
        const { code: _, ...inputs } = named(after, type, name).inputs;
        const { code: __, ...earlier } = named(before, type, name).inputs;
        expect(inputs).toEqual(earlier);
      }
    }
    expect(named(after, TYPES.table, tableOf(removed) as string).inputs).toEqual(
      named(before, TYPES.table, tableOf(removed) as string).inputs,
    );
    // Executions started before the removal run under the same state machine role: it still may call the step's functions.
    const invoke = policyOf(after, 'state-machine-policy').Statement[0]?.Resource ?? [];
    for (const state of [removed.action, removed.compensation]) expect(invoke).toContain(`${arnOf(after, TYPES.fn, state)}:*`);
    expect(policyOf(after, 'rollback-policy').Statement[0]?.Resource).toContain(`${arnOf(after, TYPES.fn, removed.compensation)}:*`);
  });

  it('never deletes a table: every table is retainOnDelete, and one retired for good leaves the stack but not DynamoDB', () => {
    for (const run of [before, after, retiredForGood]) {
      const tables = ofType(run.resources, TYPES.table).map((table) => table.name);
      for (const table of tables) expect(run.retained.has(table)).toBe(true);
    }
    expect(ofType(retiredForGood.resources, TYPES.table).map((table) => table.name)).not.toContain(tableOf(removed) as string);
    expect(ofType(retiredForGood.resources, TYPES.fn).map((fn) => fn.name)).not.toContain(removed.compensation);
  });
});

import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { LOG_LEVELS } from '../asl/cost.ts';
import { SagaOutcome } from '../asl/errors.ts';
import { LIVE_ALIAS, renderRollback, renderSaga } from '../asl/render.ts';
import type { StateMachineDefinition } from '../asl/model.ts';
import { invalidErrorOf, isCustomStep, deployedStepsOf, tableOf, type Saga } from '../asl/saga.ts';
import { EXPIRES_AT } from '../functions/bookings.ts';
import type { BuiltFunction } from '../functions/build.ts';
import { configToEnvironment, stepConfigsOf } from '../functions/config.ts';
import {
  ASSUMED_BY_LAMBDA,
  assumedByStepFunctions,
  declaredStatement,
  functionPolicy,
  startExecutionOf,
  stateMachinePolicy,
  type PolicyDocument,
} from './policies.ts';
import { functionResourceNames } from './names.ts';
import { deployableSaga, type StackSettings } from './settings.ts';
import { alertTopicPolicy, dashboardBody, dashboardUrlOf, executionEndAlerts, unexpectedEndPattern } from './alerting.ts';
import { KEY_PREFIX } from '../verify/key-prefix.ts';

export interface SagaStackArgs {
  readonly saga: Saga;
  readonly settings: StackSettings;
  /** The functions' bundles, one per action and compensation (functions/build.ts). */
  readonly code: readonly BuiltFunction[];
}

/** Lambda's newest Node.js runtime that the bundles target (esbuild `node22`). */
export const LAMBDA_RUNTIME = 'nodejs22.x';

/**
 * Everything one saga needs on AWS, derived from its step list: per step a table and two functions (each with
 * its own role and log group), the state machine with its role and logs, the alert topic and an alarm.
 *
 * A change of the step list never breaks an execution that started before it: each state machine publishes a
 * version whenever its definition changes and executions start through an alias of the latest; the definition calls
 * published function versions, so that an execution's code is pinned with its definition; a step taken out of the
 * list keeps its table and functions while it is declared `retired`; and no table is ever deleted by Pulumi
 * (retainOnDelete: a removed table leaves the stack, its bookings stay in DynamoDB).
 */
export class SagaStack extends pulumi.ComponentResource {
  readonly stateMachine: aws.sfn.StateMachine;
  /** Where executions start: the alias of the saga's latest published version. */
  readonly stateMachineAlias: aws.sfn.Alias;
  readonly rollbackStateMachineAlias: aws.sfn.Alias;
  readonly alertTopic: aws.sns.Topic;
  /** The state machine's log: on EXPRESS, the only record of its executions. */
  readonly stateMachineLogs: aws.cloudwatch.LogGroup;
  /** Finishes a rollback that redrive cannot (EXPRESS, or after 14 days), from a named compensation. */
  readonly rollbackStateMachine: aws.sfn.StateMachine;
  readonly rollbackStateMachineLogs: aws.cloudwatch.LogGroup;
  readonly tables: Readonly<Record<string, aws.dynamodb.Table>>;
  readonly functions: Readonly<Record<string, aws.lambda.Function>>;
  /** The CloudWatch console's address of the stack's dashboard. */
  readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: SagaStackArgs, options?: pulumi.ComponentResourceOptions) {
    super('step-saga:index:SagaStack', name, {}, options);
    const { settings, code } = args;
    // Nothing is registered before the whole configuration is known to deploy.
    const saga = deployableSaga(args.saga, settings);
    const parent = { parent: this };

    // Every step's own table: a booking's, or the one a custom step declared.
    this.tables = Object.fromEntries(
      deployedStepsOf(saga)
        .flatMap((step) => {
          const name = tableOf(step);
          return name === undefined ? [] : [[step.name, name] as const];
        })
        .map(([step, name]) => [
          step,
          new aws.dynamodb.Table(
            name,
            {
              billingMode: 'PAY_PER_REQUEST',
              hashKey: saga.keyField,
              attributes: [{ name: saga.keyField, type: 'S' }],
              // Without a key of the stack's own, DynamoDB's AWS-owned key: encrypted at rest, and no KMS bill.
              ...(settings.tableKmsKeyArn === undefined
                ? {}
                : { serverSideEncryption: { enabled: true, kmsKeyArn: settings.tableKmsKeyArn } }),
              ttl: { attributeName: EXPIRES_AT, enabled: true },
              pointInTimeRecovery: { enabled: settings.pointInTimeRecovery },
              deletionProtectionEnabled: settings.deletionProtection,
            },
            // Bookings outlive the step list: a table that leaves the stack stays in DynamoDB (`pulumi preview` shows
            // `delete[retain]`), for the executions that may still undo its bookings and for the records it holds.
            { ...parent, retainOnDelete: true },
          ),
        ]),
    );

    const configs = stepConfigsOf(saga, {
      faultInjection: settings.faultInjection,
      cancelMarkerTtlSeconds: settings.cancelMarkerTtlDays * 24 * 3600,
    });
    this.functions = Object.fromEntries(
      deployedStepsOf(saga).flatMap((step) => {
        const table = this.tables[step.name];
        const declared = isCustomStep(step)
          ? (step.needs?.permissions ?? []).map(({ actions, resources }) => declaredStatement(actions, resources))
          : [];
        // A pivot or retriable step has no compensation, and no function for one.
        return (['action', 'compensation'] as const).flatMap((kind) => {
          const state = kind === 'action' ? step.action : step.compensation;
          if (state === undefined) return [];
          const bundle = code.find((built) => built.state === state);
          if (bundle === undefined) throw new Error(`no bundle was built for ${state}`);
          const names = functionResourceNames(state);
          const logGroup = new aws.cloudwatch.LogGroup(names.logs, { retentionInDays: settings.logRetentionDays }, parent);
          const role = new aws.iam.Role(names.role, { assumeRolePolicy: JSON.stringify(ASSUMED_BY_LAMBDA) }, parent);
          const rolePolicy = new aws.iam.RolePolicy(
            names.policy,
            {
              role: role.id,
              policy: pulumi
                .all([table?.arn, logGroup.arn])
                .apply(([tableArn, logGroupArn]) =>
                  JSON.stringify(
                    functionPolicy(
                      isCustomStep(step) ? 'custom' : kind,
                      tableArn,
                      logGroupArn,
                      settings.tracing,
                      settings.tableKmsKeyArn,
                      declared,
                    ),
                  ),
                ),
            },
            parent,
          );
          const fn = new aws.lambda.Function(
            names.function,
            {
              runtime: LAMBDA_RUNTIME,
              architectures: ['arm64'],
              handler: 'index.handler',
              code: new pulumi.asset.FileArchive(bundle.dir),
              role: role.arn,
              memorySize: settings.functionMemoryMb,
              timeout: settings.functionTimeoutSeconds,
              environment: {
                variables: pulumi.output(table?.name).apply((tableName) => ({
                  ...configToEnvironment({
                    ...(configs[state] as (typeof configs)[string]),
                    ...(tableName === undefined ? {} : { table: tableName }),
                  }),
                  NODE_OPTIONS: '--enable-source-maps',
                })),
              },
              loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
              tracingConfig: { mode: settings.tracing ? 'Active' : 'PassThrough' },
              // Every change of code or configuration is a new version, and versions stay: the definition calls them.
              publish: true,
            },
            // The role must be able to write logs before the function first runs.
            { ...parent, dependsOn: [rolePolicy] },
          );
          return [[state, fn] as const];
        });
      }),
    );

    // Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key, and the
    // alerts carry no personal data (the input's key, state names, error names).
    this.alertTopic = new aws.sns.Topic('alerts', {}, parent);
    if (settings.alertEmail !== undefined) {
      new aws.sns.TopicSubscription(
        'alert-email',
        { topic: this.alertTopic.arn, protocol: 'email', endpoint: settings.alertEmail },
        parent,
      );
    }

    // The roles allow every version of every deployed function (retired ones included): an execution started on an
    // earlier definition runs under the same role, updated in place, and calls the versions that definition names.
    const functionArns = Object.fromEntries(Object.entries(this.functions).map(([state, fn]) => [state, fn.arn]));
    // The definitions call published versions: what an execution runs is pinned with its definition.
    const versionArns = pulumi.all(Object.fromEntries(Object.entries(this.functions).map(([state, fn]) => [state, fn.qualifiedArn])));
    const compensations = new Set(deployedStepsOf(saga).map((step) => step.compensation));
    const compensationArns = Object.entries(functionArns).flatMap(([state, arn]) => (compensations.has(state) ? [arn] : []));
    const unexpectedEnds: MetricName = { namespace: `StepSaga/${pulumi.getStack()}/${name}`, name: 'UnexpectedExecutionEnds' };
    // A stack that honours injected faults is where `saga verify` fails executions on purpose: those do not page.
    const quiet = settings.faultInjection ? { quietPrefix: `${KEY_PREFIX}-` } : {};
    const machine = (prefix: string, machineArgs: Omit<MachineArgs, 'unexpectedEnds'>) =>
      stateMachineOf(prefix, { ...machineArgs, unexpectedEnds, ...quiet }, this.alertTopic.arn, settings, parent);

    // STANDARD whatever the saga's type: it must be redrivable. It invokes only the compensations.
    const rollback = machine('rollback', {
      type: 'STANDARD',
      machineName: 'rollback',
      definition: pulumi
        .all([versionArns, this.alertTopic.arn])
        .apply(([functions, alertTopic]) => renderRollback(saga, { functions, alertTopic })),
      policy: pulumi
        .all([pulumi.all(compensationArns), this.alertTopic.arn])
        .apply(([arns, topicArn]) => stateMachinePolicy(arns, topicArn, settings.tracing)),
      routineFailures: [],
    });
    this.rollbackStateMachine = rollback.stateMachine;
    this.rollbackStateMachineLogs = rollback.logs;
    this.rollbackStateMachineAlias = rollback.alias;

    // A rollback, an invalid input, a rollback handed to the rollback machine: each ends as a failed execution,
    // and none needs anyone (a stuck compensation has published its own alert before).
    const sagaRoutineFailures = [SagaOutcome.RolledBack, invalidErrorOf(saga), SagaOutcome.RollbackHandedOff];
    const sagaMachine = machine('state-machine', {
      type: settings.stateMachineType,
      machineName: 'saga',
      // The one place where real ARNs enter the saga's definition.
      definition: pulumi
        .all([versionArns, this.alertTopic.arn, rollback.alias.arn])
        .apply(([functions, alertTopic, rollbackStateMachine]) =>
          renderSaga(
            saga,
            { functions, alertTopic },
            settings.stateMachineType === 'EXPRESS' ? { type: 'EXPRESS', rollbackStateMachine } : { type: 'STANDARD' },
          ),
        ),
      policy: pulumi
        .all([pulumi.all(Object.values(functionArns)), this.alertTopic.arn, rollback.alias.arn])
        .apply(([arns, topicArn, rollbackArn]) =>
          stateMachinePolicy(
            arns,
            topicArn,
            settings.tracing,
            ...(settings.stateMachineType === 'EXPRESS' ? [startExecutionOf(rollbackArn)] : []),
          ),
        ),
      routineFailures: sagaRoutineFailures,
    });
    this.stateMachine = sagaMachine.stateMachine;
    this.stateMachineLogs = sagaMachine.logs;
    this.stateMachineAlias = sagaMachine.alias;

    const statusCommand = `npx saga status --stack ${pulumi.getStack()}`;
    new aws.sns.TopicPolicy(
      'alerts-policy',
      { arn: this.alertTopic.arn, policy: this.alertTopic.arn.apply((arn) => JSON.stringify(alertTopicPolicy(arn))) },
      parent,
    );
    // Both state machines count their unexpected ends into one metric (see stateMachineOf); any of them raises the alarm.
    const unexpectedEndsAlarm = new aws.cloudwatch.MetricAlarm(
      'executions-failed',
      {
        alarmDescription:
          `Saga ${saga.name}: an execution of the saga or of its rollback machine failed other than by a rollback or an ` +
          `invalid ${saga.noun.toLowerCase()}, timed out or was stopped: bookings may be left (what, and the command that finishes it: ` +
          `${statusCommand})`,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: 'notBreaching',
        namespace: unexpectedEnds.namespace,
        metricName: unexpectedEnds.name,
        period: 300,
        statistic: 'Sum',
        alarmActions: [this.alertTopic.arn],
      },
      parent,
    );

    // Step Functions' own events and metrics, besides the log: CloudWatch Logs delivers on a best-effort basis.
    const machineAlerts = [
      { prefix: 'state-machine', arn: this.stateMachine.arn, type: settings.stateMachineType, routineFailures: sagaRoutineFailures },
      { prefix: 'rollback', arn: this.rollbackStateMachine.arn, type: 'STANDARD' as const, routineFailures: [] },
    ].map(({ prefix, arn, type, routineFailures }) =>
      executionEndAlerts(
        {
          sagaName: saga.name,
          prefix,
          stateMachineArn: arn,
          type,
          routineFailures,
          alertTopicArn: this.alertTopic.arn,
          statusCommand,
          ...quiet,
        },
        parent,
      ),
    );

    // Rollbacks are routine, and counted apart from AWS/States' failures, which include them.
    const rolledBack: MetricName = { namespace: unexpectedEnds.namespace, name: 'RolledBackExecutions' };
    new aws.cloudwatch.LogMetricFilter(
      'state-machine-rolled-back',
      {
        logGroupName: this.stateMachineLogs.name,
        pattern: `{ $.type = "ExecutionFailed" && $.details.error = "${SagaOutcome.RolledBack}" }`,
        metricTransformation: { namespace: rolledBack.namespace, name: rolledBack.name, value: '1' },
      },
      parent,
    );
    const region = this.alertTopic.arn.apply((arn) => arn.split(':')[3] as string);
    const dashboard = new aws.cloudwatch.Dashboard(
      'dashboard',
      {
        // Dashboard names take letters, digits, - and _ only.
        dashboardName: `${saga.name}-${pulumi.getStack()}-${name}`.replace(/[^A-Za-z0-9_-]/g, '-'),
        dashboardBody: pulumi
          .output({
            region,
            stateMachineArn: this.stateMachine.arn,
            rollbackStateMachineArn: this.rollbackStateMachine.arn,
            functions: pulumi.all(Object.fromEntries(Object.entries(this.functions).map(([state, fn]) => [state, fn.name]))),
            tables: pulumi.all(Object.fromEntries(Object.entries(this.tables).map(([step, table]) => [step, table.name]))),
            topicName: this.alertTopic.name,
            alarmArns: pulumi.all([unexpectedEndsAlarm.arn, ...machineAlerts.flatMap((alerts) => alerts.alarms.map((alarm) => alarm.arn))]),
          })
          .apply((names) =>
            JSON.stringify(
              dashboardBody({
                ...names,
                sagaName: saga.name,
                namespace: unexpectedEnds.namespace,
                unexpectedEnds: unexpectedEnds.name,
                rolledBack: rolledBack.name,
              }),
            ),
          ),
      },
      parent,
    );
    this.dashboardUrl = pulumi
      .all([region, dashboard.dashboardName])
      .apply(([where, dashboardName]) => dashboardUrlOf(where, dashboardName));

    this.registerOutputs({
      stateMachineArn: this.stateMachine.arn,
      stateMachineAliasArn: this.stateMachineAlias.arn,
      stateMachineVersionArn: this.stateMachine.stateMachineVersionArn,
      rollbackStateMachineArn: this.rollbackStateMachine.arn,
      alertTopicArn: this.alertTopic.arn,
      dashboardUrl: this.dashboardUrl,
    });
  }
}

interface MachineArgs {
  readonly type: StackSettings['stateMachineType'];
  /** The state machine's logical name. */
  readonly machineName: string;
  readonly definition: pulumi.Output<StateMachineDefinition>;
  readonly policy: pulumi.Output<PolicyDocument>;
  /** Errors of the Fail states in which an execution ends as the business intends: no alarm for these. */
  readonly routineFailures: readonly string[];
  readonly unexpectedEnds: MetricName;
  /** Executions whose name starts so do not page: `saga verify`'s, on a stack that honours injected faults. */
  readonly quietPrefix?: string;
}

/** The metric that counts executions ending other than as intended: one per saga stack, in its own namespace. */
interface MetricName {
  readonly namespace: string;
  readonly name: string;
}

/**
 * A state machine with its own role (assumable only by Step Functions for this account and region), its own log
 * group under /aws/vendedlogs/states/ (CloudWatch Logs' resource policy for vended logs then covers every state
 * machine's group with one entry, instead of growing to its size limit), and a metric filter on that log.
 */
function stateMachineOf(
  prefix: string,
  args: MachineArgs,
  alertTopicArn: pulumi.Output<string>,
  settings: StackSettings,
  parent: pulumi.CustomResourceOptions,
) {
  const logs = new aws.cloudwatch.LogGroup(
    `${prefix}-logs`,
    { namePrefix: `/aws/vendedlogs/states/${args.machineName}-`, retentionInDays: settings.logRetentionDays },
    parent,
  );
  // The topic's ARN (arn:<partition>:sns:<region>:<account>:<name>) names where the stack deploys, without a lookup.
  const trust = alertTopicArn.apply((arn) => {
    const [, partition, , region, account] = arn.split(':') as [string, string, string, string, string];
    return JSON.stringify(assumedByStepFunctions(partition, region, account));
  });
  const role = new aws.iam.Role(`${prefix}-role`, { assumeRolePolicy: trust }, parent);
  const rolePolicy = new aws.iam.RolePolicy(
    `${prefix}-policy`,
    { role: role.id, policy: args.policy.apply((document) => JSON.stringify(document)) },
    parent,
  );
  const stateMachine = new aws.sfn.StateMachine(
    args.machineName,
    {
      type: args.type,
      roleArn: role.arn,
      definition: args.definition.apply((definition) => JSON.stringify(definition)),
      loggingConfiguration: {
        logDestination: pulumi.interpolate`${logs.arn}:*`,
        includeExecutionData: settings.logExecutionData,
        // Express keeps no execution history of its own: its log is the only record of every state.
        level: LOG_LEVELS[args.type],
      },
      tracingConfiguration: { enabled: settings.tracing },
      // A version for each definition it has had: the alias routes new executions to the latest; running ones and
      // their redrives keep the one they started on.
      publish: true,
    },
    { ...parent, dependsOn: [rolePolicy] },
  );
  const alias = new aws.sfn.Alias(
    `${prefix}-${LIVE_ALIAS}`,
    {
      name: LIVE_ALIAS,
      description: `New executions of ${args.machineName} start on its latest published version`,
      routingConfigurations: [{ stateMachineVersionArn: stateMachine.stateMachineVersionArn, weight: 100 }],
    },
    parent,
  );
  new aws.cloudwatch.LogMetricFilter(
    `${prefix}-unexpected-ends`,
    {
      logGroupName: logs.name,
      pattern: unexpectedEndPattern(args.routineFailures, args.quietPrefix),
      metricTransformation: { namespace: args.unexpectedEnds.namespace, name: args.unexpectedEnds.name, value: '1' },
    },
    parent,
  );
  return { stateMachine, logs, alias };
}

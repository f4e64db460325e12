import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { renderSaga } from '../asl/render.ts';
import { DEFAULT_TASK_TIMEOUT_SECONDS, type Saga } from '../asl/saga.ts';
import { EXPIRES_AT } from '../functions/bookings.ts';
import type { BuiltFunction } from '../functions/build.ts';
import { configToEnvironment, stepConfigsOf } from '../functions/config.ts';
import { assumedBy, functionPolicy, stateMachinePolicy } from './policies.ts';
import { sagaWithSettings, StackSettingsError, type StackSettings } from './settings.ts';

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
 */
export class SagaStack extends pulumi.ComponentResource {
  readonly stateMachine: aws.sfn.StateMachine;
  readonly alertTopic: aws.sns.Topic;
  /** The state machine's log: on EXPRESS, the only record of its executions. */
  readonly stateMachineLogs: aws.cloudwatch.LogGroup;
  readonly tables: Readonly<Record<string, aws.dynamodb.Table>>;
  readonly functions: Readonly<Record<string, aws.lambda.Function>>;

  constructor(name: string, args: SagaStackArgs, options?: pulumi.ComponentResourceOptions) {
    super('step-saga:index:SagaStack', name, {}, options);
    const { saga, settings, code } = args;
    const parent = { parent: this };
    const tooShort = saga.steps.filter((step) => (step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) <= settings.functionTimeoutSeconds);
    if (tooShort.length > 0) {
      throw new StackSettingsError(
        `functionTimeoutSeconds (${settings.functionTimeoutSeconds}) must be below the task timeout of ${tooShort.map((step) => step.name).join(', ')}`,
      );
    }

    this.tables = Object.fromEntries(
      saga.steps.map((step) => [
        step.name,
        new aws.dynamodb.Table(
          step.table,
          {
            billingMode: 'PAY_PER_REQUEST',
            hashKey: saga.keyField,
            attributes: [{ name: saga.keyField, type: 'S' }],
            serverSideEncryption: { enabled: true },
            ttl: { attributeName: EXPIRES_AT, enabled: true },
            pointInTimeRecovery: { enabled: settings.pointInTimeRecovery },
            deletionProtectionEnabled: settings.deletionProtection,
          },
          parent,
        ),
      ]),
    );

    const configs = stepConfigsOf(saga, {
      faultInjection: settings.faultInjection,
      cancelMarkerTtlSeconds: settings.cancelMarkerTtlDays * 24 * 3600,
    });
    this.functions = Object.fromEntries(
      saga.steps.flatMap((step) => {
        const table = this.tables[step.name] as aws.dynamodb.Table;
        return (['action', 'compensation'] as const).map((kind) => {
          const state = kind === 'action' ? step.action : step.compensation;
          const bundle = code.find((built) => built.state === state);
          if (bundle === undefined) throw new Error(`no bundle was built for ${state}`);
          const logGroup = new aws.cloudwatch.LogGroup(`${state}-logs`, { retentionInDays: settings.logRetentionDays }, parent);
          const role = new aws.iam.Role(`${state}-role`, { assumeRolePolicy: JSON.stringify(assumedBy('lambda.amazonaws.com')) }, parent);
          const rolePolicy = new aws.iam.RolePolicy(
            `${state}-policy`,
            {
              role: role.id,
              policy: pulumi
                .all([table.arn, logGroup.arn])
                .apply(([tableArn, logGroupArn]) => JSON.stringify(functionPolicy(kind, tableArn, logGroupArn, settings.tracing))),
            },
            parent,
          );
          const fn = new aws.lambda.Function(
            state,
            {
              runtime: LAMBDA_RUNTIME,
              architectures: ['arm64'],
              handler: 'index.handler',
              code: new pulumi.asset.FileArchive(bundle.dir),
              role: role.arn,
              memorySize: settings.functionMemoryMb,
              timeout: settings.functionTimeoutSeconds,
              environment: {
                variables: table.name.apply((tableName) => ({
                  ...configToEnvironment({ ...(configs[state] as (typeof configs)[string]), table: tableName }),
                  NODE_OPTIONS: '--enable-source-maps',
                })),
              },
              loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
              tracingConfig: { mode: settings.tracing ? 'Active' : 'PassThrough' },
            },
            // The role must be able to write logs before the function first runs.
            { ...parent, dependsOn: [rolePolicy] },
          );
          return [state, fn] as const;
        });
      }),
    );

    // Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key, and the
    // alerts carry no personal data (trip id, state names, error names).
    this.alertTopic = new aws.sns.Topic('alerts', {}, parent);
    if (settings.alertEmail !== undefined) {
      new aws.sns.TopicSubscription(
        'alert-email',
        { topic: this.alertTopic.arn, protocol: 'email', endpoint: settings.alertEmail },
        parent,
      );
    }

    const functionArns = Object.fromEntries(Object.entries(this.functions).map(([state, fn]) => [state, fn.arn]));
    const stateMachineLogs = new aws.cloudwatch.LogGroup('state-machine-logs', { retentionInDays: settings.logRetentionDays }, parent);
    this.stateMachineLogs = stateMachineLogs;
    const stateMachineRole = new aws.iam.Role(
      'state-machine-role',
      { assumeRolePolicy: JSON.stringify(assumedBy('states.amazonaws.com')) },
      parent,
    );
    const stateMachineRolePolicy = new aws.iam.RolePolicy(
      'state-machine-policy',
      {
        role: stateMachineRole.id,
        policy: pulumi
          .all([pulumi.all(Object.values(functionArns)), this.alertTopic.arn])
          .apply(([arns, topicArn]) => JSON.stringify(stateMachinePolicy(arns, topicArn, settings.tracing))),
      },
      parent,
    );
    const sagaForStack = sagaWithSettings(saga, settings);
    this.stateMachine = new aws.sfn.StateMachine(
      'saga',
      {
        type: settings.stateMachineType,
        roleArn: stateMachineRole.arn,
        // The one place where real ARNs enter the definition.
        definition: pulumi
          .all([pulumi.all(functionArns), this.alertTopic.arn])
          .apply(([functions, alertTopic]) => JSON.stringify(renderSaga(sagaForStack, { functions, alertTopic }))),
        loggingConfiguration: {
          logDestination: pulumi.interpolate`${stateMachineLogs.arn}:*`,
          includeExecutionData: settings.logExecutionData,
          // Express keeps no execution history of its own: its log is the only record of every state.
          level: settings.stateMachineType === 'EXPRESS' ? 'ALL' : 'ERROR',
        },
        tracingConfiguration: { enabled: settings.tracing },
      },
      { ...parent, dependsOn: [stateMachineRolePolicy] },
    );

    new aws.cloudwatch.MetricAlarm(
      'executions-failed',
      {
        alarmDescription:
          `Saga ${saga.name}: an execution timed out, or ${settings.failedExecutionsAlarmThreshold} or more failed within 5 minutes ` +
          '(a rollback or an invalid trip is a failed execution too: one alone is business as usual, many at once are not)',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: 'notBreaching',
        metricQueries: [
          {
            id: 'problems',
            expression: `IF(timedout > 0 OR failed >= ${settings.failedExecutionsAlarmThreshold}, 1, 0)`,
            label: 'timed-out executions, or failed ones past the threshold',
            returnData: true,
          },
          ...(['ExecutionsFailed', 'ExecutionsTimedOut'] as const).map((metricName) => ({
            id: metricName === 'ExecutionsFailed' ? 'failed' : 'timedout',
            metric: {
              namespace: 'AWS/States',
              metricName,
              dimensions: { StateMachineArn: this.stateMachine.arn },
              period: 300,
              stat: 'Sum',
            },
          })),
        ],
        alarmActions: [this.alertTopic.arn],
      },
      parent,
    );

    this.registerOutputs({
      stateMachineArn: this.stateMachine.arn,
      alertTopicArn: this.alertTopic.arn,
    });
  }
}

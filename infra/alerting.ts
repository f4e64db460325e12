import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

// Alerting that never misses an execution left unfinished, and one dashboard of the whole stack. An execution's end
// reaches people three ways, each covering what the others can miss: Step Functions' own status-change events
// (EventBridge, STANDARD only), a metric filter on the state machine's log (EXPRESS too; CloudWatch Logs delivers
// "on a best-effort basis"), and alarms on AWS/States' own counts of timed-out and aborted executions.

/** The statuses of an execution that ended without succeeding, as EventBridge and ListExecutions name them. */
const TIMED_OUT_OR_ABORTED = ['TIMED_OUT', 'ABORTED'];

/**
 * The EventBridge pattern of a state machine's executions that ended unfinished: timed out, aborted, or failed other
 * than by a routine end; `quietPrefix` leaves out executions whose name starts so (verify's deliberate failures).
 * A version's or an alias's ARN extends the state machine's after a colon.
 */
export function unfinishedExecutionPattern(stateMachineArn: string, routineFailures: readonly string[], quietPrefix?: string) {
  const failed =
    routineFailures.length === 0 ? { status: ['FAILED'] } : { status: ['FAILED'], error: [{ 'anything-but': [...routineFailures] }] };
  return {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: {
      stateMachineArn: [stateMachineArn, { prefix: `${stateMachineArn}:` }],
      ...(quietPrefix === undefined ? {} : { name: [{ 'anything-but': { prefix: quietPrefix } }] }),
      $or: [{ status: TIMED_OUT_OR_ABORTED }, failed],
    },
  };
}

/**
 * A CloudWatch Logs filter pattern for the log events of executions that failed other than in a routine way, timed
 * out or were aborted (a StopExecution in the middle of a rollback leaves bookings). Read from the state machine's own
 * log (level ERROR logs every ExecutionFailed with its error name), not from AWS/States' ExecutionsFailed, which
 * counts every rollback; and it serves EXPRESS too, which sends no EventBridge status events.
 */
export function unexpectedEndPattern(routineFailures: readonly string[], quietPrefix?: string): string {
  const failed = ['$.type = "ExecutionFailed"', ...routineFailures.map((error) => `$.details.error != "${error}"`)].join(' && ');
  const ends = `($.type = "ExecutionTimedOut") || ($.type = "ExecutionAborted") || (${failed})`;
  return quietPrefix === undefined ? `{ ${ends} }` : `{ (${ends}) && $.execution_arn != "*:${quietPrefix}*" }`;
}

/** The AWS/States metrics of executions that ended unfinished whatever their error, each alarmed per state machine. */
export const STATES_ALARMED = [
  { metric: 'ExecutionsTimedOut', slug: 'timed-out', what: 'timed out' },
  { metric: 'ExecutionsAborted', slug: 'aborted', what: 'was stopped (ABORTED)' },
] as const;

export interface AlertingArgs {
  readonly sagaName: string;
  /** Logical-name prefix of the state machine's resources. */
  readonly prefix: string;
  readonly stateMachineArn: pulumi.Output<string>;
  readonly type: 'STANDARD' | 'EXPRESS';
  readonly routineFailures: readonly string[];
  readonly quietPrefix?: string;
  readonly alertTopicArn: pulumi.Output<string>;
  /** What the message tells people to run. */
  readonly statusCommand: string;
}

/**
 * A state machine's alarms on AWS/States, and on STANDARD the EventBridge rule that sends each unfinished end to the
 * alert topic with a line a person can act on.
 */
export function executionEndAlerts(args: AlertingArgs, parent: pulumi.CustomResourceOptions) {
  const alarms = STATES_ALARMED.map(
    ({ metric, slug, what }) =>
      new aws.cloudwatch.MetricAlarm(
        `${args.prefix}-${slug}`,
        {
          alarmDescription: `Saga ${args.sagaName}: an execution ${what}; it may hold bookings: ${args.statusCommand}`,
          namespace: 'AWS/States',
          metricName: metric,
          dimensions: { StateMachineArn: args.stateMachineArn },
          statistic: 'Sum',
          period: 60,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          treatMissingData: 'notBreaching',
          alarmActions: [args.alertTopicArn],
        },
        parent,
      ),
  );
  // Express sends no execution status events.
  if (args.type === 'EXPRESS') return { alarms, rule: undefined };
  const rule = new aws.cloudwatch.EventRule(
    `${args.prefix}-unfinished`,
    {
      description: `Saga ${args.sagaName}: an execution ended unfinished (not by a rollback or a refused input)`,
      eventPattern: args.stateMachineArn.apply((arn) =>
        JSON.stringify(unfinishedExecutionPattern(arn, args.routineFailures, args.quietPrefix)),
      ),
    },
    parent,
  );
  new aws.cloudwatch.EventTarget(
    `${args.prefix}-unfinished-alert`,
    {
      rule: rule.name,
      arn: args.alertTopicArn,
      inputTransformer: {
        inputPaths: { name: '$.detail.name', status: '$.detail.status', error: '$.detail.error', execution: '$.detail.executionArn' },
        inputTemplate: JSON.stringify(
          `Saga ${args.sagaName}: execution <name> ended <status> (<error>), unfinished: <execution>. ` +
            `What it still holds and the command that finishes it: ${args.statusCommand}`,
        ),
      },
    },
    parent,
  );
  return { alarms, rule };
}

/** A resource policy that lets EventBridge rules and CloudWatch alarms of the stack's account publish to the topic. */
export function alertTopicPolicy(topicArn: string) {
  const account = topicArn.split(':')[4];
  return {
    Version: '2012-10-17',
    Statement: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'].map((service) => ({
      Sid: service.split('.')[0],
      Effect: 'Allow',
      Principal: { Service: service },
      Action: 'sns:Publish',
      Resource: topicArn,
      Condition: { StringEquals: { 'aws:SourceAccount': account } },
    })),
  };
}

export interface DashboardInput {
  readonly region: string;
  readonly sagaName: string;
  readonly stateMachineArn: string;
  readonly rollbackStateMachineArn: string;
  /** The stack's own metrics (log metric filters). */
  readonly namespace: string;
  readonly unexpectedEnds: string;
  readonly rolledBack: string;
  /** Function names by state, table names by step. */
  readonly functions: Readonly<Record<string, string>>;
  readonly tables: Readonly<Record<string, string>>;
  readonly topicName: string;
  readonly alarmArns: readonly string[];
}

type Metric = [string, string, ...(string | { label: string })[]];

/** The dashboard's body: executions by outcome, stuck rollbacks, functions' errors and throttles, tables' throttles, alarms. */
export function dashboardBody(input: DashboardInput) {
  const states = (metric: string, arn: string, label: string): Metric => ['AWS/States', metric, 'StateMachineArn', arn, { label }];
  const own = (metric: string, label: string): Metric => [input.namespace, metric, { label }];
  const widget = (title: string, metrics: Metric[], row: number, column: number) => ({
    type: 'metric',
    x: column * 12,
    y: row * 6,
    width: 12,
    height: 6,
    properties: { title, region: input.region, stat: 'Sum', period: 300, view: 'timeSeries', stacked: false, metrics },
  });
  const functions = Object.entries(input.functions);
  const tables = Object.entries(input.tables);
  return {
    widgets: [
      widget(
        `${input.sagaName}: executions by outcome`,
        [
          states('ExecutionsSucceeded', input.stateMachineArn, 'succeeded'),
          own(input.rolledBack, 'rolled back'),
          own(input.unexpectedEnds, 'unfinished (stuck, aborted, timed out; both machines)'),
          states('ExecutionsAborted', input.stateMachineArn, 'aborted'),
          states('ExecutionsTimedOut', input.stateMachineArn, 'timed out'),
          states('ExecutionsFailed', input.stateMachineArn, 'failed (rollbacks and refused inputs included)'),
        ],
        0,
        0,
      ),
      widget(
        'stuck executions: rollbacks, and steps past the pivot',
        [
          own(input.unexpectedEnds, 'executions ended unfinished'),
          states('ExecutionsFailed', input.rollbackStateMachineArn, 'rollback machine failed'),
          states('ExecutionsStarted', input.rollbackStateMachineArn, 'rollback machine started'),
          ['AWS/SNS', 'NumberOfMessagesPublished', 'TopicName', input.topicName, { label: 'alerts published' }],
        ],
        0,
        1,
      ),
      widget(
        'function errors and throttles',
        functions.flatMap(([state, name]): Metric[] => [
          ['AWS/Lambda', 'Errors', 'FunctionName', name, { label: `${state} errors` }],
          ['AWS/Lambda', 'Throttles', 'FunctionName', name, { label: `${state} throttles` }],
        ]),
        1,
        0,
      ),
      widget(
        'DynamoDB throttles',
        tables.flatMap(([step, name]): Metric[] => [
          ['AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', name, { label: `${step} reads` }],
          ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', name, { label: `${step} writes` }],
        ]),
        1,
        1,
      ),
      { type: 'alarm', x: 0, y: 12, width: 24, height: 4, properties: { title: 'alarms', alarms: [...input.alarmArns] } },
    ],
  };
}

/** The CloudWatch console's address of a dashboard. */
export const dashboardUrlOf = (region: string, name: string): string =>
  `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${name}`;

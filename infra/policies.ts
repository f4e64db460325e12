// IAM policy documents, as plain data: each grants exactly what its holder calls, on the resources it uses.

export interface Statement {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Statement[];
}

const policy = (...statements: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });
const allow = (actions: readonly string[], resources: readonly string[]): Statement => ({
  Effect: 'Allow',
  Action: actions,
  Resource: resources,
});

export const ASSUMED_BY_LAMBDA = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
} as const;

/**
 * Step Functions may assume the role only on behalf of a state machine of this account and region: no other
 * account's state machine can borrow it (the confused deputy). The role exists before its state machine, so the
 * state machine's own ARN cannot be named here without a cycle.
 */
export const assumedByStepFunctions = (partition: string, region: string, account: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'states.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:states:${region}:${account}:stateMachine:*` },
      },
    },
  ],
});

/** The DynamoDB calls each kind of function makes (functions/bookings.ts). */
export const DYNAMODB_ACTIONS = {
  // UpdateItem books; GetItem only explains a refused write where DynamoDB did not return the item.
  action: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
  compensation: ['dynamodb:UpdateItem'],
} as const;

/** What a custom step's functions may do on the table it declared (and on no other): read and write single items. */
export const CUSTOM_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/** A custom step's own statement, as its step declares it: its actions on its named resources. */
export const declaredStatement = (actions: readonly string[], resources: readonly string[]): Statement => allow(actions, resources);

// X-Ray has no resource-level permissions: AWS accepts only "*" for these actions.
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
/** What the state machine also asks X-Ray, to sample its traces. */
const XRAY_SAMPLING_ACTIONS = ['xray:GetSamplingRules', 'xray:GetSamplingTargets'];

/**
 * A function's own table (the calls of its kind: a booking's action or compensation, or a custom step's; none for a
 * custom step without a table), its own log group, X-Ray when tracing, and the statements its step declared.
 */
export function functionPolicy(
  kind: keyof typeof DYNAMODB_ACTIONS | 'custom',
  tableArn: string | undefined,
  logGroupArn: string,
  tracing: boolean,
  tableKeyArn?: string,
  declared: readonly Statement[] = [],
): PolicyDocument {
  const tableActions = kind === 'custom' ? CUSTOM_TABLE_ACTIONS : DYNAMODB_ACTIONS[kind];
  return policy(
    ...(tableArn === undefined ? [] : [allow(tableActions, [tableArn])]),
    // A table under a customer-managed key: DynamoDB uses the key on the caller's behalf, with the caller's rights.
    ...(tableArn === undefined || tableKeyArn === undefined ? [] : [allow(TABLE_KEY_ACTIONS, [tableKeyArn])]),
    allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${logGroupArn}:*`]),
    ...(tracing ? [allow(XRAY_ACTIONS, ['*'])] : []),
    ...declared,
  );
}

/** What a reader and writer of a table encrypted with a customer-managed key needs of that key. */
const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

// Step Functions delivers logs through CloudWatch Logs' vended-log API, whose actions accept only "*".
const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];

/** An EXPRESS saga hands a stuck rollback to the rollback machine, and may start nothing else. */
export const startExecutionOf = (stateMachineArn: string): Statement => allow(['states:StartExecution'], [stateMachineArn]);

/**
 * The functions a state machine invokes (and their versions), its alert topic, log delivery, X-Ray when tracing,
 * and any statement of its own.
 */
export function stateMachinePolicy(
  functionArns: readonly string[],
  alertTopicArn: string,
  tracing: boolean,
  ...own: Statement[]
): PolicyDocument {
  return policy(
    allow(
      ['lambda:InvokeFunction'],
      functionArns.flatMap((arn) => [arn, `${arn}:*`]),
    ),
    allow(['sns:Publish'], [alertTopicArn]),
    allow(LOG_DELIVERY_ACTIONS, ['*']),
    ...(tracing ? [allow([...XRAY_ACTIONS, ...XRAY_SAMPLING_ACTIONS], ['*'])] : []),
    ...own,
  );
}

/** The actions for which AWS allows no narrower resource than "*": the only wildcards these policies hold. */
export const WILDCARD_ONLY_ACTIONS: ReadonlySet<string> = new Set([...XRAY_ACTIONS, ...XRAY_SAMPLING_ACTIONS, ...LOG_DELIVERY_ACTIONS]);

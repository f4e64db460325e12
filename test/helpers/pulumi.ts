import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';
import { CONFIG_NAMESPACE, DEFAULT_SETTINGS, stackFileConfig } from '../../infra/settings.ts';

export const MOCK_REGION = 'eu-west-1';
export const MOCK_ACCOUNT = '123456789012';

export interface MockResource {
  readonly id: string;
  readonly type: string;
  /** The logical name given in the program. */
  readonly name: string;
  readonly inputs: Record<string, any>;
  readonly state: Record<string, any>;
}

/** Physical names and ARNs as AWS would give them, so that the program sees realistic outputs. */
function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  const physical = inputs['name'] ?? `${inputs['namePrefix'] ?? `${name}-`}0a1b2c3`;
  const arnOf: Record<string, string> = {
    'aws:dynamodb/table:Table': `arn:aws:dynamodb:${MOCK_REGION}:${MOCK_ACCOUNT}:table/${physical}`,
    'aws:lambda/function:Function': `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT}:function:${physical}`,
    'aws:sns/topic:Topic': `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT}:${physical}`,
    'aws:cloudwatch/logGroup:LogGroup': `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT}:log-group:${physical}`,
    'aws:iam/role:Role': `arn:aws:iam::${MOCK_ACCOUNT}:role/${physical}`,
    'aws:sfn/stateMachine:StateMachine': `arn:aws:states:${MOCK_REGION}:${MOCK_ACCOUNT}:stateMachine:${physical}`,
    'aws:cloudwatch/metricAlarm:MetricAlarm': `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT}:alarm:${physical}`,
    'aws:cloudwatch/eventRule:EventRule': `arn:aws:events:${MOCK_REGION}:${MOCK_ACCOUNT}:rule/${physical}`,
  };
  const arn = arnOf[type];
  // A resource that publishes versions has published its first: AWS numbers them from 1.
  const published = inputs['publish'] === true && arn !== undefined;
  const versions =
    type === 'aws:lambda/function:Function' && published
      ? { version: '1', qualifiedArn: `${arn}:1` }
      : type === 'aws:sfn/stateMachine:StateMachine' && published
        ? { stateMachineVersionArn: `${arn}:1` }
        : {};
  // An alias's ARN is its state machine's, with the alias name for the version (arn:…:stateMachine:<machine>:<alias>).
  const routed = inputs['routingConfigurations']?.[0]?.stateMachineVersionArn as string | undefined;
  const aliasArn = type === 'aws:sfn/alias:Alias' && routed ? { arn: `${routed.split(':').slice(0, -1).join(':')}:${inputs['name']}` } : {};
  return { ...inputs, name: physical, ...(arn ? { arn } : {}), ...versions, ...aliasArn };
}

/** Resolves an Output in a test (Pulumi runs the program's callbacks only through its engine, here the mocks). */
export const valueOf = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

/**
 * Runs `create` against Pulumi's mocks, with the given stack settings (`pulumi config set` keys), and returns every
 * resource registered (once Pulumi's pending registrations have drained) and what `create` returned, resolved.
 * `resources` receives each registration as it comes, so that a `create` that throws still shows what it registered.
 */
export async function withMocks(
  create: () => Promise<Record<string, pulumi.Output<unknown>>>,
  settings: Record<string, string> = {},
  stack = 'test',
  resources: MockResource[] = [],
) {
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        const state = computedState(type, name, inputs);
        const id = `${name}-id`;
        resources.push({ id, type, name, inputs, state });
        return { id, state };
      },
      call: ({ inputs }) => inputs,
    },
    'step-saga',
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(settings).map(([key, value]) => [`${CONFIG_NAMESPACE}:${key}`, value])));
  const outputs = await create();
  const values = Object.fromEntries(
    await Promise.all(Object.entries(outputs).map(async ([key, output]) => [key, await valueOf(output as pulumi.Output<unknown>)])),
  );
  await pulumi.runtime.disconnect();
  return { resources, outputs: values as Record<string, any> };
}

/** The Pulumi program exactly as `pulumi up` loads it: infra/main.js, the entry point named in Pulumi.yaml. */
export async function runProgram(settings: Record<string, string> = {}, stack = 'test', resources: MockResource[] = []) {
  const { default: program } = await import('../../infra/main.js');
  return withMocks(program, settings, stack, resources);
}

/** A stack file's project settings (`step-saga:<key>`), by key, as `pulumi up` would read them. */
export function stackFileSettings(yamlText: string): Record<string, string> {
  const get = stackFileConfig(parseYaml(yamlText));
  return Object.fromEntries(Object.keys(DEFAULT_SETTINGS).flatMap((key) => (get(key) === undefined ? [] : [[key, get(key) as string]])));
}

export const ofType = (resources: readonly MockResource[], type: string): MockResource[] =>
  resources.filter((resource) => resource.type === type);

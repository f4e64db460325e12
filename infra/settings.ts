import { fileURLToPath } from 'node:url';
import { EXPRESS_MAX_SECONDS, worstCaseSeconds } from '../asl/cost.ts';
import { compensationRetryOf, DEFAULT_TASK_TIMEOUT_SECONDS, stepsOf, type Saga } from '../asl/saga.ts';
import { expressProblems } from '../asl/render.ts';
import { assertValidSaga, SagaDefinitionError } from '../asl/validate.ts';
import { deploymentNameProblems } from './names.ts';

/** A stack's settings (`pulumi config set <key> <value>`), each with a default fit for development. */
export interface StackSettings {
  /** STANDARD (exactly-once, redrive, execution history kept 90 days) or EXPRESS (at-least-once, 5 minutes at most). */
  readonly stateMachineType: 'STANDARD' | 'EXPRESS';
  /** Attempts after the first before a compensation gives up and alerts. @default the step list's (saga.ts) */
  readonly compensationMaxAttempts: number | undefined;
  readonly functionMemoryMb: number;
  /** Below the state machine's task timeout, so that Lambda reports a timeout before Step Functions does. */
  readonly functionTimeoutSeconds: number;
  readonly logRetentionDays: number;
  /** X-Ray on the functions and the state machine. */
  readonly tracing: boolean;
  /** Log inputs (personal data) in the state machine's execution logs. */
  readonly logExecutionData: boolean;
  readonly pointInTimeRecovery: boolean;
  readonly deletionProtection: boolean;
  /** Let an input's `fail` list fail states on purpose: for demos on a development stack only. */
  readonly faultInjection: boolean;
  readonly cancelMarkerTtlDays: number;
  /** Subscribe this address to the alert topic (it must confirm by e-mail). */
  readonly alertEmail: string | undefined;
  /** The step list the stack deploys: a module (its default export), as a path from the project's folder. @default saga.ts */
  readonly saga: string | undefined;
  /**
   * A customer-managed KMS key that encrypts the tables, billed per request through KMS. @default none: DynamoDB's
   * AWS-owned key, which encrypts at rest as well and costs nothing (the AWS-managed key is billed through KMS).
   */
  readonly tableKmsKeyArn: string | undefined;
}

export const DEFAULT_SETTINGS: StackSettings = {
  stateMachineType: 'STANDARD',
  compensationMaxAttempts: undefined,
  functionMemoryMb: 256,
  functionTimeoutSeconds: 10,
  logRetentionDays: 30,
  tracing: true,
  logExecutionData: false,
  pointInTimeRecovery: false,
  deletionProtection: false,
  faultInjection: false,
  cancelMarkerTtlDays: 30,
  alertEmail: undefined,
  saga: undefined,
  tableKmsKeyArn: undefined,
};

/** CloudWatch Logs accepts only these retention periods. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

export class StackSettingsError extends Error {
  override readonly name = 'StackSettingsError';
}

/** The project's key prefix in a stack's configuration (`pulumi config set step-saga:<key>`). */
export const CONFIG_NAMESPACE = 'step-saga';

/** Fault injection is for development stacks only: `dev`, or named `dev-…`. */
export const isDevelopmentStack = (stack: string): boolean => stack === 'dev' || stack.startsWith('dev-');

/**
 * Reads the settings from raw config values (as `pulumi.Config.get` returns them) for the named stack, naming
 * each bad key.
 */
export function settingsFrom(get: (key: string) => string | undefined, stack: string): StackSettings {
  const problems: string[] = [];
  const integer = (key: keyof StackSettings, min: number, max: number): number => {
    const text = get(key);
    if (text === undefined) return DEFAULT_SETTINGS[key] as number;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`${key} must be an integer from ${min} to ${max}, got "${text}"`);
    return value;
  };
  const flag = (key: keyof StackSettings): boolean => {
    const text = get(key);
    if (text === undefined) return DEFAULT_SETTINGS[key] as boolean;
    if (text !== 'true' && text !== 'false') problems.push(`${key} must be true or false, got "${text}"`);
    return text === 'true';
  };
  const type = get('stateMachineType') ?? DEFAULT_SETTINGS.stateMachineType;
  if (type !== 'STANDARD' && type !== 'EXPRESS') problems.push(`stateMachineType must be STANDARD or EXPRESS, got "${type}"`);
  const alertEmail = get('alertEmail');
  if (alertEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alertEmail))
    problems.push(`alertEmail "${alertEmail}" is not an e-mail address`);
  const tableKmsKeyArn = get('tableKmsKeyArn');
  if (tableKmsKeyArn !== undefined && !KMS_KEY_ARN.test(tableKmsKeyArn))
    problems.push(`tableKmsKeyArn "${tableKmsKeyArn}" is not the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)`);
  const settings: StackSettings = {
    stateMachineType: type as StackSettings['stateMachineType'],
    compensationMaxAttempts: get('compensationMaxAttempts') === undefined ? undefined : integer('compensationMaxAttempts', 0, 20),
    functionMemoryMb: integer('functionMemoryMb', 128, 10240),
    functionTimeoutSeconds: integer('functionTimeoutSeconds', 1, 59),
    logRetentionDays: integer('logRetentionDays', 1, 3653),
    tracing: flag('tracing'),
    logExecutionData: flag('logExecutionData'),
    pointInTimeRecovery: flag('pointInTimeRecovery'),
    deletionProtection: flag('deletionProtection'),
    faultInjection: flag('faultInjection'),
    cancelMarkerTtlDays: integer('cancelMarkerTtlDays', 1, 365),
    alertEmail,
    saga: get('saga'),
    tableKmsKeyArn,
  };
  if (settings.faultInjection && !isDevelopmentStack(stack)) {
    problems.push(`faultInjection is for development stacks (dev, dev-…), not "${stack}"`);
  }
  if (!RETENTION_DAYS.includes(settings.logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${RETENTION_DAYS.join(', ')}, got ${settings.logRetentionDays}`);
  }
  if (problems.length > 0) throw new StackSettingsError(`bad stack configuration: ${problems.join('; ')}`);
  return settings;
}

/** Where a stack's `saga` setting points: a path from the project's folder, where Pulumi.yaml is. */
export const sagaModuleOf = (settings: StackSettings): string | undefined =>
  settings.saga === undefined ? undefined : fileURLToPath(new URL(`../${settings.saga}`, import.meta.url));

/** The saga as a stack deploys it: the step list with the stack's bound on compensation attempts. */
export function sagaWithSettings(saga: Saga, settings: StackSettings): Saga {
  if (settings.compensationMaxAttempts === undefined) return saga;
  return { ...saga, compensationRetry: { ...compensationRetryOf(saga), maxAttempts: settings.compensationMaxAttempts } };
}

/**
 * Lambda runs a function's init phase, on a cold start, for up to 10 s before the handler's own timeout begins: an
 * attempt that lands on a fresh environment (the first, or any after a timeout, which resets it) may take both.
 */
export const LAMBDA_MAX_INIT_SECONDS = 10;

/**
 * The one step that decides whether a stack's configuration can be deployed, before any resource is registered (and
 * before the functions are bundled): the step list's own rules, the names AWS would refuse once the stack has named
 * its resources, the functions' timeout below every Task's, and an EXPRESS execution's five minutes and its lack of
 * redrive (no retriable steps). Returns the saga
 * as the stack deploys it. `pulumi up`, and `saga asl`, `validate`, `graph` and `cost` with `--stack`, all go
 * through here, so that none of them shows what the stack would refuse.
 */
export function deployableSaga(saga: Saga, settings: StackSettings): Saga {
  assertValidSaga(saga);
  const names = deploymentNameProblems(saga);
  if (names.length > 0) throw new SagaDefinitionError(names);
  const deployed = sagaWithSettings(saga, settings);
  const problems: string[] = [];
  const tooShort = stepsOf(saga).filter((step) => (step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) <= settings.functionTimeoutSeconds);
  if (tooShort.length > 0) {
    problems.push(
      `functionTimeoutSeconds (${settings.functionTimeoutSeconds}) must be below the task timeout of ${tooShort.map((step) => step.name).join(', ')}`,
    );
  }
  if (settings.stateMachineType === 'EXPRESS') {
    // A retriable step stuck past the pivot waits for a redrive, which EXPRESS cannot do (README: "Past the point of no return").
    problems.push(...expressProblems(saga).map((problem) => `${problem}: set stateMachineType to STANDARD`));
    const worst = worstCaseSeconds(deployed, settings.functionTimeoutSeconds + LAMBDA_MAX_INIT_SECONDS);
    if (worst > EXPRESS_MAX_SECONDS) {
      problems.push(
        `an EXPRESS execution of ${saga.name} can run ${worst} s (every attempt cold: ${LAMBDA_MAX_INIT_SECONDS} s of Lambda ` +
          `init before the function's timeout), past Express's ${EXPRESS_MAX_SECONDS} s: lower compensationMaxAttempts ` +
          `(now ${compensationRetryOf(deployed).maxAttempts}) or functionTimeoutSeconds (now ${settings.functionTimeoutSeconds}), ` +
          "shorten the step list's retries, or set stateMachineType to STANDARD",
      );
    }
  }
  if (problems.length > 0) throw new StackSettingsError(problems.join('; '));
  return deployed;
}

/** A stack file's (Pulumi.<stack>.yaml) parsed content, as a `get` for settingsFrom: its project keys, as strings. */
export function stackFileConfig(stackFile: unknown): (key: string) => string | undefined {
  const config = (stackFile as { config?: Record<string, unknown> } | null)?.config ?? {};
  return (key) => {
    const value = config[`${CONFIG_NAMESPACE}:${key}`];
    return value === undefined || value === null ? undefined : String(value);
  };
}
